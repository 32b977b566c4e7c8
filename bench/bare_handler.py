"""The floor for intake in Python: an aiohttp handler doing only what any receiver must, storing nothing.

    .venv/bin/python bench/bare_handler.py PORT SECRET [asyncio|uvloop]

``POST /webhook``: the body's HMAC-SHA256 checked against ``X-Hub-Signature-256`` (401 otherwise), the
body parsed with orjson (400 if it is not JSON), then 202. No journal, no routing, no metrics: what the
bot does beyond this is its own work per delivery (``bench/intake.py`` runs the three side by side).
Prints ``bare-handler listening on PORT`` once it accepts connections.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import sys

import orjson
from aiohttp import web

_ACCEPTED = b'{"msg": "accepted"}'


def make_app(secret: bytes) -> web.Application:
    async def webhook(request: web.Request) -> web.Response:
        body = await request.read()
        claimed = request.headers.get("X-Hub-Signature-256", "")
        expected = "sha256=" + hmac.digest(secret, body, hashlib.sha256).hex()
        if not hmac.compare_digest(claimed, expected):
            return web.Response(status=401)
        try:
            orjson.loads(body)
        except orjson.JSONDecodeError:
            return web.Response(status=400)
        return web.Response(body=_ACCEPTED, status=202, content_type="application/json")

    app = web.Application()
    app.router.add_post("/webhook", webhook)
    return app


async def serve(port: int, secret: bytes) -> None:
    runner = web.AppRunner(make_app(secret), access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    print(f"bare-handler listening on {port}", flush=True)
    try:
        await asyncio.Event().wait()  # until SIGTERM (the default action ends the process)
    finally:
        await runner.cleanup()


if __name__ == "__main__":
    if sys.argv[3:] == ["uvloop"]:
        import uvloop

        uvloop.install()
    asyncio.run(serve(int(sys.argv[1]), sys.argv[2].encode()))
