"""Settings are read once at start-up; a bad one stops the server with exit code 2 and its name."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.cli import main
from bot.settings import DEFAULT_API_URL, Settings, SettingsError


@pytest.fixture
def env(private_key_pem: bytes) -> dict[str, str]:
    return {
        "GITHUB_APP_ID": "4242",
        "GITHUB_PRIVATE_KEY": private_key_pem.decode(),
        "GITHUB_WEBHOOK_SECRET": "s3cr3t-value",
    }


def test_defaults_apply_when_only_the_required_settings_are_given(env: dict[str, str]) -> None:
    settings = Settings.from_env(env)
    assert settings.app_id == 4242
    assert settings.api_url == DEFAULT_API_URL
    assert (settings.host, settings.port) == ("0.0.0.0", 8080)
    assert settings.state_dir == Path("./var")
    assert settings.webhook_secret == b"s3cr3t-value"
    assert settings.github_write_interval == 1.0


@pytest.mark.parametrize(("raw", "seconds"), [("0", 0.0), ("0.25", 0.25), (" 2 ", 2.0)])
def test_write_interval_is_read_in_seconds(env: dict[str, str], raw: str, seconds: float) -> None:
    env["GITHUB_WRITE_INTERVAL"] = raw
    assert Settings.from_env(env).github_write_interval == seconds


def test_private_key_can_come_from_a_file(
    env: dict[str, str], tmp_path: Path, private_key_pem: bytes
) -> None:
    key_file = tmp_path / "app.pem"
    key_file.write_bytes(private_key_pem)
    del env["GITHUB_PRIVATE_KEY"]
    env["GITHUB_PRIVATE_KEY_PATH"] = str(key_file)
    assert Settings.from_env(env).private_key_pem == private_key_pem


def test_a_one_line_key_with_escaped_newlines_is_accepted(env: dict[str, str]) -> None:
    env["GITHUB_PRIVATE_KEY"] = env["GITHUB_PRIVATE_KEY"].replace("\n", "\\n")
    Settings.from_env(env)


def test_enterprise_api_url_is_kept_without_trailing_slash(env: dict[str, str]) -> None:
    env["GITHUB_API_URL"] = "https://ghes.example.com/api/v3/"
    assert Settings.from_env(env).api_url == "https://ghes.example.com/api/v3"


@pytest.mark.parametrize(
    ("change", "named"),
    [
        ({"GITHUB_APP_ID": None}, "GITHUB_APP_ID"),
        ({"GITHUB_APP_ID": "abc"}, "GITHUB_APP_ID"),
        ({"GITHUB_APP_ID": "-3"}, "GITHUB_APP_ID"),
        ({"GITHUB_PRIVATE_KEY": None}, "GITHUB_PRIVATE_KEY"),
        ({"GITHUB_PRIVATE_KEY": "not a key"}, "GITHUB_PRIVATE_KEY"),
        ({"GITHUB_PRIVATE_KEY_PATH": "/nonexistent/key.pem"}, "GITHUB_PRIVATE_KEY"),
        ({"GITHUB_WEBHOOK_SECRET": None}, "GITHUB_WEBHOOK_SECRET"),
        ({"GITHUB_WEBHOOK_SECRET": ""}, "GITHUB_WEBHOOK_SECRET"),
        (
            {"GITHUB_WEBHOOK_SECRET": None, "GITHUB_WEBHOOK_SECRET_PREVIOUS": "old-value"},
            "GITHUB_WEBHOOK_SECRET",
        ),
        ({"GITHUB_API_URL": "ftp://example.com"}, "GITHUB_API_URL"),
        ({"PORT": "http"}, "PORT"),
        ({"PORT": "70000"}, "PORT"),
        ({"GITHUB_WRITE_INTERVAL": "soon"}, "GITHUB_WRITE_INTERVAL"),
        ({"GITHUB_WRITE_INTERVAL": "-1"}, "GITHUB_WRITE_INTERVAL"),
        ({"GITHUB_WRITE_INTERVAL": "nan"}, "GITHUB_WRITE_INTERVAL"),
    ],
)
def test_bad_setting_is_named_in_the_error(
    env: dict[str, str], change: dict[str, str | None], named: str
) -> None:
    for key, value in change.items():
        if value is None:
            env.pop(key, None)
        else:
            env[key] = value
    with pytest.raises(SettingsError, match=named):
        Settings.from_env(env)


def test_serve_exits_2_with_a_message_and_no_traceback(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("GITHUB_WEBHOOK_SECRET", "")
    assert main(["serve"]) == 2
    err = capsys.readouterr().err
    assert "GITHUB_WEBHOOK_SECRET" in err
    assert "Traceback" not in err


def test_only_the_current_webhook_secret_is_accepted_outside_a_rotation(env: dict[str, str]) -> None:
    assert Settings.from_env(env).webhook_secrets == (b"s3cr3t-value",)
    env["GITHUB_WEBHOOK_SECRET_PREVIOUS"] = ""
    assert Settings.from_env(env).webhook_secrets == (b"s3cr3t-value",)


def test_during_a_rotation_the_previous_secret_is_accepted_after_the_current_one(env: dict[str, str]) -> None:
    env["GITHUB_WEBHOOK_SECRET"] = "new, with a comma; and spaces "
    env["GITHUB_WEBHOOK_SECRET_PREVIOUS"] = " old,value"
    settings = Settings.from_env(env)
    assert settings.webhook_secrets == (b"new, with a comma; and spaces ", b" old,value")
    assert settings.webhook_secret == b"new, with a comma; and spaces "


def test_the_previous_secret_equal_to_the_current_one_is_an_error_without_the_value(
    env: dict[str, str],
) -> None:
    env["GITHUB_WEBHOOK_SECRET_PREVIOUS"] = env["GITHUB_WEBHOOK_SECRET"]
    with pytest.raises(SettingsError) as caught:
        Settings.from_env(env)
    assert "GITHUB_WEBHOOK_SECRET_PREVIOUS" in str(caught.value)
    assert "s3cr3t-value" not in str(caught.value)


def test_secrets_never_appear_in_errors_or_repr(env: dict[str, str]) -> None:
    env["GITHUB_WEBHOOK_SECRET_PREVIOUS"] = "previous-s3cr3t"
    settings = Settings.from_env(env)
    assert "s3cr3t-value" not in repr(settings)
    assert "previous-s3cr3t" not in repr(settings)
    assert "PRIVATE KEY" not in repr(settings)
    env["GITHUB_PRIVATE_KEY"] = "-----BEGIN RSA PRIVATE KEY-----\nsecretstuff\n-----END RSA PRIVATE KEY-----"
    with pytest.raises(SettingsError) as caught:
        Settings.from_env(env)
    assert "secretstuff" not in str(caught.value)
