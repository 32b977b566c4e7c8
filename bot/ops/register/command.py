"""The ``register`` command: serve the local page, wait for GitHub's redirect, exchange the code, write the
env file, print where to install the App.

The env file is checked before anything is registered: GitHub shows a private key once, so a run that
could not save it would leave an App nobody can use.
"""

from __future__ import annotations

import argparse
import asyncio
import errno
import secrets
import socket
import sys
from dataclasses import dataclass
from html import escape
from pathlib import Path

import aiohttp
from aiohttp import web

from bot.ops.env_file import write_env_file
from bot.ops.register.exchange import ExchangeFailed, NewApp, convert_code
from bot.ops.register.local_page import CALLBACK_PATH, FlowFailed, local_app
from bot.ops.register.manifest import (
    GITHUB_COM,
    GITHUB_COM_API,
    GitHubSite,
    ManifestError,
    build_manifest,
    install_url,
)

EXIT_FAILED = 1
EXIT_BAD_OPTIONS = 2
EXIT_INTERRUPTED = 130
LOCAL_HOST = "127.0.0.1"  # the page is for this machine's browser only
DEFAULT_PORT = 3000
# app.yaml of the working directory, else the one of the checkout this package runs from.
CHECKOUT_APP_YAML = Path(__file__).resolve().parents[3] / "app.yaml"


@dataclass(frozen=True)
class RegisterOptions:
    site: GitHubSite
    org: str | None
    webhook_url: str | None
    port: int
    env_file: Path
    force: bool
    app_yaml: Path


def add_register_command(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = commands.add_parser(
        "register",
        help="register the GitHub App from app.yaml in your browser; its credentials go to an env file",
    )
    parser.add_argument("--github-url", default=GITHUB_COM, help="GitHub or a GitHub Enterprise Server")
    parser.add_argument("--api-url", help="its REST API (default: api.github.com, or GHES's /api/v3)")
    parser.add_argument("--org", metavar="ORG", help="register the App under this organisation")
    parser.add_argument("--webhook-url", help="the URL GitHub delivers webhooks to (default: app.yaml's)")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help="port of the local page (0: any)")
    parser.add_argument("--env-file", type=Path, default=Path(".env"), help="where the credentials go")
    parser.add_argument("--force", action="store_true", help="overwrite an existing env file")
    parser.add_argument("--app-yaml", type=Path, help="the manifest (default: ./app.yaml, or the checkout's)")


def run_register(args: argparse.Namespace) -> int:
    try:
        site = GitHubSite.of(args.github_url, args.api_url)
    except ManifestError as error:
        return _fail(str(error), EXIT_BAD_OPTIONS)
    app_yaml = args.app_yaml or (Path("app.yaml") if Path("app.yaml").is_file() else CHECKOUT_APP_YAML)
    options = RegisterOptions(
        site, args.org, args.webhook_url, args.port, args.env_file, args.force, app_yaml
    )
    try:
        return asyncio.run(register(options))
    except KeyboardInterrupt:
        return _fail("cancelled; nothing was written", EXIT_INTERRUPTED)


def _fail(message: str, code: int = EXIT_FAILED) -> int:
    print(f"issue-status-bot register: {message}", file=sys.stderr)
    return code


async def register(options: RegisterOptions) -> int:
    """Run the manifest flow once; 0 when the App is registered and its credentials are written."""
    if options.env_file.exists() and not options.force:
        return _fail(
            f"{options.env_file} exists: pass --force to replace it, or --env-file to write elsewhere"
        )
    try:
        app_yaml = options.app_yaml.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        return _fail(f"cannot read the manifest {options.app_yaml} ({error})", EXIT_BAD_OPTIONS)
    try:
        listener = _listen(options.port)
    except OSError as error:
        if error.errno == errno.EADDRINUSE:
            return _fail(f"port {options.port} is in use by another program: pass --port with a free one")
        return _fail(f"cannot listen on {LOCAL_HOST}:{options.port} ({error.strerror})")
    local = f"http://{LOCAL_HOST}:{listener.getsockname()[1]}"
    try:
        manifest = build_manifest(
            app_yaml, webhook_url=options.webhook_url, redirect_url=local + CALLBACK_PATH
        )
    except ManifestError as error:
        listener.close()
        return _fail(str(error), EXIT_BAD_OPTIONS)
    state = secrets.token_urlsafe(32)
    outcome: asyncio.Future[NewApp] = asyncio.get_running_loop().create_future()
    async with aiohttp.ClientSession() as session:

        async def on_code(code: str) -> str:
            try:
                new_app = await convert_code(session, options.site.api, code)
            except ExchangeFailed as error:
                raise FlowFailed(str(error)) from None
            _save(new_app, options)
            outcome.set_result(new_app)
            url = install_url(new_app.html_url)
            return (
                f"<p>{escape(new_app.name)} is registered; its credentials are in"
                f" <code>{escape(str(options.env_file))}</code>.</p>\n"
                f'<p><a id="install" href="{escape(url)}">Install it on your repositories</a></p>'
            )

        def on_failure(message: str) -> None:
            if not outcome.done():
                outcome.set_exception(FlowFailed(message))

        application = local_app(
            options.site.new_app_page(options.org, state), manifest, state, on_code, on_failure
        )
        runner = web.AppRunner(application, access_log=None)
        await runner.setup()
        await web.SockSite(runner, listener).start()
        where = f"the organisation {options.org} on " if options.org else ""
        print(
            f"Open {local}/ in your browser to register the GitHub App on {where}{options.site.web}"
            " (Ctrl-C to cancel).",
            flush=True,  # the person (or a script) waits for this line while the command runs on
        )
        try:
            new_app = await outcome
        except FlowFailed as error:
            return _fail(str(error))
        finally:
            await runner.cleanup()  # lets the last page finish before the server goes
    print(
        f"Registered the GitHub App {new_app.name} (id {new_app.app_id});"
        f" its credentials are in {options.env_file}, readable only by you."
    )
    if not new_app.webhook_secret:
        print(
            "GitHub generated no webhook secret: set one in the App's settings and add GITHUB_WEBHOOK_SECRET."
        )
    print(f"Install it on your repositories: {install_url(new_app.html_url)}")
    return 0


def _listen(port: int) -> socket.socket:
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as aiohttp does; not a shared port
        listener.bind((LOCAL_HOST, port))
        listener.listen()
    except OSError:
        listener.close()
        raise
    return listener


def _save(new_app: NewApp, options: RegisterOptions) -> None:
    variables = {
        "GITHUB_APP_ID": str(new_app.app_id),
        "GITHUB_PRIVATE_KEY": new_app.private_key_pem,
        "GITHUB_WEBHOOK_SECRET": new_app.webhook_secret,
    }
    if options.site.api != GITHUB_COM_API:
        variables["GITHUB_API_URL"] = options.site.api
    header = (
        f"Written by `issue-status-bot register` for the GitHub App {new_app.name} ({new_app.html_url}).\n"
        "It holds the App's private key and webhook secret: keep it private and out of version control."
    )
    try:
        write_env_file(options.env_file, variables, header=header, overwrite=options.force)
    except OSError as error:
        reason = "it appeared meanwhile" if isinstance(error, FileExistsError) else error.strerror
        raise FlowFailed(
            f"GitHub created the App {new_app.name} but {options.env_file} could not be written ({reason}):"
            " generate a new private key in its settings (Developer settings > GitHub Apps) and set the"
            " settings by hand"
        ) from None
