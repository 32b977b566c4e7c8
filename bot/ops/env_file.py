"""The env file: ``register`` writes the App's credentials there and ``serve`` reads them back.

One ``NAME=value`` a line, the dotenv form Docker Compose, systemd and Probot read too. Values that hold a
space, a quote, a backslash or a newline are double-quoted with ``\\n`` for a newline, so a PEM key stays on
one line (the settings accept that form of ``GITHUB_PRIVATE_KEY`` as well). A value never appears in an
error message: the file holds secrets.
"""

from __future__ import annotations

import contextlib
import os
import re
import tempfile
from collections.abc import Mapping
from pathlib import Path

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_PLAIN = re.compile(r"[A-Za-z0-9_./:@+,=-]*")
_UNESCAPE = {"n": "\n", "r": "\r", "t": "\t", '"': '"', "\\": "\\", "$": "$"}


class EnvFileError(Exception):
    """The env file cannot be read or written; the message names the file and line, never a value."""


def read_env_file(path: Path) -> dict[str, str]:
    """The variables a dotenv file sets: comments, blank lines and ``export`` prefixes are allowed, and a
    double-quoted value may span lines (Probot writes its private key that way)."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as error:
        raise EnvFileError(f"{path}: cannot read it ({error.strerror})") from None
    except UnicodeDecodeError:
        raise EnvFileError(f"{path}: not UTF-8 text") from None
    values: dict[str, str] = {}
    number = 0
    while number < len(lines):
        line = lines[number].strip()
        number += 1
        if not line or line.startswith("#"):
            continue
        name, equals, raw = line.removeprefix("export ").partition("=")
        name = name.strip()
        if not equals or not _NAME.fullmatch(name):
            raise EnvFileError(f"{path}, line {number}: expected NAME=value")
        raw = raw.strip()
        start = number
        if raw.startswith('"'):
            while not _closed(raw) and number < len(lines):
                raw += "\n" + lines[number]
                number += 1
            if not _closed(raw):
                raise EnvFileError(f"{path}, line {start}: {name}'s opening quote is never closed")
            values[name] = _unquote(raw[1 : _closing_quote(raw)])
        elif raw.startswith("'"):
            end = raw.find("'", 1)
            if end < 0:
                raise EnvFileError(f"{path}, line {start}: {name}'s opening quote is never closed")
            values[name] = raw[1:end]
        else:
            values[name] = raw.split(" #", 1)[0].strip()
    return values


def _closing_quote(raw: str) -> int:
    """Index of the double quote closing a value that opens with one, or -1."""
    escaped = False
    for index, char in enumerate(raw[1:], start=1):
        if escaped:
            escaped = False
        elif char == "\\":
            escaped = True
        elif char == '"':
            return index
    return -1


def _closed(raw: str) -> bool:
    return _closing_quote(raw) > 0


def _unquote(text: str) -> str:
    return re.sub(r"\\(.)", lambda m: _UNESCAPE.get(m.group(1), m.group(0)), text)


def format_value(value: str) -> str:
    """``value`` as it is written after ``NAME=``: bare when safe, else double-quoted and escaped."""
    if _PLAIN.fullmatch(value):
        return value
    escaped = (
        value.replace("\\", "\\\\")
        .replace('"', '\\"')
        .replace("$", "\\$")
        .replace("\r", "\\r")
        .replace("\n", "\\n")
    )
    return f'"{escaped}"'


def write_env_file(path: Path, variables: Mapping[str, str], *, header: str, overwrite: bool) -> None:
    """Write ``variables`` readable by the owner only (0600), all at once: a reader never sees half a file.

    Without ``overwrite`` an existing file is left alone (``FileExistsError``): it may hold the only copy
    of another App's private key.
    """
    lines = [f"# {line}".rstrip() for line in header.splitlines()]
    lines += [f"{name}={format_value(value)}" for name, value in variables.items()]
    directory = path.parent if str(path.parent) else Path(".")
    descriptor, scratch = tempfile.mkstemp(dir=directory, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as out:  # mkstemp creates it 0600
            out.write("\n".join(lines) + "\n")
            out.flush()
            os.fsync(out.fileno())
        if overwrite:
            os.replace(scratch, path)
        else:
            os.link(scratch, path)  # atomic, and refuses an existing name
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(scratch)


def with_env_file(environ: Mapping[str, str], path: Path) -> dict[str, str]:
    """The environment with the file's variables added beneath it: a variable already set wins."""
    if not path.is_file():
        return dict(environ)
    return {**read_env_file(path), **environ}
