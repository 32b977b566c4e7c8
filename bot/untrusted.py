"""Neutralising text that comes from CI or payloads (job, artifact and test names) before it is shown.

Anyone who can push a workflow chooses those names. Shown as an inline code span on one line, nothing in
them can mention people, reference issues, open an HTML comment that forges the bot's markers, or break
the surrounding Markdown.
"""

from __future__ import annotations

import re

MAX_SHOWN = 100
_CONTROL = re.compile(r"[\x00-\x1f\x7f\u2028\u2029]+")


def code_span(text: str, limit: int = MAX_SHOWN) -> str:
    """``text`` as an inline code span on one line, at most ``limit`` characters of it."""
    # An HTML comment opener or closer could pose as one of the bot's markers to a reader of the raw
    # body; a zero-width space keeps it visible but inert.
    flat = _CONTROL.sub(" ", text).strip().replace("<!--", "<!\u200b--").replace("-->", "--\u200b>")
    if not flat:
        return "`(unnamed)`"
    if len(flat) > limit:
        flat = flat[: limit - 1] + "…"
    longest = max((len(run) for run in re.findall(r"`+", flat)), default=0)
    fence = "`" * (longest + 1)
    padding = " " if flat.startswith("`") or flat.endswith("`") else ""
    return f"{fence}{padding}{flat}{padding}{fence}"


_MARKDOWN = re.compile(r"([\\`*_{}\[\]<>()#+!|~@])")


def plain_text(text: str, limit: int = 200) -> str:
    """``text`` shown as itself in Markdown on one line: every character Markdown or GitHub would act on
    (emphasis, links, HTML, mentions) is escaped."""
    flat = _CONTROL.sub(" ", text).strip()
    if len(flat) > limit:
        flat = flat[: limit - 1] + "…"
    return _MARKDOWN.sub(r"\\\1", flat)
