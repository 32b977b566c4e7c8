"""The bot under test, served on loopback, wired to a fake GitHub, with the canonical repository seeded."""

from __future__ import annotations

import asyncio
import hashlib
import io
import uuid
import zipfile
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from aiohttp import web

from bot.github.repository import Repository
from bot.intake.server import TRACKERS, WORKERS
from bot.results.commit import CommitResults
from bot.testing.deliveries import (
    check_run_completed,
    check_suite_completed,
    deliver,
    workflow_run_completed,
)
from bot.testing.fake_github import FakeGitHub
from bot.tracking.body import BLOCK_BEGIN, BLOCK_END
from bot.tracking.state import StateCodec, TrackerState

REPO = "platform-wrapper/backend"
INSTALLATION_ID = 77
ISSUE = 2
BRANCH = "main"


def sha_of(label: str) -> str:
    return hashlib.sha1(label.encode()).hexdigest()


def summary(failed: int, passed: int, skipped: int = 7) -> str:
    return f"========== {failed} failed, {passed} passed, {skipped} skipped in 12.34s =========="


def actions_log(text: str | bytes) -> bytes:
    """Output as GitHub Actions stores it: a timestamp before every line, a BOM before the first."""
    data = text.encode() if isinstance(text, str) else text
    lines = data.splitlines(keepends=True)
    stamped = [b"2025-08-12T10:00:%02d.1234567Z " % (i % 60) + line for i, line in enumerate(lines)]
    return "\ufeff".encode() + b"".join(stamped)


def zipped(files: dict[str, bytes], compression: int = zipfile.ZIP_DEFLATED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression) as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def status_block(bot: BotHarness) -> str:
    body = bot.body
    assert BLOCK_BEGIN in body, "the bot wrote no status block"
    return body[body.index(BLOCK_BEGIN) : body.index(BLOCK_END)]


@dataclass
class BotHarness:
    fake: FakeGitHub
    app: web.Application
    url: str
    secret: bytes
    session: aiohttp.ClientSession
    repository: dict[str, Any] = field(default_factory=dict)
    last_delivery: tuple[str, dict[str, Any], str] | None = None

    async def send(self, event: str, payload: dict[str, Any], delivery_id: str | None = None) -> int:
        """Deliver as GitHub does and wait until the bot's workers are done with it."""
        delivery_id = delivery_id or str(uuid.uuid4())
        self.last_delivery = (event, payload, delivery_id)
        status = await deliver(self.session, self.url, self.secret, event, payload, delivery_id=delivery_id)
        async with asyncio.timeout(30):
            await self.app[WORKERS].drain()
        return status

    async def ci_completed(
        self,
        label: str,
        jobs: dict[str, str],
        *,
        branch: str | None = BRANCH,
        event: str = "check_run",
        app_slug: str = "github-actions",
    ) -> int:
        """CI finished for a commit: each job (name -> output summary) becomes a check run; an empty
        summary leaves the output null, as GitHub Actions does."""
        sha = sha_of(label)
        runs = [
            self.fake.add_check_run(
                REPO,
                sha,
                name,
                conclusion="success",
                output={"title": "pytest", "summary": text} if text else None,
                head_branch=branch,
                app_slug=app_slug,
            )
            for name, text in jobs.items()
        ]
        if event == "check_suite":
            payload = check_suite_completed(
                self.repository, sha=sha, head_branch=branch, installation_id=INSTALLATION_ID
            )
        else:
            payload = check_run_completed(
                self.repository, runs[-1], installation_id=INSTALLATION_ID, head_branch=branch
            )
        return await self.send(event, payload)

    def workflow(
        self,
        label: str,
        jobs: dict[str, bytes | str],
        *,
        artifacts: dict[str, bytes] | None = None,
        running: bool = False,
        branch: str = BRANCH,
    ) -> dict[str, Any]:
        """A GitHub Actions workflow run on a commit: each job (name -> log) becomes a check run with
        empty output and that log; artifacts (name -> zip bytes) are uploaded to the run."""
        sha = sha_of(label)
        run = self.fake.add_workflow_run(
            REPO, sha, head_branch=branch, status="in_progress" if running else "completed"
        )
        for name, log in jobs.items():
            check_run = self.fake.add_check_run(
                REPO,
                sha,
                name,
                conclusion="success",
                head_branch=branch,
                check_suite_id=run["check_suite_id"],
            )
            self.fake.add_job_log(REPO, check_run["id"], log)
        for name, archive in (artifacts or {}).items():
            self.fake.add_artifact(REPO, run["id"], name, archive)
        return run

    async def workflow_completed(self, run: dict[str, Any]) -> int:
        payload = workflow_run_completed(self.repository, run, installation_id=INSTALLATION_ID)
        return await self.send("workflow_run", payload)

    async def redeliver(self) -> int:
        """Send the last delivery again, as GitHub's "Redeliver" button does: same id, same body."""
        assert self.last_delivery is not None
        return await self.send(*self.last_delivery)

    async def app_results(self, label: str) -> CommitResults:
        """What the bot's collector computes for a commit, through the same HTTP path."""
        trackers = self.app[TRACKERS]
        repo = Repository(trackers.github.client(INSTALLATION_ID), REPO)
        config = await trackers.configs.load(repo)
        assert config is not None
        return await trackers.results.collect(repo, sha_of(label), config.trackers[0])

    @property
    def body(self) -> str:
        return str(self.fake.issue(REPO, ISSUE)["body"])

    @property
    def codec(self) -> StateCodec:
        """The deployment's state codec, keyed as the running bot keys it."""
        return self.app[TRACKERS].states.codec

    @property
    def state(self) -> TrackerState | None:
        """The tracker state signed in the issue as it is now."""
        return self.codec.decode(self.body, f"{REPO}#{ISSUE}")

    @property
    def comments(self) -> list[str]:
        return [c["body"] for c in self.fake.comments(REPO, ISSUE)]

    @property
    def failed_deliveries(self) -> int:
        return self.app[WORKERS].failed

    @property
    def tokens_minted(self) -> int:
        return self.app[TRACKERS].github.tokens.minted
