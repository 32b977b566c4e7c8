"""The env file ``register`` writes and ``serve`` reads: values survive the round trip; Probot's read."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from bot.ops.env_file import EnvFileError, read_env_file, with_env_file, write_env_file
from bot.ops.register.manifest import GitHubSite

PEM = "-----BEGIN RSA PRIVATE KEY-----\nMIIBOgIBAAJBAK+/x\n-----END RSA PRIVATE KEY-----\n"


@pytest.mark.parametrize(
    "value", [PEM, "hex0123abcdef", 'with spaces and "quotes" and \\ and $HOME', "", "a#b", " padded "]
)
def test_every_value_reads_back_as_written(tmp_path: Path, value: str) -> None:
    path = tmp_path / ".env"
    write_env_file(path, {"VALUE": value, "AFTER": "x"}, header="a header\nof two lines", overwrite=False)
    assert read_env_file(path) == {"VALUE": value, "AFTER": "x"}
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert len(path.read_text().splitlines()) == 4  # a PEM stays on its line


def test_an_existing_file_is_replaced_only_when_asked(tmp_path: Path) -> None:
    path = tmp_path / ".env"
    path.write_text("KEEP=me\n")
    with pytest.raises(FileExistsError):
        write_env_file(path, {"NEW": "1"}, header="", overwrite=False)
    assert read_env_file(path) == {"KEEP": "me"}
    write_env_file(path, {"NEW": "1"}, header="", overwrite=True)
    assert read_env_file(path) == {"NEW": "1"}
    assert sorted(p.name for p in tmp_path.iterdir()) == [".env"]  # no scratch file left behind


def test_probots_multi_line_key_exports_comments_and_single_quotes_read(tmp_path: Path) -> None:
    path = tmp_path / ".env"
    path.write_text(
        '# Probot\nexport APP_ID=12\n\nPRIVATE_KEY="-----BEGIN RSA PRIVATE KEY-----\nMIIB\n'
        "-----END RSA PRIVATE KEY-----\n\"\nWEBHOOK_SECRET='s3cr#t \\n' \n"
        "LOG_LEVEL=debug # trailing comment\n"
    )
    assert read_env_file(path) == {
        "APP_ID": "12",
        "PRIVATE_KEY": "-----BEGIN RSA PRIVATE KEY-----\nMIIB\n-----END RSA PRIVATE KEY-----\n",
        "WEBHOOK_SECRET": "s3cr#t \\n",
        "LOG_LEVEL": "debug",
    }


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("hunter2\n", "line 1: expected NAME=value"),
        ('A=1\nKEY="hunter2\n', "line 2: KEY's opening quote is never closed"),
    ],
)
def test_a_malformed_file_names_the_line_and_never_a_value(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / ".env"
    path.write_text(text)
    with pytest.raises(EnvFileError, match=message) as raised:
        read_env_file(path)
    assert "hunter2" not in str(raised.value)


def test_the_environment_wins_over_the_file_and_a_missing_file_adds_nothing(tmp_path: Path) -> None:
    path = tmp_path / ".env"
    path.write_text("PORT=1\nGITHUB_APP_ID=7\n")
    assert with_env_file({"PORT": "2"}, path) == {"PORT": "2", "GITHUB_APP_ID": "7"}
    assert with_env_file({"PORT": "2"}, tmp_path / "absent") == {"PORT": "2"}


@pytest.mark.parametrize(
    ("github_url", "api_url", "web", "api"),
    [
        ("https://github.com", None, "https://github.com", "https://api.github.com"),
        ("https://github.com/", None, "https://github.com", "https://api.github.com"),
        ("https://ghe.example.org/", None, "https://ghe.example.org", "https://ghe.example.org/api/v3"),
        (
            "https://ghe.example.org",
            "https://api.ghe.example.org",
            "https://ghe.example.org",
            "https://api.ghe.example.org",
        ),
    ],
)
def test_the_api_of_a_github_is_found_as_github_lays_it_out(
    github_url: str, api_url: str | None, web: str, api: str
) -> None:
    assert GitHubSite.of(github_url, api_url) == GitHubSite(web, api)
