"""The issue body editor keeps every byte a human wrote; only the bot's block and one box change.

Fixture: bot/testing/examples/issue-2-status-update.md is ../shared/examples/issue-2-status-update.md,
copied byte for byte with `cp` (the canonical tracking issue; it has no trailing newline). The demo
seeds its fake repository with the same file.
"""

from __future__ import annotations

import random

import pytest

from bot.testing.examples import EXAMPLES
from bot.tracking.body import (
    BLOCK_BEGIN,
    BLOCK_END,
    BodyParts,
    ChecklistItem,
    block_content,
    checklist_items,
    find_checklist_item,
    human_text,
    match_key,
    replace_block,
    set_checklist_item,
    split_body,
)
from tests.harness import ISSUE, REPO, BotHarness, summary

EXAMPLE = (EXAMPLES / "issue-2-status-update.md").read_bytes().decode()
EXAMPLE_CRLF = EXAMPLE.replace("\n", "\r\n")
GATE_LINE = ">90% test pass rate achieved"
STATUS_V1 = "### 📊 Test status\n\n**Pass rate: 62.9%** (143 passed, 84 failed)\n"
STATUS_V2 = "### 📊 Test status\n\n**Pass rate: 91.2%**\n\n```mermaid\nxychart-beta\n```\n<!-- s -->"
STATUS_V3 = "one line, no trailing newline"


def outside_block(body: str) -> str:
    parts = split_body(body)
    return parts.before + parts.after


def changed_offsets(old: str, new: str) -> list[int]:
    assert len(old) == len(new)
    return [i for i, (a, b) in enumerate(zip(old, new, strict=True)) if a != b]


def block(content: str, newline: str = "\n") -> str:
    return newline.join([BLOCK_BEGIN, *content.split("\n"), BLOCK_END])


# --------------------------------------------------------------------------- the canonical example


def test_fixture_is_the_canonical_example_without_trailing_newline() -> None:
    assert EXAMPLE.startswith("# GitHub Issue #2 Status Update\n")
    assert not EXAMPLE.endswith("\n")
    assert "\n- [ ] >90% test pass rate achieved\n" in EXAMPLE


def test_checklist_items_of_the_canonical_example_are_its_twenty_task_lines() -> None:
    items = checklist_items(EXAMPLE)
    assert len(items) == 20
    assert items[3] == ChecklistItem(line_index=47, text=GATE_LINE, checked=False)
    assert items[0] == ChecklistItem(44, "Technical Architect analysis complete", True)
    assert items[13] == ChecklistItem(81, "Infrastructure Fixes Implementation Guide  ", True)
    assert [i.checked for i in items].count(True) == 10
    # "### Code Reviewer Re-engagement Triggers" repeats the text as a plain bullet: not an item.
    assert [i.line_index for i in items if i.text == GATE_LINE] == [47]


@pytest.mark.parametrize("original", [EXAMPLE, EXAMPLE_CRLF], ids=["lf", "crlf"])
def test_canonical_example_story_changes_only_the_block_and_the_gate_box(original: str) -> None:
    newline = "\r\n" if "\r\n" in original else "\n"
    body = replace_block(original, STATUS_V1)
    assert body == block(STATUS_V1.removesuffix("\n"), newline) + newline * 2 + original
    assert outside_block(body) == newline + original

    for content in (STATUS_V2, STATUS_V3):
        body = replace_block(body, content)
        assert outside_block(body) == newline + original
        assert block_content(body) == content.removesuffix("\n")
        assert split_body(body).block == block(content.removesuffix("\n"), newline) + newline

    ticked, found = set_checklist_item(body, GATE_LINE, True)
    assert found
    offsets = changed_offsets(body, ticked)
    assert len(offsets) == 1
    assert body[offsets[0]] == " " and ticked[offsets[0]] == "x"
    ticked_line = f"- [x] {GATE_LINE}{newline}"
    assert ticked[offsets[0] - 3 : offsets[0] - 3 + len(ticked_line)] == ticked_line
    human = outside_block(ticked)
    assert changed_offsets(newline + original, human) == [offsets[0] - len(split_body(body).block or "")]

    unticked, found = set_checklist_item(ticked, GATE_LINE, False)
    assert found
    assert unticked == body
    assert outside_block(unticked) == newline + original


def test_canonical_example_in_crlf_gets_a_crlf_block() -> None:
    body = replace_block(EXAMPLE_CRLF, "a\nb")
    assert body.startswith(f"{BLOCK_BEGIN}\r\na\r\nb\r\n{BLOCK_END}\r\n\r\n# GitHub Issue #2")
    assert split_body(body).newline == "\r\n"
    assert block_content(body) == "a\nb"


# --------------------------------------------------------------------------- split_body


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("", BodyParts("", None, "", "\n")),
        ("text\n", BodyParts("", None, "text\n", "\n")),
        ("a\r\nb\r\n", BodyParts("", None, "a\r\nb\r\n", "\r\n")),
        (
            f"{BLOCK_BEGIN}\nbot\n{BLOCK_END}\n\nhuman\n",
            BodyParts("", f"{BLOCK_BEGIN}\nbot\n{BLOCK_END}\n", "\nhuman\n", "\n"),
        ),
        (
            f"intro\r\n{BLOCK_BEGIN}\r\n{BLOCK_END}",
            BodyParts("intro\r\n", f"{BLOCK_BEGIN}\r\n{BLOCK_END}", "", "\r\n"),
        ),
        (
            f"  {BLOCK_BEGIN}\t\nx\n {BLOCK_END}  \nrest",
            BodyParts("", f"  {BLOCK_BEGIN}\t\nx\n {BLOCK_END}  \n", "rest", "\n"),
        ),
    ],
    ids=["empty", "no-block", "crlf-no-block", "block-at-top", "block-at-end", "spaced-markers"],
)
def test_split_body_finds_the_block_with_its_whole_marker_lines(body: str, expected: BodyParts) -> None:
    parts = split_body(body)
    assert parts == expected
    assert parts.before + (parts.block or "") + parts.after == body


@pytest.mark.parametrize(
    ("body", "newline"),
    [
        ("a\r\nb\r\nc\n", "\r\n"),
        ("a\nb\nc\r\n", "\n"),
        ("a\r\nb\n", "\n"),
        ("no newline at all", "\n"),
        ("a\rb\r", "\n"),
    ],
)
def test_newline_style_is_the_majority_line_ending(body: str, newline: str) -> None:
    assert split_body(body).newline == newline


FENCED_MARKER_BODIES = {
    "backticks": f"```\n{BLOCK_BEGIN}\n{BLOCK_END}\n```\n",
    "tildes-with-info": f"~~~markdown title\n{BLOCK_BEGIN}\n{BLOCK_END}\n~~~\n",
    "long-fence-not-closed-by-shorter": f"`````\n```\n{BLOCK_BEGIN}\n```\n{BLOCK_END}\n`````\n",
    "tilde-fence-not-closed-by-backticks": f"~~~\n```\n{BLOCK_BEGIN}\n{BLOCK_END}\n~~~\n",
    "indented-three-spaces": f"   ```\n{BLOCK_BEGIN}\n{BLOCK_END}\n   ```\n",
    "in-list-item": f"1. Paste this:\n\n    ```md\n    {BLOCK_BEGIN}\n    {BLOCK_END}\n    ```\n",
    "in-blockquote": f"> ```\n> {BLOCK_BEGIN}\n> {BLOCK_END}\n> ```\n",
    "unclosed-fence": f"```\n{BLOCK_BEGIN}\nbot\n{BLOCK_END}\n",
    "html-comment": f"<!--\n{BLOCK_BEGIN}\n{BLOCK_END}\n-->\n",
    "comment-opened-on-a-text-line": f"<!-- a note\n{BLOCK_BEGIN}\n{BLOCK_END}\n-->\n",
    "indented-code": f"Paste this:\n\n    {BLOCK_BEGIN}\n    my code\n    {BLOCK_END}\n",
    "tab-indented-code": f"\t{BLOCK_BEGIN}\n\tmy code\n\t{BLOCK_END}\n",
    "indented-code-in-list-item": f"- Paste:\n\n      {BLOCK_BEGIN}\n      {BLOCK_END}\n",
    "pre-block": f"<pre>\n{BLOCK_BEGIN}\nmy code\n{BLOCK_END}\n</pre>\n",
    "textarea-block": f"<textarea>\n{BLOCK_BEGIN}\n{BLOCK_END}\n</textarea>\n",
    "crlf": f"```\r\n{BLOCK_BEGIN}\r\n{BLOCK_END}\r\n```\r\n",
}


@pytest.mark.parametrize("body", FENCED_MARKER_BODIES.values(), ids=FENCED_MARKER_BODIES.keys())
def test_markers_quoted_in_code_are_not_the_block_and_stay_untouched(body: str) -> None:
    assert split_body(body).block is None
    assert block_content(body) is None
    newline = split_body(body).newline
    updated = replace_block(body, "status")
    assert updated == f"{BLOCK_BEGIN}{newline}status{newline}{BLOCK_END}{newline}{newline}{body}"
    assert block_content(updated) == "status"


@pytest.mark.parametrize(
    "body",
    [
        f"see {BLOCK_BEGIN}\nbot\n{BLOCK_END}\n",
        f"> {BLOCK_BEGIN}\nbot\n{BLOCK_END}\n",
        f"- {BLOCK_BEGIN}\nbot\n{BLOCK_END}\n",
        f"{BLOCK_BEGIN} and more\nbot\n{BLOCK_END}\n",
        f"`{BLOCK_BEGIN}`\nbot\n{BLOCK_END}\n",
        f"{BLOCK_BEGIN.upper()}\nbot\n{BLOCK_END}\n",
    ],
)
def test_a_begin_marker_not_alone_on_its_line_does_not_start_a_block(body: str) -> None:
    assert split_body(body).block is None


@pytest.mark.parametrize(
    "body",
    [
        f"<div>\n{BLOCK_BEGIN}\nbot\n{BLOCK_END}\n",
        f"Text a human wrote\n{BLOCK_BEGIN}\nbot\n{BLOCK_END}\nmore text\n",
        f"<!-- a comment -->\n{BLOCK_BEGIN}\nbot\n<sub>note</sub>\n<!-- state -->\n{BLOCK_END}\n",
        f"<pre>\ncode\n</pre>\n{BLOCK_BEGIN}\nbot\n{BLOCK_END}\n",
        f"    indented code\n\n{BLOCK_BEGIN}\nbot\n{BLOCK_END}\n",
    ],
    ids=["in-raw-html", "interrupting-a-paragraph", "after-html-lines", "after-a-closed-pre", "after-code"],
)
def test_markers_github_sees_as_html_comments_are_the_block(body: str) -> None:
    assert split_body(body).block is not None
    assert (block_content(body) or "").startswith("bot")


def test_a_marker_after_a_closed_fence_is_recognised() -> None:
    body = f"```\n{BLOCK_BEGIN}\n```\n\n{BLOCK_BEGIN}\nbot\n{BLOCK_END}\nafter\n"
    assert split_body(body) == BodyParts(
        f"```\n{BLOCK_BEGIN}\n```\n\n", f"{BLOCK_BEGIN}\nbot\n{BLOCK_END}\n", "after\n", "\n"
    )


def test_a_backtick_line_with_backticks_in_its_info_is_not_a_fence() -> None:
    body = f"``` `inline` ```\n{BLOCK_BEGIN}\nbot\n{BLOCK_END}\n"
    assert block_content(body) == "bot"


def test_a_quoted_fence_ends_with_its_blockquote() -> None:
    body = f"> ```\n> code\n\n{BLOCK_BEGIN}\nbot\n{BLOCK_END}\n"
    assert block_content(body) == "bot"


def test_a_fence_line_indented_far_deeper_than_its_opening_does_not_close_it() -> None:
    body = f"```\n    ```\n{BLOCK_BEGIN}\n{BLOCK_END}\n```\n"
    assert split_body(body).block is None


def test_a_begin_marker_without_end_is_no_block_and_its_text_is_kept() -> None:
    body = f"{BLOCK_BEGIN}\nhalf a block\n\n# Human heading\n- [ ] {GATE_LINE}\n"
    assert split_body(body).block is None
    updated = replace_block(body, "new")
    assert updated == f"{BLOCK_BEGIN}\nnew\n{BLOCK_END}\n\n{body}"
    assert outside_block(updated) == "\n" + body
    # The orphan's text is still human text: its checklist line can be ticked.
    assert find_checklist_item(updated, GATE_LINE) == ChecklistItem(8, GATE_LINE, False)


def test_an_orphan_begin_above_a_complete_block_claims_no_human_text() -> None:
    human = f"{BLOCK_BEGIN}\nkeep me\n"
    body = f"{human}{BLOCK_BEGIN}\nbot\n{BLOCK_END}\ntail\n"
    assert split_body(body) == BodyParts(human, f"{BLOCK_BEGIN}\nbot\n{BLOCK_END}\n", "tail\n", "\n")
    assert replace_block(body, "new") == f"{human}{BLOCK_BEGIN}\nnew\n{BLOCK_END}\ntail\n"


def test_an_end_marker_before_any_begin_is_human_text() -> None:
    body = f"{BLOCK_END}\nhuman\n{BLOCK_BEGIN}\nbot\n{BLOCK_END}\n"
    assert split_body(body).before == f"{BLOCK_END}\nhuman\n"
    assert block_content(body) == "bot"


def test_the_first_of_several_blocks_is_the_bots_and_the_copies_stay() -> None:
    copy = f"{BLOCK_BEGIN}\npasted copy\n{BLOCK_END}\n"
    body = f"{BLOCK_BEGIN}\nbot\n{BLOCK_END}\n\nnotes\n{copy}"
    assert block_content(body) == "bot"
    assert replace_block(body, "new") == f"{BLOCK_BEGIN}\nnew\n{BLOCK_END}\n\nnotes\n{copy}"


def test_a_humans_indented_code_block_with_markers_is_kept_byte_for_byte_through_two_writes() -> None:
    code = f"    {BLOCK_BEGIN}\r\n    keep: this is my code\r\n    {BLOCK_END}\r\n"
    body = f"How to pin a block by hand:\r\n\r\n{code}\r\n- [ ] {GATE_LINE}\r\n"
    first = replace_block(body, STATUS_V1)
    second = replace_block(first, STATUS_V2)
    assert second == block(STATUS_V2, "\r\n") + "\r\n\r\n" + body
    assert set_checklist_item(second, GATE_LINE, True)[0] == second.replace("[ ]", "[x]")


# --------------------------------------------------------------------------- replace_block


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("", f"{BLOCK_BEGIN}\nS\n{BLOCK_END}\n"),
        ("x", f"{BLOCK_BEGIN}\nS\n{BLOCK_END}\n\nx"),
        ("\n", f"{BLOCK_BEGIN}\nS\n{BLOCK_END}\n\n\n"),
        ("a\r\n", f"{BLOCK_BEGIN}\r\nS\r\n{BLOCK_END}\r\n\r\na\r\n"),
        ("a\r\nb\nc\r\n", f"{BLOCK_BEGIN}\r\nS\r\n{BLOCK_END}\r\n\r\na\r\nb\nc\r\n"),
    ],
    ids=["empty", "no-newline", "only-newline", "crlf", "mixed"],
)
def test_a_first_block_goes_on_top_followed_by_a_blank_line(body: str, expected: str) -> None:
    assert replace_block(body, "S") == expected


@pytest.mark.parametrize(
    ("content", "inner"),
    [
        ("", ""),
        ("\n", ""),
        ("one", "one"),
        ("one\n", "one"),
        ("a\n\nb\n\n", "a\n\nb\n"),
        ("crlf\r\nin content\r\n", "crlf\nin content"),
        ("```\n- [ ] look-alike\n```\n<!--\nstate\n-->", "```\n- [ ] look-alike\n```\n<!--\nstate\n-->"),
        # A quote ends where its '>' lines end, and its fence with it: GitHub shows the marker after it.
        ("> ```\n> quoted fence left open", "> ```\n> quoted fence left open"),
        ("<sub>note</sub>\n<!-- state -->", "<sub>note</sub>\n<!-- state -->"),
        ("<details>\n<summary>x</summary>", "<details>\n<summary>x</summary>"),
    ],
)
def test_block_content_reads_back_what_was_written(content: str, inner: str) -> None:
    for body in ("", "human\n", "human\r\n"):
        written = replace_block(body, content)
        assert block_content(written) == inner
        assert block_content(replace_block(written, content)) == inner


def test_the_block_is_rewritten_in_place_wherever_a_human_moved_it() -> None:
    body = f"Intro a human added.\r\n\r\n{BLOCK_BEGIN}\r\nold\r\n{BLOCK_END}\r\n\r\n- [ ] x\r\n"
    assert replace_block(body, "new\nlines") == (
        f"Intro a human added.\r\n\r\n{BLOCK_BEGIN}\r\nnew\r\nlines\r\n{BLOCK_END}\r\n\r\n- [ ] x\r\n"
    )


def test_a_block_ending_the_body_without_newline_is_replaced_without_adding_one() -> None:
    body = f"human\n{BLOCK_BEGIN}\nold\n{BLOCK_END}"
    assert replace_block(body, "new") == f"human\n{BLOCK_BEGIN}\nnew\n{BLOCK_END}"


def test_human_edits_around_the_block_between_runs_are_kept() -> None:
    first = replace_block(EXAMPLE_CRLF, STATUS_V1)
    parts = split_body(first)
    edited_before = "Pinned note from a maintainer ✍️\r\n\r\n"
    edited_after = (
        parts.after.replace("**Priority:** CRITICAL", "**Priority:** HIGH (was CRITICAL)")
        .replace("- [ ] All security fixes preserved\r\n", "- [x] All security fixes preserved\r\n")
        .replace(
            "### Implementation Monitoring\r\n",
            "### Implementation Monitoring\r\n- [ ] New line a human added\n- [x] Another one\r\n",
        )
    )
    edited = edited_before + (parts.block or "") + edited_after
    second = replace_block(edited, STATUS_V2)
    assert outside_block(second) == edited_before + edited_after
    assert block_content(second) == STATUS_V2
    texts = [item.text for item in checklist_items(second)]
    assert "New line a human added" in texts and "Another one" in texts
    ticked, _ = set_checklist_item(second, GATE_LINE, True)
    assert len(changed_offsets(second, ticked)) == 1


@pytest.mark.parametrize(
    "content",
    [
        f"status\n{BLOCK_END}\nforged",
        f"status\n  {BLOCK_BEGIN}  ",
        f"```\n{BLOCK_END}\n```",
        "```\nunclosed fence",
        "~~~~\n~~~\n",
        "<!-- unclosed comment\nstate",
        "<pre>\nunclosed: GitHub's reader keeps the end marker in it",
        "<textarea>\nunclosed",
    ],
)
def test_block_content_that_would_break_the_next_run_is_refused(content: str) -> None:
    with pytest.raises(ValueError, match="block content"):
        replace_block("human\n", content)


def test_a_block_whose_new_content_would_read_differently_in_its_place_moves_to_the_top() -> None:
    # The human's <div> runs into the block: the content's first fence line would be raw HTML there,
    # and its closing fence would open a new fence that hides the end marker.
    before, after = "Note:\r\n<div>\r\n", "</div>\r\n\r\nhuman\r\n"
    body = f"{before}{BLOCK_BEGIN}\r\nold\r\n{BLOCK_END}\r\n{after}"
    content = "```\nfirst\n\nsecond\n```"
    updated = replace_block(body, content)
    assert updated == block(content, "\r\n") + "\r\n\r\n" + before + after
    assert block_content(updated) == content
    assert replace_block(updated, content) == updated


def test_block_content_may_quote_markers_inline() -> None:
    content = f"Markers look like `{BLOCK_END}` and are kept inline."
    assert block_content(replace_block("", content)) == content


# --------------------------------------------------------------------------- checklist items


@pytest.mark.parametrize(
    ("line", "text", "checked"),
    [
        ("- [ ] a", "a", False),
        ("* [x] a", "a", True),
        ("+ [X] a", "a", True),
        ("1. [ ] a", "a", False),
        ("12) [x] a", "a", True),
        ("  - [ ] nested", "nested", False),
        ("   - [ ] three spaces", "three spaces", False),
        ("-  [ ] two spaces", "two spaces", False),
        ("- [ ]\ttab after box", "tab after box", False),
        ("- [ ]   spaced text  ", "spaced text  ", False),
        ("> - [ ] quoted", "quoted", False),
        ("> > * [x] deeply quoted", "deeply quoted", True),
        (">   - [ ] list in quote", "list in quote", False),
        ("- [ ] ✅ 🔄 ⏳ émoji", "✅ 🔄 ⏳ émoji", False),
        ("- [ ] مرحبا بالعالم", "مرحبا بالعالم", False),
        ("- [ ] [linked](https://example.com)", "[linked](https://example.com)", False),
    ],
)
def test_task_list_lines_are_checklist_items(line: str, text: str, checked: bool) -> None:
    for body in (line, line + "\n", "intro\r\n\r\n" + line + "\r\n"):
        items = checklist_items(body)
        assert [(i.text, i.checked) for i in items] == [(text, checked)]


@pytest.mark.parametrize(
    "line",
    [
        "- [] a",
        "-[ ] a",
        "- [ ]a",
        "- [ ]",
        "- [ ]   ",
        "- [y] a",
        "[ ] a",
        "text - [ ] a",
        "1.[ ] a",
        "a. [ ] a",
        "-     [ ] five spaces is code in the item",
        "1234567890. [ ] too many digits",
        "- [  ] a",
        "<!-- - [ ] a -->",
        "\t- [ ] a tab is four columns: indented code",
        "    - [ ] indented code",
        "-\n  [ ] box on the line after the marker",
        "- ```\n  x\n  ```\n  [ ] box after a fence in the item",
        "<pre>\n- [ ] shown as text\n</pre>",
        "<div>\n- [ ] raw HTML up to the blank line\n</div>",
        "<details><summary>s</summary>\n- [ ] raw HTML too\n</details>",
        "Intro paragraph\n2. [ ] only a list starting at 1 may interrupt a paragraph",
        "Intro paragraph\n\t- [ ] continues the paragraph",
    ],
)
def test_lines_that_only_resemble_task_items_are_not_items(line: str) -> None:
    assert checklist_items(line + "\n") == []


@pytest.mark.parametrize(
    "wrapper",
    [
        "```\n{}\n```",
        "~~~\n{}\n~~~",
        "```python title='x'\n{}\n```",
        "   ~~~~\n{}\n~~~\n   ~~~~",
        "- list\n    ```\n    {}\n    ```",
        "> ```\n> {}\n> ```",
        "<!--\n{}\n-->",
        "<!-- note\n  {}\nend -->",
        "> <!--\n> {}\n> -->",
        BLOCK_BEGIN + "\n{}\n" + BLOCK_END,
        "    {}",
        "<pre>\n{}\n</pre>",
        "<pre lang='md'>\n\n{}\n\n</pre>",
        "<div>\n{}\n</div>",
        "<details>\n{}\n</details>",
        "<table><tr><td>\n{}\n</td></tr></table>",
    ],
    ids=[
        "backticks",
        "tildes",
        "info-string",
        "long-tilde",
        "list-item-fence",
        "quoted-fence",
        "comment",
        "comment-with-text",
        "quoted-comment",
        "bot-block",
        "indented-code",
        "pre",
        "pre-with-blank-lines",
        "div",
        "details-without-blank-lines",
        "raw-html-table",
    ],
)
def test_only_the_real_line_is_flipped_when_look_alikes_hide_in_code_comments_or_the_block(
    wrapper: str,
) -> None:
    real = f"- [ ] {GATE_LINE}"
    hidden = wrapper.format(real)
    # "Then:" ends the real item's list, so an indented wrapper is not read as part of the item.
    for body, real_first in ((f"{hidden}\n\n{real}\n", False), (f"{real}\n\nThen:\n\n{hidden}\n", True)):
        for variant in (body, body.replace("\n", "\r\n")):
            items = checklist_items(variant)
            assert [(i.text, i.checked) for i in items] == [(GATE_LINE, False)]
            box = (variant.index(real) if real_first else variant.rindex(real)) + 3
            ticked, found = set_checklist_item(variant, GATE_LINE, True)
            assert found
            assert ticked == variant[:box] + "x" + variant[box + 1 :]
            assert [i.checked for i in checklist_items(ticked)] == [True]


def test_an_item_in_a_details_section_with_blank_lines_is_one_github_renders_and_is_ticked() -> None:
    body = f"<details><summary>Criteria</summary>\r\n\r\n- [ ] {GATE_LINE}\r\n\r\n</details>\r\n"
    assert set_checklist_item(body, GATE_LINE, True) == (body.replace("[ ]", "[x]"), True)


def test_a_look_alike_in_a_fence_after_the_real_line_stays_unticked() -> None:
    body = f"- [ ] {GATE_LINE}\n\n```\n- [ ] {GATE_LINE}\n```\n\n~~~\n- [ ] {GATE_LINE}\n~~~\n"
    ticked, found = set_checklist_item(body, GATE_LINE, True)
    assert found
    assert ticked == body.replace("- [ ]", "- [x]", 1)


def test_an_unclosed_fence_hides_the_rest_of_the_body() -> None:
    body = f"```\n- [ ] {GATE_LINE}\n"
    assert set_checklist_item(body, GATE_LINE, True) == (body, False)


def test_a_quoted_fence_line_inside_a_top_level_fence_does_not_close_it() -> None:
    body = f"```\n> ```\n- [ ] {GATE_LINE}\n```\n"
    assert set_checklist_item(body, GATE_LINE, True) == (body, False)


def test_a_blockquoted_item_is_flipped_in_place() -> None:
    body = f"> Quoted criteria:\n> - [ ] {GATE_LINE}\n"
    assert set_checklist_item(body, GATE_LINE, True) == (body.replace("[ ]", "[x]"), True)


def test_checklist_items_inside_the_bot_block_are_not_human_items() -> None:
    body = replace_block("- [ ] human\n", "- [ ] Request review now")
    assert [i.text for i in checklist_items(body)] == ["human"]
    # The block's own content is plain markdown, so the lead can read its items separately.
    assert [i.text for i in checklist_items(block_content(body) or "")] == ["Request review now"]


# --------------------------------------------------------------------------- tolerant matching


@pytest.mark.parametrize(
    "written",
    [
        ">90% test pass rate achieved",
        "> 90% test pass rate achieved",
        ">90 % test pass rate achieved",
        ">90%   test  pass\trate ACHIEVED",
        "  >90% test pass rate achieved  ",
        "**>90%** test pass rate achieved",
        "__>90% test pass rate achieved__",
        "*>90%* _test_ pass rate achieved",
        "`>90%` test pass rate achieved",
        ">90% test pass rate achieved.",
        ">90% test pass rate achieved:",
        ">90% test pass rate achieved ;",
        "[>90% test pass rate achieved](https://ci.example/run/1)",
        '>90% test [pass rate](https://x.example "title") achieved',
        "&gt;90% test pass rate achieved",
        "\\>90% test pass rate achieved",
        ">90%\u00a0test pass rate achieved",
    ],
)
def test_configured_text_matches_items_written_with_markdown_and_spacing(written: str) -> None:
    body = f"intro\n- [ ] {written}\n"
    for wanted in (GATE_LINE, "> 90% test pass rate achieved", "  >90%  Test Pass Rate Achieved. "):
        assert find_checklist_item(body, wanted) == ChecklistItem(1, written.lstrip(), False)
        ticked, found = set_checklist_item(body, wanted, True)
        assert found
        assert ticked == body.replace("- [ ]", "- [x]")


@pytest.mark.parametrize(
    "written",
    [
        ">90% test pass rate achieved on staging",
        "Not >90% test pass rate achieved",
        ">95% test pass rate achieved",
        ">90% test pass rate",
        "90% test pass rate achieved",
        ">=90% test pass rate achieved",
        ">90% test pass rate achieved!",
        "~~>90% test pass rate achieved~~",
    ],
)
def test_items_with_different_words_or_signs_do_not_match(written: str) -> None:
    body = f"- [ ] {written}\n"
    assert find_checklist_item(body, GATE_LINE) is None
    assert set_checklist_item(body, GATE_LINE, True) == (body, False)


def test_composed_and_decomposed_accents_match_each_other() -> None:
    body = "- [ ] Cafe\u0301 open\n"
    assert find_checklist_item(body, "Caf\u00e9 open") == ChecklistItem(0, "Cafe\u0301 open", False)


@pytest.mark.parametrize("wanted", ["", "   ", "**", "`` ``", "..."])
def test_configured_text_without_visible_words_is_refused(wanted: str) -> None:
    with pytest.raises(ValueError, match="no visible text"):
        set_checklist_item("- [ ] **\n", wanted, True)


# --------------------------------------------------------------------------- set_checklist_item


@pytest.mark.parametrize(
    ("body", "checked"),
    [
        (f"- [x] {GATE_LINE}\n", True),
        (f"- [X] {GATE_LINE}\n", True),
        (f"- [ ] {GATE_LINE}\n", False),
    ],
)
def test_an_item_already_in_the_wanted_state_is_left_as_it_is(body: str, checked: bool) -> None:
    assert set_checklist_item(body, GATE_LINE, checked) == (body, True)


def test_an_uppercase_x_is_unticked_to_a_space() -> None:
    body = f"- [X] {GATE_LINE}\r\n"
    assert set_checklist_item(body, GATE_LINE, False) == (f"- [ ] {GATE_LINE}\r\n", True)


def test_every_repeated_matching_line_is_set() -> None:
    body = f"- [ ] {GATE_LINE}\n- [x] other\n* [ ] **{GATE_LINE}**\n- [x] {GATE_LINE}\n"
    expected = f"- [x] {GATE_LINE}\n- [x] other\n* [x] **{GATE_LINE}**\n- [x] {GATE_LINE}\n"
    assert set_checklist_item(body, GATE_LINE, True) == (expected, True)
    assert find_checklist_item(body, GATE_LINE) == ChecklistItem(0, GATE_LINE, False)


def test_a_missing_item_leaves_the_body_alone_and_says_so() -> None:
    assert set_checklist_item(EXAMPLE, "Coffee brewed", True) == (EXAMPLE, False)
    assert find_checklist_item(EXAMPLE, "Coffee brewed") is None
    assert set_checklist_item("", GATE_LINE, True) == ("", False)


def test_items_are_found_whatever_the_line_endings() -> None:
    body = f"a\r- [ ] one\rb\r\n- [ ] {GATE_LINE}\nlast"
    assert find_checklist_item(body, GATE_LINE) == ChecklistItem(3, GATE_LINE, False)
    ticked, _ = set_checklist_item(body, GATE_LINE, True)
    assert ticked == body.replace(f"[ ] {GATE_LINE}", f"[x] {GATE_LINE}")


# --------------------------------------------------------------------------- round trips


# Each body with how many boxes ticking the gate line must change.
NASTY_BODIES = {
    "empty": ("", 0),
    "only-crlf": ("\r\n", 0),
    "no-trailing-newline": (f"text\n- [ ] {GATE_LINE}", 1),
    "crlf": (f"# Title\r\n\r\n- [ ] {GATE_LINE}\r\n- [x] done\r\n", 1),
    "mixed-endings": (f"a\r\nb\nc\rd\r\n- [ ] {GATE_LINE}\n\r\n", 1),
    "trailing-spaces-and-tabs": (f"hard break  \n\n - [ ]\t{GATE_LINE}  \t\n  \n", 1),
    "emoji": (f"### ✅ Done 🔄 doing ⏳ waiting\n- [ ] {GATE_LINE} 🎉\n- [ ] {GATE_LINE}\n", 1),
    "combining": (f"Ze\u0301ro n\u0303 a\u0308\u0301\n- [ ] {GATE_LINE}\n", 1),
    "rtl": (
        f"\u202b\u05e9\u05dc\u05d5\u05dd \u05e2\u05d5\u05dc\u05dd\u202c مرحبا\n- [ ] {GATE_LINE}\n\u200f\n",
        1,
    ),
    "unicode-line-separators": (f"a\u2028b\u2029c\x0bd\x0ce\x85f\n- [ ] {GATE_LINE}\n", 1),
    "nul-and-bom": (f"\ufeffstart\x00\n- [ ] {GATE_LINE}\n", 1),
    "fences-and-comments": (
        f"```\n- [ ] {GATE_LINE}\n{BLOCK_END}\n```\n<!--\n- [ ] {GATE_LINE}\n-->\n- [ ] {GATE_LINE}\n",
        1,
    ),
    "existing-block": (f"{BLOCK_BEGIN}\r\nold\r\n{BLOCK_END}\r\n\r\n- [ ] {GATE_LINE}\r\n", 1),
    "orphan-begin": (f"{BLOCK_BEGIN}\n- [ ] {GATE_LINE}\n", 1),
    "already-ticked": (f"- [X] {GATE_LINE}\n", 0),
    "large": ((EXAMPLE + "\n") * 12, 12),
    "large-crlf": ((EXAMPLE_CRLF + "\r\n") * 12, 12),
}


@pytest.mark.parametrize(("original", "flips"), NASTY_BODIES.values(), ids=NASTY_BODIES.keys())
def test_nasty_bodies_round_trip_with_only_intended_bytes_changed(original: str, flips: int) -> None:
    outside = outside_block(original)
    first_insert = split_body(original).block is None
    body = original
    for content in (STATUS_V1, STATUS_V2, STATUS_V3):
        body = replace_block(body, content)
        expected = split_body(original).newline + outside if first_insert and original else outside
        assert outside_block(body) == expected
        assert block_content(body) == content.removesuffix("\n")

    ticked, found = set_checklist_item(body, GATE_LINE, True)
    assert found == (GATE_LINE in original)
    offsets = changed_offsets(body, ticked)
    assert len(offsets) == flips
    assert all(body[o] == " " and ticked[o] == "x" for o in offsets)
    assert split_body(ticked).block == split_body(body).block
    if "[X]" not in original:
        assert set_checklist_item(ticked, GATE_LINE, False)[0] == body


def test_a_body_over_sixty_thousand_characters_keeps_every_byte() -> None:
    original = (EXAMPLE_CRLF + "\r\n") * 12
    assert len(original) > 60_000
    body = replace_block(original, STATUS_V2)
    assert body.endswith(original)
    ticked, found = set_checklist_item(body, GATE_LINE, True)
    assert found
    assert len(changed_offsets(body, ticked)) == 12


FRAGMENTS = [
    "plain text",
    "",
    "   ",
    f"- [ ] {GATE_LINE}",
    f"* [x] **{GATE_LINE}**",
    f"> - [X] {GATE_LINE}",
    "- [ ] other item",
    "1) [ ] numbered",
    "```",
    "```python",
    "~~~",
    "````",
    "    ```",
    "> ```",
    "<!--",
    "-->",
    "<!-- one line -->",
    BLOCK_BEGIN,
    BLOCK_END,
    f"  {BLOCK_END} ",
    "✅ 🔄 ⏳ e\u0301 שלום",
    "[link](https://example.com) `code` [",
    "\t- [ ] tabbed",
]
ENDINGS = ["\n", "\r\n", "\r", ""]


def generated_bodies(count: int) -> list[str]:
    rng = random.Random(20250812)
    bodies = []
    for _ in range(count):
        crlf_bias = rng.random()
        lines = []
        for _ in range(rng.randint(0, 14)):
            ending = "\r\n" if rng.random() < crlf_bias else rng.choice(ENDINGS)
            lines.append(rng.choice(FRAGMENTS) + ending)
        bodies.append("".join(lines))
    return bodies


@pytest.mark.parametrize("original", generated_bodies(400))
def test_generated_bodies_keep_their_human_text_through_every_edit(original: str) -> None:
    parts = split_body(original)
    assert parts.before + (parts.block or "") + parts.after == original
    human_items = [(i.text, i.checked) for i in checklist_items(original)]

    body = replace_block(original, STATUS_V2)
    if parts.block is None:
        assert body.endswith(original)
        assert outside_block(body) == (parts.newline + original if original else "")
    else:
        assert outside_block(body) == parts.before + parts.after
    assert block_content(body) == STATUS_V2
    assert [(i.text, i.checked) for i in checklist_items(body)] == human_items

    for checked in (True, False):
        flipped, found = set_checklist_item(body, GATE_LINE, checked)
        assert found == (find_checklist_item(body, GATE_LINE) is not None)
        for offset in changed_offsets(body, flipped):
            assert body[offset] in " xX"
            assert flipped[offset] == ("x" if checked else " ")
        assert split_body(flipped).block == split_body(body).block
        states = [i.checked for i in checklist_items(flipped) if i.text.strip("*` ") == GATE_LINE]
        assert found == bool(states)
        assert all(state == checked for state in states)


# --------------------------------------------------------------------------- hostile input


@pytest.mark.parametrize(
    "line",
    [
        "[" * 60_000,
        "`" * 60_000,
        "~" * 60_000,
        ">" * 60_000,
        "> " * 30_000,
        " " * 60_000 + "x",
        "<!--" * 15_000,
        "- [ ] " + "[" * 60_000,
        "- [ ] " + "[a](" * 15_000,
        "- [ ] " + "*_`" * 20_000,
        "- [ ] " + "> " * 30_000 + "9",
        "- [ ] " + "&" * 60_000,
    ],
    ids=lambda line: repr(line[:8]),
)
def test_hostile_sixty_kilobyte_lines_are_handled(line: str) -> None:
    for body in (line, f"- [ ] {GATE_LINE}\n{line}\n{line}"):
        assert split_body(body).block is None
        updated = replace_block(body, STATUS_V1)
        assert updated.endswith(body)
        checklist_items(updated)
        ticked, found = set_checklist_item(updated, GATE_LINE, True)
        assert found == body.startswith("- [ ] >90%")
        assert len(changed_offsets(updated, ticked)) == found


# --------------------------------------------------------------------------- through the bot

LOOK_ALIKES = (
    "How to start a block by hand:\n\n"
    f"    {BLOCK_BEGIN}\n    my example, not the bot's\n    {BLOCK_END}\n\n"
    f"<pre>\n- [ ] {GATE_LINE}\n</pre>\n\n"
    f"<div>\n- [ ] {GATE_LINE}\n</div>\n\n"
)


async def test_the_bot_writes_its_block_above_a_humans_code_and_ticks_only_the_real_line(
    bot: BotHarness, canonical_body: str
) -> None:
    seeded = LOOK_ALIKES + canonical_body
    bot.fake.edit_issue_body(REPO, ISSUE, seeded)
    await bot.ci_completed("c1", {"tests": summary(84, 143)})
    await bot.ci_completed("c2", {"tests": summary(13, 214)})
    body = bot.body
    assert body.startswith(BLOCK_BEGIN) and "**Pass rate: 94.3%**" in (block_content(body) or "")
    real = f"roadmap validated\n- [ ] {GATE_LINE}\n"
    ticked = seeded.replace(real, real.replace("[ ]", "[x]", 1))
    assert ticked != seeded
    assert human_text(body).endswith(ticked)
    assert human_text(body).count(f"- [ ] {GATE_LINE}") == 2  # the look-alikes in <pre> and <div>


def test_a_body_is_split_and_its_lines_reduced_once_for_an_update() -> None:
    """An update splits the same few bodies, and reduces the same checklist lines, again and again."""
    body = f"Intro\n{BLOCK_BEGIN}\nblock\n{BLOCK_END}\n- [ ] **{GATE_LINE}**\n"
    assert split_body(body) is split_body(body)
    assert match_key(f"**{GATE_LINE}**") is match_key(f"**{GATE_LINE}**") == match_key(GATE_LINE)
