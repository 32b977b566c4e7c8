"""Installations through the real server: a gone installation is parked with its reason, not read as "no
config file"; the App key is parsed once; the minting lock table empties itself."""

from __future__ import annotations

import jwt.algorithms
import pytest

from bot.intake.server import TRACKERS, WORKERS
from bot.testing.deliveries import check_run_completed
from tests.harness import BRANCH, INSTALLATION_ID, BotHarness, sha_of, summary

UNKNOWN_INSTALLATION = 31337


async def _delivery_for(bot: BotHarness, installation_id: int, repository: dict[str, object]) -> str:
    run = bot.fake.add_check_run(
        str(repository["full_name"]),
        sha_of(f"commit for {installation_id}"),
        "tests",
        conclusion="success",
        output={"title": "pytest", "summary": summary(1, 99)},
        head_branch=BRANCH,
    )
    payload = check_run_completed(repository, run, installation_id=installation_id, head_branch=BRANCH)
    delivery_id = f"delivery-{installation_id}-{run['id']}"
    await bot.send("check_run", payload, delivery_id=delivery_id)
    return delivery_id


def _expect_refused_mint(bot: BotHarness) -> None:
    """The fake answered 404 to the mint, as GitHub does; only that was refused."""
    assert [(r.status, r.path) for r in bot.fake.rejections] == [
        (404, f"/app/installations/{UNKNOWN_INSTALLATION}/access_tokens")
    ]
    bot.fake.rejections.clear()


async def test_a_gone_installation_is_parked_with_the_reason_and_a_missing_config_is_not(
    bot: BotHarness, caplog: pytest.LogCaptureFixture
) -> None:
    bare = bot.fake.add_repository("platform-wrapper/no-config", default_branch=BRANCH)
    bot.fake.add_installation(INSTALLATION_ID + 1, ["platform-wrapper/no-config"])

    no_config = await _delivery_for(bot, INSTALLATION_ID + 1, bare)
    gone = await _delivery_for(bot, UNKNOWN_INSTALLATION, bot.repository)

    journal = bot.app[WORKERS].journal
    nothing_to_track = await journal.get(no_config)
    assert nothing_to_track is not None
    assert (nothing_to_track.status, nothing_to_track.last_error) == ("done", None)
    parked = await journal.get(gone)
    assert parked is not None
    assert parked.status == "dead"
    assert parked.attempts == 1  # at once: retrying cannot help until the App is installed again
    assert parked.last_error is not None
    assert f"installation {UNKNOWN_INSTALLATION} is gone" in parked.last_error
    assert "404" in parked.last_error
    assert any(
        str(UNKNOWN_INSTALLATION) in r.getMessage() for r in caplog.records if r.levelname == "WARNING"
    )
    # Nothing of the repository was read as another installation, nor written.
    assert not any(r.path.startswith(f"/repos/{bot.repository['full_name']}/") for r in bot.fake.requests)
    _expect_refused_mint(bot)


async def test_the_app_key_is_parsed_once_not_for_every_token(
    bot: BotHarness, monkeypatch: pytest.MonkeyPatch
) -> None:
    parsed: list[int] = []
    load = jwt.algorithms.load_pem_private_key

    def counting(data: bytes, *args: object, **kwargs: object) -> object:
        if b"PRIVATE KEY" in data:  # the fake GitHub reads the App's public key through here too
            parsed.append(1)
        return load(data, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(jwt.algorithms, "load_pem_private_key", counting)
    for number in range(3):  # three installations: three tokens minted, three JWTs signed
        name = f"platform-wrapper/other-{number}"
        other = bot.fake.add_repository(name, default_branch=BRANCH)
        bot.fake.add_installation(INSTALLATION_ID + 10 + number, [name])
        await _delivery_for(bot, INSTALLATION_ID + 10 + number, other)

    assert bot.tokens_minted >= 3
    assert parsed == []


async def test_the_minting_lock_table_empties_once_tokens_are_minted(bot: BotHarness) -> None:
    for number in range(20):
        name = f"platform-wrapper/many-{number}"
        other = bot.fake.add_repository(name, default_branch=BRANCH)
        bot.fake.add_installation(INSTALLATION_ID + 100 + number, [name])
        await _delivery_for(bot, INSTALLATION_ID + 100 + number, other)
    await _delivery_for(bot, UNKNOWN_INSTALLATION, bot.repository)
    _expect_refused_mint(bot)

    tokens = bot.app[TRACKERS].github.tokens
    assert tokens.minted >= 20
    assert tokens.minting == 0
