"""A body edited since it was read (a human's edit of the bot's last write, a block rendered anew) reads
from the earlier reading and the changed region's alone (bot.tracking.markdown._reread), exactly as a
fresh read: generated bodies mixing fences, raw HTML, quotes, lists, tables, CRLF/CR, edited anywhere.
"""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_body_properties import GATE, bodies

from bot.testing.examples import EXAMPLES
from bot.tracking.markdown import Reading, _reread, parse, read

EDITS = settings(
    max_examples=300, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow]
)


@st.composite
def edits(draw: st.DrawFn) -> tuple[str, str]:
    """A body, and the same body with a stretch (whole lines or not) replaced by generated text."""
    old = draw(bodies())
    if draw(st.booleans()):  # cut at line starts: the region then begins or ends at a block
        starts = [0, *(i + 1 for i, c in enumerate(old) if c == "\n"), len(old)]
        first, last = sorted(draw(st.sampled_from(starts)) for _ in range(2))
    else:
        first, last = sorted(draw(st.integers(0, len(old))) for _ in range(2))
    return old, old[:first] + draw(bodies()) + old[last:]


def _reread_as_fresh(old: str, reading: Reading, new: str) -> Reading | None:
    """The reading of ``new`` derived from ``reading`` (of ``old``), checked against a fresh read; None
    when there was nothing to derive it from (``old`` has no lines)."""
    derived = _reread(new, [(old, reading)], share=0)
    assert derived == parse(new) or (derived is None and not reading.lines)
    return derived


@EDITS
@given(edits())
def test_an_edited_body_reads_as_a_fresh_read(edit: tuple[str, str]) -> None:
    old, new = edit
    _reread_as_fresh(old, parse(old), new)


@EDITS
@given(edits(), bodies())
def test_a_body_edited_twice_reads_as_a_fresh_read(edit: tuple[str, str], inserted: str) -> None:
    """The second reading is made from a derived one (lines from several readings)."""
    old, new = edit
    once = _reread_as_fresh(old, parse(old), new)
    if once is not None:
        middle = len(new) // 2
        _reread_as_fresh(new, once, new[:middle] + inserted + new[middle:])


def _canonical_60_kib(paragraph: str) -> str:
    canonical = (EXAMPLES / "issue-2-status-update.md").read_text(encoding="utf-8")
    return (canonical + paragraph * (60 * 1024 // len(paragraph)))[: 60 * 1024]


def test_a_human_edit_of_a_large_body_is_read_from_its_earlier_reading() -> None:
    """Ticking a box and rewording a line in 60 KiB: the reading is derived, and is a fresh read's."""
    body = _canonical_60_kib("Some notes.\n\n- [ ] a task\n- [x] a done task\n\n")
    read(body)
    ticked = body.replace(f"- [ ] {GATE}", f"- [x] {GATE}", 1).replace("Some notes.", "Other notes.", 1)
    assert ticked != body
    derived = _reread(ticked, [(body, read(body))])
    assert derived is not None
    assert derived == parse(ticked)
    assert read(ticked) == parse(ticked)


def test_a_body_unlike_any_read_before_is_read_from_scratch() -> None:
    body = _canonical_60_kib("Some notes.\n")
    assert _reread("unrelated text\n" * 100, [(body, read(body))]) is None


def test_a_body_edited_many_times_reads_as_a_fresh_read() -> None:
    """Each edit read from the last reading adds ranges of lines; past a bound they are made whole again."""
    body = _canonical_60_kib("Some notes.\n\n- [ ] a task\n\n")
    reading = read(body)
    for edit in range(100):
        at = body.index("Some notes.", len(body) * edit // 100)
        edited = body[:at] + f"Note {edit}." + body[at + len("Some notes.") :]
        derived = _reread(edited, [(body, reading)])
        assert derived is not None
        body, reading = edited, derived
    assert reading == parse(body)
