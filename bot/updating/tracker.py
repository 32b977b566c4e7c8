"""Bringing a tracking issue up to date: after a commit's CI, a push, a human's edit or a command.

This is where the pieces meet: configuration (configs.py), the commit's results (results/), the rules
(rules/), the tracker's state and rendered block (tracking/), and the announcements (handover.py).
Effects run before the state that records them is written, each guarded by a marker the bot can find
again, so a crash between the two repeats nothing a human would see twice.
"""

from __future__ import annotations

import asyncio
import logging
import weakref
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from bot.config import GateCondition, TrackerConfig
from bot.github.client import GitHubApp
from bot.github.repository import Issue, Repository
from bot.github.revoked import RevokedAccess
from bot.results.commit import CommitResults, ResultCollector
from bot.results.test_changes import TestChanges, TestMemory, summarize
from bot.rules import Evaluation, Evidence, MarkChange, RulesMemory, Tick, apply, evaluate, start_fixes
from bot.rules import Event as RulesEvent
from bot.rules.events import make_event
from bot.rules.owned_lines import HumanEdit, trust_edit, undo_ticks
from bot.rules.recovery import not_yet_said, said_in
from bot.tracking.body import (
    block_content,
    checklist_items,
    find_checklist_item,
    human_text,
    match_key,
    replace_block,
    replace_last_block_line,
    set_checklist_item,
    split_body,
    written_length,
)
from bot.tracking.keeper import StateKeeper
from bot.tracking.markdown import is_read
from bot.tracking.markdown import read as read_markdown
from bot.tracking.per_test import PerTestMemory
from bot.tracking.render import (
    REQUEST_REVIEW_LINE,
    render_status_block,
)
from bot.tracking.state import RunRecord, TrackerState, human_digest
from bot.tracking.status import StatusReport, assess, latest
from bot.tracking.thinning import fit_block
from bot.updating.branches import BranchMembership
from bot.updating.commits import CommitEvent, commit_url
from bot.updating.configs import RepositoryConfigs
from bot.updating.handover import announce, announce_sources, ask_late_pull_request, conditions_held

log = logging.getLogger(__name__)

# GitHub refuses issue and comment bodies longer than this many characters.
MAX_BODY_CHARS = 65_536


class TrackerService:
    """Updates every tracker a commit concerns, one tracker at a time."""

    def __init__(
        self,
        github: GitHubApp,
        results: ResultCollector,
        *,
        states: StateKeeper,
        per_test: PerTestMemory,
    ) -> None:
        self.github = github
        self.results = results
        self.states = states
        self.per_test = per_test
        self._locks: weakref.WeakValueDictionary[tuple[str, int], asyncio.Lock] = (
            weakref.WeakValueDictionary()
        )
        self.configs = RepositoryConfigs()
        self.branches = BranchMembership()
        self.revoked = RevokedAccess()  # where GitHub's events said the App may no longer act

    async def _issue(self, repo: Repository, number: int) -> Issue:
        """The issue, its body read as Markdown off the event loop (the reading is cached for the update).

        Anyone who can edit the issue chooses its body, and reading 64 KiB of hostile Markdown takes
        a good part of a second. A body read before (the bot's own last write) needs no thread (a hop to
        one and back costs ~0.1 ms of CPU).
        """
        issue = await repo.issue(number)
        if not is_read(issue.body):
            await asyncio.to_thread(read_markdown, issue.body)
        return issue

    async def _open_tracker(self, repo: Repository, number: int) -> tuple[Issue, TrackerState] | None:
        """The tracking issue and its state, when it is an open issue with a status block the bot wrote
        (what all but a commit's results work from); None otherwise."""
        issue = await self._issue(repo, number)
        if issue.is_pull_request or issue.state != "open" or block_content(issue.body) is None:
            return None
        return issue, await self.states.read(issue.body, f"{repo.full_name}#{number}")

    def _lock(self, repository: str, issue: int) -> asyncio.Lock:
        key = (repository, issue)
        lock = self._locks.get(key)
        if lock is None:
            lock = asyncio.Lock()
            self._locks[key] = lock
        return lock

    async def commit_completed(self, event: CommitEvent) -> None:
        repo = Repository(self.github.client(event.installation_id), event.repository)
        config = await self.configs.load(repo)
        if config is None:
            return
        trackers = config.trackers_for_branch(event.branch, event.default_branch)
        if not trackers:
            log.debug("%s: no tracker follows branch %r", repo.full_name, event.branch)
        elif event.branch is None or not await self.branches.contains(repo, event.branch, event.sha):
            return  # a fork's commit on a branch of the same name, or one not merged: it counts nowhere
        for tracker in trackers:
            async with self._lock(repo.full_name, tracker.issue):
                await self.update_tracker(repo, tracker, event)

    async def push_received(self, event: CommitEvent, paths: Sequence[str], at: datetime) -> None:
        """A push to a tracked branch: fixes whose files it touched are now in progress (⏳ → 🔄)."""
        repo = Repository(self.github.client(event.installation_id), event.repository)
        config = await self.configs.load(repo)
        if config is None:
            return
        for tracker in config.trackers_for_branch(event.branch, event.default_branch):
            if not tracker.fixes:
                continue
            async with self._lock(repo.full_name, tracker.issue):
                await self.start_fixes(repo, tracker, event, paths, at)

    async def start_fixes(
        self, repo: Repository, tracker: TrackerConfig, event: CommitEvent, paths: Sequence[str], at: datetime
    ) -> None:
        where = f"{repo.full_name}#{tracker.issue}"
        tracked = await self._open_tracker(repo, tracker.issue)
        if tracked is None:
            return  # fixes start from a status block the bot already wrote
        issue, state = tracked
        finished = [r for r in state.runs if not r.provisional]
        rate = tracker.rate_of(finished[-1].counts) if finished else None
        memory = RulesMemory.from_data(state.rules)
        started, marks = start_fixes(tracker, issue.body, memory, paths, sha=event.sha, at=at, rate=rate)
        if not marks:
            return
        log.info("%s: push %s started %s", where, event.sha[:7], ", ".join(m.fix for m in marks))
        await self._reevaluate(repo, tracker, issue.body, state, started, event, marks)

    async def human_edited(
        self, repo: Repository, number: int, edit: HumanEdit, where_from: CommitEvent
    ) -> None:
        """A human edited a tracking issue: a manual line they ticked may complete the review conditions.

        Only people with write access steer the bot: anyone else's edit keeps its text, but the ticks it
        changed on lines bound to a rule go back, and its "Request review now" tick is ignored.
        """
        config = await self.configs.load(repo)
        tracker = config.tracker_of(number) if config else None
        if tracker is None:
            return
        where = f"{repo.full_name}#{number}"
        async with self._lock(repo.full_name, number):
            tracked = await self._open_tracker(repo, number)
            if tracked is None:
                return
            issue, state = tracked
            memory = RulesMemory.from_data(state.rules)
            undone: tuple[Tick, ...] = ()
            if edit.may_steer:
                memory = trust_edit(tracker, memory, edit.before, edit.after)
            else:
                undone = undo_ticks(tracker, edit.before, edit.after, issue.body)
                if undone:
                    log.warning("%s: %s, without write access, changed ticks; put back", where, edit.by)
            if edit.may_steer and _review_requested_in(block_content(issue.body) or ""):
                # A writer ticked "Request review now": one hand-over per tick, keyed by the state it was
                # ticked on; the re-rendered block unticks it.
                reason = f"ticked on {state.wrote}"
                await self._hand_over(repo, tracker, state, where_from, reason, requested_by=edit.by)
            await self._reevaluate(repo, tracker, issue.body, state, memory, where_from, ticks=undone)

    async def _hand_over(
        self,
        repo: Repository,
        tracker: TrackerConfig,
        state: TrackerState,
        where_from: CommitEvent,
        reason: str,
        *,
        requested_by: str,
    ) -> None:
        """Ask for the review now, once per ``reason`` (it is part of the announcement's key); before the
        conditions hold, the comment says it is an early request."""
        report = latest(state, tracker)
        if report is None:
            return
        event = make_event(tracker.issue, report.run.sha, "review_ready", reason)
        about = replace(where_from, sha=report.run.sha)
        early = not conditions_held(tracker, state)
        await announce(
            repo,
            tracker,
            (event,),
            report,
            about,
            self.configs.templates(repo),
            requested_by=requested_by,
            early=early,
        )

    async def set_baseline(
        self, repo: Repository, tracker: TrackerConfig, baseline: float | None, where_from: CommitEvent
    ) -> float | None:
        """Set the tracker's baseline (None: the current rate); returns it, or None with nothing recorded."""
        async with self._lock(repo.full_name, tracker.issue):
            tracked = await self._open_tracker(repo, tracker.issue)
            if tracked is None:
                return None
            issue, state = tracked
            report = latest(state, tracker)
            if report is None:
                return None
            chosen = baseline if baseline is not None else report.rate
            changed = replace(state, baseline_rate=chosen, baseline_tests=report.counted)
            await self._reevaluate(
                repo, tracker, issue.body, changed, RulesMemory.from_data(state.rules), where_from
            )
            return chosen

    async def hand_over_now(
        self, repo: Repository, tracker: TrackerConfig, where_from: CommitEvent, *, reason: str, by: str
    ) -> None:
        """Ask for the review now, whatever the conditions say (a maintainer's ``/status review``)."""
        where = f"{repo.full_name}#{tracker.issue}"
        async with self._lock(repo.full_name, tracker.issue):
            issue = await self._issue(repo, tracker.issue)
            if issue.state == "open":
                state = await self.states.read(issue.body, where)
                await self._hand_over(repo, tracker, state, where_from, reason, requested_by=by)

    async def pull_request_ready(self, repo: Repository, pr: dict[str, Any], where_from: CommitEvent) -> None:
        """A pull request of a tracked branch was opened, reopened or marked ready for review: if every
        hand-over condition already holds, its reviewers are asked there (``ask_late_pull_request``)."""
        config = await self.configs.load(repo)
        branch = str((pr.get("head") or {}).get("ref", ""))
        for tracker in config.trackers_for_branch(branch, where_from.default_branch) if config else ():
            where = f"{repo.full_name}#{tracker.issue}"
            async with self._lock(repo.full_name, tracker.issue):
                tracked = await self._open_tracker(repo, tracker.issue)
                if tracked is None:
                    continue
                _, state = tracked
                report = latest(state, tracker)
                if report is None or not conditions_held(tracker, state):
                    log.info("%s: pull request #%s came before the hand-over", where, pr.get("number"))
                    continue
                about = replace(where_from, sha=report.run.sha, branch=branch)
                await ask_late_pull_request(repo, tracker, pr, report, about)

    async def _reevaluate(
        self,
        repo: Repository,
        tracker: TrackerConfig,
        body: str,
        state: TrackerState,
        memory: RulesMemory,
        where_from: CommitEvent,
        marks: Sequence[MarkChange] = (),
        ticks: Sequence[Tick] = (),
    ) -> None:
        """Judge the rules again without a new run (a push started a fix, a human ticked a line), announce
        what changed, and write the issue if anything did. ``ticks`` put back boxes a human may not set."""
        report = latest(state, tracker)
        if report is None:
            return  # nothing recorded yet: the first run will judge everything
        human = apply(replace_block(body, ""), ticks, marks)
        evidence = Evidence(
            state.runs, None, report.baseline_rate, datetime.now(UTC), baseline_tests=report.baseline_tests
        )
        evaluation = evaluate(tracker, human, evidence, memory)
        latest_run = replace(
            where_from, sha=report.run.sha, branch=tracker.branch or where_from.default_branch
        )
        await announce(repo, tracker, evaluation.events, report, latest_run, self.configs.templates(repo))
        human = apply(human, evaluation.ticks, evaluation.marks)
        after = replace(state, rules=evaluation.memory.as_data())
        await self._publish(repo, tracker, body, human, state, after, report, evaluation, latest_run)

    async def update_tracker(self, repo: Repository, tracker: TrackerConfig, event: CommitEvent) -> None:
        where = f"{repo.full_name}#{tracker.issue}"
        results = await self.results.collect(repo, event.sha, tracker)
        counted = results.counts is not None and tracker.rate_of(results.counts) is not None
        if not counted and not results.unavailable:
            log.info("%s: commit %s has no test results yet", where, event.sha[:7])
            return
        issue = await self._issue(repo, tracker.issue)
        if issue.is_pull_request or issue.state != "open":
            log.info("%s: the tracking issue is not an open issue; left alone", where)
            return

        before = await self.states.read(issue.body, where)
        after, report = before, latest(before, tracker)
        if counted:
            after, report = assess(before, _run_record(results), tracker)
        # An older commit's result is recorded in its place, but the latest one stands for the tracker:
        # its per-test results are not compared, nor judged.
        current = bool(after.runs) and after.runs[-1].sha == event.sha
        changes: TestChanges | None = None
        remembered: TestMemory | None = None
        if results.cases and not results.provisional and current:
            changes, remembered = await self.per_test.compare(where, event.sha, results.cases)
            after = replace(after, tests=summarize(changes))
            report = replace(report, tests=after.tests) if report is not None else None
        if counted:
            assert report is not None
            log.info(
                "%s: commit %s at %.1f%% (%d results, %s)%s, gate %s",
                where,
                event.sha[:7],
                (tracker.rate_of(results.counts) or 0) * 100 if results.counts else 0,
                len(results.jobs),
                "provisional" if results.provisional else "final",
                ""
                if current
                else f", older than the latest result {report.run.sha[:7]}: recorded in its place",
                "met" if report.gate_met else "not met",
            )

        evaluation: Evaluation | None = None
        human = replace_block(issue.body, "")
        if counted:
            assert report is not None
            evidence = Evidence(
                after.runs,
                (results.cases or None) if current else None,
                report.baseline_rate,
                datetime.now(UTC),
                changes=changes,
                baseline_tests=report.baseline_tests,
            )
            evaluation = evaluate(tracker, issue.body, evidence, RulesMemory.from_data(before.rules))
            events: Sequence[RulesEvent] = evaluation.events
            if not before.runs and events:
                events = await self._not_yet_said(repo, tracker, events)
            # Effects before the state that records them: each announcement carries its key, so a
            # retry after a crash finds it and posts nothing twice.
            if not before.runs:
                await announce_sources(repo, tracker, results, event)
            await announce(repo, tracker, events, report, event, self.configs.templates(repo))
            human = apply(human, evaluation.ticks, evaluation.marks)
            after = replace(after, rules=evaluation.memory.as_data())

        await self._publish(
            repo, tracker, issue.body, human, before, after, report, evaluation, event, results.unavailable
        )
        if remembered is not None:
            await self.per_test.keep(where, remembered)

    async def _not_yet_said(
        self, repo: Repository, tracker: TrackerConfig, events: Sequence[RulesEvent]
    ) -> Sequence[RulesEvent]:
        """Without a recorded history the rules remember nothing: the App's comments tell what was said."""
        said = said_in(await repo.comment_bodies(tracker.issue), tracker.issue)
        waits_for_gate = any(isinstance(condition, GateCondition) for condition in tracker.review.when)
        return not_yet_said(events, said, review_waits_for_gate=waits_for_gate)

    async def _publish(
        self,
        repo: Repository,
        tracker: TrackerConfig,
        read: str,
        human: str,
        before: TrackerState,
        after: TrackerState,
        report: StatusReport | None,
        evaluation: Evaluation | None,
        event: CommitEvent,
        unavailable: tuple[str, ...] = (),
    ) -> None:
        """Write the block for ``after`` around ``human`` (the body ``read``, edited outside the block), with
        as much history as GitHub's body limit leaves room for, unless nothing would change."""
        where = f"{repo.full_name}#{tracker.issue}"
        checklist_line_found = find_checklist_item(read, tracker.checklist_line) is not None

        async def render(state: TrackerState, shown: int) -> str:
            kept = state.thinned(shown)
            return await render_status_block(
                replace(report, history=kept.runs) if report is not None else None,
                templates=self.configs.templates(repo),
                state_marker=self.states.marker(kept, where),
                commit_url=commit_url(event),
                checklist_line_found=checklist_line_found,
                evaluation=evaluation if tracker.rules or tracker.fixes else None,
                review_configured=bool(tracker.review.reviewers or tracker.review.team_reviewers),
                unavailable=unavailable,
                evaluated_sha=event.sha,
            )

        async def compose(state: TrackerState, shown: int) -> str:
            return replace_block(human, await render(state, shown))

        async def fitted(state: TrackerState) -> tuple[str, int]:
            """The body, and how many runs of ``state`` it shows."""
            total = max(len(state.runs), 1)
            # Measured before it is written into the body: a block that does not fit is never read.
            whole = await render(state, total)
            if written_length(human, whole) <= MAX_BODY_CHARS:
                body = replace_block(human, whole)
                if len(body) <= MAX_BODY_CHARS:
                    return body, total
            # Searched by the length the body will have, then written once; should the block not stay in
            # place (it moves to the top), the search is made again on whole bodies.
            block, shown = await fit_block(
                lambda shown: render(state, shown),
                MAX_BODY_CHARS,
                total,
                measure=lambda block: written_length(human, block),
            )
            body = replace_block(human, block)
            if len(body) == written_length(human, block):
                return body, shown
            return await fit_block(lambda shown: compose(state, shown), MAX_BODY_CHARS, total)

        # Recomputing the same results must not write: compare before recording what this write saw.
        unseen = replace(after, seen=before.seen, wrote=before.wrote)
        same, shown = await fitted(unseen)
        if same == read:
            return
        # The human text this write is based on, and the one it writes, so that the edited event of this
        # very write can tell whether it replaced an edit it never saw.
        seen, wrote = human_text(read), human_text(human)
        seen_digest = human_digest(seen)
        after = replace(
            after,
            seen=seen_digest,
            wrote=seen_digest if wrote == seen else human_digest(wrote),  # no box ticked: the same text
            generation=before.generation + 1,
        )
        # Only the state marker differs from the body just composed: swapped without rendering or reading
        # again. When the history had to be cut to fit, the new marker's length may move the cut: one
        # more rendering tells whether one more run fits now (the search again only if it does).
        try:
            old_marker = self.states.marker(unseen.thinned(shown), where)
            body = replace_last_block_line(same, old_marker, self.states.marker(after.thinned(shown), where))
        except ValueError:  # a repository's template that does not end its block with the marker
            body = ""
        if not body or len(body) > MAX_BODY_CHARS:
            body, shown = await fitted(after)
        elif shown < max(len(after.runs), 1):
            more = await render(after, shown + 1)
            if written_length(human, more) <= MAX_BODY_CHARS:
                body, shown = await fitted(after)
        if len(body) > MAX_BODY_CHARS:
            await self.report_body_limit(repo, tracker.issue, len(human_text(read)))
            return
        await repo.update_issue_body(tracker.issue, body)
        await self.states.remember(after.thinned(shown), where)
        await self.configs.report_template_problems(repo, tracker.issue)

    async def report_body_limit(self, repo: Repository, number: int, human_chars: int) -> None:
        """Say once that the human text leaves no room for the status block, instead of cutting it."""
        marker = "<!-- issue-status-bot:body-limit -->"
        log.error("%s#%s: the human text alone leaves no room under GitHub's limit", repo.full_name, number)
        if await repo.said(number, marker):
            return
        await repo.post_comment(
            number,
            await self.configs.templates(repo).render(
                "body_limit_comment.md.j2", human_chars=human_chars, limit=MAX_BODY_CHARS, marker=marker
            ),
        )

    async def restore_unseen_edit(
        self, repo: Repository, number: int, written_body: str, replaced_body: str
    ) -> None:
        """After the bot's own write, bring back human text that the write replaced without seeing it.

        GitHub has no conditional update for issues: a human can edit between the bot's read and its
        write. The edited event of the write carries the body it replaced; if that body's human text is
        not what the bot had read, the human text is restored and the bot's block re-applied to it.
        """
        where = f"{repo.full_name}#{number}"
        written = self.states.codec.decode(split_body(written_body).block, where)
        if written is None or not written.wrote or human_digest(human_text(written_body)) != written.wrote:
            return  # not a write of this App's, or one from before writes were recorded
        if human_digest(human_text(replaced_body)) == written.seen:
            return  # the write was based on exactly the text it replaced
        async with self._lock(repo.full_name, number):
            issue = await self._issue(repo, number)
            current = block_content(issue.body)
            if current is None or human_digest(human_text(issue.body)) != written.wrote:
                log.warning(
                    "%s: a write replaced an unseen edit, but the issue changed since; left alone", where
                )
                return
            state = await self.states.read(issue.body, where)
            restored = replace_block(replaced_body, "")
            config = await self.configs.load(repo)
            tracker = config.tracker_of(number) if config else None
            if tracker is not None:
                restored, _ = set_checklist_item(restored, tracker.checklist_line, state.gate_met)
            state = replace(
                state,
                seen=human_digest(human_text(issue.body)),
                wrote=human_digest(human_text(restored)),
                generation=state.generation + 1,
            )
            restored = replace_block(restored, self.states.codec.replace_marker(current, state, where))
            log.warning("%s: the bot's last write replaced an edit it had not seen; restored it", where)
            await repo.update_issue_body(number, restored)
            await self.states.remember(state, where)


def _review_requested_in(block: str) -> bool:
    wanted = match_key(REQUEST_REVIEW_LINE)
    return any(item.checked and match_key(item.text) == wanted for item in checklist_items(block))


def _run_record(results: CommitResults) -> RunRecord:
    assert results.counts is not None
    return RunRecord(
        sha=results.sha,
        counts=results.counts,
        completed_at=results.completed_at,
        provisional=results.provisional,
    )
