"""Log lines an operator can search: which delivery, repository and issue each line is about.

The workers bind a delivery's id, repository and issue in context variables while they process it; every
line logged meanwhile, in any module, carries them. A line may also name them itself with
``extra={"repository": ...}`` (the GitHub client does, from the URL it calls).

``LOG_FORMAT=text`` (the default) appends them as ``[delivery=... repository=... issue=...]``;
``LOG_FORMAT=json`` writes one JSON object per line, traceback included, for a log pipeline.

An ``ExpectedFailure`` (GitHub unreachable past the retries) or a connection error (GitHub or the network
down, met by the background calls) is logged as one line with its message, never a traceback: the message
says all there is to know, and a traceback per attempt would bury everything else.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Mapping
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any, Literal, TextIO

import aiohttp
import orjson

LogFormat = Literal["text", "json"]
LOG_FORMATS: tuple[LogFormat, ...] = ("text", "json")

_delivery: ContextVar[str | None] = ContextVar("delivery", default=None)
_repository: ContextVar[str | None] = ContextVar("repository", default=None)
_issue: ContextVar[int | None] = ContextVar("issue", default=None)


class ExpectedFailure(Exception):
    """A failure whose message says everything (GitHub unreachable): logged as one line, no traceback."""


def bind(delivery: str | None, repository: str | None = None, issue: int | None = None) -> None:
    """Lines logged from here on, in this task and the tasks it starts, are about these (None: unknown).

    Each worker task binds what it is processing; a task has its own copy of the context, so nothing
    leaks into another delivery's lines.
    """
    _delivery.set(delivery)
    _repository.set(repository)
    _issue.set(issue)


def context_of(record: logging.LogRecord) -> dict[str, str | int]:
    """What the line is about: named on the record itself, else bound in the current context."""
    found: dict[str, str | int] = {}
    for name, var in (("delivery", _delivery), ("repository", _repository), ("issue", _issue)):
        value = getattr(record, name, None)
        if value is None:
            value = var.get()
        if value is not None:
            found[name] = value
    return found


def _expected(record: logging.LogRecord) -> BaseException | None:
    error = record.exc_info[1] if record.exc_info else None
    return error if isinstance(error, ExpectedFailure | aiohttp.ClientConnectionError) else None


def _message(record: logging.LogRecord) -> str:
    message = record.getMessage()
    expected = _expected(record)
    return message if expected is None else f"{message}: {type(expected).__name__}: {expected}"


class TextFormatter(logging.Formatter):
    """``time LEVEL logger: message [delivery=... repository=... issue=...]``, traceback below."""

    def format(self, record: logging.LogRecord) -> str:
        record.message = _message(record)
        line = f"{self.formatTime(record)} {record.levelname} {record.name}: {record.message}"
        context = context_of(record)
        if context:
            line += " [" + " ".join(f"{name}={value}" for name, value in context.items()) + "]"
        if record.exc_info and _expected(record) is None:
            line += "\n" + self.formatException(record.exc_info)
        if record.stack_info:
            line += "\n" + self.formatStack(record.stack_info)
        return line


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, what it is about, and any traceback."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": _message(record),
            **context_of(record),
        }
        if record.exc_info and _expected(record) is None:
            entry["traceback"] = self.formatException(record.exc_info)
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        return orjson.dumps(entry, default=str).decode()


def configure_logging(level: str, log_format: LogFormat, stream: TextIO = sys.stderr) -> None:
    """The root logger writes ``log_format`` lines to ``stream``, unless it has handlers already (as
    ``logging.basicConfig``: an embedding program's, or pytest's, stay in charge)."""
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter() if log_format == "json" else TextFormatter())
    logging.basicConfig(level=level.upper(), handlers=[handler])


def issue_in(payload: Mapping[str, Any]) -> int | None:
    """The issue or pull request a delivery is about (``issues``, ``issue_comment``, ``pull_request``)."""
    for field in ("issue", "pull_request"):
        item = payload.get(field)
        if isinstance(item, dict) and isinstance(item.get("number"), int):
            return int(item["number"])
    return None
