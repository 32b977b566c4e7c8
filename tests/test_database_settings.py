"""DATABASE_URL selects the PostgreSQL journal; a malformed one stops start-up without echoing it."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.ops.cli import main
from bot.settings import Settings, SettingsError


@pytest.fixture
def env(private_key_pem: bytes) -> dict[str, str]:
    return {
        "GITHUB_APP_ID": "4242",
        "GITHUB_PRIVATE_KEY": private_key_pem.decode(),
        "GITHUB_WEBHOOK_SECRET": "s3cr3t-value",
    }


def test_without_database_url_the_journal_is_sqlite_in_the_state_directory(env: dict[str, str]) -> None:
    settings = Settings.from_env(env)
    assert settings.database_url is None
    assert settings.claim_lease_seconds == 30.0


@pytest.mark.parametrize(
    "url", ["postgresql://bot:pw@db.internal:5432/issue_status_bot", "postgres://db/bot?sslmode=require"]
)
def test_a_postgresql_url_selects_the_shared_journal(env: dict[str, str], url: str) -> None:
    env["DATABASE_URL"] = f" {url} "
    settings = Settings.from_env(env)
    assert settings.database_url == url
    assert "pw" not in repr(settings)


@pytest.mark.parametrize(
    "url", ["mysql://bot:hunter2@db/bot", "postgresql://bot:hunter2@db", "sqlite:///var/journal.sqlite3"]
)
def test_a_database_url_that_is_not_postgresql_naming_a_database_is_refused_unechoed(
    env: dict[str, str], url: str
) -> None:
    env["DATABASE_URL"] = url
    with pytest.raises(SettingsError, match="DATABASE_URL must be a PostgreSQL URL") as refused:
        Settings.from_env(env)
    assert "hunter2" not in str(refused.value)


@pytest.mark.parametrize(("raw", "valid"), [("5", True), ("0.5", False), ("soon", False)])
def test_the_claim_lease_is_a_second_or_more(env: dict[str, str], raw: str, valid: bool) -> None:
    env["BOT_CLAIM_LEASE_SECONDS"] = raw
    if valid:
        assert Settings.from_env(env).claim_lease_seconds == float(raw)
    else:
        with pytest.raises(SettingsError, match="BOT_CLAIM_LEASE_SECONDS"):
            Settings.from_env(env)


@pytest.mark.parametrize("command", [["serve"], ["reconcile"]])
def test_an_unreachable_database_stops_the_command_with_one_line_and_no_password(
    env: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    command: list[str],
) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("DATABASE_URL", "postgresql://bot:hunter2@127.0.0.1:9/journal")
    monkeypatch.setenv("BOT_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.chdir(tmp_path)  # no env file here
    assert main(command) == 1
    error = capsys.readouterr().err.strip().splitlines()
    assert error[-1].startswith(
        "issue-status-bot: cannot reach the journal's PostgreSQL at 127.0.0.1:9/journal"
    )
    assert not [line for line in error if "Traceback" in line or "hunter2" in line]
