"""Check runs and check suites of a commit, filtered and paginated as GitHub does."""

from __future__ import annotations

from typing import Any

from bot.testing.fake_github.calls import Answer, Call, paginate
from bot.testing.fake_github.records import not_found


def _head_sha(call: Call) -> str:
    repo = call.repository()
    sha = repo.resolve(str(call.params["ref"]))
    if sha is None:
        # An unknown sha is still a valid ref to ask about: GitHub answers an empty list.
        return str(call.params["ref"]).lower()
    return sha


def latest_per_name(runs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """GitHub's default ``filter=latest``: only the most recent run of each name (per app)."""
    newest: dict[tuple[str, str], dict[str, Any]] = {}
    for run in runs:
        key = (run["app"]["slug"], run["name"])
        if key not in newest or run["id"] > newest[key]["id"]:
            newest[key] = run
    return [run for run in runs if newest[(run["app"]["slug"], run["name"])] is run]


def list_for_ref(call: Call) -> Answer:
    sha = _head_sha(call)
    runs = [r for r in call.repository().check_runs if r["head_sha"] == sha]
    if "check_name" in call.query:
        runs = [r for r in runs if r["name"] == call.query["check_name"]]
    if "status" in call.query:
        runs = [r for r in runs if r["status"] == call.query["status"]]
    if "app_id" in call.query:
        runs = [r for r in runs if r["app"]["id"] == call.query["app_id"]]
    if call.query.get("filter", "latest") == "latest":
        runs = latest_per_name(runs)
    runs = sorted(runs, key=lambda r: -int(r["id"]))
    page, headers = paginate(call, runs)
    return Answer(200, {"total_count": len(runs), "check_runs": page}, headers)


def list_suites_for_ref(call: Call) -> Answer:
    repo = call.repository()
    sha = _head_sha(call)
    suites = [s for s in repo.check_suites.values() if s["head_sha"] == sha]
    if "app_id" in call.query:
        suites = [s for s in suites if s["app"]["id"] == call.query["app_id"]]
    if "check_name" in call.query:
        named = {r["check_suite"]["id"] for r in repo.check_runs if r["name"] == call.query["check_name"]}
        suites = [s for s in suites if s["id"] in named]
    page, headers = paginate(call, suites)
    return Answer(200, {"total_count": len(suites), "check_suites": page}, headers)


def get_check_run(call: Call) -> Answer:
    repo = call.repository()
    for run in repo.check_runs:
        if run["id"] == call.params["check_run_id"]:
            return Answer(200, run)
    raise not_found(f"{repo.full_name} has no check run {call.params['check_run_id']}", rejection=False)
