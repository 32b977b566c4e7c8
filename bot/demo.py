"""``issue-status-bot demo``: the real server against an embedded fake GitHub, replaying the canonical story.

A repository whose issue 2 is the canonical tracking issue; a developer fixes the test infrastructure on
a branch with an open pull request; CI reports after each fix; the pass rate climbs from 63 % past the
90 % gate, and the bot ticks the gate line and asks the reviewer for a review. No network beyond
loopback, no account.
"""

from __future__ import annotations

import asyncio
import hashlib
import secrets
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

import aiohttp
from aiohttp import web
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from bot.server import WORKERS, create_app
from bot.settings import Settings
from bot.testing.deliveries import check_run_completed, deliver
from bot.testing.examples import EXAMPLES
from bot.testing.fake_github import FakeGitHub

REPOSITORY = "platform-wrapper/backend"
BRANCH = "fix/test-infrastructure"
APP_ID = 1001
INSTALLATION_ID = 2002
ISSUE = 2
REVIEWER = "octocat"


@dataclass(frozen=True)
class Step:
    label: str
    pytest_summary: str  # the final line pytest printed, as a reporter action puts it in the check run


STORY = (
    Step("baseline: the state the issue describes", "84 failed, 143 passed, 7 skipped in 41.27s"),
    Step("after the JWT token fix", "51 failed, 176 passed, 7 skipped in 39.80s"),
    Step("after the database configuration fix", "26 failed, 201 passed, 7 skipped in 38.02s"),
    Step("after the Pydantic compatibility fix", "24 failed, 203 passed, 7 skipped in 37.95s"),
    Step("final run: flaky fixtures stabilised", "13 failed, 214 passed, 7 skipped in 37.40s"),
)


def commit_sha(label: str) -> str:
    return hashlib.sha1(label.encode()).hexdigest()


def _new_key() -> tuple[bytes, bytes]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    )
    public = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return private, public


def seed(fake: FakeGitHub, public_key: bytes) -> dict[str, object]:
    fake.register_app(APP_ID, public_key)
    repository = fake.add_repository(REPOSITORY, default_branch="main")
    fake.add_installation(INSTALLATION_ID, [REPOSITORY])
    fake.add_collaborator(REPOSITORY, "zoe", "admin")
    fake.add_collaborator(REPOSITORY, REVIEWER, "write")
    fake.put_file(REPOSITORY, ".github/issue-status.yml", (EXAMPLES / "issue-status.yml").read_bytes())
    body = (EXAMPLES / "issue-2-status-update.md").read_text(encoding="utf-8")
    fake.add_issue(REPOSITORY, "Test infrastructure: reach >90% pass rate", body, user="zoe", number=ISSUE)
    fake.add_pull_request(
        REPOSITORY,
        head_ref=BRANCH,
        head_sha=commit_sha(STORY[0].label),
        base_ref="main",
        title="Fix test infrastructure (JWT, database config, Pydantic v2)",
        number=3,
    )
    return repository


async def replay(state_dir: Path, out: TextIO = sys.stdout) -> bool:
    """Run the story; True when the final issue shows the gate ticked and a review requested."""
    private_key, public_key = _new_key()
    webhook_secret = secrets.token_hex(20).encode()
    fake = FakeGitHub()
    await fake.start()
    repository = seed(fake, public_key)
    settings = Settings(
        app_id=APP_ID,
        private_key_pem=private_key,
        webhook_secret=webhook_secret,
        api_url=fake.url,
        host="127.0.0.1",
        port=0,
        state_dir=state_dir,
        github_write_interval=0,  # the story replays in seconds, not minutes
        coalesce_seconds=0,
    )
    app = create_app(settings)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    webhook_url = f"http://{host}:{port}/webhook"
    try:
        async with aiohttp.ClientSession() as session:
            for number, step in enumerate(STORY, start=1):
                sha = commit_sha(step.label)
                check_run = fake.add_check_run(
                    REPOSITORY,
                    sha,
                    "tests (3.11)",
                    conclusion="failure" if "failed" in step.pytest_summary else "success",
                    output={"title": "pytest", "summary": step.pytest_summary},
                    head_branch=BRANCH,
                )
                payload = check_run_completed(
                    repository, check_run, installation_id=INSTALLATION_ID, head_branch=BRANCH
                )
                status = await deliver(session, webhook_url, webhook_secret, "check_run", payload)
                async with asyncio.timeout(30):
                    await app[WORKERS].drain()
                print(f"run {number}: {step.label}: {step.pytest_summary} -> {status}", file=out)
        return report(fake, out)
    finally:
        await runner.cleanup()
        await fake.close()


def report(fake: FakeGitHub, out: TextIO) -> bool:
    issue = fake.issue(REPOSITORY, ISSUE)
    comments = fake.comments(REPOSITORY, ISSUE)
    reviewers = fake.requested_reviewers(REPOSITORY, 3)
    rule = "=" * 78
    print(f"\n{rule}\nFinal body of {REPOSITORY}#{ISSUE}\n{rule}\n{issue['body']}", file=out)
    print(f"\n{rule}\nComments on #{ISSUE}\n{rule}", file=out)
    for comment in comments:
        print(f"--- {comment['user']['login']}:\n{comment['body']}", file=out)
    print(f"\n{rule}\nAPI calls the bot made\n{rule}", file=out)
    for call in fake.requests:
        print(f"{call.status} {call.method} {call.path}", file=out)
    print(f"\nRequested reviewers on #3: {reviewers}", file=out)
    print(f"Requests refused by the fake GitHub: {len(fake.rejections)}", file=out)
    ticked = "- [x] >90% test pass rate achieved" in issue["body"]
    review_requested = REVIEWER in reviewers["users"]
    print(f"Gate line ticked: {ticked}; review requested: {review_requested}", file=out)
    return ticked and review_requested and not fake.rejections


async def run_demo() -> int:
    with tempfile.TemporaryDirectory(prefix="issue-status-bot-demo-") as state_dir:
        return 0 if await replay(Path(state_dir)) else 1
