"""Which handler answers each operation of the subset, and the installation permission it needs."""

from __future__ import annotations

from bot.testing.fake_github import manifests
from bot.testing.fake_github.calls import Handler
from bot.testing.fake_github.handlers import actions, apps, checks, issues, pulls, repos

HANDLERS: dict[str, Handler] = {
    "apps/get-authenticated": apps.get_authenticated,
    "apps/create-from-manifest": manifests.create_from_manifest,
    "apps/create-installation-access-token": apps.create_installation_access_token,
    "apps/list-installations": apps.list_installations,
    "apps/list-webhook-deliveries": apps.list_webhook_deliveries,
    "apps/redeliver-webhook-delivery": apps.redeliver_webhook_delivery,
    "apps/list-repos-accessible-to-installation": apps.list_repos_accessible_to_installation,
    "repos/get": repos.get_repository,
    "repos/get-content": repos.get_content,
    "repos/list-commits": repos.list_commits,
    "repos/get-branch": repos.get_branch,
    "repos/compare-commits-with-basehead": repos.compare_commits,
    "repos/get-collaborator-permission-level": repos.get_collaborator_permission_level,
    "checks/list-for-ref": checks.list_for_ref,
    "checks/list-suites-for-ref": checks.list_suites_for_ref,
    "checks/get": checks.get_check_run,
    "issues/get": issues.get_issue,
    "issues/update": issues.update_issue,
    "issues/list-comments": issues.list_comments,
    "issues/create-comment": issues.create_comment,
    "issues/add-assignees": issues.add_assignees,
    "issues/add-labels": issues.add_labels,
    "reactions/create-for-issue-comment": issues.create_reaction_for_issue_comment,
    "pulls/list": pulls.list_pulls,
    "pulls/request-reviewers": pulls.request_reviewers,
    "actions/list-workflow-runs-for-repo": actions.list_workflow_runs,
    "actions/download-job-logs-for-workflow-run": actions.download_job_logs,
    "actions/list-workflow-run-artifacts": actions.list_run_artifacts,
    "actions/download-artifact": actions.download_artifact,
}

# GitHub answers 403 "Resource not accessible by integration" when the token lacks these.
PERMISSIONS: dict[str, tuple[str, str]] = {
    "repos/get": ("metadata", "read"),
    "repos/get-content": ("contents", "read"),
    "repos/list-commits": ("contents", "read"),
    "repos/get-branch": ("contents", "read"),
    "repos/compare-commits-with-basehead": ("contents", "read"),
    "repos/get-collaborator-permission-level": ("metadata", "read"),
    "checks/list-for-ref": ("checks", "read"),
    "checks/list-suites-for-ref": ("checks", "read"),
    "checks/get": ("checks", "read"),
    "issues/get": ("issues", "read"),
    "issues/update": ("issues", "write"),
    "issues/list-comments": ("issues", "read"),
    "issues/create-comment": ("issues", "write"),
    "issues/add-assignees": ("issues", "write"),
    "issues/add-labels": ("issues", "write"),
    "reactions/create-for-issue-comment": ("issues", "write"),
    "pulls/list": ("pull_requests", "read"),
    "pulls/request-reviewers": ("pull_requests", "write"),
    "actions/list-workflow-runs-for-repo": ("actions", "read"),
    "actions/download-job-logs-for-workflow-run": ("actions", "read"),
    "actions/list-workflow-run-artifacts": ("actions", "read"),
    "actions/download-artifact": ("actions", "read"),
}
