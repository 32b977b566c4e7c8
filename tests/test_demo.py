"""The demo replays the canonical issue's whole story; what it leaves behind is what the issue promises."""

from __future__ import annotations

import io
from pathlib import Path

from bot.ops.demo import replay, succeeded
from bot.testing.examples import EXAMPLES
from bot.tracking.body import human_text
from scripts.update_readme_example import README, demo_example, readme_example, timeless


async def test_the_canonical_story_ends_ticked_reviewed_and_escalated_once(tmp_path: Path) -> None:
    out = io.StringIO()
    outcome = await replay(tmp_path, out)
    assert succeeded(outcome)
    assert outcome["announcements"] == [
        "fix_done",
        "fix_done",
        "below_baseline",
        "fix_done",
        "gate_met",
        "review_ready",
    ]
    assert outcome["labels"] == ["escalation"]
    printed = out.getvalue()
    body = printed.split("Final body of platform-wrapper/backend#2\n" + "=" * 78 + "\n", 1)[1].split(
        "\n\n" + "=" * 78
    )[0]
    original = (EXAMPLES / "issue-2-status-update.md").read_text(encoding="utf-8")
    # Only the bot's own marks changed outside its block: three heading marks and the bound checklist lines.
    expected = original
    for fix in (
        "1. JWT Token Fix - 2 hours",
        "2. Database Configuration - 4 hours",
        "3. Pydantic Compatibility - 1 hour",
    ):
        expected = expected.replace(f"### {fix} ⏳", f"### {fix} ✅")
    for line in (
        ">90% test pass rate achieved",
        "All security fixes preserved",
        "Infrastructure stability confirmed",
        "Production deployment readiness verified",
        "JWT token fix implementation",
        "Database configuration implementation",
        "Pydantic compatibility implementation",
        "Security preservation validation",
    ):
        expected = expected.replace(f"- [ ] {line}", f"- [x] {line}")
    assert human_text(body) == "\n" + expected
    assert "- [ ] Test pass rate improvement tracking" in body  # bound to no rule: left as written


async def test_the_readmes_example_block_is_the_demos_final_block() -> None:
    """The README shows what the demo's story leaves in the issue, not a hand-made likeness of it."""
    shown = readme_example(README.read_text(encoding="utf-8"))
    regenerate = "run .venv/bin/python scripts/update_readme_example.py"
    assert timeless(shown) == timeless(await demo_example()), f"the README's example is stale: {regenerate}"
