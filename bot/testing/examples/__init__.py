"""The canonical tracking issue (copied from ../shared/examples) and the demo's configuration."""

from pathlib import Path

EXAMPLES = Path(__file__).resolve().parent
