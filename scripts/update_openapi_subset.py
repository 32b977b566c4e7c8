"""Regenerate the fake GitHub's subset of GitHub's official REST description.

The description is the npm package @octokit/openapi (GitHub's own OpenAPI files). Only the operations the
bot calls are kept, fully dereferenced so the subset is self-contained, without prose, and with response
schemas kept for 2xx answers only (the fake validates requests; its answers are checked against these).

    python scripts/update_openapi_subset.py 23.0.2                 # runs `npm pack` into a temp dir
    python scripts/update_openapi_subset.py /tmp/octo/package      # an already unpacked package

Writes bot/testing/openapi/api.github.com.subset.json and bot/testing/openapi/VERSION.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path
from typing import Any

PACKAGE = "@octokit/openapi"
TARGET = Path(__file__).resolve().parent.parent / "bot" / "testing" / "openapi"
SUBSET = TARGET / "api.github.com.subset.json"

# (method, path template) of every operation the bot calls; later issues append to this list.
OPERATIONS: list[tuple[str, str]] = [
    ("POST", "/app/installations/{installation_id}/access_tokens"),
    ("GET", "/app/hook/deliveries"),
    ("POST", "/app/hook/deliveries/{delivery_id}/attempts"),
    ("GET", "/app/installations"),
    ("GET", "/app"),
    ("POST", "/app-manifests/{code}/conversions"),
    ("GET", "/installation/repositories"),
    ("GET", "/repos/{owner}/{repo}"),
    ("GET", "/repos/{owner}/{repo}/contents/{path}"),
    ("GET", "/repos/{owner}/{repo}/commits/{ref}/check-runs"),
    ("GET", "/repos/{owner}/{repo}/commits/{ref}/check-suites"),
    ("GET", "/repos/{owner}/{repo}/check-runs/{check_run_id}"),
    ("GET", "/repos/{owner}/{repo}/commits"),
    ("GET", "/repos/{owner}/{repo}/branches/{branch}"),
    ("GET", "/repos/{owner}/{repo}/compare/{basehead}"),
    ("GET", "/repos/{owner}/{repo}/issues/{issue_number}"),
    ("PATCH", "/repos/{owner}/{repo}/issues/{issue_number}"),
    ("GET", "/repos/{owner}/{repo}/issues/{issue_number}/comments"),
    ("POST", "/repos/{owner}/{repo}/issues/{issue_number}/comments"),
    ("POST", "/repos/{owner}/{repo}/issues/{issue_number}/assignees"),
    ("POST", "/repos/{owner}/{repo}/issues/{issue_number}/labels"),
    ("POST", "/repos/{owner}/{repo}/issues/comments/{comment_id}/reactions"),
    ("GET", "/repos/{owner}/{repo}/collaborators/{username}/permission"),
    ("GET", "/repos/{owner}/{repo}/pulls"),
    ("POST", "/repos/{owner}/{repo}/pulls/{pull_number}/requested_reviewers"),
    ("GET", "/repos/{owner}/{repo}/actions/runs"),
    ("GET", "/repos/{owner}/{repo}/actions/jobs/{job_id}/logs"),
    ("GET", "/repos/{owner}/{repo}/actions/runs/{run_id}/artifacts"),
    ("GET", "/repos/{owner}/{repo}/actions/artifacts/{artifact_id}/{archive_format}"),
]

# Keys of an operation worth keeping; prose and Octokit/GitHub bookkeeping are dropped.
OPERATION_KEYS = ("operationId", "summary", "externalDocs", "parameters", "requestBody", "responses")
# Annotation keywords that never change what validates; dropping them keeps the file small.
ANNOTATIONS = frozenset({"description", "example", "examples", "externalDocs"})
# Keywords whose value is a mapping of name -> schema, or a schema, or a list of schemas.
SCHEMA_MAPS = ("properties", "patternProperties")
SCHEMA_VALUES = ("items", "additionalProperties", "not")
SCHEMA_LISTS = ("allOf", "anyOf", "oneOf")


class Dereferencer:
    """Inline every local ``$ref``; a reference to a schema already being inlined is cut (see below)."""

    def __init__(self, document: dict[str, Any]) -> None:
        self.document = document

    def lookup(self, ref: str) -> Any:
        if not ref.startswith("#/"):
            raise ValueError(f"only local references are supported, got {ref}")
        node: Any = self.document
        for part in ref[2:].split("/"):
            node = node[part.replace("~1", "/").replace("~0", "~")]
        return node

    def resolve(self, node: Any, stack: tuple[str, ...] = ()) -> Any:
        if isinstance(node, list):
            return [self.resolve(item, stack) for item in node]
        if not isinstance(node, dict):
            return node
        if "$ref" in node:
            ref = node["$ref"]
            if ref in stack:
                # A recursive schema (e.g. a file tree inside a file tree): GitHub's own deref file
                # stops there too. Anything is accepted below this depth.
                return {"x-recursive-ref": ref}
            return self.resolve(self.lookup(ref), (*stack, ref))
        return {key: self.resolve(value, stack) for key, value in node.items()}


def strip_schema(schema: Any) -> Any:
    """A schema without annotations, recursing only where schemas live (a property may be named 'example')."""
    if not isinstance(schema, dict):
        return schema
    out: dict[str, Any] = {}
    for key, value in schema.items():
        if key in ANNOTATIONS:
            continue
        if key in SCHEMA_MAPS and isinstance(value, dict):
            out[key] = {name: strip_schema(sub) for name, sub in value.items()}
        elif key in SCHEMA_VALUES:
            out[key] = strip_schema(value)
        elif key in SCHEMA_LISTS:
            out[key] = [strip_schema(sub) for sub in value]
        else:
            out[key] = value
    return out


def strip_parameter(parameter: dict[str, Any]) -> dict[str, Any]:
    kept = {k: v for k, v in parameter.items() if k not in ANNOTATIONS}
    if "schema" in kept:
        kept["schema"] = strip_schema(kept["schema"])
    return kept


def strip_content(content: dict[str, Any]) -> dict[str, Any]:
    return {
        media: {"schema": strip_schema(body["schema"])} if "schema" in body else {}
        for media, body in content.items()
    }


def strip_responses(responses: dict[str, Any]) -> dict[str, Any]:
    kept: dict[str, Any] = {}
    for status, response in responses.items():
        entry: dict[str, Any] = {"description": response.get("description", "")}
        if status.startswith("2") and "content" in response:
            entry["content"] = strip_content(response["content"])
        kept[status] = entry
    return kept


def extract(document: dict[str, Any]) -> dict[str, Any]:
    """The subset document: the wanted operations, dereferenced and stripped of prose."""
    deref = Dereferencer(document)
    paths: dict[str, dict[str, Any]] = {}
    for method, template in OPERATIONS:
        operation = document["paths"][template][method.lower()]
        resolved = deref.resolve({k: operation[k] for k in OPERATION_KEYS if k in operation})
        resolved["parameters"] = [strip_parameter(p) for p in resolved.get("parameters", [])]
        if "requestBody" in resolved:
            body = resolved["requestBody"]
            resolved["requestBody"] = {
                "required": body.get("required", False),
                "content": strip_content(body["content"]),
            }
        resolved["responses"] = strip_responses(resolved["responses"])
        paths.setdefault(template, {})[method.lower()] = resolved
    return {
        "openapi": document["openapi"],
        "info": {
            "title": "Subset of GitHub's REST description used by issue-status-bot",
            "version": document["info"]["version"],
        },
        "servers": document.get("servers", []),
        "paths": paths,
    }


def npm_pack(version: str, into: Path) -> Path:
    """Fetch and unpack the package with npm's own client; returns the unpacked package directory."""
    subprocess.run(
        ["npm", "pack", f"{PACKAGE}@{version}", "--pack-destination", str(into)],
        check=True,
        capture_output=True,
    )
    (tarball,) = into.glob("*.tgz")
    with tarfile.open(tarball) as archive:
        archive.extractall(into, filter="data")
    return into / "package"


def write(package_dir: Path) -> None:
    manifest = json.loads((package_dir / "package.json").read_text(encoding="utf-8"))
    document = json.loads((package_dir / "generated" / "api.github.com.json").read_text(encoding="utf-8"))
    subset = extract(document)
    TARGET.mkdir(parents=True, exist_ok=True)
    SUBSET.write_text(json.dumps(subset, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    version = manifest["version"]
    (TARGET / "VERSION").write_text(
        f"package: {manifest['name']}\n"
        f"version: {version}\n"
        f"file: generated/api.github.com.json\n"
        f"regenerate: python scripts/update_openapi_subset.py {version}\n",
        encoding="utf-8",
    )
    print(f"wrote {SUBSET} ({SUBSET.stat().st_size} bytes, {len(OPERATIONS)} operations)")


def main(argument: str) -> None:
    given = Path(argument)
    if given.is_dir():
        write(given)
        return
    with tempfile.TemporaryDirectory() as scratch:
        write(npm_pack(argument, Path(scratch)))


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: update_openapi_subset.py VERSION | UNPACKED_PACKAGE_DIR")
    main(sys.argv[1])
