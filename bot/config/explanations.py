"""pydantic's validation errors as a maintainer needs them: where, what was expected, what was meant."""

from __future__ import annotations

import difflib
import typing
from collections.abc import Iterator

from pydantic_core import ErrorDetails

from bot.config.problems import ConfigProblem, show
from bot.config.schema import RepoConfig, Section
from bot.config.values import quote_hint

_EXPECTED = {
    "model_type": "a mapping of keys to values",
    "model_attributes_type": "a mapping of keys to values",
    "dict_type": "a mapping of keys to values",
    "tuple_type": "a list",
    "list_type": "a list",
    "string_type": "text",
    "int_type": "a whole number",
    "bool_type": "true or false",
}


def _path(loc: tuple[int | str, ...], *, ends_in_key: bool = False) -> str:
    """pydantic's ("trackers", 0, "gate") as "trackers[0].gate"; a last key stays a key even if 1."""
    text = ""
    for position, part in enumerate(loc):
        is_key = isinstance(part, str) or (ends_in_key and position == len(loc) - 1)
        text += (f".{part}" if text else str(part)) if is_key else f"[{part}]"
    return text or "(top level)"


def _section_type(annotation: object) -> tuple[type[Section] | None, bool]:
    """The section a field holds, and whether it holds a list of them."""
    if isinstance(annotation, type) and issubclass(annotation, Section):
        return annotation, False
    if typing.get_origin(annotation) is tuple:
        inner, _ = _section_type(typing.get_args(annotation)[0])
        return inner, inner is not None
    return None, False


def _section_at(loc: tuple[int | str, ...]) -> type[Section] | None:
    section: type[Section] | None = RepoConfig
    for part in loc:
        if isinstance(part, int) or section is None:
            continue
        field = section.model_fields.get(part)
        section = _section_type(field.annotation)[0] if field else None
    return section


def _subsections(section: type[Section]) -> Iterator[tuple[str, type[Section], bool]]:
    for name, field in section.model_fields.items():
        inner, is_list = _section_type(field.annotation)
        if inner is not None:
            yield name, inner, is_list


def _key_hint(section: type[Section], key: str) -> str:
    """Where a misplaced or misspelt key probably belongs, or ""."""
    for name, inner, is_list in _subsections(section):
        if key in inner.model_fields:
            return f"it belongs inside each entry of '{name}'" if is_list else f"it belongs under '{name}'"
    candidates = [(known, f"did you mean '{known}'?") for known in section.model_fields]
    candidates += [
        (known, f"did you mean '{known}' under '{name}'?")
        for name, inner, _ in _subsections(section)
        for known in inner.model_fields
    ]
    cutoff, hint = 0.75, ""
    for known, suggestion in candidates:
        score = difflib.SequenceMatcher(None, key.lower(), known).ratio()
        if score > cutoff:
            cutoff, hint = score, suggestion
    return hint


def explain(error: ErrorDetails) -> ConfigProblem:
    loc, kind, value = error["loc"], error["type"], error["input"]
    if kind in ("extra_forbidden", "invalid_key"):
        key = loc[-1]
        section = _section_at(loc[:-1])
        if kind == "invalid_key" or not isinstance(key, str):
            message = f"key {show(value)} is not a name; keys are words such as 'issue'"
        else:
            hint = _key_hint(section, key) if section else ""
            message = f"unknown key {show(key)}" + (f" ({hint})" if hint else "")
        return ConfigProblem(_path(loc, ends_in_key=True), message)
    if kind == "missing":
        return ConfigProblem(_path(loc), f"required key {show(loc[-1])} is missing")
    if kind == "config":
        return ConfigProblem(_path(loc), error["msg"])
    if kind == "literal_error":
        expected = f"one of {error.get('ctx', {}).get('expected', 'the documented values')}"
    else:
        expected = _EXPECTED.get(kind, "a different value")
    hint = quote_hint(value) if kind == "string_type" else ""
    return ConfigProblem(_path(loc), f"expected {expected}, got {show(value)}{hint}")
