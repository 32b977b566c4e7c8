"""Log lines an operator can use: each names its delivery and repository; JSON on demand; no noise."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import os
import signal
import sys
from collections.abc import Iterator
from pathlib import Path

import aiohttp
import pytest

from bot import __version__
from bot.app_services import app_services
from bot.github.retry import RetryPolicy
from bot.healing.catch_up import CatchUp
from bot.intake.server import GITHUB
from bot.journal import JOURNAL_FILENAME, SQLiteJournal
from bot.logs import JsonFormatter, TextFormatter
from bot.settings import Settings
from tests.conftest import APP_ID, WEBHOOK_SECRET
from tests.harness import ISSUE, REPO, BotHarness, summary

ISSUE_URL = f"/repos/{REPO}/issues/{ISSUE}"


def capture(formatter: logging.Formatter) -> Iterator[io.StringIO]:
    """What the bot logs at INFO and above while the test runs, as the formatter writes it."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    try:
        yield stream
    finally:
        root.removeHandler(handler)
        root.setLevel(level)


@pytest.fixture
def json_log() -> Iterator[io.StringIO]:
    yield from capture(JsonFormatter())


@pytest.fixture
def text_log() -> Iterator[io.StringIO]:
    yield from capture(TextFormatter())


async def github_unreachable_for_a_while(bot: BotHarness) -> str:
    """A delivery whose issue GitHub keeps answering 503 until the call gives up; its delivery id."""
    bot.app[GITHUB].policy = RetryPolicy(base_delay=0.01, max_delay=0.01, attempt_timeout=0.5, budget=0.2)
    bot.fake.fail_next(50, 503, path=ISSUE_URL)
    await bot.ci_completed("c1", {"tests": summary(84, 143)})
    assert bot.failed_deliveries == 1 and bot.last_delivery is not None
    return bot.last_delivery[2]


async def test_json_lines_name_the_delivery_repository_and_issue_and_an_outage_has_no_traceback(
    bot: BotHarness, json_log: io.StringIO
) -> None:
    delivery = await github_unreachable_for_a_while(bot)

    lines = [json.loads(line) for line in json_log.getvalue().splitlines()]  # one object per line
    assert all({"time", "level", "logger", "message"} <= line.keys() for line in lines)
    retries = [line for line in lines if line["message"].startswith("retrying GET")]
    gave_up = [line for line in lines if line["message"].startswith("gave up on GET")]
    failed = [line for line in lines if line["logger"] == "bot.dispatch.workers"]
    assert retries and len(gave_up) == 1 and len(failed) == 1
    for line in [*retries, *gave_up, *failed]:
        assert (line["delivery"], line["repository"]) == (delivery, REPO)
    for line in [*retries, *gave_up]:
        assert line["issue"] == ISSUE  # named by the call itself
    # GitHub being unreachable is expected: one line with the reason, no traceback.
    assert failed[0]["level"] == "ERROR"
    assert "GitHubUnavailable: GET /repos/{owner}/{repo}/issues/{number}" in failed[0]["message"]
    assert not any("traceback" in line for line in lines)
    assert WEBHOOK_SECRET.decode() not in json_log.getvalue()


async def test_an_unexpected_failure_keeps_its_traceback_inside_the_json_object(
    bot: BotHarness, json_log: io.StringIO
) -> None:
    bot.fake.fail_next(1, 422, message="Validation Failed", method="PATCH", path=ISSUE_URL)
    await bot.ci_completed("c1", {"tests": summary(84, 143)})
    assert bot.failed_deliveries == 1

    lines = [json.loads(line) for line in json_log.getvalue().splitlines()]
    failed = [line for line in lines if line["logger"] == "bot.dispatch.workers" and line["level"] == "ERROR"]
    assert len(failed) == 1
    assert failed[0]["repository"] == REPO
    assert failed[0]["traceback"].startswith("Traceback (most recent call last):")


async def test_github_unreachable_for_the_background_catch_up_is_one_line_too(
    offline_settings: Settings, json_log: io.StringIO
) -> None:
    journal = SQLiteJournal(offline_settings.state_dir / JOURNAL_FILENAME)
    async with aiohttp.ClientSession() as session:
        services = await app_services(session, offline_settings, journal)  # GitHub at a closed port
        catch_up = CatchUp(services.app_api, services.trackers, journal, interval=3600, startup_delay=0)
        catch_up.start()  # asks GitHub at once for the deliveries it could not make
        for _ in range(100):
            if "listing failed deliveries failed" in json_log.getvalue():
                break
            await asyncio.sleep(0.05)
        await catch_up.stop()
    await journal.close()

    lines = [json.loads(line) for line in json_log.getvalue().splitlines()]
    failed = [line for line in lines if line["message"].startswith("listing failed deliveries failed")]
    assert len(failed) == 1
    assert ": ClientConnectorError: Cannot connect to host 127.0.0.1:9" in failed[0]["message"]
    assert "traceback" not in failed[0]


async def test_text_lines_end_with_what_they_are_about(bot: BotHarness, text_log: io.StringIO) -> None:
    delivery = await github_unreachable_for_a_while(bot)

    lines = text_log.getvalue().splitlines()
    retries = [line for line in lines if " INFO bot.github.client: retrying GET " in line]
    assert retries
    assert all(line.endswith(f"[delivery={delivery} repository={REPO} issue={ISSUE}]") for line in retries)
    failed = [line for line in lines if " ERROR bot.dispatch.workers: " in line]
    assert len(failed) == 1 and failed[0].endswith(f"[delivery={delivery} repository={REPO}]")
    assert "Traceback" not in text_log.getvalue()


async def ready(session: aiohttp.ClientSession, url: str) -> bool:
    """Whether /readyz answers 200 once the server listens (it logs its start-up line just before)."""
    for _ in range(100):
        try:
            async with session.get(url) as answer:
                return answer.status == 200
        except aiohttp.ClientConnectionError:
            await asyncio.sleep(0.05)
    return False


async def test_serve_with_json_logs_says_once_what_it_runs_then_serves_metrics_and_readiness(
    private_key_pem: bytes, tmp_path: Path, unused_tcp_port: int
) -> None:
    env = {
        **os.environ,
        "GITHUB_APP_ID": str(APP_ID),
        "GITHUB_PRIVATE_KEY": private_key_pem.decode(),
        "GITHUB_WEBHOOK_SECRET": WEBHOOK_SECRET.decode(),
        "GITHUB_API_URL": "http://127.0.0.1:9",  # never called: nothing is delivered
        "HOST": "127.0.0.1",
        "PORT": str(unused_tcp_port),
        "BOT_STATE_DIR": str(tmp_path / "state"),
        "BOT_RECONCILE_SECONDS": "0",
    }
    env.pop("DATABASE_URL", None)
    env.pop("LOG_FORMAT", None)
    (tmp_path / ".env").write_text("LOG_FORMAT=json\n")  # read from the env file, as the other settings
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "serve", env=env, cwd=tmp_path, stderr=asyncio.subprocess.PIPE
    )
    assert process.stderr is not None
    try:
        async with asyncio.timeout(20):
            first = json.loads(await process.stderr.readline())
        assert (first["level"], first["logger"]) == ("INFO", "bot.intake.server")
        assert first["message"] == (
            f"issue-status-bot {__version__} starting on 127.0.0.1:{unused_tcp_port},"
            f" journal: {tmp_path / 'state' / 'journal.sqlite3'}, 0 trackers known"
        )
        base = f"http://127.0.0.1:{unused_tcp_port}"
        async with aiohttp.ClientSession() as session:
            assert await ready(session, f"{base}/readyz")
            async with session.get(f"{base}/metrics") as answer:
                assert "issue_status_bot_journal_reachable 1.0" in await answer.text()
    finally:
        process.send_signal(signal.SIGTERM)
        async with asyncio.timeout(30):
            rest = await process.stderr.read()
            assert await process.wait() == 0
    assert rest == b""  # nothing else at INFO when nothing happens: not aiohttp's banner either
