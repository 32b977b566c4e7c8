"""Catching up: reconcile heals missed deliveries, and failed deliveries are asked for again.

Everything runs through the real HTTP path against the fake GitHub (which fails the test on any request
GitHub would refuse); no webhook is sent unless a test says so.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from gidgethub.apps import get_jwt

from bot.github.app_api import HookDelivery
from bot.healing.catch_up import CatchUp
from bot.healing.reconcile import ReconcileSummary, reconcile
from bot.healing.redeliver import undelivered
from bot.intake.server import APP_API, CATCH_UP, JOURNAL, TRACKERS, WORKERS
from bot.ops.cli import main
from bot.testing.deliveries import check_run_completed, signed_headers
from bot.testing.openapi import OpenAPISubset
from tests.conftest import APP_ID, DEFAULT_CONFIG, WEBHOOK_SECRET
from tests.harness import BRANCH, INSTALLATION_ID, REPO, BotHarness, summary

HOUR = 3600.0
BROKEN = "platform-wrapper/aaa-broken-config"
FORBIDDEN = "platform-wrapper/bbb-forbidden"


def ci_finished(bot: BotHarness, failed: int, passed: int) -> str:
    """CI reports on the branch head, but GitHub's delivery never reaches the bot."""
    sha = bot.fake.head(REPO, BRANCH)
    bot.fake.add_check_run(
        REPO, sha, "tests", output={"title": "pytest", "summary": summary(failed, passed)}, head_branch=BRANCH
    )
    return sha


async def reconcile_running_bot(bot: BotHarness, repository: str | None = None) -> ReconcileSummary:
    return await reconcile(bot.app[APP_API], bot.app[TRACKERS], repository=repository)


# -- reconcile ------------------------------------------------------------------------------------


async def test_reconcile_heals_a_delivery_that_never_arrived(bot: BotHarness) -> None:
    sha = ci_finished(bot, failed=84, passed=143)

    assert await reconcile_running_bot(bot) == ReconcileSummary(repositories=1, trackers=1, failures=())

    assert f"/commit/{sha}" in bot.body
    assert "**Pass rate: 63.0%** (143 passed, 84 failed, 7 skipped)" in bot.body
    assert await bot.app[JOURNAL].counts() == {
        "pending": 0,
        "done": 0,
        "failed": 0,
        "dead": 0,
        "in_progress": 0,
    }


async def test_reconcile_twice_writes_the_issue_once(bot: BotHarness) -> None:
    ci_finished(bot, failed=84, passed=143)
    first = await reconcile_running_bot(bot)
    body = bot.body

    second = await reconcile_running_bot(bot)

    assert first == second == ReconcileSummary(repositories=1, trackers=1, failures=())
    assert len(bot.fake.calls("PATCH")) == 1
    assert bot.body == body


async def test_a_head_without_ci_results_yet_falls_back_to_the_newest_commit_that_has_them(
    bot: BotHarness,
) -> None:
    reported = ci_finished(bot, failed=10, passed=90)
    bot.fake.put_file(REPO, "README.md", "a new head, CI not started\n")
    bot.fake.add_check_run(REPO, bot.fake.head(REPO), "tests", status="in_progress", head_branch=BRANCH)

    await reconcile_running_bot(bot)

    assert f"/commit/{reported}" in bot.body
    assert bot.fake.head(REPO) not in bot.body


async def test_a_branch_where_no_commit_has_results_leaves_the_issue_alone(bot: BotHarness) -> None:
    assert await reconcile_running_bot(bot) == ReconcileSummary(repositories=1, trackers=0, failures=())
    assert bot.fake.calls("PATCH") == []


async def test_a_tracker_on_another_branch_is_recomputed_from_that_branchs_head(bot: BotHarness) -> None:
    bot.fake.put_file(REPO, "notes.txt", "release work\n", ref="release")
    bot.fake.put_file(REPO, ".github/issue-status.yml", "trackers:\n  - issue: 2\n    branch: release\n")
    release = bot.fake.head(REPO, "release")
    bot.fake.add_check_run(
        REPO, release, "tests", output={"title": "pytest", "summary": summary(1, 99)}, head_branch="release"
    )
    ci_finished(bot, failed=50, passed=50)  # main's results concern no tracker

    assert await reconcile_running_bot(bot) == ReconcileSummary(repositories=1, trackers=1, failures=())
    assert f"/commit/{release}" in bot.body


async def test_a_broken_or_unreadable_repository_does_not_stop_the_others(bot: BotHarness) -> None:
    fake = bot.fake
    for name in (BROKEN, FORBIDDEN):
        fake.add_repository(name, default_branch=BRANCH)
        fake.add_issue(name, "Reach >90% test pass rate", "tracking", number=2)
    fake.put_file(BROKEN, ".github/issue-status.yml", "trackers:\n  - issue: 2\n    gate: 90\n")
    fake.put_file(FORBIDDEN, ".github/issue-status.yml", DEFAULT_CONFIG)
    fake.add_installation(INSTALLATION_ID, [BROKEN, FORBIDDEN, REPO])  # the good one comes last
    fake.fail_next(
        1,
        403,
        message="Resource not accessible by integration",
        path=f"/repos/{FORBIDDEN}/contents/",
    )
    sha = ci_finished(bot, failed=84, passed=143)

    result = await reconcile_running_bot(bot)

    assert (result.repositories, result.trackers) == (3, 1)
    assert result.failures == (f"{FORBIDDEN}: BadRequest: Resource not accessible by integration",)
    assert f"/commit/{sha}" in bot.body
    assert "gate" in fake.comments(BROKEN, 2)[0]["body"]  # the maintainers hear about their file


async def test_reconcile_of_one_repository_looks_at_no_other(bot: BotHarness) -> None:
    bot.fake.add_repository(BROKEN, default_branch=BRANCH)
    bot.fake.add_installation(INSTALLATION_ID + 1, [BROKEN])
    ci_finished(bot, failed=84, passed=143)

    result = await reconcile_running_bot(bot, repository=REPO.upper())

    assert result == ReconcileSummary(repositories=1, trackers=1, failures=())
    assert not [c for c in bot.fake.calls("GET", "/repos/") if c.path.startswith(f"/repos/{BROKEN}")]


async def test_reconcile_of_a_repository_the_app_is_not_installed_on_fails(bot: BotHarness) -> None:
    result = await reconcile_running_bot(bot, repository="someone/else")
    assert result == ReconcileSummary(
        0, 0, ("someone/else: not a repository of any installation of the App",)
    )


async def test_the_fakes_installation_list_satisfies_githubs_schema(
    bot: BotHarness, private_key_pem: bytes
) -> None:
    bot.fake.add_installation(INSTALLATION_ID + 1, [])
    jwt = get_jwt(app_id=str(APP_ID), private_key=private_key_pem)
    headers = {"Authorization": f"Bearer {jwt}", "User-Agent": "test"}
    async with bot.session.get(f"{bot.fake.url}/app/installations", headers=headers) as answer:
        assert answer.status == 200
        installations = await answer.json()
    operation = OpenAPISubset.load().match("GET", "/app/installations")
    assert operation is not None
    validator = operation.response_validator(200)
    assert validator is not None
    assert [e.message for e in validator.iter_errors(installations)] == []
    assert [i["id"] for i in installations] == [INSTALLATION_ID, INSTALLATION_ID + 1]


# -- the command ----------------------------------------------------------------------------------


@pytest.fixture
def environment(
    bot: BotHarness, private_key_pem: bytes, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The settings ``serve`` would read, pointing at the fake."""
    for name, value in {
        "GITHUB_APP_ID": str(APP_ID),
        "GITHUB_PRIVATE_KEY": private_key_pem.decode(),
        "GITHUB_WEBHOOK_SECRET": WEBHOOK_SECRET.decode(),
        "GITHUB_API_URL": bot.fake.url,
        "GITHUB_WRITE_INTERVAL": "0",
        "BOT_STATE_DIR": str(tmp_path / "cli-state"),
    }.items():
        monkeypatch.setenv(name, value)


@pytest.mark.usefixtures("environment")
async def test_the_reconcile_command_heals_the_issue_and_says_what_it_did(
    bot: BotHarness, capsys: pytest.CaptureFixture[str]
) -> None:
    sha = ci_finished(bot, failed=84, passed=143)

    # The command runs its own event loop; the fake keeps serving on this one meanwhile.
    assert await asyncio.to_thread(main, ["reconcile", "--repo", REPO]) == 0

    assert f"/commit/{sha}" in bot.body
    assert capsys.readouterr().out == "reconciled 1 repositories: 1 trackers recomputed, 0 failed\n"


@pytest.mark.usefixtures("environment")
async def test_the_reconcile_command_exits_1_when_a_repository_failed(
    bot: BotHarness, capsys: pytest.CaptureFixture[str]
) -> None:
    assert await asyncio.to_thread(main, ["reconcile", "--repo", "someone/else"]) == 1
    assert "someone/else: not a repository of any installation of the App" in capsys.readouterr().out


@pytest.mark.usefixtures("environment")
async def test_the_reconcile_command_refuses_bad_settings_with_exit_2(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("BOT_RECONCILE_SECONDS", "soon")
    assert await asyncio.to_thread(main, ["reconcile"]) == 2
    assert "BOT_RECONCILE_SECONDS must be a number of seconds" in capsys.readouterr().err


# -- redelivery -----------------------------------------------------------------------------------


def attempt(guid: str, id: int, status_code: int, age_hours: float = 1.0) -> HookDelivery:
    return HookDelivery(
        id=id,
        guid=guid,
        delivered_at=100 * HOUR - age_hours * HOUR,
        status_code=status_code,
        redelivery=id > 1,
        event="check_run",
    )


@pytest.mark.parametrize(
    ("attempts", "asked"),
    [
        pytest.param([attempt("a", 1, 502)], [1], id="failed once"),
        pytest.param([attempt("a", 1, 202)], [], id="delivered"),
        pytest.param([attempt("a", 1, 502), attempt("a", 2, 202)], [], id="a redelivery succeeded"),
        pytest.param([attempt("a", 1, 202), attempt("a", 2, 500)], [], id="a later redelivery failed"),
        pytest.param([attempt("a", 1, 502), attempt("a", 2, 0)], [2], id="every attempt failed"),
        pytest.param([attempt("a", 1, 400)], [1], id="refused by the bot"),
        pytest.param([attempt("a", 1, 502, age_hours=73)], [], id="beyond GitHub's 3 days"),
        pytest.param(
            [attempt("b", 3, 502), attempt("a", 2, 0), attempt("b", 4, 502)], [2, 4], id="oldest event first"
        ),
    ],
)
def test_an_event_is_asked_for_when_no_attempt_succeeded_within_3_days(
    attempts: list[HookDelivery], asked: list[int]
) -> None:
    assert [d.id for d in undelivered(attempts, since=100 * HOUR - 72 * HOUR)] == asked


async def journalled_delivery(bot: BotHarness, guid: str) -> None:
    """A delivery the bot took (and journalled) though GitHub saw no answer in time."""
    run = bot.fake.add_check_run(REPO, bot.fake.head(REPO), "tests", head_branch=BRANCH)
    payload = check_run_completed(bot.repository, run, installation_id=INSTALLATION_ID, head_branch=BRANCH)
    body = json.dumps(payload).encode()
    headers = signed_headers(WEBHOOK_SECRET, "check_run", body, delivery_id=guid)
    async with bot.session.post(bot.url, data=body, headers=headers) as answer:
        assert answer.status == 202
    await bot.app[WORKERS].drain()


async def test_a_failed_delivery_is_redelivered_exactly_once(bot: BotHarness) -> None:
    fake = bot.fake
    now = fake.clock.now()
    fake.add_hook_delivery("check_run", "completed", status_code=502, delivered_at=now - 73 * HOUR)
    failed = fake.add_hook_delivery(
        "check_run", "completed", status_code=502, installation_id=INSTALLATION_ID
    )
    fake.add_hook_delivery("check_run", "completed", status_code=202, installation_id=INSTALLATION_ID)
    healed = fake.add_hook_delivery("check_suite", "completed", status_code=504)
    fake.add_hook_delivery("check_suite", "completed", status_code=202, guid=healed["guid"], redelivery=True)
    taken = fake.add_hook_delivery("check_run", "completed", status_code=502)
    await journalled_delivery(bot, taken["guid"])
    redeliverer = bot.app[CATCH_UP].redeliverer

    assert await redeliverer.redeliver_failed() == [failed["guid"]]
    assert await redeliverer.redeliver_failed() == []

    assert [c.path for c in fake.calls("POST", "/app/hook/deliveries/")] == [
        f"/app/hook/deliveries/{failed['id']}/attempts"
    ]
    assert fake.redeliveries == [failed["id"]]


async def test_a_failed_delivery_on_a_later_page_of_the_log_is_found(bot: BotHarness) -> None:
    failed = bot.fake.add_hook_delivery("check_run", "completed", status_code=502)
    for _ in range(120):
        bot.fake.add_hook_delivery("check_run", "completed", status_code=202)

    assert await bot.app[CATCH_UP].redeliverer.redeliver_failed() == [failed["guid"]]

    cursors = [c.query.get("cursor") for c in bot.fake.calls("GET", "/app/hook/deliveries")]
    assert len(cursors) == 2 and cursors[0] is None and cursors[1] is not None


async def test_a_refused_redelivery_is_asked_again_next_round(bot: BotHarness) -> None:
    failed = bot.fake.add_hook_delivery("check_run", "completed", status_code=502)
    bot.fake.fail_next(1, 422, message="Validation Failed", path="/app/hook/deliveries/")
    redeliverer = bot.app[CATCH_UP].redeliverer

    assert await redeliverer.redeliver_failed() == []
    assert await redeliverer.redeliver_failed() == [failed["guid"]]


# -- the schedule ---------------------------------------------------------------------------------


async def test_the_schedule_redelivers_at_start_up_then_reconciles_every_interval(bot: BotHarness) -> None:
    failed = bot.fake.add_hook_delivery("check_run", "completed", status_code=502)
    sha = ci_finished(bot, failed=84, passed=143)
    catch_up = CatchUp(bot.app[APP_API], bot.app[TRACKERS], bot.app[JOURNAL], interval=0.05, startup_delay=0)
    catch_up.start()
    try:
        for _ in range(1000):  # up to 10 s for the first reconcile to write the issue
            if bot.fake.calls("PATCH"):
                break
            await asyncio.sleep(0.01)
    finally:
        await catch_up.stop()

    assert bot.fake.redeliveries == [failed["id"]]
    assert f"/commit/{sha}" in bot.body


async def test_an_interval_of_0_turns_the_schedule_off(bot: BotHarness) -> None:
    bot.fake.add_hook_delivery("check_run", "completed", status_code=502)
    catch_up = CatchUp(bot.app[APP_API], bot.app[TRACKERS], bot.app[JOURNAL], interval=0, startup_delay=0)
    catch_up.start()
    await asyncio.sleep(0.1)
    await catch_up.stop()
    assert bot.fake.calls("GET", "/app/") == []
