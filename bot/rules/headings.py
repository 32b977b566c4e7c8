"""Fix headings such as ``### 1. JWT Token Fix - 2 hours ⏳``: finding them and changing only their mark.

A heading's mark (⏳ not started, 🔄 in progress, ✅ done) may open or close its text. The bot changes
that one character and nothing else, so the rest of the body stays byte for byte what a human wrote.
Only real top-level headings (ATX or setext, as GitHub parses them) are fix headings: not look-alikes in
code, raw HTML or comments, nor headings in blockquotes, lists or the bot's own block.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from bot.tracking.body import headings_outside_block
from bot.tracking.body import match_key as checklist_key

Phase = Literal["not started", "in progress", "done"]
MARKS: dict[Phase, str] = {"not started": "⏳", "in progress": "🔄", "done": "✅"}
PHASE_OF_MARK: dict[str, Phase] = {mark: phase for phase, mark in MARKS.items()}

_NUMBERING = re.compile(r"(?:\d{1,9}[.)]|[A-Za-z][.)])\s+")
_VARIATION_SELECTOR = "\ufe0f"
# What may follow a fix's name in its heading (an estimate, a status): hyphen, en and em dash, and so on.
SEPARATORS = (" - ", " \u2013 ", " \u2014 ", ": ", " (", " | ", " [")


@dataclass(frozen=True)
class Heading:
    """A heading a human wrote; ``line_index`` counts lines as ``ChecklistItem.line_index`` does."""

    line_index: int
    text: str  # as written, without the '#' markers
    mark: str | None  # "⏳", "🔄" or "✅", when the heading has one
    mark_offset: int | None  # where the mark is in the body

    @property
    def phase(self) -> Phase | None:
        return PHASE_OF_MARK[self.mark] if self.mark else None


def headings(body: str) -> list[Heading]:
    """Every top-level heading outside code, raw HTML, comments and the bot's block, in order."""
    found = []
    for heading in headings_outside_block(body):
        mark, offset = _mark_of(heading.text)
        at = None if offset is None else heading.text_start + offset
        found.append(Heading(heading.line_index, heading.text, mark, at))
    return found


def _mark_of(text: str) -> tuple[str | None, int | None]:
    """The mark opening or closing a heading's text, and its offset in that text."""
    leading = text.lstrip()
    if leading[:1] in PHASE_OF_MARK:
        return leading[0], len(text) - len(leading)
    trailing = text.rstrip().removesuffix(_VARIATION_SELECTOR)
    if trailing[-1:] in PHASE_OF_MARK:
        return trailing[-1], len(trailing) - 1
    return None, None


def title_key(text: str) -> str:
    """A heading's text reduced for matching: no mark, no leading numbering, markdown ignored."""
    return checklist_key(written_title(text))


def written_title(text: str) -> str:
    """A heading's text as written, less its mark and leading numbering."""
    mark, offset = _mark_of(text)
    if mark is not None and offset is not None:
        text = text[:offset] + text[offset + 1 :].removeprefix(_VARIATION_SELECTOR)
    text = text.strip()
    numbering = _NUMBERING.match(text)
    return text if numbering is None else text[numbering.end() :]


def find_heading(body: str, name: str) -> Heading | None:
    """The heading of the fix ``name``: its text is the name, perhaps followed by " - 2 hours" and such.

    An exact match wins over one with a suffix, so "Database" and "Database migration" can coexist.
    """
    wanted = checklist_key(name)
    if not wanted:
        return None
    candidates = [(heading, title_key(heading.text)) for heading in headings(body)]
    exact = next((heading for heading, key in candidates if key == wanted), None)
    if exact is not None:
        return exact
    return next((heading for heading, key in candidates if _suffixed(key, wanted)), None)


def _suffixed(key: str, wanted: str) -> bool:
    return key.startswith(wanted) and key[len(wanted) :].startswith(SEPARATORS)


def set_mark(body: str, heading: Heading, phase: Phase) -> str:
    """``body`` with ``heading``'s mark showing ``phase``; a heading without a mark is left alone."""
    if heading.mark is None or heading.mark_offset is None:
        return body
    offset = heading.mark_offset
    if body[offset] != heading.mark:
        raise ValueError("the heading was found in a different body")
    return body[:offset] + MARKS[phase] + body[offset + 1 :]
