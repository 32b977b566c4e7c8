"""Regenerate the README's example block from the block the demo leaves in its tracking issue.

    .venv/bin/python scripts/update_readme_example.py

The README quotes the block's Markdown as the issue holds it (less the hidden state marker), so GitHub
draws it there as it does in the issue, chart included. tests/test_demo.py fails when the two differ;
only the completion times vary from one replay to the next, and the comparison ignores them.
"""

from __future__ import annotations

import asyncio
import io
import re
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.ops.demo import replay  # noqa: E402  (the checkout's bot, not an installed one)
from bot.tracking.body import block_content  # noqa: E402

README = ROOT / "README.md"
# The example sits between this line and the next section.
INTRO = "The block at the end of the demo's story:\n\n"
NEXT = "\n## Quickstart\n"
FINAL_BODY = "Final body of platform-wrapper/backend#2\n" + "=" * 78 + "\n"
_STATE_MARKER = "<!-- issue-status-bot:state "
# GitHub's timestamps (a run's completion): the wall-clock time of the replay.
_TIMESTAMP = re.compile(r"\b\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z\b")


def final_body(printed: str) -> str:
    """The tracking issue's final body, from what the demo prints."""
    return printed.split(FINAL_BODY, 1)[1].split("\n\n" + "=" * 78, 1)[0]


def quoted_block(body: str) -> str:
    """The bot's block of ``body`` as the README quotes it: its Markdown in a blockquote."""
    content = block_content(body)
    if content is None:
        raise ValueError("the demo's issue has no status block")
    lines = [line for line in content.splitlines() if not line.startswith(_STATE_MARKER)]
    return "".join(f"> {line}".rstrip() + "\n" for line in lines)


def readme_example(readme: str) -> str:
    """The example block as the README has it."""
    return readme.split(INTRO, 1)[1].split(NEXT, 1)[0]


def with_example(readme: str, example: str) -> str:
    before, rest = readme.split(INTRO, 1)
    return before + INTRO + example + NEXT + rest.split(NEXT, 1)[1]


def timeless(text: str) -> str:
    """``text`` with every timestamp the same: what the comparison with a replay ignores."""
    return _TIMESTAMP.sub("YYYY-MM-DDTHH:MM:SSZ", text)


async def demo_example() -> str:
    """Replay the demo's story and quote its final block."""
    printed = io.StringIO()
    with tempfile.TemporaryDirectory(prefix="issue-status-bot-readme-") as state_dir:
        await replay(Path(state_dir), printed)
    return quoted_block(final_body(printed.getvalue()))


def main() -> None:
    README.write_text(with_example(README.read_text(encoding="utf-8"), asyncio.run(demo_example())))
    print(f"rewrote the example block of {README}")


if __name__ == "__main__":
    main()
