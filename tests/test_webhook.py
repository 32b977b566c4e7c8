"""The webhook endpoint refuses everything that is not a signed delivery from GitHub, precisely."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from bot.intake.body_reading import LARGE_BODIES_BUDGET, SMALL_BODIES_BUDGET
from bot.intake.server import GITHUB, JOURNAL, create_app
from bot.intake.webhook import MAX_PAYLOAD_BYTES, BodySignature, claimed_digest, sign
from bot.settings import Settings
from bot.testing.deliveries import example, signed_headers
from tests.conftest import WEBHOOK_SECRET

GITHUB_TEST_VECTOR = (
    b"It's a Secret to Everybody",
    b"Hello, World!",
    "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17",
)


def verifies(secrets: list[bytes], chunks: list[bytes], header: str) -> bool:
    claimed = claimed_digest(header)
    assert claimed is not None
    signature = BodySignature(secrets, claimed)
    for chunk in chunks:
        signature.update(chunk)
    return signature.matches()


def test_githubs_documented_test_vector_verifies_whole_or_streamed() -> None:
    secret, body, expected = GITHUB_TEST_VECTOR
    assert sign(secret, body) == expected
    assert verifies([secret], [body], expected)
    assert verifies([secret], [body[:5], b"", body[5:]], expected)
    assert verifies([b"the new secret", secret], [body], expected)
    assert not verifies([secret], [body, b" "], expected)
    assert not verifies([b"the new secret"], [body], expected)


@pytest.mark.parametrize(
    "header",
    [None, "", "sha1=" + "0" * 40, "sha256=" + "0" * 63, "sha256=" + "0" * 65, "sha256=" + "G" * 64],
)
def test_a_malformed_signature_claims_nothing(header: str | None) -> None:
    assert claimed_digest(header) is None


@pytest.fixture
async def client(aiohttp_client: Any, offline_settings: Settings) -> TestClient:
    return await aiohttp_client(create_app(offline_settings))


async def post(client: TestClient, body: bytes, headers: dict[str, str]) -> tuple[int, dict[str, Any]]:
    async with client.post("/webhook", data=body, headers=headers) as answer:
        return answer.status, await answer.json()


def ping_body() -> bytes:
    return json.dumps(example("ping")).encode()


async def test_ping_is_answered_200(client: TestClient) -> None:
    body = ping_body()
    status, answer = await post(client, body, signed_headers(WEBHOOK_SECRET, "ping", body))
    assert (status, answer) == (200, {"msg": "pong"})


@pytest.mark.parametrize(
    "tamper",
    [
        pytest.param(lambda h: h.pop("X-Hub-Signature-256"), id="missing signature"),
        pytest.param(lambda h: h.update({"X-Hub-Signature-256": "sha256=" + "0" * 64}), id="wrong signature"),
        pytest.param(lambda h: h.update({"X-Hub-Signature-256": "garbage"}), id="malformed signature"),
        pytest.param(
            lambda h: (
                h.pop("X-Hub-Signature-256"),
                h.update({"X-Hub-Signature": "sha1=" + "0" * 40}),
            ),
            id="legacy sha1 only",
        ),
    ],
)
async def test_unsigned_or_badly_signed_delivery_is_refused_401(client: TestClient, tamper: Any) -> None:
    body = ping_body()
    headers = signed_headers(WEBHOOK_SECRET, "ping", body)
    tamper(headers)
    status, answer = await post(client, body, headers)
    assert status == 401
    assert "signature" in answer["error"].lower()
    assert (await client.server.app[JOURNAL].counts())["pending"] == 0


async def test_during_a_rotation_deliveries_signed_with_either_secret_are_accepted(
    aiohttp_client: Any, offline_settings: Settings
) -> None:
    new_secret = b"the rotated secret, with a comma"
    settings = dataclasses.replace(
        offline_settings, webhook_secret=new_secret, previous_webhook_secret=WEBHOOK_SECRET
    )
    client = await aiohttp_client(create_app(settings))
    body = ping_body()
    for secret, status in ((new_secret, 200), (WEBHOOK_SECRET, 200), (b"neither", 401)):
        assert (await post(client, body, signed_headers(secret, "ping", body)))[0] == status


async def test_body_signed_with_another_secret_is_refused_401(client: TestClient) -> None:
    body = ping_body()
    status, _ = await post(client, body, signed_headers(b"another secret", "ping", body))
    assert status == 401


@pytest.mark.parametrize("missing", ["X-GitHub-Event", "X-GitHub-Delivery"])
async def test_missing_github_header_is_refused_400(client: TestClient, missing: str) -> None:
    body = ping_body()
    headers = signed_headers(WEBHOOK_SECRET, "ping", body)
    del headers[missing]
    status, answer = await post(client, body, headers)
    assert status == 400
    assert missing in answer["error"]


@pytest.mark.parametrize("body", [b"{not json", b"[1, 2]", b"\xff\xfe", b""])
async def test_malformed_json_is_refused_400(client: TestClient, body: bytes) -> None:
    status, _ = await post(client, body, signed_headers(WEBHOOK_SECRET, "check_run", body))
    assert status == 400


async def test_payload_over_25_mib_is_refused_413(client: TestClient) -> None:
    body = b'{"x": "' + b"a" * MAX_PAYLOAD_BYTES + b'"}'
    status, _ = await post(client, body, signed_headers(WEBHOOK_SECRET, "check_run", body))
    assert status == 413


async def test_payload_just_under_25_mib_is_accepted(client: TestClient) -> None:
    payload = example("check_run.completed")  # GitHub's example has no installation: nothing to do
    payload["padding"] = "a" * (MAX_PAYLOAD_BYTES - 100_000)
    body = json.dumps(payload).encode()
    assert 1024 * 1024 < len(body) <= MAX_PAYLOAD_BYTES
    status, answer = await post(client, body, signed_headers(WEBHOOK_SECRET, "check_run", body))
    assert (status, answer) == (200, {"msg": "ignored"})


@pytest.mark.parametrize("name", ["check_run.completed", "check_suite.completed", "push", "issues.edited"])
async def test_published_example_without_installation_gets_2xx_and_no_work(
    client: TestClient, name: str
) -> None:
    payload = example(name)
    payload.pop("installation", None)
    body = json.dumps(payload).encode()
    status, _ = await post(client, body, signed_headers(WEBHOOK_SECRET, name.split(".")[0], body))
    assert status == 200
    assert (await client.server.app[JOURNAL].counts())["pending"] == 0


async def test_event_the_bot_does_not_act_on_gets_2xx(client: TestClient) -> None:
    payload = example("pull_request.opened")
    payload["installation"] = {"id": 1}
    body = json.dumps(payload).encode()
    status, answer = await post(client, body, signed_headers(WEBHOOK_SECRET, "star", body))
    assert (status, answer) == (200, {"msg": "ignored"})


async def test_healthz_reports_counts(client: TestClient) -> None:
    async with client.get("/healthz") as answer:
        assert answer.status == 200
        assert await answer.json() == {
            "status": "ok",
            "in_flight": 0,
            "processed": 0,
            "failed": 0,
            "deliveries": {"pending": 0, "done": 0, "failed": 0, "dead": 0, "in_progress": 0},
            "github_calls": {},
            "unverified_bodies": {
                "small": {"capacity": SMALL_BODIES_BUDGET, "held": 0, "peak": 0, "waiting": 0},
                "large": {"capacity": LARGE_BODIES_BUDGET, "held": 0, "peak": 0, "waiting": 0},
            },
            "intake_processes": [],  # this process takes deliveries itself
        }


async def test_healthz_reports_github_calls_by_operation_and_status(client: TestClient) -> None:
    calls = client.app[GITHUB].calls
    calls.record("GET /repos/{owner}/{repo}/issues/{number}", 200)
    calls.record("GET /repos/{owner}/{repo}/issues/{number}", 304)
    async with client.get("/healthz") as answer:
        reported = (await answer.json())["github_calls"]
    assert reported == {"GET /repos/{owner}/{repo}/issues/{number}": {"200": 1, "304": 1}}
