"""A body's lines, split once into texts and offsets and made into ``Line``s on demand (bot.tracking.lines),
are the lines a split at every ``\\r\\n``, ``\\r`` and ``\\n`` gives, read from either end or in slices; a
line that is one HTML comment is told by text search as the pattern of CommonMark's comment tells it.
"""

from __future__ import annotations

import re

from hypothesis import given
from hypothesis import strategies as st
from test_body_properties import BOUNDED, bodies

from bot.tracking.lines import BodyLines, Line
from bot.tracking.markdown import is_comment_line

_ENDING = re.compile(r"\r\n|\r|\n")
# One HTML comment, blanks around it aside: what a marker line must be.
_WHOLE_COMMENT = re.compile(r"[ \t]*<!--(?:(?!-->).)*-->[ \t]*")


def split(text: str) -> list[Line]:
    """Each line with its ending, found one ending at a time (what the bot did before)."""
    lines, start = [], 0
    for ending in _ENDING.finditer(text):
        lines.append(Line(start, text[start : ending.start()], ending[0]))
        start = ending.end()
    if start < len(text):
        lines.append(Line(start, text[start:], ""))
    return lines


@BOUNDED
@given(bodies() | st.text(alphabet="a \t\r\n|<>-!"))
def test_a_body_splits_into_its_lines_at_every_line_ending(body: str) -> None:
    lines, expected = BodyLines(body), split(body)
    assert list(lines) == expected and len(lines) == len(expected)
    assert [lines[i] for i in range(-len(expected), len(expected))] == expected * 2
    assert lines[1:-1] == tuple(expected[1:-1])
    assert lines.texts == [line.text for line in expected]
    assert lines.starts == [line.start for line in expected] + [len(body)]
    assert "".join(line.text + line.ending for line in lines) == body


COMMENT_LIKE = st.text(alphabet=" \t<!->ab", max_size=14)


@BOUNDED
@given(st.one_of(COMMENT_LIKE, st.builds("{}<!--{}-->{}".format, COMMENT_LIKE, COMMENT_LIKE, COMMENT_LIKE)))
def test_a_line_is_one_comment_as_the_comment_pattern_says(text: str) -> None:
    assert is_comment_line(text) == (_WHOLE_COMMENT.fullmatch(text) is not None)
