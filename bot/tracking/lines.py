"""The lines of a body, with their places in it: split as CommonMark splits them, made on demand.

A body is split exactly at ``\\r\\n``, ``\\r`` and ``\\n`` (``str.splitlines`` would also split on ``\\v``,
``\\f``, U+2028 and others). Reading a 60 KiB body looks at its lines' texts; its callers then look at a
few whole lines (the block's markers, a task box). So a body's lines are kept as texts and offsets, and
a ``Line`` is made only when one is asked for: making each one up front took longer than the split.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterator, Sequence
from itertools import accumulate
from typing import NamedTuple, overload

_LINE_ENDING = re.compile(r"(\r\n|\r|\n)")


class Line(NamedTuple):
    start: int  # offset of the line's first character in the body
    text: str  # without its line ending
    ending: str  # "\r\n", "\r", "\n", or "" on a last line without one

    @property
    def end(self) -> int:
        return self.start + len(self.text) + len(self.ending)


class _Lines(Sequence[Line]):
    """What both kinds of lines share: indexing by slices and from the end, comparison as a sequence."""

    def _line(self, index: int) -> Line:
        raise NotImplementedError

    @overload
    def __getitem__(self, index: int) -> Line: ...

    @overload
    def __getitem__(self, index: slice) -> tuple[Line, ...]: ...

    def __getitem__(self, index: int | slice) -> Line | tuple[Line, ...]:
        if isinstance(index, slice):
            return tuple(self._line(i) for i in range(*index.indices(len(self))))
        if index < 0:
            index += len(self)
        if not 0 <= index < len(self):
            raise IndexError(index)
        return self._line(index)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Sequence) and tuple(self) == tuple(other)

    __hash__ = None  # type: ignore[assignment]


class BodyLines(_Lines):
    """The lines of one body: ``texts`` (without endings) and ``starts`` (each line's offset, then the
    body's length), the body itself for the endings."""

    def __init__(self, body: str) -> None:
        if "\r" in body:
            pieces = _LINE_ENDING.split(body)  # texts and endings in turn, a text last
            texts = pieces[::2]
            starts = list(accumulate(map(len, pieces), initial=0))[::2]
        else:  # the common case, several times faster: every ending is one character
            texts = body.split("\n")
            starts = list(accumulate(map((1).__add__, map(len, texts)), initial=0))
            starts.pop()  # the ending counted after the last text, which has none
        if texts[-1]:
            starts.append(len(body))
        else:  # the body is empty, or ends with a line ending: no line after it
            texts.pop()
        self._body = body
        self.texts = texts
        self.starts = starts

    def __len__(self) -> int:
        return len(self.texts)

    def _line(self, index: int) -> Line:
        start, text = self.starts[index], self.texts[index]
        return Line(start, text, self._body[start + len(text) : self.starts[index + 1]])

    def __iter__(self) -> Iterator[Line]:
        return map(self._line, range(len(self.texts)))


# (lines read from some body, first index, end index, offset to add to each line's start)
Part = tuple[Sequence[Line], int, int, int]


class SplicedLines(_Lines):
    """Lines of a derived reading: ranges of other readings' lines, each shifted, made only when asked for.

    A derived reading reuses thousands of lines of the one it comes from, and its callers look at a few
    of them (the block's markers); shifting each one up front took longer than reading the body again.
    """

    def __init__(self, parts: Sequence[Part]) -> None:
        self._parts = tuple(part for part in parts if part[2] > part[1])
        self._starts = [0]
        for _, low, high, _ in self._parts:
            self._starts.append(self._starts[-1] + high - low)

    @staticmethod
    def part_of(lines: Sequence[Line], low: int, high: int, shift: int) -> list[Part]:
        """``lines[low:high]`` shifted by ``shift``, as parts over lines that were read (never nested)."""
        if isinstance(lines, SplicedLines):
            parts = []
            for index, (source, first, _, moved) in enumerate(lines._parts):
                begin = max(low, lines._starts[index])
                stop = min(high, lines._starts[index + 1])
                if begin < stop:
                    offset = first - lines._starts[index]
                    parts.append((source, begin + offset, stop + offset, moved + shift))
            return parts
        return [(lines, low, high, shift)]  # kept, not copied

    def __len__(self) -> int:
        return self._starts[-1]

    def _line(self, index: int) -> Line:
        part = bisect.bisect_right(self._starts, index) - 1
        source, low, _, shift = self._parts[part]
        at = low + index - self._starts[part]  # in range: read without the checks of indexing
        line = source._line(at) if isinstance(source, _Lines) else source[at]
        return line if shift == 0 else Line(line.start + shift, line.text, line.ending)

    def __iter__(self) -> Iterator[Line]:
        for source, low, high, shift in self._parts:
            for line in source[low:high]:
                yield line if shift == 0 else Line(line.start + shift, line.text, line.ending)
