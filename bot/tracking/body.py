"""Edit a tracking issue's body without disturbing what humans wrote in it.

The bot owns one block between ``BLOCK_BEGIN`` and ``BLOCK_END`` marker lines; outside it, it
only flips the bracket character of checklist lines. Every function here is pure and keeps the
promise the tests check: all other bytes (line endings, unicode, trailing spaces) stay as they are.

The body is read as GitHub reads it (``bot.tracking.markdown``): a marker or a task box in code, in a
raw HTML block such as ``<pre>``, or inside an HTML comment is text a human quoted, and is left alone.
Edits are made by offset into the original string, so the reading never rewrites anything.
"""

from __future__ import annotations

import functools
import html
import re
import unicodedata
from dataclasses import dataclass

from bot.tracking.lines import BodyLines
from bot.tracking.markdown import HeadingText, is_comment_line, read, set_boxes, splice

BLOCK_BEGIN = "<!-- issue-status-bot:begin -->"
BLOCK_END = "<!-- issue-status-bot:end -->"

_LINE_ENDING = re.compile(r"\r\n|\r|\n")
_LINK = re.compile(r"!?\[([^\[\]]*)\]\([^()]*\)")
_BACKSLASH_ESCAPE = re.compile(r"\\([!-/:-@\[-`{-~])")
_EMPHASIS = re.compile(r"[*_`]+")
_SPACE_AFTER_SIGN = re.compile(r"([<>=≤≥]) (?=[0-9])")
_SPACE_BEFORE_PERCENT = re.compile(r"([0-9]) %")


@dataclass(frozen=True)
class BodyParts:
    """A body split around the bot's block; ``before + (block or "") + after`` is the body again.

    ``block`` runs from the start of the begin marker line to the end of the end marker line,
    including that line's line ending. Without a block the whole body is ``after``, because that is
    where it ends up once a block is inserted at the top.
    """

    before: str
    block: str | None
    after: str
    newline: str


@dataclass(frozen=True)
class ChecklistItem:
    """A task list line a human wrote: ``line_index`` counts lines split at \\r\\n, \\r and \\n."""

    line_index: int
    text: str
    checked: bool


@functools.lru_cache(maxsize=8)
def split_body(body: str) -> BodyParts:
    """Find the bot's block: the first begin/end marker pair on lines of their own, as HTML comments.

    A marker in code, a quote, a list, a ``<pre>`` block or inside a longer comment is a quotation, not
    the block. A begin marker with no end marker after it does not make a block (it stays human text,
    so that a damaged block never makes the bot rewrite the text below it); a new block is inserted.
    Remembered: an update splits the same few bodies a dozen times (copying up to 64 KiB each time).
    """
    newline = _newline_style(body)
    found = _find_block(body)
    if found is None:
        return BodyParts(before="", block=None, after=body, newline=newline)
    lines = read(body).lines
    start = lines[found[0]].start
    end = lines[found[1]].end
    return BodyParts(body[:start], body[start:end], body[end:], newline)


def human_text(body: str) -> str:
    """Everything outside the bot's block, as written."""
    parts = split_body(body)
    return parts.before + parts.after


def block_content(body: str) -> str | None:
    """The text between the markers with "\\n" line endings, or None when the body has no block."""
    found = _find_block(body)
    if found is None:
        return None
    first, last = found
    return "\n".join(line.text for line in read(body).lines[first + 1 : last])


def replace_block(body: str, block_content: str) -> str:
    """Write ``block_content`` (markdown, "\\n" endings) as the bot's block, in place or at the top.

    The block takes the body's line-ending style; everything outside it is returned byte for byte.
    A first block is followed by one blank line and then the untouched body. Should the text just
    above a block make its new content read differently there, the block moves to the top the same
    way. One trailing newline of ``block_content`` is not significant. Raises ValueError if the
    content contains a marker line or would hide the end marker from GitHub (an open code fence,
    comment or ``<pre>``), since the block would not be found next time.
    """
    inner = _block_lines(block_content)
    parts = split_body(body)
    newline = parts.newline
    block = newline.join([BLOCK_BEGIN, *inner, BLOCK_END])
    found = _find_block(body)
    if parts.block is not None and found is not None:
        in_place = block + BodyLines(parts.block)[-1].ending
        updated = splice(body, found[0], found[1], in_place)  # read from the two readings where it can
        if found[0] in read(body).fresh_comment_lines:
            reads_back = _reads_as_block(in_place)  # nothing above it matters: read the block alone
        else:
            reads_back = split_body(updated) == BodyParts(
                parts.before, in_place, parts.after, _newline_style(updated)
            )
        if reads_back:
            return updated
        # What a human wrote just above the block (raw HTML running into it, say) changes how the new
        # content reads: the block moves to the top, where nothing can come before it.
        body = parts.before + parts.after
    block += newline
    if not _reads_as_block(block):
        raise ValueError("block content hides its end marker (open code fence, comment or raw HTML)")
    return block + newline + body if body else block


def written_length(body: str, block_content: str) -> int:
    """The length of ``replace_block(body, block_content)`` when the block is written where it is (or, in a
    body without one, on top), known without writing or reading it: the search for the history that fits
    GitHub's limit renders several blocks and writes one."""
    inner = _block_lines(block_content)
    newline = _newline_style(body)
    block = len(BLOCK_BEGIN) + len(BLOCK_END) + sum(map(len, inner)) + len(newline) * (len(inner) + 1)
    found = _find_block(body)
    if found is not None:
        lines = read(body).lines
        return len(body) - (lines[found[1]].end - lines[found[0]].start) + block + len(lines[found[1]].ending)
    return block + 2 * len(newline) + len(body) if body else block + len(newline)


def replace_last_block_line(body: str, old: str, new: str) -> str:
    """``body`` with the last line of its block before the end marker, ``old``, replaced by ``new``, both
    one-line HTML comments (the state marker); read from the body's reading, not again.

    Two writes of the same results differ only there (what the write saw, its generation). Raises
    ValueError when that line is not ``old`` or either is not a one-line comment.
    """
    first, end = _find_block(body) or (0, 0)
    line = read(body).lines[end - 1] if end - first >= 2 else None
    if line is None or line.text != old or not is_comment_line(old) or not is_comment_line(new):
        raise ValueError("the block's last line is not the comment to replace")
    return splice(body, end - 1, end - 1, new + line.ending)


def _reads_as_block(text: str) -> bool:
    """Whether ``text``, read on its own, is exactly one block of the bot's."""
    return split_body(text).block == text


def headings_outside_block(body: str) -> list[HeadingText]:
    """Top-level headings a human wrote (not in code, HTML, quotes, lists or the bot's block)."""
    first, last = _find_block(body) or (-1, -1)
    return [heading for heading in read(body).headings if not first <= heading.line_index <= last]


def checklist_items(body: str) -> list[ChecklistItem]:
    """Task list items a human wrote: outside the bot's block, code, raw HTML and comments."""
    return [item for item, _ in _items(body)]


def find_checklist_item(body: str, wanted: str) -> ChecklistItem | None:
    """The first checklist item whose text matches ``wanted`` tolerantly (see ``match_key``)."""
    key = _required_key(wanted)
    return next((item for item, _ in _items(body) if match_key(item.text) == key), None)


def set_checklist_item(body: str, wanted: str, checked: bool) -> tuple[str, bool]:
    """Tick or untick every item matching ``wanted``; returns the new body and whether any matched.

    A human may repeat a line, so all matches are set. Only the character between the brackets
    changes; an item already in the wanted state (including "[X]" when ticking) is left as it is.
    """
    key = _required_key(wanted)
    marks: dict[int, str] = {}
    found = False
    for item, box_offset in _items(body):
        if match_key(item.text) != key:
            continue
        found = True
        if item.checked != checked:
            marks[box_offset] = "x" if checked else " "
    return (set_boxes(body, marks) if marks else body), found


@functools.lru_cache(maxsize=1024)
def match_key(text: str) -> str:
    """Reduce checklist text to what a reader sees, so config text matches despite markdown.

    Remembered: an update reduces each checklist line of the issue several times (~5 µs each).

    Case, whitespace, emphasis and code markers, link targets, HTML entities, backslash escapes,
    trailing ". : ;" and the space in "> 90 %" do not count; extra words do.
    """
    text = unicodedata.normalize("NFC", html.unescape(text))
    text = _BACKSLASH_ESCAPE.sub(r"\1", _LINK.sub(r"\1", text))
    text = " ".join(_EMPHASIS.sub("", text).split()).casefold()
    text = _SPACE_BEFORE_PERCENT.sub(r"\1%", _SPACE_AFTER_SIGN.sub(r"\1", text))
    return text.rstrip(".:; ")


def _required_key(wanted: str) -> str:
    key = match_key(wanted)
    if not key:
        raise ValueError(f"checklist text {wanted!r} has no visible text to match")
    return key


def _items(body: str) -> list[tuple[ChecklistItem, int]]:
    """Checklist items with the body offset of their box character."""
    first, last = _find_block(body) or (-1, -1)
    return [
        (ChecklistItem(box.line_index, box.text, box.checked), box.box_offset)
        for box in read(body).task_boxes
        if not first <= box.line_index <= last
    ]


def _block_lines(content: str) -> list[str]:
    content = _LINE_ENDING.sub("\n", content).removesuffix("\n")
    if not content:
        return []
    lines = content.split("\n")
    if any(line.strip(" \t") in (BLOCK_BEGIN, BLOCK_END) for line in lines):
        raise ValueError("block content must not contain a block marker line")
    return lines


@functools.lru_cache(maxsize=32)
def _newline_style(body: str) -> str:
    """CRLF when most line endings are CRLF (GitHub returns web-edited bodies that way), else LF.

    Remembered: an update asks it of the same few bodies a dozen times, and counting 64 KiB of text holding
    an emoji (four bytes a character) takes ~0.1 ms."""
    crlf = body.count("\r\n")
    return "\r\n" if crlf > body.count("\n") - crlf else "\n"


def _find_block(body: str) -> tuple[int, int] | None:
    """The first end marker and the nearest begin above it, so an orphan begin claims no text."""
    reading = read(body)
    begin = None
    for index in reading.comment_lines:
        marker = reading.lines[index].text.strip(" \t")
        if marker == BLOCK_BEGIN:
            begin = index
        elif marker == BLOCK_END and begin is not None:
            return begin, index
    return None
