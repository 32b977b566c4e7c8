"""Where the App is registered and what is sent there: pure functions over app.yaml and the options.

GitHub's manifest flow (docs.github.com, "Registering a GitHub App from a manifest"): a form posts the
manifest as JSON in a ``manifest`` field to ``{github}/settings/apps/new`` (or an organisation's), with a
``state`` query parameter GitHub hands back on the redirect.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlencode, urlsplit

import yaml

GITHUB_COM = "https://github.com"
GITHUB_COM_API = "https://api.github.com"
# GitHub Enterprise Server serves its REST API under the web host.
ENTERPRISE_API_PATH = "/api/v3"
# RFC 2606 reserves example.com: app.yaml's placeholder can never receive a delivery.
RESERVED_DOMAIN = "example.com"


class ManifestError(Exception):
    """app.yaml or an option cannot make a manifest GitHub would accept; the message says which."""


@dataclass(frozen=True)
class GitHubSite:
    """A GitHub's web origin (where people register Apps) and its REST API."""

    web: str
    api: str

    @classmethod
    def of(cls, github_url: str, api_url: str | None = None) -> GitHubSite:
        web = _http_url("--github-url", github_url)
        if api_url is not None:
            return cls(web, _http_url("--api-url", api_url))
        if urlsplit(web).netloc.lower() in ("github.com", "www.github.com"):
            return cls(GITHUB_COM, GITHUB_COM_API)
        return cls(web, web + ENTERPRISE_API_PATH)

    def new_app_page(self, org: str | None, state: str) -> str:
        """The page the manifest form posts to: the user's Apps, or the organisation's."""
        owner = "" if org is None else f"/organizations/{quote(org, safe='')}"
        return f"{self.web}{owner}/settings/apps/new?{urlencode({'state': state})}"


def _http_url(option: str, url: str) -> str:
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ManifestError(f"{option} must be an http(s) URL, such as https://github.com")
    return url.strip().rstrip("/")


def build_manifest(app_yaml: str, *, webhook_url: str | None, redirect_url: str) -> dict[str, Any]:
    """app.yaml as GitHub's manifest: the hook at ``webhook_url``, the redirect at the local page."""
    try:
        manifest = yaml.safe_load(app_yaml)
    except yaml.YAMLError as error:
        raise ManifestError(f"app.yaml is not YAML: {error}") from None
    if not isinstance(manifest, dict) or not isinstance(manifest.get("hook_attributes"), dict):
        raise ManifestError("app.yaml must be a mapping with hook_attributes (GitHub's manifest fields)")
    hook = dict(manifest["hook_attributes"])
    if webhook_url is not None:
        hook["url"] = _http_url("--webhook-url", webhook_url)
    host = (urlsplit(str(hook.get("url", ""))).hostname or "").lower()
    if host == RESERVED_DOMAIN or host.endswith("." + RESERVED_DOMAIN):
        raise ManifestError(
            f"the webhook URL {hook.get('url')} is app.yaml's placeholder: pass --webhook-url with the URL"
            " GitHub should deliver to (your deployment's /webhook, or a webhook proxy's channel)"
        )
    return {**manifest, "hook_attributes": hook, "redirect_url": redirect_url}


def install_url(html_url: str) -> str:
    """Where the App is installed on repositories: its page plus ``/installations/new``."""
    return html_url.rstrip("/") + "/installations/new"
