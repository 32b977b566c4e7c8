"""Readings derived from an earlier reading (the block replaced, a box ticked) are what a fresh read gives.

An update reads the issue body once; the bodies it derives from it are read from that reading and the
new block's alone (bot.tracking.markdown.splice, set_boxes). Generated bodies (the body editor's
property strategy: fences, raw HTML, quotes, lists, tables, CRLF/CR, markers in odd places) check that
nothing a fresh parse would see differently is ever derived.
"""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given
from hypothesis import strategies as st
from test_body_properties import BLOCKS, BOUNDED, GATE, bodies

from bot.tracking.body import (
    BLOCK_BEGIN,
    BLOCK_END,
    replace_block,
    replace_last_block_line,
    set_checklist_item,
    split_body,
    written_length,
)
from bot.tracking.markdown import is_read, parse, read

# Block contents whose last lines would run into what follows the end marker, if they were not checked.
TRICKY_BLOCKS = [
    *BLOCKS,
    "<div>",
    "<pre>",
    "> quoted",
    "para\n===",
    "| a | b |\n|---|---|\n| 1 | 2 |",
    "- item\n  continued",
    "text\n",
]


@st.composite
def bodies_with_a_block(draw: st.DrawFn) -> str:
    """Human text, a block (perhaps one whose last lines run on), human text: the case worth checking."""
    above, below = draw(bodies()), draw(bodies())
    newline = draw(st.sampled_from(["\n", "\r\n"]))
    content = draw(st.sampled_from(TRICKY_BLOCKS)).replace("\n", newline)
    if above and not above.endswith(("\n", "\r")):
        above += newline
    return f"{above}{BLOCK_BEGIN}{newline}{content}{newline}{BLOCK_END}{newline}{below}"


def _read_as_fresh(body: str) -> None:
    reading, fresh = read(body), parse(body)
    assert reading == fresh
    assert [reading.lines[i] for i in range(-len(fresh.lines), len(fresh.lines))] == [*fresh.lines] * 2


@BOUNDED
@given(
    st.one_of(bodies(), bodies_with_a_block()), st.sampled_from(TRICKY_BLOCKS), st.sampled_from(TRICKY_BLOCKS)
)
def test_a_block_written_in_place_reads_as_a_fresh_read(body: str, first: str, second: str) -> None:
    with contextlib.suppress(ValueError):  # the content hides its end marker: refused, not written
        written = replace_block(body, first)
        _read_as_fresh(written)
        _read_as_fresh(replace_block(written, second))


@BOUNDED
@given(st.one_of(bodies(), bodies_with_a_block()), st.booleans(), st.sampled_from(TRICKY_BLOCKS))
def test_a_ticked_box_reads_as_a_fresh_read_of_the_body(body: str, checked: bool, content: str) -> None:
    """As the tracker does: the block emptied, the gate's line ticked, the block written."""
    emptied = replace_block(body, "")
    ticked, _ = set_checklist_item(emptied, GATE, checked)
    _read_as_fresh(ticked)
    unticked, _ = set_checklist_item(ticked, GATE, not checked)
    _read_as_fresh(unticked)
    with contextlib.suppress(ValueError):  # refused, not written
        _read_as_fresh(replace_block(ticked, content))


def test_a_derived_reading_is_used_when_the_body_is_read_again(canonical_body: str) -> None:
    """The whole point: writing the block into a body already read does not parse the body again."""
    emptied = replace_block(canonical_body, "")
    written = replace_block(emptied, "### 📊 Test status\n\n**Pass rate: 62.9%**\n")
    assert read(written) is read(written)
    assert read(written) == parse(written)


@pytest.mark.parametrize(
    ("old_content", "new_content"),
    [
        ("<div>", "hello"),  # the old block's raw HTML ran on into the list below it; the new one does not
        ("hello", "<div>"),  # the other way round
        ("<div>", "<div>"),
    ],
)
def test_the_text_below_a_block_reads_as_the_new_block_leaves_it(old_content: str, new_content: str) -> None:
    case = (old_content + new_content).encode().hex()  # a body of its own: no reading cached for it yet
    body = f"case {case}\n\n{BLOCK_BEGIN}\n{old_content}\n{BLOCK_END}\n- [ ] {GATE}\n"
    read(body)
    _read_as_fresh(replace_block(body, new_content))


@BOUNDED
@given(st.one_of(bodies(), bodies_with_a_block()), st.sampled_from(TRICKY_BLOCKS))
def test_the_length_of_a_body_is_known_before_it_is_written(body: str, content: str) -> None:
    """What the search for the history that fits GitHub's limit measures, unless the block moves on top."""
    try:
        written = replace_block(body, content)
    except ValueError:
        return  # refused, not written
    parts, now = split_body(body), split_body(written)
    moved = parts.block is not None and (now.before, now.after) != (parts.before, parts.after)
    assert written_length(body, content) == len(written) or moved


@BOUNDED
@given(st.one_of(bodies(), bodies_with_a_block()), st.sampled_from(TRICKY_BLOCKS), st.integers(0, 10**6))
def test_a_new_state_marker_reads_as_a_fresh_read(body: str, content: str, generation: int) -> None:
    """The second write of an update differs from the first only in its last block line, the state marker."""
    old, new = "<!-- issue-status-bot:state v2 a 0 -->", f"<!-- issue-status-bot:state v2 b{generation} 1 -->"
    try:
        written = replace_block(body, f"{content}\n{old}")
    except ValueError:
        return  # refused, not written
    swapped = replace_last_block_line(written, old, new)
    assert swapped == written.replace(old, new)  # the marker is the block's only line with that text
    _read_as_fresh(swapped)
    with pytest.raises(ValueError):
        replace_last_block_line(swapped, old, new)  # the line is no longer ``old``


def test_a_body_read_before_is_known_to_be_read() -> None:
    """What lets an update take the bot's own last write without a hop to a thread to read it."""
    body = f"{BLOCK_BEGIN}\nnot read yet {id(object())}\n{BLOCK_END}\n"
    assert not is_read(body)
    written = replace_block(body, "the block")
    assert is_read(body) and is_read(written)  # read, and derived from that reading
