"""GitHub's REST description (a committed subset of @octokit/openapi) as a request validator."""

from bot.testing.openapi.subset import OpenAPISubset, Operation, RequestCheck, Violation

__all__ = ["OpenAPISubset", "Operation", "RequestCheck", "Violation"]
