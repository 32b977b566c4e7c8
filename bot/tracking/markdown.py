"""Reading Markdown the way GitHub's CommonMark/GFM parser does, with positions in the source.

GitHub shows lines in code, raw HTML blocks (``<pre>``, ``<div>``...) and HTML comments as text or not at
all; a line-based guess cannot tell, a parser can. markdown-it-py reports each block's source lines
(``Token.map``), so callers locate task-list boxes, headings and the bot's markers by line and edit the
original string byte for byte. It splits lines exactly at ``\\r\\n``, ``\\r`` and ``\\n``, as
``BodyLines`` does.
"""

from __future__ import annotations

import bisect
import operator
import re
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from itertools import accumulate, pairwise, repeat
from typing import TypeVar

from markdown_it import MarkdownIt
from markdown_it.token import Token

from bot.tracking.lines import BodyLines, Line, Part, SplicedLines

# Block structure only: an issue body is read several times per update and inline parsing would double
# the cost. Tables are GFM and change block structure (a table swallows the lines that follow it).
_BLOCKS = MarkdownIt("commonmark").enable(["table"]).disable(["inline", "text_join"])
# Comments are read once, inline included: a line may start inside a code span or an inline comment.
_INLINES = MarkdownIt("commonmark").enable(["table", "strikethrough"])

# GitHub's task box: "[ ]", "[x]" or "[X]" opening a list item's first line, then blanks and text.
_TASK_BOX = re.compile(r"\[([ xX])\][ \t]+(\S.*)")
_ATX_HEADING = re.compile(r"( {0,3}#{1,6}[ \t]+)(.*?)(?:[ \t]+#+)?[ \t]*")
# Raw HTML blocks that end only at their closing tag and hold quoted code: a marker line there is not ours.
_VERBATIM_HTML = re.compile(r"[ \t]*<(?:pre|script|style|textarea)(?:[ \t>]|$)", re.IGNORECASE)
_DETAILS_OPEN = re.compile(r"<details(?=[\s/>])", re.IGNORECASE)
_DETAILS_CLOSE = re.compile(r"</details\s*>", re.IGNORECASE)
_HTML_COMMENT = re.compile(r"<!--.*?(?:-->|$)", re.DOTALL)
# Bodies read per process: an update reads the same few bodies several times (up to 64 KiB each), and
# the bodies it derives from them (the block replaced, a box ticked) are read from the first reading.
_CACHED_READINGS = 16
# A body sharing at least this share of its text with one read before (a human's edit of the bot's last
# write, a block that differs from the last one in a few lines) is read from that reading and the changed
# region's, instead of from scratch: markdown-it takes ~0.1-0.3 ms per KiB.
_REUSED_SHARE = 0.5
# Runs of at least this many table rows, blank and plain lines, or list items are parsed in part (see
# _tokens): found by one search for each kind of run in the body's text with a "\n" before each line and
# after the last (a search for a pattern that starts with a character skips to where it is).
_LONG_TABLE = 8
_LONG_PROSE = 16
_ROWS = re.compile(rf"\n((?:\|.*\n){{{_LONG_TABLE},}})")
_PROSE = re.compile(rf"\n((?:(?:[ \t]*|[A-Za-z][^<>\n]*)\n){{{_LONG_PROSE},}})")
_LONG_LIST = 3
_ITEMS = re.compile(
    rf"\n((?:- (?:\[[ xX]\][ \t]+)?(?:[A-Za-z]|\*\*[A-Za-z]|`[^`\n])[^<>\n]*\n){{{_LONG_LIST},}})"
)
_BLANK_THEN_TEXT = re.compile(rb"\x01\x00")  # in one flag a line, 1 for a blank line: a paragraph next
# markdown-it ends a table once it has added this many empty cells to rows shorter than the header.
_MAX_ADDED_CELLS = 0x10000
# A derived reading made of more ranges of other readings' lines than this has its lines shifted once, so
# that a long-lived tracker's many edits never make a reading of thousands of ranges.
_MAX_PARTS = 32
_CHUNK = 8192  # common prefixes are compared up to this many characters at a time, then bisected


@dataclass(frozen=True)
class TaskBox:
    """A task-list item: "[ ]", "[x]" or "[X]" opening the first line of a list item's first paragraph."""

    line_index: int
    box_offset: int  # body offset of the character between the brackets
    text: str  # the rest of the item's first line, as written
    checked: bool


@dataclass(frozen=True)
class HeadingText:
    """A top-level ATX or setext heading (not in a quote or list), with its text's place in the body."""

    line_index: int
    text_start: int
    text: str  # as written, without '#' markers or the setext underline


@dataclass(frozen=True)
class Reading:
    """What the bot looks for in a body, by line index into ``lines``."""

    lines: Sequence[Line]  # the body's (BodyLines), or for a derived reading the lines it is made of
    comment_lines: tuple[int, ...]  # lines that are one HTML comment, hidden by GitHub (see _comment_lines)
    # Comment lines that open a top-level HTML block of their own: nothing above them changes how the
    # lines after them read, so the text from there on can be read on its own.
    fresh_comment_lines: frozenset[int]
    task_boxes: tuple[TaskBox, ...]
    headings: tuple[HeadingText, ...]
    # Lines where a top-level block starts: the parser arrives there with nothing open, so the text from
    # there on reads the same whatever came before it (see _reread).
    block_starts: tuple[int, ...]


_readings: OrderedDict[str, Reading] = OrderedDict()
_readings_lock = threading.Lock()  # bodies are read on worker threads too (off the event loop)


def read(body: str) -> Reading:
    """Where GitHub sees task boxes, headings and the bot's markers in ``body`` (cached per body)."""
    with _readings_lock:
        reading = _readings.get(body)
        if reading is not None:
            _readings.move_to_end(body)
            return reading
        earlier = list(_readings.items())
    return _remember(body, _reread(body, earlier) or parse(body))


def is_read(body: str) -> bool:
    """Whether ``body``'s reading is at hand (the bot's own last write): ``read`` gives it at once, and it
    is kept as the one read last."""
    with _readings_lock:
        if body not in _readings:
            return False
        _readings.move_to_end(body)
        return True


def _remember(body: str, reading: Reading) -> Reading:
    with _readings_lock:
        _readings[body] = reading
        while len(_readings) > _CACHED_READINGS:
            _readings.popitem(last=False)
    return reading


def splice(body: str, first: int, last: int, middle: str) -> str:
    """``body`` with its lines ``first`` to ``last`` replaced by ``middle`` (whole lines, endings included).

    When both ends of the region are known to read on their own, the result's reading is put together
    from the two readings instead of parsed again: line ``first`` is the same text in both (or a one-line
    comment in both) and opens a top-level HTML block in ``body`` (nothing above it changes how it and
    what follows read, and what follows does not change how the lines above it read), and the last
    lines of the region and of ``middle``, each a one-line comment opening a top-level HTML block of its
    own, close everything before them, so that the lines after the region read as they did.
    """
    old = read(body)
    start, end = old.lines[first].start, old.lines[last].end
    spliced = body[:start] + middle + body[end:]
    new = read(middle)
    if (
        not new.lines
        or not _reads_alike(old.lines[first].text, new.lines[0].text)
        or first not in old.fresh_comment_lines
        or last not in old.fresh_comment_lines
        or len(new.lines) - 1 not in new.fresh_comment_lines
        or new.lines[-1].ending != old.lines[last].ending
    ):
        return spliced
    with _readings_lock:
        if spliced in _readings:
            return spliced
    shift_lines = first + len(new.lines) - (last + 1)
    pieces = [(old, 0, first, 0, 0), (new, 0, len(new.lines), first, start)]
    pieces.append((old, last + 1, len(old.lines), shift_lines, start + len(middle) - end))
    _remember(spliced, _joined(pieces))
    return spliced


# (a reading, its lines first to end, and how far they move: in lines, and in characters)
_Piece = tuple[Reading, int, int, int, int]
_OnLine = TypeVar("_OnLine", TaskBox, HeadingText)


def _joined(pieces: Sequence[_Piece]) -> Reading:
    """The reading of a body made of ranges of lines of other readings, each range made of whole top-level
    blocks (or, for ``splice``, bounded by comment lines that read on their own)."""
    parts: list[Part] = []
    comment_lines: list[int] = []
    fresh: list[int] = []
    boxes: list[TaskBox] = []
    headings: list[HeadingText] = []
    starts: list[int] = []
    for reading, low, high, lines_by, chars_by in pieces:
        parts += SplicedLines.part_of(reading.lines, low, high, chars_by)
        fresh += (i + lines_by for i in reading.fresh_comment_lines if low <= i < high)
        if not lines_by and not chars_by:  # the lines above the change: taken as they are
            comment_lines += _within(reading.comment_lines, low, high)
            starts += _within(reading.block_starts, low, high)
            boxes += _on_lines(reading.task_boxes, low, high)
            headings += _on_lines(reading.headings, low, high)
            continue
        comment_lines += map(lines_by.__add__, _within(reading.comment_lines, low, high))
        starts += map(lines_by.__add__, _within(reading.block_starts, low, high))
        boxes += (
            TaskBox(box.line_index + lines_by, box.box_offset + chars_by, box.text, box.checked)
            for box in _on_lines(reading.task_boxes, low, high)
        )
        headings += (
            HeadingText(heading.line_index + lines_by, heading.text_start + chars_by, heading.text)
            for heading in _on_lines(reading.headings, low, high)
        )
    lines: Sequence[Line] = SplicedLines(parts)
    if len(parts) > _MAX_PARTS:  # each edit read this way adds a part or two: whole again once in a while
        lines = tuple(lines)
    return Reading(
        lines,
        tuple(comment_lines),
        frozenset(fresh),
        tuple(boxes),
        tuple(headings),
        tuple(starts),
    )


def _within(lines: Sequence[int], low: int, high: int) -> Sequence[int]:
    """The line numbers (in order) from ``low`` to ``high`` (excluded), found by bisection."""
    return lines[bisect.bisect_left(lines, low) : bisect.bisect_left(lines, high)]


def _on_lines(items: Sequence[_OnLine], low: int, high: int) -> Sequence[_OnLine]:
    """The items (in line order) on lines ``low`` to ``high`` (excluded)."""
    return items[
        bisect.bisect_left(items, low, key=_line_index) : bisect.bisect_left(items, high, key=_line_index)
    ]


def _line_index(item: TaskBox | HeadingText) -> int:
    return item.line_index


def _reread(
    body: str, earlier: Sequence[tuple[str, Reading]], share: float = _REUSED_SHARE
) -> Reading | None:
    """``body`` read from the reading of the body it shares most of its text with, if that is at least
    ``share`` of it (else None).

    Only the changed region is parsed, from the last top-level block that starts before it to the first
    one after it, as the old reading had them: what comes before a top-level block start does not change
    how the text from there on reads (the parser arrives there with nothing open), and a block ends on a
    line it can see. The region is parsed one block further, to check that the new text also starts a
    block where the old one did; if it does not, the region runs to the end of the body.
    """
    best: tuple[int, int, str, Reading] | None = None
    for old, reading in reversed(earlier):  # the latest first: most often the one
        most = min(len(old), len(body))  # shared at most
        if most < len(body) * share or (best is not None and most <= best[0] + best[1]):
            continue
        prefix = _common_prefix(old, body)
        suffix = _common_suffix(old, body, min(len(old), len(body)) - prefix)
        if reading.lines and (best is None or prefix + suffix > best[0] + best[1]):
            best = (prefix, suffix, old, reading)
            if len(body) - prefix - suffix <= _CHUNK:  # a few lines to read: no other can save much more
                break
    if best is None or best[0] + best[1] < len(body) * share:
        return None
    prefix, suffix, old, reading = best
    lines, starts = reading.lines, reading.block_starts
    # The first line that is not wholly in the common prefix (a line ending there could be longer now).
    changed = _first_line(lines, prefix, ending=True)
    restart = starts[bisect.bisect_left(starts, changed) - 1] if starts and starts[0] < changed else 0
    begin = lines[restart].start
    moved = len(body) - len(old)
    # Block starts in the common suffix, the character before them too (so that they start a line now).
    kept_from = _first_line(lines, len(old) - suffix + 1)
    after = starts[bisect.bisect_left(starts, max(kept_from, restart + 1)) :]
    if after:
        stop = lines[after[1]].start + moved if len(after) > 1 else len(body)
        region = parse(body[begin:stop])
        resync = lines[after[0]].start + moved - begin
        joint = _first_line(region.lines, resync)
        if joint < len(region.lines) and region.lines[joint].start == resync and _starts_block(region, joint):
            return _joined(
                [
                    (reading, 0, restart, 0, 0),
                    (region, 0, joint, restart, begin),
                    (reading, after[0], len(lines), restart + joint - after[0], moved),
                ]
            )
    region = parse(body[begin:])
    return _joined([(reading, 0, restart, 0, 0), (region, 0, len(region.lines), restart, begin)])


def _first_line(lines: Sequence[Line], offset: int, *, ending: bool = False) -> int:
    """The first of ``lines`` that starts (``ending``: ends) at ``offset`` or after it, found by bisection;
    a body's own lines by their offsets, without making a ``Line`` of each one looked at."""
    if isinstance(lines, BodyLines) and ending:  # a line ends where the next one starts
        return bisect.bisect_left(lines.starts, offset, 1, len(lines) + 1) - 1
    if isinstance(lines, BodyLines):
        return bisect.bisect_left(lines.starts, offset, 0, len(lines))
    key: Callable[[int], int] = (lambda i: lines[i].end) if ending else (lambda i: lines[i].start)
    return bisect.bisect_left(range(len(lines)), offset, key=key)


def _starts_block(reading: Reading, line: int) -> bool:
    found = bisect.bisect_left(reading.block_starts, line)
    return found < len(reading.block_starts) and reading.block_starts[found] == line


def _common_prefix(a: str, b: str) -> int:
    """How many characters ``a`` and ``b`` start with alike."""
    return _common_run(a, b, min(len(a), len(b)), lambda text, low, high: text[low:high])


def _common_suffix(a: str, b: str, limit: int) -> int:
    """How many characters (at most ``limit``) ``a`` and ``b`` end with alike."""
    return _common_run(a, b, limit, lambda text, low, high: text[len(text) - high : len(text) - low])


def _common_run(a: str, b: str, limit: int, part: Callable[[str, int, int], str]) -> int:
    """The longest ``n <= limit`` with ``part(a, 0, n) == part(b, 0, n)``, compared in chunks that double
    from 64 characters (a body unlike the other is told in a few), the first unlike chunk bisected."""
    low, chunk = 0, 64
    while low < limit:
        high = min(limit, low + chunk)
        if part(a, low, high) != part(b, low, high):
            while high - low > 1:  # alike up to low, not up to high
                middle = (low + high) // 2
                if part(a, low, middle) == part(b, low, middle):
                    low = middle
                else:
                    high = middle
            return low
        low, chunk = high, min(2 * chunk, _CHUNK)
    return limit


def is_comment_line(text: str) -> bool:
    """A line that is one HTML comment, blanks around it aside (GitHub hides it)."""
    inner = text.strip(" \t")  # "<!--", then no "-->" until the one that ends the line
    return inner.startswith("<!--") and inner.find("-->", 4) == len(inner) - 3


def _opens_comment_block(text: str) -> bool:
    """A line that is one comment, indented by at most three spaces: in a body of such lines, each is a
    top-level HTML block of its own, closed on its line."""
    return is_comment_line(text) and text.lstrip(" ").startswith("<!--") and not text.startswith("    ")


def _reads_alike(old: str, new: str) -> bool:
    """Whether every block rule decides the same on line ``new`` as on ``old``, for the lines above: the
    same text, or one-line comments alike up to ``<!--`` (an HTML block of their own either way)."""
    if old == new:
        return True
    indent = len(old) - len(old.lstrip(" \t"))
    return (
        old[:indent] == new[:indent]
        and is_comment_line(old)
        and is_comment_line(new)
        and new[indent:].startswith("<!--")
    )


def set_boxes(body: str, marks: Mapping[int, str]) -> str:
    """``body`` with the task boxes at the offsets in ``marks`` set to their " ", "x" or "X".

    The character between the brackets changes nothing of the body's structure ("[x] text" is no more a
    link reference definition than "[ ] text"), so the result's reading is the body's, boxes updated.
    """
    old = read(body)
    boxes = {box.box_offset: box for box in old.task_boxes}
    if not marks.keys() <= boxes.keys() or not set(marks.values()) <= {" ", "x", "X"}:
        raise ValueError("only the character of a task box the body has can be set")
    pieces: list[str] = []
    position = 0
    for offset in sorted(marks):
        pieces += [body[position:offset], marks[offset]]
        position = offset + 1
    pieces.append(body[position:])
    updated = "".join(pieces)
    parts: list[Part] = []
    done = 0  # lines up to here are in ``parts``
    for offset in sorted(marks):
        index = boxes[offset].line_index
        line = old.lines[index]
        column = offset - line.start
        ticked = Line(line.start, line.text[:column] + marks[offset] + line.text[column + 1 :], line.ending)
        parts += [*SplicedLines.part_of(old.lines, done, index, 0), ((ticked,), 0, 1, 0)]
        done = index + 1
    lines = SplicedLines([*parts, *SplicedLines.part_of(old.lines, done, len(old.lines), 0)])
    task_boxes = tuple(
        replace(box, checked=marks[box.box_offset] != " ") if box.box_offset in marks else box
        for box in old.task_boxes
    )
    _remember(updated, replace(old, lines=lines, task_boxes=task_boxes))
    return updated


def parse(body: str, *, every_row: bool = False) -> Reading:
    """``body`` read from scratch, whatever is cached (``read`` caches this, or derives it).

    ``every_row``: parse each line of a long table, list or prose too (see ``_tokens``), as the tests'
    reference does.
    """
    lines = BodyLines(body)
    if lines.texts and not every_row and all(map(_opens_comment_block, lines.texts)):
        each = tuple(range(len(lines)))  # the bot's state marker, swapped into a body read before
        return Reading(lines, each, frozenset(each), (), (), each)
    tokens, paragraphs, boxes = (_BLOCKS.parse(body), [], []) if every_row else _tokens(body, lines)
    comment_lines = tuple(_comment_lines(tokens, lines))
    html_starts = {token.map[0] for token in tokens if token.type == "html_block" and token.map}
    return Reading(
        lines,
        comment_lines,
        frozenset(html_starts.intersection(comment_lines)),
        tuple(sorted([*_task_boxes(tokens, lines), *boxes], key=_line_index)),
        tuple(_headings(tokens, lines)),
        tuple(sorted([*_top_level_starts(tokens), *paragraphs])),
    )


def _tokens(body: str, lines: BodyLines) -> tuple[list[Token], list[int], list[TaskBox]]:
    """markdown-it's block tokens of ``body`` (maps by line of ``lines``), with the top-level blocks that
    start on lines left out of the text parsed: the rows of long tables and runs of plain paragraphs; and the
    task boxes of the list items left out (the middle items of runs of one-line ones).

    Both hold nothing the bot looks for, and make most of a long body's reading (markdown-it makes some
    twenty tokens of a table row; a 100-run history is two thirds of reading the status block). The tokens'
    maps are put back on the body's lines, and each stretch left out is checked against the parse:

    - In a run of lines starting with "|", all but the first two and the last are left out when the lines
      around them are in one table's body: then so is every line in between (a table goes on through any
      line starting with "|": no other block starts with it), unless markdown-it's cap on the empty cells it
      adds to short rows ends it first, which no line has enough cells for when ``_MAX_ADDED_CELLS`` is not
      reached by the longest line's cells times the lines.
    - In a run of blank lines and plain ones (a letter first, no "<" or ">"), the lines between its first
      blank line and its last are left out when the line after the last starts a top-level block: a plain
      line closes nothing (a fence, raw HTML, a comment), so the stretch was at the top level, where each
      plain line after a blank one starts a paragraph and nothing else does.
    - In a run of lines "- " then text that can only open a paragraph (a box or not, then a letter, "**" and
      a letter, or "`" and another character; no "<" or ">"), all but the first and the last are left out
      when those two are items of one list: then so is each line in between, an item of its own (a bullet
      item interrupts the paragraph above it, and one of the same marker goes on with the same list) whose
      paragraph starts on its line, with a task box if it starts with one.
    """
    texts = lines.texts
    # The text with "\n" before each line and after the last, and where the "\n" before each line is
    # (where the line starts in the body, if the body has no other line endings).
    if "\r" in body:
        ended = "\n" + "\n".join(texts) + "\n"
        offsets = list(accumulate(map((1).__add__, map(len, texts)), initial=0))
    else:
        ended, offsets = "\n" + body + ("" if body.endswith("\n") else "\n"), lines.starts
    rows = [(first + 2, end - 1) for first, end in _runs(_ROWS, ended, offsets)]
    if rows and (max(map(str.count, texts, repeat("|"))) + 1) * len(texts) > _MAX_ADDED_CELLS:
        rows = []
    prose = []
    paragraphs: list[int] = []  # in the stretches of prose: the lines after a blank one
    for first, end in _runs(_PROSE, ended, offsets):
        blank = bytes(map(operator.not_, map(str.strip, texts[first:end], repeat(" \t"))))  # 1: blank
        low, high = blank.find(1), blank.rfind(1)  # the first blank line and the last
        if low < high and first + high + 1 < len(texts) and high - low > _LONG_PROSE // 2:
            prose.append((first + low + 1, first + high))
            paragraphs += (first + found.start() + 1 for found in _BLANK_THEN_TEXT.finditer(blank, low, high))
    items = [(first + 1, end - 1) for first, end in _runs(_ITEMS, ended, offsets)]
    stretches = sorted(rows + prose + items)
    if not stretches:
        return _BLOCKS.parse(body), [], []
    kept: list[int] = []  # the body's line of each line parsed
    pieces: list[str] = []
    done = 0
    for first, end in stretches:
        kept += range(done, first)
        pieces.append(body[lines.starts[done] : lines.starts[first]])
        done = end
    kept += range(done, len(lines))
    pieces.append(body[lines.starts[done] :])
    tokens = _BLOCKS.parse("".join(pieces))
    tables = [token.map for token in tokens if token.type == "table_open" and token.map]
    starts = set(_top_level_starts(tokens))
    for first, _ in rows:
        above = bisect.bisect_left(kept, first - 1)  # where the line above the stretch was parsed
        if not any(table[0] < above and above + 1 < table[1] for table in tables):
            return _BLOCKS.parse(body), [], []
    for _, end in prose:
        if bisect.bisect_left(kept, end + 1) not in starts:  # the line after the last blank one
            return _BLOCKS.parse(body), [], []
    opened = {token.map[0]: token for token in tokens if token.type == "list_item_open" and token.map}
    for first, _ in items:
        above = bisect.bisect_left(kept, first - 1)  # the run's first item, then its last one
        item, last = opened.get(above), opened.get(above + 1)
        if item is None or last is None or item.markup != "-" or item.level != last.level:
            return _BLOCKS.parse(body), [], []
    for token in tokens:
        if token.map is not None:
            start, end = token.map
            token.map = [kept[start], kept[end - 1] + 1 if end > start else kept[start]]
    boxes = []
    for first, end in items:
        for index in range(first, end):
            match = _TASK_BOX.fullmatch(texts[index], 2)  # after "- "
            if match is not None:
                box = lines.starts[index] + match.start(1)
                boxes.append(TaskBox(index, box, match[2], match[1] != " "))
    return tokens, paragraphs, boxes


def _top_level_starts(tokens: Sequence[Token]) -> Iterator[int]:
    """Lines of opening (or self-contained) top-level tokens; a link reference definition makes none, and
    is not needed: a start found is a start, and one missed only makes a region read again longer."""
    return (token.map[0] for token in tokens if token.level == 0 and token.nesting >= 0 and token.map)


def _runs(pattern: re.Pattern[str], ended: str, newlines: Sequence[int]) -> Iterator[tuple[int, int]]:
    """The runs of lines (first, end excluded) that ``pattern``'s group finds in ``ended``, a text with a
    "\n" at each of ``newlines`` and a line after each of them."""
    for run in pattern.finditer(ended):
        first = bisect.bisect_left(newlines, run.start())
        yield first, first + ended.count("\n", *run.span(1))


def _comment_lines(tokens: Sequence[Token], lines: BodyLines) -> Iterator[int]:
    """Lines holding one whole HTML comment (blanks around it aside) in top-level raw HTML.

    Not in code, quotes or lists, not inside a longer comment, and not in ``<pre>``, ``<script>``,
    ``<style>`` or ``<textarea>`` blocks, which quote code: the lines where the bot's markers may stand.
    """
    for token in tokens:
        if token.type != "html_block" or token.level != 0 or token.map is None:
            continue
        first, last = token.map
        if _VERBATIM_HTML.match(lines.texts[first]):
            continue
        in_comment = False
        for index in range(first, last):
            text = lines.texts[index]
            if not in_comment and is_comment_line(text):
                yield index
            in_comment = _comment_open_after(text, in_comment)


def _comment_open_after(text: str, in_comment: bool) -> bool:
    position = 0
    while True:
        found = text.find("-->" if in_comment else "<!--", position)
        if found == -1:
            return in_comment
        position = found + (3 if in_comment else 4)
        in_comment = not in_comment


def _task_boxes(tokens: Sequence[Token], lines: BodyLines) -> Iterator[TaskBox]:
    """Items whose first paragraph starts on the marker line with a box, in quotes and lists too."""
    for item, paragraph in pairwise(tokens):
        if item.type != "list_item_open" or paragraph.type != "paragraph_open":
            continue
        if item.map is None or paragraph.map is None or item.map[0] != paragraph.map[0]:
            continue
        text = lines.texts[paragraph.map[0]]
        # Only blanks, '>' and list markers precede the paragraph on this line, so its first '[' opens it.
        bracket = text.find("[")
        match = _TASK_BOX.fullmatch(text, bracket) if bracket != -1 else None
        if match is not None:
            start = lines.starts[paragraph.map[0]]
            yield TaskBox(paragraph.map[0], start + match.start(1), match[2], match[1] != " ")


def _headings(tokens: Sequence[Token], lines: BodyLines) -> Iterator[HeadingText]:
    for token in tokens:
        if token.type != "heading_open" or token.level != 0 or token.map is None:
            continue
        first, last = token.map
        if token.markup.startswith("#"):
            match = _ATX_HEADING.fullmatch(lines.texts[first])
            if match is not None:
                yield HeadingText(first, lines.starts[first] + match.start(2), match[2])
            continue
        # A setext heading: its text lines (the first one's indentation aside), then the underline.
        text_lines = lines[first : last - 1]
        text = "".join(line.text + line.ending for line in text_lines)
        text = text[: len(text) - len(text_lines[-1].ending)]
        indent = len(text) - len(text.lstrip(" \t"))
        yield HeadingText(first, lines[first].start + indent, text[indent:])


def paragraph_line_starts(text: str) -> Iterator[str]:
    """The visible text opening each line of a top-level paragraph, up to the line's end.

    Lines in code, raw HTML, comments, quotes, lists, tables or ``<details>``, and lines that start
    inside an inline code span, link, emphasis or comment, yield nothing: a reader does not see them as
    a line of plain text (a quoted reply or a collapsed section is not an instruction).
    """
    tokens = _INLINES.parse(text)
    details = 0
    for previous, token in zip([None, *tokens], tokens, strict=False):
        if token.type == "html_block":
            details = _details_depth(token.content, details)
        if token.type != "inline" or token.children is None:
            continue
        paragraph = previous is not None and previous.type == "paragraph_open" and previous.level == 0
        line_start = True
        nesting = 0
        for child in token.children:
            if paragraph and line_start and nesting == 0 and details == 0 and child.type == "text":
                yield child.content
            line_start = child.type in ("softbreak", "hardbreak")
            nesting += child.nesting
            if child.type == "html_inline":
                details = _details_depth(child.content, details)


def _details_depth(html: str, depth: int) -> int:
    """``<details>`` nesting after ``html``; a collapsed section hides what it holds."""
    html = _HTML_COMMENT.sub("", html)
    return max(0, depth + len(_DETAILS_OPEN.findall(html)) - len(_DETAILS_CLOSE.findall(html)))
