"""Neutralising text that comes from CI or payloads (job, artifact and test names) before it is shown.

Anyone who can push a workflow chooses those names. GitHub turns text into links and pings in two
places: its Markdown parser (cmark-gfm: links, ``<https://...>``, and the autolink extension's bare
``https://...``, ``www.`` and e-mail addresses), then filters over the rendered HTML's text that make
``@name`` a mention and ``#12``, ``GH-12``, ``owner/repo#12`` references. Neither acts inside a code span,
so ``code_span`` is the default. ``plain_text`` is for sentences that mix our words and theirs: it escapes
Markdown and puts a word joiner (U+2060, invisible) right after each trigger, where no pattern allows it.
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


# "&" too: "&#64;name" would render as a mention.
_MARKDOWN = re.compile(r"([\\`*_{}\[\]<>()#+!|~@&])")
WORD_JOINER = "\u2060"
# The positions a word joiner breaks: after "@" (mentions, e-mail) and "#" (references), before "://"
# (scheme autolinks), between "www" and "." and between "GH-" and its number.
_LINK_TRIGGER = re.compile(r"(?<=[@#])|(?=://)|(?<=www)(?=\.)|(?<=gh-)(?=[0-9])", re.IGNORECASE)


def plain_text(text: str, limit: int = 200) -> str:
    """``text`` shown as itself in Markdown on one line: every character Markdown would act on (emphasis,
    links, HTML, entities) is escaped, and no link, mention or issue reference can form."""
    flat = _CONTROL.sub(" ", text).strip()
    if len(flat) > limit:
        flat = flat[: limit - 1] + "…"
    return _LINK_TRIGGER.sub(WORD_JOINER, _MARKDOWN.sub(r"\\\1", flat))
