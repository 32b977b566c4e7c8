"""``register``: GitHub's App manifest flow driven over HTTP, as a browser would, against the fake GitHub.

The command runs in this event loop; the test plays the browser: it reads the local page's form, posts it to
the fake's registration page, confirms there, and follows GitHub's redirect back to the local page.
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import stat
import sys
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import aiohttp
import pytest
from cryptography.hazmat.primitives import serialization

from bot.ops.env_file import read_env_file
from bot.ops.register.command import RegisterOptions, register
from bot.ops.register.manifest import GitHubSite
from bot.settings import Settings
from bot.testing.deliveries import signed_headers
from bot.testing.fake_github import FakeGitHub
from bot.testing.openapi import OpenAPISubset

APP_YAML = Path(__file__).resolve().parent.parent / "app.yaml"
HOOK = "https://smee.io/issue-status-bot-test"
SUBSET = OpenAPISubset.load()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Form:
    action: str
    fields: dict[str, str] = field(default_factory=dict)


class FormReader(HTMLParser):
    """The forms of a page with their fields' values, as a browser would submit them."""

    def __init__(self) -> None:
        super().__init__()
        self.forms: list[Form] = []
        self.links: dict[str, str] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = {name: value or "" for name, value in attrs}
        if tag == "form":
            self.forms.append(Form(attributes["action"]))
        elif tag == "input" and self.forms:
            self.forms[-1].fields[attributes["name"]] = attributes.get("value", "")
        elif tag == "a" and "id" in attributes:
            self.links[attributes["id"]] = attributes["href"]


def read_page(html: str) -> FormReader:
    reader = FormReader()
    reader.feed(html)
    return reader


@dataclass
class Run:
    """One ``register`` run in this loop, its local page's URL, and what it printed."""

    task: asyncio.Task[int]
    local: str
    env_file: Path

    async def exit_code(self) -> int:
        async with asyncio.timeout(30):
            return await self.task


def options(github: FakeGitHub, tmp_path: Path, **overrides: Any) -> RegisterOptions:
    chosen: dict[str, Any] = {
        "site": GitHubSite.of(github.web_url),
        "org": None,
        "webhook_url": HOOK,
        "port": free_port(),
        "env_file": tmp_path / ".env",
        "force": False,
        "app_yaml": APP_YAML,
    }
    chosen.update(overrides)
    return RegisterOptions(**chosen)


@asynccontextmanager
async def running(chosen: RegisterOptions) -> AsyncIterator[Run]:
    task = asyncio.create_task(register(chosen))
    local = f"http://127.0.0.1:{chosen.port}"
    deadline = time.monotonic() + 10
    async with aiohttp.ClientSession() as probe:
        while not task.done():
            try:
                async with probe.get(local + "/") as answer:
                    if answer.status == 200:
                        break
            except aiohttp.ClientError:
                assert time.monotonic() < deadline, "the local page never came up"
                await asyncio.sleep(0.02)
    try:
        yield Run(task, local, chosen.env_file)
    finally:
        task.cancel()


async def confirm_on_github(session: aiohttp.ClientSession, run: Run) -> tuple[Form, str]:
    """Submit the local page's form to GitHub, then GitHub's confirmation; returns the local form and the
    redirect GitHub answers with (not followed)."""
    async with session.get(run.local + "/") as page:
        local_form = read_page(await page.text()).forms[0]
    async with session.post(local_form.action, data=local_form.fields) as page:
        assert page.status == 200, await page.text()
        github_form = read_page(await page.text()).forms[0]
    create = urlsplit(local_form.action)._replace(path=github_form.action, query="").geturl()
    async with session.post(create, data=github_form.fields, allow_redirects=False) as answer:
        assert answer.status == 302
        return local_form, answer.headers["Location"]


async def test_registration_writes_a_private_env_file_that_serve_accepts_and_prints_the_install_url(
    github: FakeGitHub, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    async with running(options(github, tmp_path)) as run, aiohttp.ClientSession() as browser:
        local_form, redirect = await confirm_on_github(browser, run)
        async with browser.get(redirect) as done:
            assert done.status == 200
            install = read_page(await done.text()).links["install"]
        assert await run.exit_code() == 0

    manifest = json.loads(local_form.fields["manifest"])
    assert manifest["hook_attributes"] == {"url": HOOK, "active": True}
    assert manifest["redirect_url"] == run.local + "/callback"
    assert manifest["default_permissions"]["issues"] == "write"
    assert "state" in parse_qs(urlsplit(local_form.action).query)
    assert urlsplit(local_form.action).path == "/settings/apps/new"

    (conversion,) = github.calls("POST", "/app-manifests/")
    assert conversion.status == 201 and "Authorization" not in conversion.headers
    created = github.world.apps[max(github.world.apps)]
    assert stat.S_IMODE(os.stat(run.env_file).st_mode) == 0o600
    values = read_env_file(run.env_file)
    settings = Settings.from_env(values)
    assert settings.app_id == created.app_id
    written_key = serialization.load_pem_private_key(settings.private_key_pem, password=None)
    public = written_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    assert public == created.public_key_pem
    # A GitHub that is not github.com is laid out as GitHub Enterprise Server: its API under /api/v3.
    assert settings.api_url == github.web_url + "/api/v3"

    html_url = f"{github.web_url}/apps/issue-status-bot"
    assert install == html_url + "/installations/new"
    printed = capsys.readouterr()
    assert printed.out.splitlines()[-1] == f"Install it on your repositories: {html_url}/installations/new"
    for secret in (values["GITHUB_WEBHOOK_SECRET"], values["GITHUB_PRIVATE_KEY"].splitlines()[1]):
        assert secret not in printed.out + printed.err


async def test_an_organisations_app_is_registered_on_its_page_and_api_url_overrides_the_layout(
    github: FakeGitHub, tmp_path: Path
) -> None:
    site = GitHubSite.of(github.web_url, github.url)
    async with running(options(github, tmp_path, org="acme", site=site)) as run, aiohttp.ClientSession() as b:
        local_form, redirect = await confirm_on_github(b, run)
        async with b.get(redirect) as done:
            assert done.status == 200
        assert await run.exit_code() == 0
    assert urlsplit(local_form.action).path == "/organizations/acme/settings/apps/new"
    (conversion,) = github.calls("POST", "/app-manifests/")
    assert conversion.origin == "api"
    assert github.world.apps  # the App exists on the fake
    assert read_env_file(run.env_file)["GITHUB_API_URL"] == github.url


async def test_an_existing_env_file_is_kept_and_nothing_registered_without_force(
    github: FakeGitHub, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    existing = tmp_path / ".env"
    existing.write_text("GITHUB_APP_ID=1\n")
    assert await register(options(github, tmp_path)) == 1
    assert "exists: pass --force" in capsys.readouterr().err
    assert existing.read_text() == "GITHUB_APP_ID=1\n"
    assert github.requests == []

    async with running(options(github, tmp_path, force=True)) as run, aiohttp.ClientSession() as browser:
        _, redirect = await confirm_on_github(browser, run)
        async with browser.get(redirect):
            pass
        assert await run.exit_code() == 0
    assert read_env_file(existing)["GITHUB_APP_ID"] != "1"
    assert stat.S_IMODE(os.stat(existing).st_mode) == 0o600


@pytest.mark.parametrize("spoiled_by", ["an hour passing", "a first exchange"])
async def test_a_code_github_no_longer_accepts_is_a_clear_error_and_writes_nothing(
    github: FakeGitHub, tmp_path: Path, capsys: pytest.CaptureFixture[str], spoiled_by: str
) -> None:
    async with running(options(github, tmp_path)) as run, aiohttp.ClientSession() as browser:
        _, redirect = await confirm_on_github(browser, run)
        if spoiled_by == "an hour passing":
            github.advance(3600)
        else:
            code = parse_qs(urlsplit(redirect).query)["code"][0]
            headers = {"User-Agent": "someone-else"}
            async with browser.post(f"{github.url}/app-manifests/{code}/conversions", headers=headers) as got:
                assert got.status == 201
        async with browser.get(redirect) as page:
            assert page.status == 400
            assert "valid for one hour and for one use" in await page.text()
        assert await run.exit_code() == 1
    assert "valid for one hour and for one use" in capsys.readouterr().err
    assert github.calls("POST", "/app-manifests/")[-1].status == 404
    assert not run.env_file.exists()


async def test_a_redirect_with_another_state_is_refused_without_exchanging_its_code(
    github: FakeGitHub, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    async with running(options(github, tmp_path)) as run, aiohttp.ClientSession() as browser:
        _, redirect = await confirm_on_github(browser, run)
        code = parse_qs(urlsplit(redirect).query)["code"][0]
        async with browser.get(f"{run.local}/callback", params={"code": code, "state": "forged"}) as page:
            assert page.status == 400
        assert await run.exit_code() == 1
    assert "does not belong to this run" in capsys.readouterr().err
    assert github.calls("POST", "/app-manifests/") == []
    assert not run.env_file.exists()


async def test_coming_back_without_a_code_ends_the_run_as_cancelled(
    github: FakeGitHub, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    async with running(options(github, tmp_path)) as run, aiohttp.ClientSession() as browser:
        async with browser.get(run.local + "/") as page:
            action = read_page(await page.text()).forms[0].action
        state = parse_qs(urlsplit(action).query)["state"][0]
        async with browser.get(f"{run.local}/callback", params={"state": state}) as page:
            assert page.status == 400
        assert await run.exit_code() == 1
    assert "the registration was cancelled" in capsys.readouterr().err
    assert not run.env_file.exists()


async def test_a_port_in_use_is_named_and_nothing_is_registered(
    github: FakeGitHub, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert await register(options(github, tmp_path, port=port)) == 1
    assert f"port {port} is in use" in capsys.readouterr().err
    assert github.requests == []


async def test_app_yamls_placeholder_hook_url_is_refused_before_anything_is_served(
    github: FakeGitHub, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert await register(options(github, tmp_path, webhook_url=None)) == 2
    assert "pass --webhook-url" in capsys.readouterr().err


async def test_the_fake_refuses_a_manifest_whose_events_its_permissions_do_not_cover(
    github: FakeGitHub,
) -> None:
    manifest = {"url": "https://example.org", "hook_attributes": {"url": HOOK}, "default_events": ["push"]}
    async with (
        aiohttp.ClientSession() as browser,
        browser.post(f"{github.web_url}/settings/apps/new", data={"manifest": json.dumps(manifest)}) as page,
    ):
        assert page.status == 422
    assert github.rejections[-1].reason == "default_events: push needs the contents permission"
    github.rejections.clear()  # refused on purpose


async def test_serve_reads_the_env_file_and_the_environment_wins(
    github: FakeGitHub, tmp_path: Path, private_key_pem: bytes
) -> None:
    port, other_port = free_port(), free_port()
    (tmp_path / ".env").write_text(
        "# as register writes it\n"
        "GITHUB_APP_ID=4242\n"
        f"GITHUB_PRIVATE_KEY={json.dumps(private_key_pem.decode())}\n"
        "GITHUB_WEBHOOK_SECRET=from-the-file\n"
        f"PORT={other_port}\n"
    )
    env = {name: value for name, value in os.environ.items() if not name.startswith(("GITHUB_", "BOT_"))}
    env.update(
        HOST="127.0.0.1",
        PORT=str(port),
        GITHUB_API_URL=github.url,
        BOT_STATE_DIR=str(tmp_path / "state"),
        BOT_RECONCILE_SECONDS="0",
    )
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "--log-level", "WARNING", "serve", cwd=tmp_path, env=env
    )
    try:
        async with aiohttp.ClientSession() as session:
            deadline = time.monotonic() + 20
            while True:
                assert process.returncode is None, "serve exited: it did not read the env file"
                try:
                    async with session.get(f"http://127.0.0.1:{port}/healthz") as health:
                        if health.status == 200:
                            break
                except aiohttp.ClientError:
                    assert time.monotonic() < deadline, "serve never answered on the environment's PORT"
                    await asyncio.sleep(0.05)
            body = b'{"zen": "Keep it logically awesome.", "hook_id": 1}'
            for secret, status in ((b"from-the-file", 200), (b"another secret", 401)):
                headers = signed_headers(secret, "ping", body)
                async with session.post(
                    f"http://127.0.0.1:{port}/webhook", data=body, headers=headers
                ) as got:
                    assert got.status == status
    finally:
        process.terminate()
        await process.wait()


async def test_the_fakes_conversion_answer_satisfies_githubs_schema_and_its_key_signs_for_the_app(
    github: FakeGitHub,
) -> None:
    manifest = {
        "name": "My Bot",
        "url": "https://example.org",
        "hook_attributes": {"url": HOOK},
        "redirect_url": "http://127.0.0.1:9/callback",
        "default_permissions": {"issues": "write"},
        "default_events": ["issues"],
    }
    fields = {"manifest": json.dumps(manifest), "org": "", "state": "s", "name": "My Bot"}
    async with aiohttp.ClientSession() as browser:
        create = f"{github.web_url}/settings/apps/create-from-manifest"
        async with browser.post(create, data=fields, allow_redirects=False) as answer:
            location = urlsplit(answer.headers["Location"])
        assert parse_qs(location.query)["state"] == ["s"]
        code = parse_qs(location.query)["code"][0]
        headers = {"User-Agent": "test"}
        async with browser.post(f"{github.url}/app-manifests/{code}/conversions", headers=headers) as got:
            status, app = got.status, await got.json()
    operation = SUBSET.match("POST", f"/app-manifests/{code}/conversions")
    assert operation is not None
    validator = operation.response_validator(status)
    assert validator is not None and list(validator.iter_errors(app)) == []
    assert (app["slug"], app["permissions"]) == ("my-bot", {"metadata": "read", "issues": "write"})
    assert github.world.apps[app["id"]].slug == "my-bot"
