"""A fix whose heading binds to no heading of the issue still completes; the block says why its heading
keeps its mark, and ``check-config --issue-body`` names the heading or line most likely meant."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.ops.check_config import EXIT_INVALID
from bot.ops.cli import main
from bot.testing.deliveries import pushed
from bot.testing.examples import EXAMPLES
from bot.tracking.body import block_content
from tests.harness import BRANCH, INSTALLATION_ID, ISSUE, REPO, BotHarness, sha_of, summary

CONFIG = """\
trackers:
  - issue: 2
    gate: ">90%"
    fixes:
      - name: Pydantic Compatibility
        files: [tests/test_security_fixes.py]
        line: Pydantic compatibility implemented
"""
# The heading as a person wrote it after the configuration: "v2" added, so the name binds to nothing.
HEADING = "### 3. Pydantic v2 Compatibility - 1 hour ⏳"


async def test_an_unbound_fix_completes_and_the_block_says_why_its_heading_keeps_its_mark(
    bot: BotHarness, canonical_body: str
) -> None:
    bot.fake.put_file(REPO, ".github/issue-status.yml", CONFIG)
    bot.fake.edit_issue_body(
        REPO, ISSUE, canonical_body.replace("### 3. Pydantic Compatibility - 1 hour ⏳", HEADING)
    )
    await bot.ci_completed("c0", {"tests": summary(84, 143)})
    push = pushed(
        bot.repository,
        branch=BRANCH,
        before=bot.fake.head(REPO),
        after=sha_of("c1"),
        paths=["tests/test_security_fixes.py"],
        installation_id=INSTALLATION_ID,
    )
    assert await bot.send("push", push) == 202
    await bot.ci_completed("c1", {"tests": summary(70, 157)})  # the rate improves: the fix is done

    block = block_content(bot.body) or ""
    assert "**Fixes:** ✅ Pydantic Compatibility" in block
    assert (
        "- ⚠️ Pydantic Compatibility: no heading of this issue names it, so no ⏳ 🔄 ✅ mark follows it "
        "(`issue-status-bot check-config --issue-body` names the closest heading)"
    ) in block
    assert (
        "- ⚠️ Pydantic Compatibility: no checklist line of this issue matches "
        "“Pydantic compatibility implemented”, so none is ticked when it is done"
    ) in block
    assert HEADING in bot.body  # left as written
    assert bot.failed_deliveries == 0


def test_check_config_names_the_closest_heading_and_line_of_what_binds_to_nothing(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    body = (EXAMPLES / "issue-2-status-update.md").read_text(encoding="utf-8")
    body = body.replace("### 3. Pydantic", "### 3. Pydantic v2").replace(
        "- [ ] All security fixes preserved", "- [ ] All security fix preserved"
    )
    edited = tmp_path / "issue.md"
    edited.write_text(body, encoding="utf-8")
    code = main(["check-config", str(EXAMPLES / "issue-status.full.yml"), "--issue-body", str(edited)])
    lines = capsys.readouterr().out.splitlines()
    assert code == EXIT_INVALID
    rule = lines.index("    'All security fixes preserved' (tests '*security*') -> nothing")
    assert lines[rule + 1] == "      closest line: line 49: [ ] All security fix preserved"
    heading = lines.index("      heading -> nothing")
    assert lines[heading + 1] == (
        "      closest heading: line 36: 3. Pydantic v2 Compatibility - 1 hour ⏳ "
        "(name the fix 'Pydantic v2 Compatibility', or the heading 'Pydantic Compatibility', to bind them)"
    )


def test_check_config_offers_no_heading_that_is_not_close_nor_one_another_fix_binds(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    config = tmp_path / "issue-status.yml"
    fixes = {"Frobnicate the widgets": "app/widgets.py", "JWT Token Fix": "app/auth/jwt.py"}
    fixes["JWT Token Fixes"] = "app/auth/jwt.py"  # most like the heading "JWT Token Fix" binds
    config.write_text(
        'trackers:\n  - issue: 2\n    gate: ">90%"\n    fixes:\n'
        + "".join(f"      - name: {name}\n        files: [{path}]\n" for name, path in fixes.items()),
        encoding="utf-8",
    )
    code = main(["check-config", str(config), "--issue-body", str(EXAMPLES / "issue-2-status-update.md")])
    lines = capsys.readouterr().out.splitlines()
    assert code == EXIT_INVALID
    for name in ("Frobnicate the widgets", "JWT Token Fixes"):
        described = lines.index(f"    {name!r} (files {fixes[name]}; done when a run improves the pass rate)")
        assert lines[described + 1 : described + 3] == [
            "      heading -> nothing",
            f"      no heading is close: write one named {name!r}, e.g. '### {name} ⏳'",
        ]
