"""Copy GitHub's published webhook examples that the demo and tests replay into bot/testing/payloads.

The examples come from the npm package @octokit/webhooks-examples (GitHub's own webhook schema examples):

    npm pack @octokit/webhooks-examples@7.6.1 && tar xzf octokit-webhooks-examples-7.6.1.tgz
    python scripts/extract_webhook_examples.py package/api.github.com/index.json

Each file is the first published example of that event and action, unchanged.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

WANTED = [
    ("check_run", "completed"),
    ("check_suite", "completed"),
    ("workflow_run", "completed"),
    ("push", None),
    ("issues", "edited"),
    ("issue_comment", "created"),
    ("pull_request", "opened"),
    ("pull_request", "reopened"),
    ("pull_request", "ready_for_review"),
    ("installation", "created"),
    ("installation", "deleted"),
    ("installation", "new_permissions_accepted"),
    ("installation_repositories", "added"),
    ("installation_repositories", "removed"),
    ("ping", None),
]
TARGET = Path(__file__).resolve().parent.parent / "bot" / "testing" / "payloads"


def main(index_path: str) -> None:
    index = json.loads(Path(index_path).read_text(encoding="utf-8"))
    by_event = {entry["name"]: entry["examples"] for entry in index}
    for event, action in WANTED:
        example = next(e for e in by_event[event] if e.get("action") == action)
        name = f"{event}.{action}.json" if action else f"{event}.json"
        (TARGET / name).write_text(json.dumps(example, indent=2) + "\n", encoding="utf-8")
        print(f"wrote {name}")


if __name__ == "__main__":
    main(sys.argv[1])
