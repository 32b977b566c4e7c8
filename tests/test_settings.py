"""Settings are read once at start-up; a bad one stops the server with exit code 2 and its name."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from bot.ops.cli import main
from bot.settings import DEFAULT_API_URL, Settings, SettingsError, default_intake_processes, usable_cpus


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


@pytest.mark.parametrize(("cpus", "processes"), [(None, 0), (1, 0), (2, 2), (4, 4), (64, 4)])
def test_intake_processes_default_to_one_per_cpu_on_two_cpus_or_more(
    cpus: int | None, processes: int
) -> None:
    assert default_intake_processes(cpus) == processes


@pytest.mark.parametrize(("raw", "processes"), [("0", 0), (" 3 ", 3), ("16", 16)])
def test_intake_processes_can_be_set(env: dict[str, str], raw: str, processes: int) -> None:
    env["BOT_INTAKE_PROCESSES"] = raw
    assert Settings.from_env(env).intake_processes == processes


@pytest.mark.parametrize("raw", ["-1", "17", "two", "1.5"])
def test_intake_processes_out_of_range_are_refused_by_name(env: dict[str, str], raw: str) -> None:
    env["BOT_INTAKE_PROCESSES"] = raw
    with pytest.raises(SettingsError, match="BOT_INTAKE_PROCESSES must be a whole number from 0 to 16"):
        Settings.from_env(env)


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


# --- BOT_STATE_DIR and LOG_FORMAT --------------------------------------------------------------------------


def a_file(tmp: Path) -> Path:
    (tmp / "a-file").write_text("")
    return tmp / "a-file"


@pytest.mark.parametrize(
    ("make", "says"),
    [(lambda tmp: tmp / "missing" / "state", "does not exist"), (a_file, "is not a directory")],
    ids=["missing parent", "a file"],
)
def test_an_unusable_state_dir_is_named_with_the_fix(
    env: dict[str, str], tmp_path: Path, make: Callable[[Path], Path], says: str
) -> None:
    env["BOT_STATE_DIR"] = str(make(tmp_path))
    with pytest.raises(SettingsError) as caught:
        Settings.from_env(env)
    message = str(caught.value)
    assert message.startswith(f"BOT_STATE_DIR ({tmp_path}")
    assert says in message and "point BOT_STATE_DIR elsewhere" in message


def test_a_state_dir_that_does_not_exist_yet_is_fine_when_it_can_be_created(
    env: dict[str, str], tmp_path: Path
) -> None:
    env["BOT_STATE_DIR"] = str(tmp_path / "state")
    assert Settings.from_env(env).state_dir == tmp_path / "state"


def test_serve_with_a_state_dir_owned_by_another_user_exits_2_with_one_line(
    env: dict[str, str], tmp_path: Path
) -> None:
    """The container case: a bind mount owned by root while the image runs as uid 10001."""
    mount = tmp_path / "mount"
    mount.mkdir()
    command = [sys.executable, "-m", "bot", "serve"]
    if os.geteuid() == 0:
        # Root may write anywhere: owned by someone else, and without that privilege, it may not.
        if shutil.which("setpriv") is None:
            pytest.skip("running as root without setpriv (util-linux) to drop CAP_DAC_OVERRIDE")
        os.chown(mount, 65534, 65534)
        command = ["setpriv", "--bounding-set", "-dac_override", *command]
    else:
        mount.chmod(0o555)
    result = subprocess.run(
        command,
        env={**os.environ, **env, "BOT_STATE_DIR": str(mount), "PORT": "9"},
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"issue-status-bot: BOT_STATE_DIR ({mount}) is not writable: ")
    assert "chown" in lines[0]


def test_an_unknown_log_format_exits_2_naming_it(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("LOG_FORMAT", "xml")
    assert main(["serve"]) == 2
    assert capsys.readouterr().err == "issue-status-bot: LOG_FORMAT must be one of text, json\n"


@pytest.mark.parametrize(
    ("cpu_max", "at_most"),
    [
        ("150000 100000\n", 1),
        ("200000 100000\n", 2),
        ("50000 100000\n", 1),
        ("max 100000\n", None),
        ("junk", None),
    ],
)
def test_a_containers_cpu_quota_limits_the_cpus_counted(
    tmp_path: Path, cpu_max: str, at_most: int | None
) -> None:
    quota = tmp_path / "cpu.max"
    quota.write_text(cpu_max)
    affinity = len(os.sched_getaffinity(0))
    assert usable_cpus(quota) == (affinity if at_most is None else min(affinity, at_most))
    assert usable_cpus(tmp_path / "absent") == affinity
