"""Edit a tracking issue's body without disturbing what humans wrote in it.

The bot owns one block between ``BLOCK_BEGIN`` and ``BLOCK_END`` marker lines; outside it, it
only flips the bracket character of checklist lines. Every function here is pure and keeps the
promise the tests check: all other bytes (line endings, unicode, trailing spaces) stay as they are.

The markdown reading is line based and linear, not a full CommonMark parser. It knows what that
promise needs: fenced code (``` or ~~~, also in blockquotes and list items) and HTML comment
blocks, where look-alike markers and checkboxes must be left alone. Where it has to guess, it
guesses "code": leaving a line alone is always safe, editing a quoted example never is.
Known limit: indented (four-space) code blocks are not recognised; a task line in one is an item.
"""

from __future__ import annotations

import html
import re
import unicodedata
from dataclasses import dataclass

BLOCK_BEGIN = "<!-- issue-status-bot:begin -->"
BLOCK_END = "<!-- issue-status-bot:end -->"

# CommonMark line endings; ``str.splitlines`` would also split on \v, \f, U+2028 and others.
_LINE_ENDING = re.compile(r"\r\n|\r|\n")
_FENCE_OPENING = re.compile(r"(`{3,}|~{3,})(.*)")
# A GitHub task list item once blockquote markers are removed: marker, 1-4 spaces, box, space, text.
_TASK_ITEM = re.compile(r"[ \t]*(?:[-*+]|[0-9]{1,9}[.)])(?: {1,4}|\t)\[([ xX])\][ \t]+(\S.*)")
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


@dataclass(frozen=True)
class _Line:
    start: int  # offset of the line's first character in the body
    text: str  # without its line ending
    ending: str  # "\r\n", "\r", "\n", or "" on a last line without one

    @property
    def end(self) -> int:
        return self.start + len(self.text) + len(self.ending)


@dataclass(frozen=True)
class _Fence:
    char: str
    length: int
    indent: int
    depth: int  # blockquote depth it was opened at; a shallower line ends it


@dataclass(frozen=True)
class _Parsed:
    lines: list[_Line]
    prose: list[bool]  # False for lines in fenced code or HTML comment blocks
    block: tuple[int, int] | None  # indices of the begin and end marker lines


def split_body(body: str) -> BodyParts:
    """Find the bot's block: the first begin/end marker pair on lines of their own outside code.

    A begin marker with no end marker after it does not make a block (it stays human text, so that a
    damaged block never makes the bot rewrite the text below it); a new block is inserted instead.
    """
    parsed = _parse(body)
    newline = _newline_style(body)
    if parsed.block is None:
        return BodyParts(before="", block=None, after=body, newline=newline)
    start = parsed.lines[parsed.block[0]].start
    end = parsed.lines[parsed.block[1]].end
    return BodyParts(body[:start], body[start:end], body[end:], newline)


def human_text(body: str) -> str:
    """Everything outside the bot's block, as written."""
    parts = split_body(body)
    return parts.before + parts.after


@dataclass(frozen=True)
class ProseLine:
    """A line outside fenced code, HTML comment blocks and the bot's block."""

    index: int  # counted like ChecklistItem.line_index
    start: int  # offset of its first character in the body
    text: str  # without its line ending


def prose_lines(body: str) -> list[ProseLine]:
    """The lines a human wrote as prose, where the bot may look for checklist items and headings."""
    parsed = _parse(body)
    first, last = parsed.block if parsed.block is not None else (-1, -1)
    return [
        ProseLine(index, line.start, line.text)
        for index, (line, prose) in enumerate(zip(parsed.lines, parsed.prose, strict=True))
        if prose and not first <= index <= last
    ]


def block_content(body: str) -> str | None:
    """The text between the markers with "\\n" line endings, or None when the body has no block."""
    parsed = _parse(body)
    if parsed.block is None:
        return None
    first, last = parsed.block
    return "\n".join(line.text for line in parsed.lines[first + 1 : last])


def replace_block(body: str, block_content: str) -> str:
    """Write ``block_content`` (markdown, "\\n" endings) as the bot's block, in place or at the top.

    The block takes the body's line-ending style; everything outside it is returned byte for byte.
    A first block is followed by one blank line and then the untouched body. One trailing newline of
    ``block_content`` is not significant. Raises ValueError if the content contains a marker line or
    leaves a code fence or HTML comment open, since either would break finding the block next time.
    """
    inner = _block_lines(block_content)
    parts = split_body(body)
    newline = parts.newline
    block = newline.join([BLOCK_BEGIN, *inner, BLOCK_END])
    if parts.block is None:
        return block + newline + newline + body if body else block + newline
    old_ending = _lines(parts.block)[-1].ending
    return parts.before + block + old_ending + parts.after


def checklist_items(body: str) -> list[ChecklistItem]:
    """Task list items a human wrote: outside the bot's block, fenced code and HTML comments."""
    return [item for item, _ in _items(body)]


def find_checklist_item(body: str, wanted: str) -> ChecklistItem | None:
    """The first checklist item whose text matches ``wanted`` tolerantly (see ``_match_key``)."""
    key = _required_key(wanted)
    return next((item for item, _ in _items(body) if match_key(item.text) == key), None)


def set_checklist_item(body: str, wanted: str, checked: bool) -> tuple[str, bool]:
    """Tick or untick every item matching ``wanted``; returns the new body and whether any matched.

    A human may repeat a line, so all matches are set. Only the character between the brackets
    changes; an item already in the wanted state (including "[X]" when ticking) is left as it is.
    """
    key = _required_key(wanted)
    pieces: list[str] = []
    position = 0
    found = False
    for item, box_offset in _items(body):
        if match_key(item.text) != key:
            continue
        found = True
        if item.checked != checked:
            pieces += [body[position:box_offset], "x" if checked else " "]
            position = box_offset + 1
    if not pieces:
        return body, found
    pieces.append(body[position:])
    return "".join(pieces), found


def match_key(text: str) -> str:
    """Reduce checklist text to what a reader sees, so config text matches despite markdown.

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
    parsed = _parse(body)
    first, last = parsed.block if parsed.block is not None else (-1, -1)
    found = []
    for index, (line, prose) in enumerate(zip(parsed.lines, parsed.prose, strict=True)):
        if not prose or first <= index <= last:
            continue
        _, rest = _strip_quotes(line.text)
        match = _TASK_ITEM.match(rest)
        if match is not None:
            box_offset = line.start + len(line.text) - len(rest) + match.start(1)
            item = ChecklistItem(index, match[2], match[1] != " ")
            found.append((item, box_offset))
    return found


def _block_lines(content: str) -> list[str]:
    content = _LINE_ENDING.sub("\n", content).removesuffix("\n")
    if not content:
        return []
    lines = content.split("\n")
    if any(line.strip(" \t") in (BLOCK_BEGIN, BLOCK_END) for line in lines):
        raise ValueError("block content must not contain a block marker line")
    _, still_open = _scan([_Line(0, line, "") for line in lines])
    if still_open:
        raise ValueError("block content leaves a code fence or HTML comment open")
    return lines


def _parse(body: str) -> _Parsed:
    lines = _lines(body)
    prose, _ = _scan(lines)
    return _Parsed(lines, prose, _find_block(lines, prose))


def _lines(body: str) -> list[_Line]:
    lines = []
    start = 0
    for ending in _LINE_ENDING.finditer(body):
        lines.append(_Line(start, body[start : ending.start()], ending[0]))
        start = ending.end()
    if start < len(body):
        lines.append(_Line(start, body[start:], ""))
    return lines


def _newline_style(body: str) -> str:
    """CRLF when most line endings are CRLF (GitHub returns web-edited bodies that way), else LF."""
    crlf = body.count("\r\n")
    return "\r\n" if crlf > body.count("\n") - crlf else "\n"


def _find_block(lines: list[_Line], prose: list[bool]) -> tuple[int, int] | None:
    """The first end marker and the nearest begin above it, so an orphan begin claims no text."""
    begin = None
    for index, (line, is_prose) in enumerate(zip(lines, prose, strict=True)):
        marker = line.text.strip(" \t") if is_prose else None
        if marker == BLOCK_BEGIN:
            begin = index
        elif marker == BLOCK_END and begin is not None:
            return begin, index
    return None


def _scan(lines: list[_Line]) -> tuple[list[bool], bool]:
    """Mark each line as prose or not; the flag says whether a fence or comment is still open."""
    prose = []
    fence: _Fence | None = None
    comment_depth: int | None = None
    for line in lines:
        if fence is not None:
            depth, rest = _strip_quotes(line.text, fence.depth)
            if depth == fence.depth:
                prose.append(False)
                indent, content = _indent(rest)
                stripped = content.rstrip(" \t")
                if (
                    indent <= fence.indent + 3
                    and len(stripped) >= fence.length
                    and stripped == fence.char * len(stripped)
                ):
                    fence = None
                continue
            fence = None  # its blockquote ended, and fenced code does not continue lazily
        depth, rest = _strip_quotes(line.text)
        if comment_depth is not None:
            if depth >= comment_depth:
                prose.append(False)
                if "-->" in line.text:
                    comment_depth = None
                continue
            comment_depth = None
        indent, content = _indent(rest)
        opening = _FENCE_OPENING.match(content)
        if opening is not None and not (opening[1][0] == "`" and "`" in opening[2]):
            # Any indentation opens a fence: inside list items fences sit four or more columns deep.
            fence = _Fence(opening[1][0], len(opening[1]), indent, depth)
            prose.append(False)
            continue
        prose.append(True)
        # An HTML block comment starts a line and ends on the first line containing "-->".
        if content.startswith("<!--") and content.find("-->", 2) == -1:
            comment_depth = depth
    return prose, fence is not None or comment_depth is not None


def _strip_quotes(text: str, limit: int | None = None) -> tuple[int, str]:
    """Remove up to ``limit`` blockquote markers ("> "), returning how many and the rest."""
    depth = 0
    position = 0
    while limit is None or depth < limit:
        marker = position
        while marker < len(text) and text[marker] in " \t":
            marker += 1
        if marker == len(text) or text[marker] != ">":
            break
        depth += 1
        position = marker + 1
        if position < len(text) and text[position] in " \t":
            position += 1
    return depth, text[position:]


def _indent(text: str) -> tuple[int, str]:
    """Leading whitespace width in columns (tabs to multiples of 4) and the text after it."""
    columns = 0
    for position, char in enumerate(text):
        if char == " ":
            columns += 1
        elif char == "\t":
            columns += 4 - columns % 4
        else:
            return columns, text[position:]
    return columns, ""
