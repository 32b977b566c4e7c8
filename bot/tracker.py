"""Bringing a tracking issue up to date after a commit's CI completes.

This is the one place where the pieces meet: configuration, the commit's results, the tracker's state, the
rendered block, and the effects (issue write, gate comment, review request). Effects run before the state
that records them is written, each guarded by a marker the bot can find again, so a crash between the two
repeats nothing a human would see twice.
"""

from __future__ import annotations

import asyncio
import logging
import weakref
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

import cachetools
from gidgethub import BadRequest

from bot.config import (
    CONFIG_PATH,
    ConfigError,
    RepoConfig,
    TrackerConfig,
    issues_named_in,
    parse_config,
)
from bot.github.client import GitHubApp
from bot.github.repository import RepoFile, Repository
from bot.results.commit import CommitResults, ResultCollector
from bot.rules import Evaluation, Evidence, MarkChange, RulesMemory, apply, evaluate, start_fixes
from bot.rules import Event as RulesEvent
from bot.rules.events import make_event
from bot.tracking.body import (
    block_content,
    checklist_items,
    find_checklist_item,
    human_text,
    match_key,
    replace_block,
    set_checklist_item,
    split_body,
)
from bot.tracking.render import (
    BUILT_IN,
    REQUEST_REVIEW_LINE,
    TEMPLATE_NAMES,
    Templates,
    render,
    render_status_block,
)
from bot.tracking.state import RunRecord, StateCodec, TrackerState, human_digest
from bot.tracking.status import StatusReport, assess, latest
from bot.tracking.thinning import fit_block

log = logging.getLogger(__name__)

# GitHub refuses issue and comment bodies longer than this many characters.
MAX_BODY_CHARS = 65_536


@dataclass(frozen=True)
class CommitEvent:
    """A commit whose CI finished, as the webhook reported it."""

    installation_id: int
    repository: str  # owner/name
    html_url: str  # the repository's web address, for commit links
    default_branch: str
    sha: str
    branch: str | None  # None for commits GitHub could not tie to a branch (forks, detached runs)


@dataclass(frozen=True)
class Handover:
    requested: tuple[str, ...]
    pull_requests: tuple[int, ...]
    assigned: tuple[str, ...]
    failures: tuple[str, ...]


def commit_url(event: CommitEvent) -> str:
    return f"{event.html_url}/commit/{event.sha}"


class TrackerService:
    """Updates every tracker a commit concerns, one tracker at a time."""

    def __init__(
        self,
        github: GitHubApp,
        results: ResultCollector,
        *,
        state_secret: bytes,
    ) -> None:
        self.github = github
        self.results = results
        self.codec = StateCodec(state_secret)
        self._locks: weakref.WeakValueDictionary[tuple[str, int], asyncio.Lock] = (
            weakref.WeakValueDictionary()
        )
        self._configs: cachetools.LRUCache[tuple[str, str], RepoConfig] = cachetools.LRUCache(1024)
        self._reported_config_errors: cachetools.LRUCache[tuple[str, str], bool] = cachetools.LRUCache(1024)
        # The repository's template overrides, loaded with its configuration (see load_config).
        self._templates: cachetools.LRUCache[str, tuple[Templates, dict[str, str]]] = cachetools.LRUCache(
            1024
        )

    def _lock(self, repository: str, issue: int) -> asyncio.Lock:
        key = (repository, issue)
        lock = self._locks.get(key)
        if lock is None:
            lock = asyncio.Lock()
            self._locks[key] = lock
        return lock

    async def commit_completed(self, event: CommitEvent) -> None:
        repo = Repository(self.github.client(event.installation_id), event.repository)
        config = await self.load_config(repo)
        if config is None:
            return
        trackers = config.trackers_for_branch(event.branch, event.default_branch)
        if not trackers:
            log.debug("%s: no tracker follows branch %r", repo.full_name, event.branch)
        for tracker in trackers:
            async with self._lock(repo.full_name, tracker.issue):
                await self.update_tracker(repo, tracker, event)

    async def push_received(self, event: CommitEvent, paths: Sequence[str], at: datetime) -> None:
        """A push to a tracked branch: fixes whose files it touched are now in progress (⏳ → 🔄)."""
        repo = Repository(self.github.client(event.installation_id), event.repository)
        config = await self.load_config(repo)
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
        issue = await repo.issue(tracker.issue)
        block = block_content(issue.body)
        if issue.is_pull_request or issue.state != "open" or block is None:
            return  # fixes start from a status block the bot already wrote
        state = self.codec.decode(split_body(issue.body).block, where)
        finished = [r for r in state.runs if not r.provisional]
        rate = tracker.rate_of(finished[-1].counts) if finished else None
        memory = RulesMemory.from_data(state.rules)
        started, marks = start_fixes(tracker, issue.body, memory, paths, sha=event.sha, at=at, rate=rate)
        if not marks:
            return
        log.info("%s: push %s started %s", where, event.sha[:7], ", ".join(m.fix for m in marks))
        await self._reevaluate(repo, tracker, issue.body, state, started, event, marks)

    async def human_edited(self, repo: Repository, number: int, where_from: CommitEvent) -> None:
        """A human edited a tracking issue: a manual line they ticked may complete the review conditions."""
        config = await self.load_config(repo)
        tracker = next((t for t in config.trackers if t.issue == number), None) if config else None
        if tracker is None:
            return
        where = f"{repo.full_name}#{number}"
        async with self._lock(repo.full_name, number):
            issue = await repo.issue(number)
            if issue.is_pull_request or issue.state != "open" or block_content(issue.body) is None:
                return
            state = self.codec.decode(split_body(issue.body).block, where)
            if _review_requested_in(block_content(issue.body) or ""):
                await self._hand_over_on_request(repo, tracker, state, where_from)
            await self._reevaluate(
                repo, tracker, issue.body, state, RulesMemory.from_data(state.rules), where_from
            )

    async def _hand_over_on_request(
        self, repo: Repository, tracker: TrackerConfig, state: TrackerState, where_from: CommitEvent
    ) -> None:
        """A human ticked "Request review now" in the block: ask now (the re-rendered block unticks it)."""
        report = latest(state, tracker)
        if report is not None:
            # One hand-over per tick: the key carries the signed state the tick was made on.
            event = make_event(tracker.issue, report.run.sha, "review_ready", f"ticked on {state.wrote}")
            await self.announce(repo, tracker, (event,), report, replace(where_from, sha=report.run.sha))

    async def set_baseline(
        self, repo: Repository, tracker: TrackerConfig, baseline: float | None, where_from: CommitEvent
    ) -> float | None:
        """Set the tracker's baseline (None: the current rate); returns it, or None with nothing recorded."""
        where = f"{repo.full_name}#{tracker.issue}"
        async with self._lock(repo.full_name, tracker.issue):
            issue = await repo.issue(tracker.issue)
            if issue.is_pull_request or issue.state != "open" or block_content(issue.body) is None:
                return None
            state = self.codec.decode(split_body(issue.body).block, where)
            report = latest(state, tracker)
            if report is None:
                return None
            chosen = baseline if baseline is not None else report.rate
            changed = replace(state, baseline_rate=chosen)
            await self._reevaluate(
                repo, tracker, issue.body, changed, RulesMemory.from_data(state.rules), where_from
            )
            return chosen

    async def hand_over_now(
        self, repo: Repository, tracker: TrackerConfig, where_from: CommitEvent, *, reason: str
    ) -> None:
        """Ask for the review now, whatever the conditions say (a maintainer's ``/status review``)."""
        where = f"{repo.full_name}#{tracker.issue}"
        async with self._lock(repo.full_name, tracker.issue):
            issue = await repo.issue(tracker.issue)
            state = self.codec.decode(split_body(issue.body).block, where)
            report = latest(state, tracker)
            if report is None or issue.state != "open":
                return
            event = make_event(tracker.issue, report.run.sha, "review_ready", reason)
            await self.announce(repo, tracker, (event,), report, replace(where_from, sha=report.run.sha))

    async def _reevaluate(
        self,
        repo: Repository,
        tracker: TrackerConfig,
        body: str,
        state: TrackerState,
        memory: RulesMemory,
        where_from: CommitEvent,
        marks: Sequence[MarkChange] = (),
    ) -> None:
        """Judge the rules again without a new run (a push started a fix, a human ticked a line), announce
        what changed, and write the issue if anything did."""
        report = latest(state, tracker)
        if report is None:
            return  # nothing recorded yet: the first run will judge everything
        human = apply(replace_block(body, ""), (), marks)
        evidence = Evidence(state.runs, None, report.baseline_rate, datetime.now(UTC))
        evaluation = evaluate(tracker, human, evidence, memory)
        latest_run = replace(
            where_from, sha=report.run.sha, branch=tracker.branch or where_from.default_branch
        )
        await self.announce(repo, tracker, evaluation.events, report, latest_run)
        human = apply(human, evaluation.ticks, evaluation.marks)
        after = replace(state, rules=evaluation.memory.as_data())
        await self._publish(repo, tracker, body, human, state, after, report, evaluation, latest_run)

    async def load_config(self, repo: Repository) -> RepoConfig | None:
        """The repository's configuration, or None when it has none or it is invalid."""
        file = await repo.read_file(CONFIG_PATH)
        if file is None:
            log.debug("%s: no %s; nothing to track", repo.full_name, CONFIG_PATH)
            return None
        key = (repo.full_name, file.sha)
        config = self._configs.get(key)
        if config is not None:
            await self._load_templates(repo, config)
            return config
        try:
            config = parse_config(file.content)
        except ConfigError as error:
            log.warning("%s: invalid %s: %s", repo.full_name, CONFIG_PATH, error)
            await self.report_config_error(repo, file, error)
            return None
        self._configs[key] = config
        await self._load_templates(repo, config)
        return config

    async def _load_templates(self, repo: Repository, config: RepoConfig) -> None:
        """The overrides in the configured template folder: files named like a built-in template."""
        if config.templates is None:
            self._templates.pop(repo.full_name, None)
            return
        overrides: dict[str, str] = {}
        revisions: dict[str, str] = {}
        for name in await repo.file_names(config.templates):
            if name in TEMPLATE_NAMES and (file := await repo.read_file(f"{config.templates}/{name}")):
                overrides[name] = file.content.decode("utf-8", errors="replace")
                revisions[name] = file.sha
        self._templates[repo.full_name] = (Templates(overrides), revisions)

    def templates(self, repo: Repository) -> Templates:
        return self._templates.get(repo.full_name, (BUILT_IN, {}))[0]

    async def report_template_problems(self, repo: Repository, number: int) -> None:
        """One comment per broken revision of an override: the built-in template was used instead."""
        templates, revisions = self._templates.get(repo.full_name, (BUILT_IN, {}))
        for name, problem in list(templates.problems.items()):
            marker = f"<!-- issue-status-bot:template-error {name} {revisions.get(name, '')} -->"
            if not any(marker in body for body in await repo.comment_bodies(number)):
                comment = render("template_error_comment.md.j2", name=name, problem=problem, marker=marker)
                await repo.post_comment(number, comment)
            del templates.problems[name]

    async def report_config_error(self, repo: Repository, file: RepoFile, error: ConfigError) -> None:
        """One comment per revision of the file, on each tracking issue the file seems to name."""
        key = (repo.full_name, file.sha)
        if key in self._reported_config_errors:
            return
        marker = f"<!-- issue-status-bot:config-error {file.sha} -->"
        body = render(
            "config_error_comment.md.j2",
            path=CONFIG_PATH,
            revision=file.sha,
            problems=str(error),
            marker=marker,
        )
        for number in issues_named_in(file.content):
            try:
                if not any(marker in existing for existing in await repo.comment_bodies(number)):
                    await repo.post_comment(number, body)
            except BadRequest as exc:
                log.warning("%s#%s: cannot comment on the config error: %s", repo.full_name, number, exc)
        self._reported_config_errors[key] = True

    async def update_tracker(self, repo: Repository, tracker: TrackerConfig, event: CommitEvent) -> None:
        where = f"{repo.full_name}#{tracker.issue}"
        results = await self.results.collect(repo, event.sha, tracker)
        counted = results.counts is not None and tracker.rate_of(results.counts) is not None
        if not counted and not results.unavailable:
            log.info("%s: commit %s has no test results yet", where, event.sha[:7])
            return
        issue = await repo.issue(tracker.issue)
        if issue.is_pull_request or issue.state != "open":
            log.info("%s: the tracking issue is not an open issue; left alone", where)
            return

        before = self.codec.decode(split_body(issue.body).block, where)
        after, report = before, latest(before, tracker)
        if counted:
            after, report = assess(before, _run_record(results), tracker)
            log.info(
                "%s: commit %s at %.1f%% (%d results, %s), gate %s",
                where,
                event.sha[:7],
                (report.rate or 0) * 100,
                len(results.jobs),
                "provisional" if results.provisional else "final",
                "met" if report.gate_met else "not met",
            )

        evaluation: Evaluation | None = None
        human = replace_block(issue.body, "")
        if counted:
            assert report is not None
            evidence = Evidence(after.runs, results.cases or None, report.baseline_rate, datetime.now(UTC))
            evaluation = evaluate(tracker, issue.body, evidence, RulesMemory.from_data(before.rules))
            # Effects before the state that records them: each announcement carries its key, so a
            # retry after a crash finds it and posts nothing twice.
            await self.announce(repo, tracker, evaluation.events, report, event)
            human = apply(human, evaluation.ticks, evaluation.marks)
            after = replace(after, rules=evaluation.memory.as_data())

        await self._publish(
            repo, tracker, issue.body, human, before, after, report, evaluation, event, results.unavailable
        )

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

        def compose(state: TrackerState, shown: int) -> str:
            kept = state.thinned(shown)
            block = render_status_block(
                replace(report, history=kept.runs) if report is not None else None,
                templates=self.templates(repo),
                state_marker=self.codec.encode(kept, where),
                commit_url=commit_url(event),
                checklist_line_found=checklist_line_found,
                evaluation=evaluation if tracker.rules or tracker.fixes else None,
                review_configured=bool(tracker.review.reviewers or tracker.review.team_reviewers),
                unavailable=unavailable,
                evaluated_sha=event.sha,
            )
            return replace_block(human, block)

        def fitted(state: TrackerState) -> str:
            total = max(len(state.runs), 1)
            body = compose(state, total)
            if len(body) <= MAX_BODY_CHARS:
                return body
            return fit_block(lambda shown: compose(state, shown), MAX_BODY_CHARS, total)[0]

        # Recomputing the same results must not write: compare before recording what this write saw.
        if fitted(replace(after, seen=before.seen, wrote=before.wrote)) == read:
            return
        # The human text this write is based on, and the one it writes, so that the edited event of this
        # very write can tell whether it replaced an edit it never saw.
        after = replace(after, seen=human_digest(human_text(read)), wrote=human_digest(human_text(human)))
        body = fitted(after)
        if len(body) > MAX_BODY_CHARS:
            await self.report_body_limit(repo, tracker.issue, len(human_text(read)))
            return
        await repo.update_issue_body(tracker.issue, body)
        await self.report_template_problems(repo, tracker.issue)

    async def report_body_limit(self, repo: Repository, number: int, human_chars: int) -> None:
        """Say once that the human text leaves no room for the status block, instead of cutting it."""
        marker = "<!-- issue-status-bot:body-limit -->"
        log.error("%s#%s: the human text alone leaves no room under GitHub's limit", repo.full_name, number)
        if any(marker in body for body in await repo.comment_bodies(number)):
            return
        await repo.post_comment(
            number,
            self.templates(repo).render(
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
        written = self.codec.decode(split_body(written_body).block, where)
        if not written.wrote or human_digest(human_text(written_body)) != written.wrote:
            return  # not a write of this App's, or one from before writes were recorded
        if human_digest(human_text(replaced_body)) == written.seen:
            return  # the write was based on exactly the text it replaced
        async with self._lock(repo.full_name, number):
            issue = await repo.issue(number)
            current = block_content(issue.body)
            if current is None or human_digest(human_text(issue.body)) != written.wrote:
                log.warning(
                    "%s: a write replaced an unseen edit, but the issue changed since; left alone", where
                )
                return
            state = self.codec.decode(split_body(issue.body).block, where)
            restored = replace_block(replaced_body, "")
            config = await self.load_config(repo)
            tracker = next((t for t in config.trackers if t.issue == number), None) if config else None
            if tracker is not None:
                restored, _ = set_checklist_item(restored, tracker.checklist_line, state.gate_met)
            state = replace(
                state, seen=human_digest(human_text(issue.body)), wrote=human_digest(human_text(restored))
            )
            restored = replace_block(restored, self.codec.replace_marker(current, state, where))
            log.warning("%s: the bot's last write replaced an edit it had not seen; restored it", where)
            await repo.update_issue_body(number, restored)

    async def announce(
        self,
        repo: Repository,
        tracker: TrackerConfig,
        events: Sequence[RulesEvent],
        report: StatusReport,
        event: CommitEvent,
    ) -> None:
        """Comment on each milestone and escalation once: its key, hidden in the comment, is checked first.

        The hand-over (every review condition holds) also asks the reviewers; an escalation also adds the
        configured label.
        """
        if not events:
            return
        posted = await repo.comment_bodies(tracker.issue)
        for item in events:
            marker = f"<!-- issue-status-bot:event {item.key} -->"
            if any(marker in body for body in posted):
                log.info("%s#%s: %s already announced", repo.full_name, tracker.issue, item.kind)
                continue
            about = f"{event.html_url}/commit/{item.sha}"
            if item.kind == "review_ready":
                handover = await self.request_review(repo, tracker, event)
                comment = self.templates(repo).render(
                    "handover_comment.md.j2",
                    report=report,
                    commit_url=commit_url(event),
                    conditions=[condition.key for condition in tracker.review.when],
                    requested=handover.requested,
                    pull_requests=handover.pull_requests,
                    assigned=handover.assigned,
                    failures=handover.failures,
                    marker=marker,
                )
            else:
                comment = self.templates(repo).render(
                    "event_comment.md.j2", event=item, report=report, commit_url=about, marker=marker
                )
            await repo.post_comment(tracker.issue, comment)
            if item.is_escalation and tracker.escalation.label:
                await repo.add_labels(tracker.issue, (tracker.escalation.label,))

    async def request_review(self, repo: Repository, tracker: TrackerConfig, event: CommitEvent) -> Handover:
        review = tracker.review
        mentions = tuple(f"@{user}" for user in review.reviewers) + tuple(
            f"@{repo.owner}/{team}" for team in review.team_reviewers
        )
        if not mentions:
            return Handover((), (), (), ())
        # Who is already asked is skipped: a hand-over repeated after a crash asks nobody twice.
        pulls = [pr for pr in await repo.open_pull_requests() if _is_head_of(pr, event, repo)]
        failures: list[str] = []
        if not pulls:
            issue = await repo.issue(tracker.issue)
            missing = tuple(
                u for u in review.reviewers if u.lower() not in {a.lower() for a in issue.assignees}
            )
            if missing:
                await repo.add_assignees(tracker.issue, missing)
            return Handover((), (), mentions, ())
        requested: list[int] = []
        for pr in pulls:
            author = (pr.get("user") or {}).get("login")
            asked = {u["login"].lower() for u in pr.get("requested_reviewers") or []}
            asked_teams = {t["slug"].lower() for t in pr.get("requested_teams") or []}
            users = tuple(u for u in review.reviewers if u != author and u.lower() not in asked)
            teams = tuple(t for t in review.team_reviewers if t.lower() not in asked_teams)
            try:
                if users or teams:
                    await repo.request_reviewers(pr["number"], users, teams)
                requested.append(pr["number"])
            except BadRequest as exc:
                failures.append(f"#{pr['number']}: GitHub refused the review request ({exc})")
        return Handover(mentions if requested else (), tuple(requested), (), tuple(failures))


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


def _is_head_of(pr: dict[str, Any], event: CommitEvent, repo: Repository) -> bool:
    head = pr.get("head") or {}
    head_repo = (head.get("repo") or {}).get("full_name")
    same_branch = event.branch is not None and head.get("ref") == event.branch
    return head.get("sha") == event.sha or (same_branch and head_repo == repo.full_name)
