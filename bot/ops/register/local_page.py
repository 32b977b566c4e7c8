"""The page on localhost the browser passes through: its form posts the manifest to GitHub, and GitHub
redirects back to ``/callback`` with the code.

Only loopback listens, there is no access log (the code in the callback's query is worth a private key for
an hour), and ``state`` must come back as sent, so no other page can make this command register its App.
"""

from __future__ import annotations

import hmac
import json
from collections.abc import Awaitable, Callable
from html import escape
from typing import Any

from aiohttp import web

CALLBACK_PATH = "/callback"

# Runs the exchange for a code whose state matched; returns the HTML to show, or raises FlowFailed.
CodeHandler = Callable[[str], Awaitable[str]]


class FlowFailed(Exception):
    """The flow cannot go on (cancelled, a foreign redirect, a refused code); the message is for people."""


def _page(title: str, body: str, status: int = 200) -> web.Response:
    html = (
        "<!doctype html>\n<html lang=en><head><meta charset=utf-8>"
        f"<title>{escape(title)}</title></head>\n<body>\n<h1>{escape(title)}</h1>\n{body}\n</body></html>\n"
    )
    return web.Response(
        status=status, text=html, content_type="text/html", headers={"Cache-Control": "no-store"}
    )


def form_page(form_action: str, manifest: dict[str, Any]) -> web.Response:
    """A form GitHub's page accepts: the manifest as JSON in the ``manifest`` field."""
    hook = manifest["hook_attributes"]["url"]
    body = (
        f"<p>This registers <b>{escape(str(manifest.get('name', '')))}</b> on"
        f" <code>{escape(form_action.split('/settings/', 1)[0])}</code>;"
        f" its webhooks will go to <code>{escape(str(hook))}</code>.</p>\n"
        f'<form action="{escape(form_action)}" method="post">\n'
        f'<input type="hidden" name="manifest" value="{escape(json.dumps(manifest))}">\n'
        '<button type="submit" id="register">Register the GitHub App</button>\n</form>'
    )
    return _page("Register the GitHub App", body)


def local_app(
    form_action: str,
    manifest: dict[str, Any],
    state: str,
    on_code: CodeHandler,
    on_failure: Callable[[str], None],
) -> web.Application:
    """The two routes of the flow; the first callback ends it, whatever it brought."""
    finished = False

    async def show_form(request: web.Request) -> web.Response:
        return form_page(form_action, manifest)

    async def callback(request: web.Request) -> web.Response:
        nonlocal finished
        if finished:
            return _page(
                "Registration already finished", "<p>See the terminal that ran the command.</p>", 409
            )
        finished = True
        code, returned_state = request.query.get("code", ""), request.query.get("state", "")
        try:
            if not hmac.compare_digest(returned_state.encode(), state.encode()):
                raise FlowFailed(
                    "the page GitHub sent back does not belong to this run (its state does not match): it may"
                    " come from an earlier run or another site. Nothing was written; if GitHub created an App"
                    " there, delete it in your GitHub settings, then run the command again"
                )
            if not code:
                raise FlowFailed(
                    "GitHub sent the browser back without a code: the registration was cancelled"
                )
            done = await on_code(code)
        except FlowFailed as error:
            on_failure(str(error))
            return _page("Registration failed", f"<p>{escape(str(error))}.</p>", 400)
        except Exception as error:  # a bug must end the run too, not leave it waiting for nothing
            on_failure(f"the registration failed unexpectedly ({error.__class__.__name__})")
            raise
        return _page("GitHub App registered", done)

    application = web.Application()
    application.router.add_get("/", show_form)
    application.router.add_get(CALLBACK_PATH, callback)
    return application
