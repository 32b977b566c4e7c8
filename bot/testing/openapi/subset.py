"""The committed subset of GitHub's REST description, and the checks GitHub makes before it acts on a request.

Sans-I/O: a request is a method, a raw path, query pairs and body bytes; the answer is a ``RequestCheck``
listing every violation with the status GitHub answers for it. The fake GitHub refuses on the first.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cache, cached_property
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from jsonschema import Draft202012Validator
from jsonschema.exceptions import best_match

from bot.testing.openapi.schema import to_json_schema

SUBSET_PATH = Path(__file__).resolve().parent / "api.github.com.subset.json"
DOCS_ROOT = "https://docs.github.com/rest"
_JSON = "application/json"


@dataclass(frozen=True)
class Violation:
    """One reason GitHub would refuse the request, with the status it answers."""

    status: int
    message: str


@dataclass
class RequestCheck:
    """What the checks found: the matched operation, its decoded inputs, violations and harmless notes."""

    operation: Operation | None
    path_params: dict[str, Any] = field(default_factory=dict)
    query: dict[str, Any] = field(default_factory=dict)
    body: Any = None
    violations: list[Violation] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def accepted(self) -> bool:
        return not self.violations

    @property
    def status(self) -> int | None:
        """The status GitHub answers for the first violation, or None when it would accept the request."""
        return self.violations[0].status if self.violations else None


def _param_pattern(template: str, multi_segment: set[str]) -> re.Pattern[str]:
    """A regex over the raw (still percent-encoded) path; only multi-segment parameters span a '/'."""
    pattern = ""
    for literal, name in re.findall(r"([^{]*)(?:\{(\w+)\})?", template):
        pattern += re.escape(literal)
        if name:
            pattern += f"(?P<{name}>.+)" if name in multi_segment else f"(?P<{name}>[^/]+)"
    return re.compile(f"^{pattern}$")


def _coerce(raw: str, schema: Mapping[str, Any]) -> Any:
    """A path or query string as the type its schema declares; left a string when it does not parse."""
    kind = schema.get("type")
    if kind == "integer" and re.fullmatch(r"-?\d+", raw):
        return int(raw)
    if kind == "number":
        try:
            return float(raw)
        except ValueError:
            return raw
    if kind == "boolean" and raw in ("true", "false"):
        return raw == "true"
    return raw


def _describe(errors: Iterable[Any]) -> list[str]:
    """GitHub's wording for a body that fails its schema: "For 'labels/0', 5 is not ..."."""
    messages = []
    for found in sorted(errors, key=lambda e: list(map(str, e.absolute_path))):
        # For oneOf/anyOf, name the closest alternative's failure rather than "not valid under any".
        error = best_match(found.context) if found.context else found
        location = "/".join(str(p) for p in error.absolute_path) or "body"
        messages.append(f"For '{location}', {error.message}.")
    return messages


class Operation:
    """One operation of the subset: how its path is matched and how its inputs are validated."""

    def __init__(self, method: str, template: str, spec: Mapping[str, Any]) -> None:
        self.method = method
        self.template = template
        self.spec = spec
        self.operation_id: str = spec["operationId"]
        self.documentation_url: str = spec.get("externalDocs", {}).get("url", DOCS_ROOT)
        self.parameters: list[Mapping[str, Any]] = list(spec.get("parameters", []))
        self.statuses = frozenset(int(s) for s in spec.get("responses", {}) if s.isdigit())
        multi = {p["name"] for p in self.parameters if p.get("x-multi-segment")}
        self.pattern = _param_pattern(template, multi)
        # More literal characters first, so '/issues/comments/{id}' wins over '/issues/{number}'.
        self.specificity = len(re.sub(r"\{\w+\}", "", template))

    def __repr__(self) -> str:
        return f"<Operation {self.method} {self.template} ({self.operation_id})>"

    def params(self, where: str) -> dict[str, Mapping[str, Any]]:
        return {p["name"]: p for p in self.parameters if p["in"] == where}

    @cached_property
    def _param_validators(self) -> dict[tuple[str, str], Draft202012Validator]:
        return {
            (p["in"], p["name"]): Draft202012Validator(to_json_schema(p.get("schema", {})))
            for p in self.parameters
        }

    @cached_property
    def body_schema(self) -> Mapping[str, Any] | None:
        content = self.spec.get("requestBody", {}).get("content", {})
        schema = content.get(_JSON, {}).get("schema")
        return None if schema is None else dict(schema)

    @cached_property
    def body_required(self) -> bool:
        return bool(self.spec.get("requestBody", {}).get("required", False))

    @cached_property
    def _body_validator(self) -> Draft202012Validator | None:
        schema = self.body_schema
        return None if schema is None else Draft202012Validator(to_json_schema(schema))

    def response_validator(self, status: int) -> Draft202012Validator | None:
        """GitHub's schema for this operation's answer with ``status`` (kept for 2xx only)."""
        return _response_validator(self, status)

    def check_path(self, raw_path: str, check: RequestCheck) -> bool:
        """Decode and type-check the path parameters; False when the path is not this operation's."""
        found = self.pattern.match(raw_path)
        if found is None:
            return False
        for name, raw in found.groupdict().items():
            spec = self.params("path")[name]
            value = _coerce(unquote(raw), spec.get("schema", {}))
            errors = list(self._param_validators[("path", name)].iter_errors(value))
            if errors:
                # GitHub's router does not match a non-numeric issue number: the answer is a 404.
                check.violations.append(
                    Violation(404, f"path parameter {name}={unquote(raw)!r}: {errors[0].message}")
                )
            check.path_params[name] = value
        return True

    def check_query(self, query: Iterable[tuple[str, str]], check: RequestCheck) -> None:
        declared = self.params("query")
        for name, raw in query:
            if name not in declared:
                check.notes.append(f"unknown query parameter {name}={raw!r} (GitHub ignores it)")
                check.query[name] = raw
                continue
            value = _coerce(raw, declared[name].get("schema", {}))
            check.query[name] = value
            for error in self._param_validators[("query", name)].iter_errors(value):
                check.violations.append(Violation(422, f"query parameter {name}={raw!r}: {error.message}"))
        for name, spec in declared.items():
            if spec.get("required") and name not in check.query:
                check.violations.append(Violation(422, f"query parameter {name} is required"))

    def check_body(self, raw: bytes, check: RequestCheck) -> None:
        validator = self._body_validator
        if validator is None:
            if raw.strip():
                check.notes.append(f"{self.operation_id} takes no body; GitHub ignores it")
            return
        if not raw.strip():
            if self.body_required:
                check.violations.append(Violation(422, "Invalid request.\n\nNo body was supplied."))
            return
        try:
            check.body = json.loads(raw)
        except (ValueError, UnicodeDecodeError):
            check.violations.append(Violation(400, "Problems parsing JSON"))
            return
        messages = _describe(validator.iter_errors(check.body))
        if messages:
            check.violations.append(Violation(422, "Invalid request.\n\n" + "\n".join(messages)))


@cache
def _response_validator(operation: Operation, status: int) -> Draft202012Validator | None:
    response = operation.spec.get("responses", {}).get(str(status), {})
    schema = response.get("content", {}).get(_JSON, {}).get("schema")
    return None if schema is None else Draft202012Validator(to_json_schema(schema))


class OpenAPISubset:
    """The operations of the committed subset, matched the way GitHub's router matches them."""

    def __init__(self, document: Mapping[str, Any]) -> None:
        self.version: str = document["info"]["version"]
        self.operations = sorted(
            (
                Operation(method.upper(), template, spec)
                for template, item in document["paths"].items()
                for method, spec in item.items()
            ),
            key=lambda op: -op.specificity,
        )

    @classmethod
    def load(cls, path: Path = SUBSET_PATH) -> OpenAPISubset:
        """The subset at ``path``, parsed once per process (validators compile lazily and are kept)."""
        return _load(path)

    def match(self, method: str, path: str) -> Operation | None:
        """The operation GitHub would route ``method path`` to (``path`` raw, without the query)."""
        for operation in self.operations:
            if operation.method == method.upper() and operation.pattern.match(path):
                return operation
        return None

    def check(
        self, method: str, path: str, query: Iterable[tuple[str, str]] = (), body: bytes = b""
    ) -> RequestCheck:
        """Every check GitHub makes before acting; path is raw (percent-encoded), query decoded pairs."""
        for operation in self.operations:
            if operation.method != method.upper():
                continue
            check = RequestCheck(operation=operation)
            if operation.check_path(path, check):
                operation.check_query(query, check)
                operation.check_body(body, check)
                return check
        check = RequestCheck(operation=None)
        if any(op.pattern.match(path) for op in self.operations):
            message = f"{method.upper()} is not an operation of {path} (GitHub answers 404)"
        else:
            message = (
                f"no operation of the subset matches {method.upper()} {path}; GitHub answers 404 for"
                " unknown paths (if GitHub has it, add it to scripts/update_openapi_subset.py)"
            )
        check.violations.append(Violation(404, message))
        return check


@cache
def _load(path: Path) -> OpenAPISubset:
    return OpenAPISubset(json.loads(path.read_text(encoding="utf-8")))
