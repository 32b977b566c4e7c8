"""Actions job logs and run artifacts: the API answers a redirect to the blob origin."""

from __future__ import annotations

from bot.testing.fake_github.calls import Answer, Call, paginate
from bot.testing.fake_github.records import GitHubError, not_found


def download_job_logs(call: Call) -> Answer:
    repo = call.repository()
    job_id = call.params["job_id"]
    if job_id not in repo.job_logs:
        raise not_found(f"{repo.full_name} has no log for job {job_id}", rejection=False)
    key = f"{repo.full_name}/jobs/{job_id}/log"
    return Answer(302, None, {"Location": call.world.blobs.signed_url(key)})


def list_run_artifacts(call: Call) -> Answer:
    repo = call.repository()
    artifacts = [repo.artifacts[a].json for a in repo.run_artifacts.get(call.params["run_id"], [])]
    if "name" in call.query:
        artifacts = [a for a in artifacts if a["name"] == call.query["name"]]
    if call.query.get("direction") == "asc":
        artifacts.sort(key=lambda a: a["id"])
    else:
        artifacts.sort(key=lambda a: -a["id"])
    page, headers = paginate(call, artifacts)
    return Answer(200, {"total_count": len(artifacts), "artifacts": page}, headers)


def download_artifact(call: Call) -> Answer:
    repo = call.repository()
    artifact = repo.artifacts.get(call.params["artifact_id"])
    if artifact is None or call.params["archive_format"] != "zip":
        raise not_found(f"{repo.full_name} has no artifact {call.params['artifact_id']} as zip")
    if artifact.json["expired"]:
        raise GitHubError(410, "Artifact has expired", reason="artifact expired", rejection=False)
    key = f"{repo.full_name}/artifacts/{artifact.json['id']}.zip"
    return Answer(302, None, {"Location": call.world.blobs.signed_url(key)})


def list_workflow_runs(call: Call) -> Answer:
    repo = call.repository()
    runs = sorted(repo.workflow_runs.values(), key=lambda r: -r["id"])
    for name in ("head_sha", "branch", "status", "event", "check_suite_id"):
        if name in call.query:
            field = "head_branch" if name == "branch" else name
            wanted = str(call.query[name])
            runs = [
                r
                for r in runs
                if str(r.get(field)) == wanted or (name == "status" and r["conclusion"] == wanted)
            ]
    page, headers = paginate(call, runs)
    return Answer(200, {"total_count": len(runs), "workflow_runs": page}, headers)
