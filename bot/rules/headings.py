"""Fix headings such as ``### 1. JWT Token Fix - 2 hours ⏳``: finding them and changing only their mark.

A heading's mark (⏳ not started, 🔄 in progress, ✅ done) may open or close its text. The bot changes
that one character and nothing else, so the rest of the body stays byte for byte what a human wrote.
Headings in fenced code, HTML comments, blockquotes and the bot's own block are not fix headings.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from bot.tracking.body import match_key as checklist_key
from bot.tracking.body import prose_lines

Phase = Literal["not started", "in progress", "done"]
MARKS: dict[Phase, str] = {"not started": "⏳", "in progress": "🔄", "done": "✅"}
PHASE_OF_MARK: dict[str, Phase] = {mark: phase for phase, mark in MARKS.items()}

# An ATX heading: up to three spaces, 1-6 '#', then its text; an optional closing run of '#'.
_HEADING = re.compile(r"( {0,3}#{1,6}[ \t]+)(.*?)(?:[ \t]+#+)?[ \t]*")
_NUMBERING = re.compile(r"(?:\d{1,9}[.)]|[A-Za-z][.)])\s+")
_VARIATION_SELECTOR = "\ufe0f"
# What may follow a fix's name in its heading (an estimate, a status): hyphen, en and em dash, and so on.
_SEPARATORS = (" - ", " \u2013 ", " \u2014 ", ": ", " (", " | ", " [")


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
    """Every heading outside code, comments, blockquotes and the bot's block, in order."""
    found = []
    for line in prose_lines(body):
        match = _HEADING.fullmatch(line.text)
        if match is None:
            continue
        text_start = line.start + match.start(2)
        mark, offset = _mark_of(match[2])
        found.append(Heading(line.index, match[2], mark, None if offset is None else text_start + offset))
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
    mark, offset = _mark_of(text)
    if mark is not None and offset is not None:
        text = text[:offset] + text[offset + 1 :].removeprefix(_VARIATION_SELECTOR)
    text = text.strip()
    numbering = _NUMBERING.match(text)
    if numbering is not None:
        text = text[numbering.end() :]
    return checklist_key(text)


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
    return key.startswith(wanted) and key[len(wanted) :].startswith(_SEPARATORS)


def set_mark(body: str, heading: Heading, phase: Phase) -> str:
    """``body`` with ``heading``'s mark showing ``phase``; a heading without a mark is left alone."""
    if heading.mark is None or heading.mark_offset is None:
        return body
    offset = heading.mark_offset
    if body[offset] != heading.mark:
        raise ValueError("the heading was found in a different body")
    return body[:offset] + MARKS[phase] + body[offset + 1 :]
