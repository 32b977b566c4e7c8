"""What an operator counts: GitHub calls as JSON in /healthz, everything in /metrics, and /readyz."""

from __future__ import annotations

import asyncio
import json

from prometheus_client.parser import text_string_to_metric_families

from bot.github.retry import RetryPolicy
from bot.intake.server import GITHUB, JOURNAL
from bot.metrics import CallCounts, Outcome
from bot.testing.deliveries import check_run_completed, deliver, signed_headers
from tests.harness import INSTALLATION_ID, REPO, BotHarness, sha_of, summary
from tests.postgres import JournalStore

ISSUE = "GET /repos/{owner}/{repo}/issues/{number}"
COMMENT = "POST /repos/{owner}/{repo}/issues/{number}/comments"


def test_outcomes_are_counted_per_operation_and_reported_sorted() -> None:
    counts = CallCounts()
    calls: list[tuple[str, Outcome]] = [
        (ISSUE, 200),
        (ISSUE, 304),
        (ISSUE, 304),
        (COMMENT, "timeout"),
        (COMMENT, 201),
    ]
    for operation, outcome in calls:
        counts.record(operation, outcome)
    assert (counts[(ISSUE, 304)], counts[(COMMENT, 502)], counts.total()) == (2, 0, 5)
    assert counts.as_json() == {ISSUE: {"200": 1, "304": 2}, COMMENT: {"201": 1, "timeout": 1}}
    assert list(counts.as_json()) == [ISSUE, COMMENT]


# --- GET /metrics and /readyz, through the bot's HTTP server ---------------------------------------------

TRACKER_UPDATE = "PATCH /repos/{owner}/{repo}/issues/{number}"


async def scrape(bot: BotHarness) -> tuple[str, dict[tuple[str, frozenset[tuple[str, str]]], float]]:
    """The /metrics text, and every sample by name and labels."""
    async with bot.session.get(bot.url.replace("/webhook", "/metrics")) as answer:
        assert answer.status == 200
        assert answer.headers["Content-Type"].startswith("text/plain; version=0.0.4")
        text = await answer.text()
    samples = {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }
    return text, samples


def sample(
    samples: dict[tuple[str, frozenset[tuple[str, str]]], float], name: str, **labels: str
) -> float | None:
    return samples.get((f"issue_status_bot_{name}", frozenset(labels.items())))


async def test_metrics_count_deliveries_latency_github_calls_and_effects_without_ids_or_shas(
    bot: BotHarness,
) -> None:
    config = "trackers:\n  - issue: 2\n    branch: fix/infra\n    review:\n      reviewers: [octocat]\n"
    bot.fake.put_file(REPO, ".github/issue-status.yml", config)
    bot.fake.add_pull_request(REPO, head_ref="fix/infra", head_sha=sha_of("c2"), number=3)
    await bot.ci_completed("c1", {"tests": summary(84, 143)}, branch="fix/infra")
    await bot.ci_completed("c2", {"tests": summary(5, 222)}, branch="fix/infra")  # gate met: review
    assert await bot.redeliver() == 202
    assert await deliver(bot.session, bot.url, b"not the secret", "check_run", {"zen": "x"}) == 401

    text, samples = await scrape(bot)
    assert sample(samples, "deliveries_total", event="check_run", outcome="acked") == 2
    assert sample(samples, "deliveries_total", event="check_run", outcome="duplicate") == 1
    assert sample(samples, "deliveries_refused_total", reason="signature") == 1
    assert sample(samples, "deliveries_processed_total", outcome="done") == 2
    assert sample(samples, "processing_seconds_count") == 2
    assert sample(samples, "journal_entries", status="done") == 2
    assert sample(samples, "journal_entries", status="pending") == 0
    assert sample(samples, "journal_oldest_unfinished_age_seconds") == 0
    assert sample(samples, "journal_reachable") == 1
    # What the fake GitHub saw, counted by operation and status, and as the effects a user sees.
    patches = len(bot.fake.calls("PATCH"))
    assert patches == 2
    assert sample(samples, "github_calls_total", operation=TRACKER_UPDATE, status="200") == patches
    assert sample(samples, "effects_total", kind="tracker update") == patches
    assert sample(samples, "effects_total", kind="comment") == len(bot.comments) >= 1
    assert sample(samples, "effects_total", kind="review request") == 1
    remaining = sample(samples, "github_rate_limit_remaining", installation=str(INSTALLATION_ID))
    assert remaining is not None and 0 < remaining < 5000
    # Bounded labels: no delivery id, commit, repository or secret is ever part of the exposition.
    assert bot.last_delivery is not None
    for unbounded in (bot.last_delivery[2], sha_of("c1"), sha_of("c2"), REPO, bot.secret.decode()):
        assert unbounded not in text


async def test_a_failing_delivery_shows_as_backlog_with_its_age_and_retries(bot: BotHarness) -> None:
    bot.app[GITHUB].policy = RetryPolicy(base_delay=0.01, max_delay=0.01, attempt_timeout=0.5, budget=0.2)
    bot.fake.fail_next(50, 503)
    await bot.ci_completed("c1", {"tests": summary(84, 143)})
    await asyncio.sleep(0.05)

    _, samples = await scrape(bot)
    assert sample(samples, "journal_entries", status="failed") == 1
    assert sample(samples, "deliveries_processed_total", outcome="failed") == 1
    assert (sample(samples, "journal_oldest_unfinished_age_seconds") or 0) >= 0.05
    retried = [
        value
        for (name, labels), value in samples.items()
        if name == "issue_status_bot_github_retries_total" and ("status", "503") in labels
    ]
    assert sum(retried) >= 1


async def test_readiness_fails_while_the_journal_cannot_answer_and_healthz_stays_cheap(
    bot: BotHarness,
) -> None:
    ready = bot.url.replace("/webhook", "/readyz")
    async with bot.session.get(ready) as answer:
        assert (answer.status, await answer.json()) == (200, {"status": "ready"})
    await bot.app[JOURNAL].close()  # the store is gone (for PostgreSQL: the server is down)
    async with bot.session.get(ready) as answer:
        assert answer.status == 503
        assert (await answer.json())["status"] == "unavailable"
    _, samples = await scrape(bot)
    assert sample(samples, "journal_reachable") == 0


async def test_a_delivery_the_journal_cannot_take_is_refused_503_for_now_and_counted(bot: BotHarness) -> None:
    await bot.app[JOURNAL].close()  # the store is gone (for PostgreSQL: the server is down)
    sha = sha_of("c1")
    run = bot.fake.add_check_run(REPO, sha, "tests", output={"title": "t", "summary": summary(1, 99)})
    payload = check_run_completed(bot.repository, run, installation_id=INSTALLATION_ID, head_branch="main")
    body = json.dumps(payload).encode()
    headers = signed_headers(bot.secret, "check_run", body, None)
    async with bot.session.post(bot.url, data=body, headers=headers) as answer:
        assert (answer.status, answer.headers.get("Retry-After")) == (503, "30")
        assert await answer.json() == {"error": "the journal is unavailable"}
    _, samples = await scrape(bot)
    assert sample(samples, "deliveries_refused_total", reason="journal unavailable") == 1
    assert sample(samples, "deliveries_total", event="check_run", outcome="acked") in (None, 0)


# --- what the journal tells /metrics and the start-up line, on both backends ------------------------------


async def test_each_journal_says_when_its_oldest_unfinished_entry_came_and_how_many_trackers_it_knows(
    journal_store: JournalStore,
) -> None:
    now = [1_700_000_000.0]
    journal = await journal_store.open(max_attempts=3, clock=lambda: now[0], jitter=lambda: 0.0)
    try:
        assert (await journal.oldest_unfinished(), await journal.tracker_count()) == (None, 0)
        for delivery_id in ("first", "second"):
            await journal.record(delivery_id, "check_run", "completed", b"{}", "octo/repo")
            now[0] += 10
        assert await journal.oldest_unfinished() == 1_700_000_000.0
        await journal.claim(10, now[0], per_key=10)
        await journal.complete("first")
        await journal.fail("second", "GitHub answered 502", now[0])  # failed: still to be done
        assert await journal.oldest_unfinished() == 1_700_000_010.0
        await journal.fail("second", "GitHub answered 502", now[0], park=True)  # dead: given up
        assert await journal.oldest_unfinished() is None
        await journal.save_tracker_state("octo/repo#2", 1, "<!-- state -->")
        await journal.save_tracker_state("octo/repo#7", 1, "<!-- state -->")
        await journal.save_tracker_state("octo/repo#2", 2, "<!-- state -->")
        assert await journal.tracker_count() == 2
    finally:
        await journal.close()
