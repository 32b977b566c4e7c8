"""PostgreSQL for the tests: one fresh database per test run (dropped after), one fresh schema per test.

The server is found at ``BOT_TEST_POSTGRES`` (default: the local one, user postgres, trust auth). Where
there is none, the tests that need it are skipped with a message saying so; CI sets
``BOT_REQUIRE_POSTGRES=1`` so that they fail there instead of passing unnoticed.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import pytest

from bot.journal import JOURNAL_FILENAME, PostgresJournal, SQLiteJournal

ADMIN_URL = os.environ.get("BOT_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/postgres")
REQUIRED = os.environ.get("BOT_REQUIRE_POSTGRES", "") == "1"


def _with_database(url: str, database: str, *, query: str = "") -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, f"/{database}", query, ""))


async def _admin(statement: str) -> None:
    connection = await asyncpg.connect(ADMIN_URL, timeout=5)
    try:
        await connection.execute(statement)
    finally:
        await connection.close()


@pytest.fixture(scope="session")
def postgres_database() -> Iterator[str]:
    """A database made for this test run, dropped at its end: runs never see each other's rows."""
    name = f"issue_status_bot_test_{uuid.uuid4().hex[:12]}"
    try:
        asyncio.run(_admin(f'CREATE DATABASE "{name}"'))
    except (OSError, asyncpg.PostgresError, TimeoutError) as error:
        message = f"PostgreSQL is not reachable at {urlsplit(ADMIN_URL).netloc} ({error})"
        if REQUIRED:
            pytest.fail(f"{message}, and BOT_REQUIRE_POSTGRES=1 says these tests must run", pytrace=False)
        pytest.skip(f"{message}: the PostgreSQL tests are skipped (set BOT_TEST_POSTGRES to run them)")
    try:
        yield _with_database(ADMIN_URL, name)
    finally:
        asyncio.run(_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture
def database_url(postgres_database: str) -> str:
    """A DATABASE_URL whose tables live in a schema of this test's own."""
    schema = f"t_{uuid.uuid4().hex[:12]}"

    async def create() -> None:
        connection = await asyncpg.connect(postgres_database)
        try:
            await connection.execute(f'CREATE SCHEMA "{schema}"')
        finally:
            await connection.close()

    asyncio.run(create())
    # asyncpg passes unknown query parameters to the server as settings of each connection.
    return _with_database(
        postgres_database, urlsplit(postgres_database).path.strip("/"), query=f"search_path={schema}"
    )


AnyJournal = SQLiteJournal | PostgresJournal


class JournalStore:
    """Where one backend keeps a journal; ``open`` opens it, again and again, as processes would."""

    def __init__(self, backend: str, path: Path, url: str | None) -> None:
        self.backend = backend
        self.path = path
        self.url = url

    async def open(self, **options: Any) -> AnyJournal:
        if self.url is None:
            return SQLiteJournal(self.path, **options)
        return await PostgresJournal.open(self.url, **options)


@pytest.fixture(params=["sqlite", "postgresql"])
def journal_store(request: pytest.FixtureRequest, tmp_path: Path) -> JournalStore:
    """Each backend in turn: the journal's contract holds for both."""
    url = request.getfixturevalue("database_url") if request.param == "postgresql" else None
    return JournalStore(request.param, tmp_path / JOURNAL_FILENAME, url)
