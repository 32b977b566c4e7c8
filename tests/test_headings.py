"""Fix headings are the headings GitHub renders: ATX or setext, never look-alikes in code or raw HTML."""

from __future__ import annotations

import pytest

from bot.rules.headings import find_heading, headings, set_mark
from bot.tracking.body import BLOCK_BEGIN, BLOCK_END

FIX = "JWT Token Fix"


@pytest.mark.parametrize(
    ("body", "line_index", "text"),
    [
        (f"Intro\n\n{FIX} - 2 hours ⏳\n---\n", 2, f"{FIX} - 2 hours ⏳"),
        (f"Intro\n\n  ⏳ {FIX}\r\n=====\r\n", 2, f"⏳ {FIX}"),
        (f"{FIX}\n  (2 hours) ⏳\n---\n", 0, f"{FIX}\n  (2 hours) ⏳"),
        (f"<!-- note -->\n### {FIX} ⏳\n", 1, f"{FIX} ⏳"),
        (f"<details>\n\n### {FIX} ⏳\n\n</details>\n", 2, f"{FIX} ⏳"),
    ],
    ids=["setext-h2", "setext-h1-crlf", "setext-two-lines", "after-a-comment", "in-details-with-blank-lines"],
)
def test_setext_and_atx_headings_github_renders_are_fix_headings(
    body: str, line_index: int, text: str
) -> None:
    heading = find_heading(body, FIX)
    assert heading is not None and heading.line_index == line_index and heading.text == text
    assert heading.phase == "not started"
    assert set_mark(body, heading, "done") == body.replace("⏳", "✅")


@pytest.mark.parametrize(
    "body",
    [
        f"    ### {FIX} ⏳\n",
        f"Intro\n\n\t### {FIX} ⏳\n",
        f"<pre>\n### {FIX} ⏳\n</pre>\n",
        f"<pre>\n\n### {FIX} ⏳\n\n</pre>\n",
        f"<div>\n### {FIX} ⏳\n</div>\n",
        f"<details>\n### {FIX} ⏳\n</details>\n",
        f"<!--\n### {FIX} ⏳\n-->\n",
        f"~~~\n### {FIX} ⏳\n~~~\n",
        f"- ### {FIX} ⏳\n",
        f"> {FIX} ⏳\n> ---\n",
        f"{BLOCK_BEGIN}\n{FIX} ⏳\n---\n{BLOCK_END}\n",
        f"{FIX} ⏳\n\n---\n",
    ],
    ids=[
        "indented-code",
        "tab-indented-code",
        "pre",
        "pre-with-blank-lines",
        "div",
        "details-without-blank-lines",
        "comment",
        "tilde-fence",
        "list-item",
        "quoted-setext",
        "setext-in-the-bots-block",
        "paragraph-then-thematic-break",
    ],
)
def test_look_alike_headings_are_not_fix_headings(body: str) -> None:
    assert find_heading(body, FIX) is None
    assert headings(body) == []
