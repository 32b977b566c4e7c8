"""The fake's web origin, as a browser sees GitHub: the App registration pages of the manifest flow, and
the REST API under ``/api/v3`` as GitHub Enterprise Server lays it out.

Signed in as ``login``; an organisation's page registers the App under that organisation.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from html import escape
from typing import Any

from aiohttp import web

from bot.testing.fake_github.manifests import create_app, manifest_problems, redirect_target, refusal
from bot.testing.fake_github.records import GitHubError, RecordedRequest
from bot.testing.fake_github.state import World

ENTERPRISE_API_PREFIX = "/api/v3"
CREATE_PATH = "/settings/apps/create-from-manifest"

ApiHandler = Callable[[web.Request, str], Awaitable[web.StreamResponse]]


def _page(title: str, body: str, status: int = 200) -> web.Response:
    html = (
        f"<!doctype html>\n<html><head><title>{escape(title)}</title></head><body>\n{body}\n</body></html>\n"
    )
    return web.Response(status=status, text=html, content_type="text/html")


class WebOrigin:
    """Serves the pages; every request is recorded, and a refused manifest fails the test like an API call."""

    def __init__(
        self,
        world: World,
        requests: list[RecordedRequest],
        rejections: list[RecordedRequest],
        serve_api: ApiHandler,
        login: str = "octocat",
    ) -> None:
        self.world, self.requests, self.rejections = world, requests, rejections
        self.serve_api, self.login, self.url = serve_api, login, ""

    def app(self) -> web.Application:
        application = web.Application()
        application.router.add_route("*", ENTERPRISE_API_PREFIX + "/{tail:.*}", self._api)
        application.router.add_post("/settings/apps/new", self._new_app)
        application.router.add_post("/organizations/{org}/settings/apps/new", self._new_app)
        application.router.add_post(CREATE_PATH, self._create)
        return application

    async def _api(self, request: web.Request) -> web.StreamResponse:
        return await self.serve_api(request, ENTERPRISE_API_PREFIX)

    async def _record(self, request: web.Request) -> tuple[RecordedRequest, dict[str, str]]:
        form = {k: v for k, v in (await request.post()).items() if isinstance(v, str)}
        record = RecordedRequest(
            method=request.method,
            path=request.path,
            query=dict(request.query),
            headers=dict(request.headers),
            json=form,
            origin="web",
        )
        self.requests.append(record)
        return record, form

    def _refuse(self, record: RecordedRequest, error: GitHubError) -> web.Response:
        record.status, record.reason, record.rejected = error.status, error.reason, True
        self.rejections.append(record)
        return _page(
            error.message, f"<h1>{escape(error.message)}</h1><p>{escape(error.reason)}</p>", error.status
        )

    def _manifest(self, form: dict[str, str]) -> dict[str, Any]:
        try:
            manifest = json.loads(form.get("manifest", ""))
        except ValueError:
            raise refusal(["the manifest field is not JSON"]) from None
        problems = manifest_problems(manifest)
        if problems:
            raise refusal(problems)
        assert isinstance(manifest, dict)
        return manifest

    async def _new_app(self, request: web.Request) -> web.Response:
        """The form GitHub shows for a posted manifest: the name may still be changed, then confirmed."""
        record, form = await self._record(request)
        try:
            manifest = self._manifest(form)
        except GitHubError as error:
            return self._refuse(record, error)
        org = request.match_info.get("org", "")
        owner = org or self.login
        hidden = {"manifest": form["manifest"], "org": org, "state": request.query.get("state", "")}
        fields = "".join(
            f'<input type="hidden" name="{name}" value="{escape(value)}">' for name, value in hidden.items()
        )
        body = (
            f"<h1>Create GitHub App for {escape(owner)}</h1>\n"
            f'<form action="{CREATE_PATH}" method="post">{fields}\n'
            f'<label>GitHub App name <input name="name" value="{escape(str(manifest.get("name", "")))}">'
            "</label>\n"
            f'<button type="submit" id="create">Create GitHub App for {escape(owner)}</button></form>'
        )
        record.status = 200
        return _page(f"Create GitHub App for {owner}", body)

    async def _create(self, request: web.Request) -> web.Response:
        record, form = await self._record(request)
        try:
            manifest = self._manifest(form)
        except GitHubError as error:
            return self._refuse(record, error)
        org = form.get("org", "")
        owner = self.world.shapes.user(org or self.login)
        if org:
            owner["type"] = "Organization"
        name = form.get("name", "").strip() or str(manifest.get("name", ""))
        code = create_app(self.world, manifest, name, owner, self.url)
        state = form.get("state") or None
        record.status = 302
        if "redirect_url" not in manifest:  # GitHub then shows the new App's page
            raise web.HTTPFound(self.world.manifest_codes[code].app_json["html_url"])
        raise web.HTTPFound(redirect_target(manifest, code, state))
