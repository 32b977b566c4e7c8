"""What the bot counts, for an operator: ``GET /metrics`` (Prometheus) and the JSON in ``/healthz``.

Every label takes values from a small closed set (event names, outcomes, refusal reasons, REST path
templates, statuses, installation ids), never delivery ids, commit SHAs or repository names, so the
number of series stays bounded however much traffic comes in. Nothing secret is ever a label or a value.

Each app has a registry of its own (tests and benchmarks run several apps in one process). Counting on
the intake path costs one dictionary lookup and one increment: label children are looked up once.
"""

from __future__ import annotations

from collections import Counter as Tally

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.exposition import generate_latest

Outcome = int | str
PREFIX = "issue_status_bot"
# The classic text format, which every Prometheus (2.x and 3.x) reads: our names need none of the escaping
# that text format 1.0.0 (prometheus-client's latest) adds for UTF-8 names.
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

# Receipt to effects written: a coalesced burst waits ~1 s, writes are paced 1 s apart per installation,
# and a GitHub outage is retried for minutes, hence buckets from 100 ms to an hour.
LATENCY_BUCKETS = (0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 900.0, 3600.0)

# Refusals by HTTP status (bot.intake.webhook and bot.intake.body_reading): the reason texts carry
# numbers, the statuses do not.
_REFUSALS = {
    400: "malformed",
    401: "signature",
    408: "body too slow",
    411: "no content length",
    413: "too large",
    417: "unsupported expectation",
    503: "overloaded",
}

# The writes a user sees, by the REST operation that makes them (bot.github.repository).
_EFFECTS = {
    "PATCH /repos/{owner}/{repo}/issues/{number}": "tracker update",
    "POST /repos/{owner}/{repo}/issues/{number}/comments": "comment",
    "POST /repos/{owner}/{repo}/pulls/{number}/requested_reviewers": "review request",
}


def refusal_reason(status: int) -> str:
    """The bounded ``reason`` label of a refused delivery."""
    return _REFUSALS.get(status, str(status))


def effect_of(operation: str, status: int) -> str | None:
    """The effect a successful write made (``"comment"``...), or None for reads and failures."""
    return _EFFECTS.get(operation) if 200 <= status < 300 else None


class Metrics:
    """The series /metrics exposes; the journal's gauges are read from the journal when scraped."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        registry = self.registry
        self.deliveries = Counter(
            f"{PREFIX}_deliveries",
            "Signed deliveries received, by event and outcome (acked, duplicate, ignored)",
            ["event", "outcome"],
            registry=registry,
        )
        self.refused = Counter(
            f"{PREFIX}_deliveries_refused",
            "Requests to /webhook refused, by reason",
            ["reason"],
            registry=registry,
        )
        self.journal_entries = Gauge(
            f"{PREFIX}_journal_entries",
            "Journalled deliveries by status (in_progress: claimed by this process, also counted pending)",
            ["status"],
            registry=registry,
        )
        self.journal_reachable = Gauge(
            f"{PREFIX}_journal_reachable",
            "1 if the journal's store answered the last scrape, 0 if it did not (see /readyz)",
            registry=registry,
        )
        self.oldest_unfinished_age = Gauge(
            f"{PREFIX}_journal_oldest_unfinished_age_seconds",
            "Age of the oldest delivery not done yet (pending, or failed and to be retried); 0 if none",
            registry=registry,
        )
        self.latency = Histogram(
            f"{PREFIX}_processing_seconds",
            "From a delivery's receipt to its effects written on GitHub",
            buckets=LATENCY_BUCKETS,
            registry=registry,
        )
        self.processed = Counter(
            f"{PREFIX}_deliveries_processed",
            "Deliveries the workers finished, by outcome (done, failed: to be retried, dead: parked)",
            ["outcome"],
            registry=registry,
        )
        self.github_calls = Counter(
            f"{PREFIX}_github_calls",
            "Attempts at GitHub calls, by operation (method and path template) and status",
            ["operation", "status"],
            registry=registry,
        )
        self.github_retries = Counter(
            f"{PREFIX}_github_retries",
            "GitHub calls attempted again, by operation and what failed",
            ["operation", "status"],
            registry=registry,
        )
        self.rate_limit_remaining = Gauge(
            f"{PREFIX}_github_rate_limit_remaining",
            "Requests left in the installation's primary rate limit, as GitHub last said",
            ["installation"],
            registry=registry,
        )
        self.effects = Counter(
            f"{PREFIX}_effects",
            "Writes GitHub accepted, by kind (tracker update, comment, review request)",
            ["kind"],
            registry=registry,
        )
        self._delivery_children: dict[tuple[str, str], Counter] = {}

    def delivery(self, event: str, outcome: str) -> None:
        """Count a signed delivery; the hot path, so the label child is looked up once per pair."""
        child = self._delivery_children.get((event, outcome))
        if child is None:
            child = self._delivery_children[(event, outcome)] = self.deliveries.labels(event, outcome)
        child.inc()

    def journal(self, counts: dict[str, int], oldest_unfinished_age: float | None) -> None:
        """The journal's backlog as read for this scrape."""
        self.journal_reachable.set(1)
        for status, count in counts.items():
            self.journal_entries.labels(status).set(count)
        self.oldest_unfinished_age.set(oldest_unfinished_age or 0.0)

    def exposition(self) -> bytes:
        """The registry in Prometheus' text format."""
        return generate_latest(self.registry)


class CallCounts:
    """How many attempts each operation made, by outcome; retries count once per attempt.

    Kept for /healthz as JSON, and mirrored into ``Metrics.github_calls`` for Prometheus.
    """

    def __init__(self, metrics: Metrics | None = None) -> None:
        self._counts: Tally[tuple[str, Outcome]] = Tally()
        self._metrics = metrics

    def record(self, operation: str, outcome: Outcome) -> None:
        self._counts[(operation, outcome)] += 1
        if self._metrics is not None:
            self._metrics.github_calls.labels(operation, str(outcome)).inc()
            if isinstance(outcome, int) and (effect := effect_of(operation, outcome)) is not None:
                self._metrics.effects.labels(effect).inc()

    def __getitem__(self, key: tuple[str, Outcome]) -> int:
        return self._counts[key]

    def total(self) -> int:
        return sum(self._counts.values())

    def as_json(self) -> dict[str, dict[str, int]]:
        """``{operation: {outcome: count}}``, sorted so the output is stable."""
        report: dict[str, dict[str, int]] = {}
        for (operation, outcome), count in sorted(self._counts.items(), key=lambda kv: str(kv[0])):
            report.setdefault(operation, {})[str(outcome)] = count
        return report
