"""The bot's memory of a tracker, kept as hidden, authenticated state inside its own block.

The state travels with the issue, so a deployment that lost its disk still knows the history. It is
signed with the deployment's own state key (never the webhook secret: the MAC is public, and a weak
secret could be guessed from it offline) and bound to the repository and issue, so a hand-edited, forged
or copied state is detected. Each write carries a generation one above the last: an older signed state
pasted back by an issue editor is recognised as older (see tracking/keeper.py, which also keeps the last
state written, so that neither a replayed nor a damaged state wins over it).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import logging
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from bot.results.counts import TestCounts
from bot.results.test_changes import ChangesSummary
from bot.tracking.thinning import thin_history

log = logging.getLogger(__name__)

STATE_VERSION = 2
# Version 1 states were signed with a key derived from the webhook secret; read (never written) so that an
# upgrade keeps every tracker's history.
_LEGACY_VERSION = 1
# Enough runs for a trend; older ones are thinned (the baseline kept) so the encoded state stays small.
MAX_HISTORY = 100
_COUNT_FIELDS = (
    "passed",
    "failed",
    "errors",
    "skipped",
    "xfailed",
    "xpassed",
    "deselected",
    "warnings",
)
# The marker is a line of its own, the block's last: text shown above it can never pose as it.
_STATE_RE = re.compile(
    r"^<!-- issue-status-bot:state v(\d+) ([A-Za-z0-9_-]+) ([0-9a-f]{64}) -->\r?$", re.MULTILINE
)


@dataclass(frozen=True)
class RunRecord:
    """One recorded CI result for a commit of the tracked branch."""

    sha: str
    counts: TestCounts
    completed_at: str  # ISO 8601, as GitHub reports it
    provisional: bool = False  # recorded while some of the commit's CI was still running


@dataclass(frozen=True)
class TrackerState:
    runs: tuple[RunRecord, ...] = ()
    gate_met: bool = False
    baseline_rate: float | None = field(default=None)  # the first recorded rate, unless configured
    # The counted tests of the run the baseline was taken from (a ``min_tests: baseline`` gate needs as
    # many); None in states written before it was kept: the first recorded run's count stands in.
    baseline_tests: int | None = None
    # Digests of the human text (everything outside the block) the bot read before its last write and
    # the human text it wrote: together they tell whether that write replaced an edit it never saw.
    seen: str = ""
    wrote: str = ""
    rules: dict[str, Any] = field(default_factory=dict)  # the rules engine's memory (RulesMemory.as_data)
    generation: int = 0  # one more with each write of the bot's: tells a replayed older state apart
    tests: ChangesSummary | None = None  # per-test changes of the last final run that had per-test results

    def with_run(self, run: RunRecord, rate: float | None, counted: int | None = None) -> TrackerState:
        """Record a run (its ``rate`` and ``counted`` tests become the baseline if there is none yet).

        A commit already recorded is updated in its place (a re-run or a late job of an older commit does
        not make it the latest); a new one goes where its completion time puts it, so a delivery worked
        off late (a redelivery, the catch-up after an outage) does not pose as the newest result.
        """
        runs = list(self.runs)
        at = next((i for i, recorded in enumerate(runs) if recorded.sha == run.sha), None)
        if at is not None:
            runs[at] = run
        else:
            runs.insert(_place(runs, run), run)
        changed = replace(self, runs=tuple(runs))
        if self.baseline_rate is None and not run.provisional:
            changed = replace(changed, baseline_rate=rate, baseline_tests=counted)
        return changed.thinned(MAX_HISTORY)

    def thinned(self, keep: int) -> TrackerState:
        """At most ``keep`` runs: the first (the baseline), the latest densely, older ones sparser."""
        if len(self.runs) <= keep:
            return self
        return replace(self, runs=tuple(thin_history(self.runs, keep, position=_position_in_time(self.runs))))


def _place(runs: list[RunRecord], run: RunRecord) -> int:
    """Where a new run goes: after every run that completed no later, or last when times are unknown."""
    when = completed_instant(run.completed_at)
    at = len(runs)
    while when is not None and at > 0:
        before = completed_instant(runs[at - 1].completed_at)
        if before is None or before <= when:
            break
        at -= 1
    return at


def completed_instant(text: str) -> datetime | None:
    """A run's completion time as GitHub writes it (ISO 8601, UTC when no zone is given); None if it is
    not one."""
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _position_in_time(runs: tuple[RunRecord, ...]) -> Callable[[RunRecord], float] | None:
    """Place runs by completion time when every run has one in order; otherwise by their order."""
    instants = [completed_instant(r.completed_at) for r in runs]
    if None in instants:
        return None
    times = [instant.timestamp() for instant in instants if instant is not None]
    if times != sorted(times):
        return None
    by_sha = {r.sha: t for r, t in zip(runs, times, strict=True)}
    return lambda run: by_sha[run.sha]


def _count_or_none(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None


def human_digest(human_text: str) -> str:
    """A short digest of the human text of a body, to recognise it later without storing it."""
    return hashlib.sha256(human_text.encode()).hexdigest()[:32]


class StateCodec:
    """Encodes state into the block's hidden marker and decodes only what the bot itself signed."""

    def __init__(self, key: bytes, *, legacy_secrets: Sequence[bytes] = ()) -> None:
        self._key = hmac.new(key, b"issue-status-bot/state/v2", hashlib.sha256).digest()
        self._legacy_keys = tuple(
            hmac.new(secret, b"issue-status-bot/state/v1", hashlib.sha256).digest()
            for secret in legacy_secrets
        )

    def _mac(self, key: bytes, scope: str, payload: str) -> str:
        return hmac.new(key, f"{scope}\n{payload}".encode(), hashlib.sha256).hexdigest()

    def encode(self, state: TrackerState, scope: str) -> str:
        """The marker line; ``scope`` ("owner/repo#2") binds it to one tracking issue."""
        data: dict[str, Any] = {
            "runs": [
                [r.sha, r.completed_at, [getattr(r.counts, f) for f in _COUNT_FIELDS], r.provisional]
                for r in state.runs
            ],
            "gate_met": state.gate_met,
            "baseline_rate": state.baseline_rate,
            "baseline_tests": state.baseline_tests,
            "seen": state.seen,
            "wrote": state.wrote,
            "rules": state.rules,
            "generation": state.generation,
        }
        if state.tests is not None:
            data["tests"] = state.tests.as_data()
        raw = json.dumps(data, separators=(",", ":")).encode()
        payload = base64.urlsafe_b64encode(raw).decode().rstrip("=")
        mac = self._mac(self._key, scope, payload)
        return f"<!-- issue-status-bot:state v{STATE_VERSION} {payload} {mac} -->"

    def replace_marker(self, block: str, state: TrackerState, scope: str) -> str:
        """``block`` with its state marker replaced by one for ``state``."""
        return _STATE_RE.sub(lambda _: self.encode(state, scope), block, count=1)

    @staticmethod
    def _marker_in(block: str | None) -> re.Match[str] | None:
        matches = list(_STATE_RE.finditer(block or ""))
        return matches[-1] if matches else None  # the last one is the bot's

    def marker_in(self, block: str | None) -> str | None:
        """The state marker in ``block`` (the last one: the bot's), as written."""
        match = self._marker_in(block)
        return match[0].removesuffix("\r") if match is not None else None

    def decode(self, block: str | None, scope: str) -> TrackerState | None:
        """The state signed in ``block``; None when it is absent, forged, copied or unreadable."""
        if not block:
            return None
        match = self._marker_in(block)
        if match is None:
            log.warning("%s: the status block has no state marker", scope)
            return None
        version, payload, mac = match.groups()
        keys = {STATE_VERSION: (self._key,), _LEGACY_VERSION: self._legacy_keys}.get(int(version), ())
        if not any(hmac.compare_digest(mac, self._mac(key, scope, payload)) for key in keys):
            log.warning("%s: the status block's state is not signed by this deployment", scope)
            return None
        try:
            data = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
            return TrackerState(
                runs=tuple(
                    RunRecord(
                        sha=sha, completed_at=at, counts=TestCounts(*counts), provisional=bool(provisional)
                    )
                    for sha, at, counts, provisional in data["runs"]
                ),
                gate_met=bool(data["gate_met"]),
                baseline_rate=data["baseline_rate"],
                baseline_tests=_count_or_none(data.get("baseline_tests")),
                seen=str(data.get("seen", "")),
                wrote=str(data.get("wrote", "")),
                rules=dict(data.get("rules") or {}),
                generation=int(data.get("generation", 0)),
                tests=ChangesSummary.from_data(data.get("tests")),
            )
        except (binascii.Error, ValueError, KeyError, TypeError):
            # Signed by us but unreadable can only mean a bug in an older version; never crash on it.
            log.exception("%s: the signed state could not be read", scope)
            return None
