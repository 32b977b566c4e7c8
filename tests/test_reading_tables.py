"""Long tables and runs of plain paragraphs are read without parsing each line (bot.tracking.markdown.
_tokens), exactly as a parse of every line reads them: generated bodies with runs of lines starting with "|"
in tables, paragraphs, quotes, lists, raw HTML and code, rows with more or fewer cells than the header, runs
of plain lines and blank ones in and out of containers, and the bot's markers around them.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_body_properties import FRAGMENTS, PREFIXES

from bot.tracking import markdown
from bot.tracking.markdown import parse

TABLES = settings(
    max_examples=400, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow]
)
# Header and delimiter rows: the first ones make tables, the last ones do not (or not at the top level).
TABLE_STARTS = [
    ("| a | b |", "|---|---|"),
    ("a | b", "---|---"),
    ("| a |", "| --- |"),
    ("| a | b | c | d |", "|---|:-:|--:|---|"),
    ("| <!-- x --> | b |", "|-|-|"),
    ("| a | b |", "|---|"),
    ("> | a | b |", "> |---|---|"),
    ("||", "- | -"),
]
ROWS = ["| 1 | 2 |", "|", "| 1 |", "| 1 | 2 | 3 | 4 | 5 |", "| `x|y` |", "| \\| |", "| - [ ] box |"]
ROW_TEXT = "ab |`<>-:[]*#\\!"


@st.composite
def bodies_with_long_tables(draw: st.DrawFn) -> str:
    newline = draw(st.sampled_from(["\n", "\r\n", "\r"]))
    lines: list[str] = []
    for _ in range(draw(st.integers(1, 4))):
        for _ in range(draw(st.integers(0, 4))):  # what comes before: any block, or a container's start
            fragment = draw(st.one_of(st.sampled_from(FRAGMENTS), st.text(alphabet=ROW_TEXT, max_size=6)))
            lines.append(draw(st.sampled_from(PREFIXES)) + fragment)
        if draw(st.integers(0, 3)):  # mostly a table, often after a blank line (outside any container)
            lines += [""] * draw(st.integers(0, 1))
            lines += draw(st.sampled_from(TABLE_STARTS))
        row = st.one_of(st.sampled_from(ROWS), st.text(alphabet=ROW_TEXT, max_size=10).map(lambda t: "|" + t))
        lines += draw(st.lists(row, min_size=6, max_size=14))
    return newline.join(lines) + (newline if draw(st.booleans()) else "")


@TABLES
@given(bodies_with_long_tables())
def test_a_long_table_reads_as_a_parse_of_every_row(body: str) -> None:
    assert parse(body) == parse(body, every_row=True)


def test_a_table_whose_short_rows_could_reach_markdown_its_cap_is_parsed_row_by_row() -> None:
    """A header of 4,000 cells and 20 one-cell rows: the cap on added cells (65,536) ends the table."""
    header = "|" + " a |" * 4000
    body = "\n".join([header, "|" + "-|" * 4000, *(["| 1 |"] * 20), "- [ ] after the table"]) + "\n"
    assert parse(body) == parse(body, every_row=True)
    assert [box.text for box in parse(body).task_boxes] == ["after the table"]


PLAIN = ["Notes from the meeting.", "plain text", "A line | with a pipe", "x", "Word  ", "ab\\", "`x` y"]


@st.composite
def bodies_with_long_prose(draw: st.DrawFn) -> str:
    """Runs of plain paragraphs and blank lines after, before and inside fences, raw HTML, comments,
    quotes and lists (where they are not paragraphs of their own, or not at the top level)."""
    newline = draw(st.sampled_from(["\n", "\r\n", "\r"]))
    lines: list[str] = []
    for _ in range(draw(st.integers(1, 3))):
        for _ in range(draw(st.integers(0, 3))):
            fragment = draw(st.one_of(st.sampled_from(FRAGMENTS), st.text(alphabet=ROW_TEXT, max_size=6)))
            lines.append(draw(st.sampled_from(PREFIXES)) + fragment)
        plain = st.one_of(st.sampled_from(PLAIN), st.just(""), st.sampled_from(["", " ", "\t"]))
        lines += draw(st.lists(plain, min_size=16, max_size=40))
    return newline.join(lines) + (newline if draw(st.booleans()) else "")


@TABLES
@given(bodies_with_long_prose())
def test_long_plain_prose_reads_as_a_parse_of_every_line(body: str) -> None:
    assert parse(body) == parse(body, every_row=True)


ITEMS = [
    "- plain item",
    "- [ ] a task",
    "- [x] done",
    "- [X] **bold** task",
    "- **Bold:** text  ",
    "- `code` span",
    "- Word | with | pipes",
    "- [ ]no space",
    "- [x] >90% quoted",
    "- # heading",
    "- > quote",
    "- ```",
    "- --- | ---",
    "- ---",
    "* star item",
    "-  two spaces",
    "  - indented",
    "- <div>",
    "- a\\",
    "- [ ]",
    "",
]
ITEM_TEXT = "ab [x]*`-|#>"


@st.composite
def bodies_with_long_lists(draw: st.DrawFn) -> str:
    """Runs of one-line list items (mostly ones whose text can only open a paragraph) after, before and
    inside fences, raw HTML, comments, quotes, tables, paragraphs and lists of other markers."""
    newline = draw(st.sampled_from(["\n", "\r\n", "\r"]))
    lines: list[str] = []
    for _ in range(draw(st.integers(1, 3))):
        for _ in range(draw(st.integers(0, 3))):
            fragment = draw(st.one_of(st.sampled_from(FRAGMENTS), st.text(alphabet=ROW_TEXT, max_size=6)))
            lines.append(draw(st.sampled_from(PREFIXES)) + fragment)
        simple = st.tuples(st.sampled_from(ITEMS[:7]), st.sampled_from(["", " x", "  "])).map("".join)
        item = st.one_of(simple, simple, st.sampled_from(ITEMS), st.text(alphabet=ITEM_TEXT, max_size=8))
        lines += draw(st.lists(item, min_size=3, max_size=12))
    return newline.join(lines) + (newline if draw(st.booleans()) else "")


@TABLES
@given(bodies_with_long_lists())
def test_long_lists_of_one_line_items_read_as_a_parse_of_every_item(body: str) -> None:
    assert parse(body) == parse(body, every_row=True)


def test_the_items_left_out_of_a_long_list_keep_their_task_boxes(monkeypatch: pytest.MonkeyPatch) -> None:
    """The middle items of a run are not parsed (markdown-it is slow on lists), their boxes are found."""
    body = "Tasks:\n- [ ] one\n- [x] two\n- three\n- [X] **four**\n- [ ] five\n\nafter\n"
    parsed: list[str] = []
    parse_blocks = markdown._BLOCKS.parse

    def parse_kept(text: str, env: Any = None) -> Any:
        parsed.append(text)
        return parse_blocks(text, env)

    monkeypatch.setattr(markdown._BLOCKS, "parse", parse_kept)
    boxes = parse(body).task_boxes
    assert parsed == ["Tasks:\n- [ ] one\n- [ ] five\n\nafter\n"]
    assert [(box.line_index, box.text, box.checked) for box in boxes] == [
        (1, "one", False),
        (2, "two", True),
        (4, "**four**", True),
        (5, "five", False),
    ]
    assert all(body[box.box_offset - 1 : box.box_offset + 2] in ("[ ]", "[x]", "[X]") for box in boxes)
    assert parse(body) == parse(body, every_row=True)


@TABLES
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["", " ", "   ", "    ", "\t", " \t"]),
            st.sampled_from(["<!-- issue-status-bot:state v2 a -->", "<!---->", "<!-- a --> b -->", "<!--"]),
            st.sampled_from(["", " ", "\t", " x"]),
        ).map("".join),
        min_size=1,
        max_size=4,
    ),
    st.sampled_from(["\n", "\r\n", "\r"]),
)
def test_a_body_of_comment_lines_reads_as_a_parse(lines: list[str], newline: str) -> None:
    """A state marker swapped in is a body of one comment line: read without markdown-it."""
    body = newline.join(lines) + newline
    assert parse(body) == parse(body, every_row=True)
