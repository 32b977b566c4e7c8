"""issue-status-bot: keeps a quality-push tracking issue true to what CI measured."""

__version__ = "0.1.0"
