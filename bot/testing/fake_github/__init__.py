"""A fake GitHub for the demo and the tests: stateful, and as strict as GitHub's REST description."""

from bot.testing.fake_github.records import GitHubError, RecordedRequest
from bot.testing.fake_github.server import FakeGitHub, Fault

__all__ = ["FakeGitHub", "Fault", "GitHubError", "RecordedRequest"]
