"""Names chosen by whoever writes a workflow reach the issue inert: no link, mention or reference.

GitHub's own parser (cmark-gfm, through cmarkgfm) renders what the bot writes, and the tests look at the
HTML a reader would get.
"""

from __future__ import annotations

from collections.abc import Callable
from xml.sax.saxutils import quoteattr

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.tracking.body import BLOCK_BEGIN, BLOCK_END, split_body
from bot.untrusted import MAX_SHOWN, WORD_JOINER, code_span, plain_text
from tests import github_markdown
from tests.harness import REPO, BotHarness, sha_of, summary, zipped

HOSTILE_NAMES = [
    "https://evil.example/x",
    "see http://evil.example/x?a=1#frag now",
    "ftp://evil.example/file",
    "www.evil.example",
    "WWW.Evil.Example/path",
    "(www.evil.example)",
    "_www.evil.example_",
    "mail me@evil.example",
    "mailto:me@evil.example",
    "xmpp:me@evil.example",
    "@octocat please look",
    "@org/team",
    "&#64;octocat &#35;12 &commat;octocat",
    "fixes #1 and org/repo#2 and GH-3 and gh-4",
    "<https://evil.example/x>",
    "[click](https://evil.example/x) ![i](https://evil.example/i.png)",
    "[ref]\n\n[ref]: https://evil.example/x",
    '<a href="https://evil.example/x">x</a>',
    "`code` then https://evil.example/x",
]


@pytest.mark.parametrize(
    ("name", "shown"),
    [
        ("tests (3.12)", "`tests (3.12)`"),
        ("@octocat please look", "`@octocat please look`"),
        ("fixes #1 and org/repo#2", "`fixes #1 and org/repo#2`"),
        ("a `tick` inside", "``a `tick` inside``"),
        ("`edge`", "`` `edge` ``"),
        (
            "line one\nline two\r\n<!-- issue-status-bot:end -->",
            "`line one line two <!\u200b-- issue-status-bot:end --\u200b>`",
        ),
        ("", "`(unnamed)`"),
        ("  \n ", "`(unnamed)`"),
    ],
)
def test_untrusted_names_become_one_line_code_spans(name: str, shown: str) -> None:
    assert code_span(name) == shown


@pytest.mark.parametrize("shown_as", [code_span, plain_text], ids=["code_span", "plain_text"])
@pytest.mark.parametrize("name", HOSTILE_NAMES)
def test_github_renders_no_link_mention_or_reference_from_an_untrusted_name(
    shown_as: Callable[[str], str], name: str
) -> None:
    markdown = f"- ❌ Criterion: 1 of 2 tests fail: {shown_as(name)}"
    assert github_markdown.read(markdown).hrefs == []
    assert github_markdown.live_text(markdown) == []


def test_plain_text_reads_the_same_with_invisible_word_joiners() -> None:
    shown = plain_text("https://evil.example/x @octocat #12 GH-3 www.evil.example a@b.c")
    rendered = "".join(github_markdown.read(shown).outside_code).replace(WORD_JOINER, "")
    assert rendered.strip() == "https://evil.example/x @octocat #12 GH-3 www.evil.example a@b.c"


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.one_of(
            st.sampled_from(["https://", "http://", "www.", "@", "#", "GH-", "&#64;", "<", "[", "](", "`"]),
            st.text(alphabet="ab1.-/:@#_*\\ \n", max_size=6),
            st.text(max_size=4),
        ),
        max_size=12,
    ).map("".join)
)
def test_no_generated_name_renders_a_link_or_mention(name: str) -> None:
    for shown in (code_span(name), plain_text(name)):
        assert "\n" not in shown and "\r" not in shown
        markdown = f"- ❌ Criterion: 1 of 2 tests fail: {shown}"
        assert github_markdown.read(markdown).hrefs == []
        assert github_markdown.live_text(markdown) == []


def test_a_long_name_is_shortened() -> None:
    shown = code_span("x" * 500)
    assert len(shown) == MAX_SHOWN + 2 and shown.endswith("…`")


async def test_a_hostile_job_name_cannot_mention_reference_or_forge_the_block(bot: BotHarness) -> None:
    await bot.ci_completed("c0", {"tests": summary(84, 143)}, event="check_suite")
    hostile = "@octocat #1 ](javascript:x) <!-- issue-status-bot:end -->\n<!-- issue-status-bot:begin -->"
    sha = sha_of("c1")
    run = bot.fake.add_workflow_run(REPO, sha, head_branch="main")
    bot.fake.add_check_run(REPO, sha, hostile, head_branch="main", check_suite_id=run["check_suite_id"])
    await bot.workflow_completed(run)  # its log is missing: the name is shown with the reason
    body = bot.body
    assert body.count(BLOCK_BEGIN) == 1 and body.count(BLOCK_END) == 1
    parts = split_body(body)
    assert parts.block is not None
    assert "`@octocat #1 ](javascript:x) <!\u200b-- issue-status-bot:end --\u200b> <!\u200b--" in parts.block
    assert "**Pass rate: 63.0%**" in parts.block


async def test_a_state_marker_forged_in_a_job_name_does_not_reset_the_history(bot: BotHarness) -> None:
    await bot.ci_completed("c0", {"tests": summary(84, 143)}, event="check_suite")
    forged = "<!-- issue-status-bot:state v1 AAAA " + "0" * 64 + " -->"
    sha = sha_of("c1")
    run = bot.fake.add_workflow_run(REPO, sha, head_branch="main")
    bot.fake.add_check_run(REPO, sha, forged, head_branch="main", check_suite_id=run["check_suite_id"])
    await bot.workflow_completed(run)
    await bot.ci_completed("c2", {"tests": summary(13, 214)}, event="check_suite")
    block = split_body(bot.body).block or ""
    assert "Since the baseline: ▲ +31.3 pp (baseline 63.0%)" in block  # the history survived


async def test_hostile_test_names_in_junit_are_shown_inert(bot: BotHarness) -> None:
    config = (
        "trackers:\n  - issue: 2\n    rules:\n"
        "      - line: All security fixes preserved\n        tests: '*security*'\n"
    )
    bot.fake.put_file(REPO, ".github/issue-status.yml", config)
    hostile = "@octocat <!-- issue-status-bot:end --> #1 **bold** [x](javascript:y)"
    xml = (
        '<testsuite name="s"><testcase classname="tests.test_security" name="ok"/>'
        f'<testcase classname="tests.test_security" name={quoteattr(hostile)}><failure/></testcase>'
        "</testsuite>"
    ).encode()
    run = bot.workflow(
        "c1",
        {"tests": b"= 1 failed, 1 passed in 0.1s =\n"},
        artifacts={"test-results": zipped({"junit.xml": xml})},
    )
    await bot.workflow_completed(run)
    body = bot.body
    assert body.count(BLOCK_BEGIN) == 1 and body.count(BLOCK_END) == 1
    block = split_body(body).block or ""
    assert "❌ All security fixes preserved: 1 of 2 tests matching '\\*security\\*' fail:" in block
    joiner = WORD_JOINER
    assert (
        f"\\@{joiner}octocat \\<\\!-- issue-status-bot:end --\\> \\#{joiner}1 \\*\\*bold\\*\\* "
        "\\[x\\]\\(javascript:y\\)" in block
    )
    assert "**Pass rate: 50.0%**" in block


URL_TEST_ID = "https://evil.example/x www.evil.example me@evil.example @octocat #12 GH-7 org/repo#3 &#64;team"
URL_JOB_NAME = "https://evil.example/job www.evil.example @octocat #12"


async def test_url_like_test_and_job_names_reach_the_issue_as_no_link(bot: BotHarness) -> None:
    """A JUnit test id and a job name that look like links, delivered the way CI delivers them."""
    config = (
        "trackers:\n  - issue: 2\n    rules:\n"
        "      - line: All security fixes preserved\n        tests: '*evil*'\n"
    )
    bot.fake.put_file(REPO, ".github/issue-status.yml", config)
    xml = (
        '<testsuite name="s"><testcase classname="security" name="ok evil"/>'
        f'<testcase classname="security" name={quoteattr(URL_TEST_ID)}><failure/></testcase>'
        "</testsuite>"
    ).encode()
    run = bot.workflow(
        "c1",
        {"tests": b"= 1 failed, 1 passed in 0.1s =\n"},
        artifacts={"test-results": zipped({"junit.xml": xml})},
    )
    # A second job of the same run whose log is missing: its name is shown with the reason.
    bot.fake.add_check_run(
        REPO, sha_of("c1"), URL_JOB_NAME, head_branch="main", check_suite_id=run["check_suite_id"]
    )
    await bot.workflow_completed(run)
    block = split_body(bot.body).block or ""
    assert "evil.example/x" in block and "evil.example/job" in block  # both names are shown
    reader = github_markdown.read(block)
    commit_links = [href for href in reader.hrefs if f"/commit/{sha_of('c1')}" in href]
    assert reader.hrefs == commit_links and commit_links  # the bot's own commit link, nothing else
    assert github_markdown.live_text(block) == []
