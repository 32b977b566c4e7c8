"""Settings from the environment, read and validated once at start-up.

A missing or malformed setting stops the process with a message naming it (exit code 2), never a traceback,
and never echoes a secret's value.
"""

from __future__ import annotations

import math
import os
import stat
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey
from cryptography.hazmat.primitives.serialization import load_pem_private_key

from bot.logs import LOG_FORMATS, LogFormat

DEFAULT_API_URL = "https://api.github.com"


class SettingsError(Exception):
    """A setting is missing or malformed; the message names it and never contains its value."""


@dataclass(frozen=True)
class Settings:
    app_id: int
    private_key_pem: bytes = field(repr=False)
    webhook_secret: bytes = field(repr=False)
    # Still accepted while a rotated secret reaches every sender (README: "Rotating the webhook secret").
    previous_webhook_secret: bytes | None = field(default=None, repr=False)
    api_url: str = DEFAULT_API_URL
    host: str = "0.0.0.0"
    port: int = 8080
    state_dir: Path = Path("./var")
    github_write_interval: float = 1.0  # seconds between writes per installation (GitHub's guidance)
    coalesce_seconds: float = 1.0  # how long a repository's burst of deliveries is gathered before work
    reconcile_seconds: float = 3600.0  # how often trackers are recomputed from GitHub; 0 never
    # Signs the tracker state kept in each issue; None: one is generated once and kept in the journal.
    state_key: bytes | None = field(default=None, repr=False)
    # The journal shared by replicas (postgresql://...); None: SQLite under state_dir, for one process.
    database_url: str | None = field(default=None, repr=False)
    # How long a replica that died keeps the work it had claimed before another replica takes it over.
    claim_lease_seconds: float = 30.0
    # Processes that take deliveries (verify, journal, acknowledge) beside the one that works them off;
    # 0: one process does both (bot/intake/processes.py).
    intake_processes: int = 0

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        return cls(
            app_id=_positive_int(env, "GITHUB_APP_ID", required=True),
            private_key_pem=_private_key(env),
            webhook_secret=_webhook_secret(env),
            previous_webhook_secret=_previous_webhook_secret(env),
            api_url=_api_url(env),
            host=env.get("HOST", "0.0.0.0").strip() or "0.0.0.0",
            port=_port(env),
            state_dir=_state_dir(env),
            github_write_interval=_seconds(env, "GITHUB_WRITE_INTERVAL", default=1.0),
            coalesce_seconds=_seconds(env, "BOT_COALESCE_SECONDS", default=1.0),
            reconcile_seconds=_seconds(env, "BOT_RECONCILE_SECONDS", default=3600.0),
            state_key=_state_key(env),
            database_url=database_url(env),
            claim_lease_seconds=_claim_lease(env),
            intake_processes=_intake_processes(env),
        )

    @property
    def webhook_secrets(self) -> tuple[bytes, ...]:
        """The secrets a delivery may be signed with: the current one first."""
        if self.previous_webhook_secret is None:
            return (self.webhook_secret,)
        return (self.webhook_secret, self.previous_webhook_secret)


def _positive_int(env: Mapping[str, str], name: str, *, required: bool, default: int = 0) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        if required:
            raise SettingsError(f"{name} is not set: it must be the GitHub App's numeric id")
        return default
    if not raw.isdigit() or int(raw) <= 0:
        raise SettingsError(f"{name} must be a positive integer")
    return int(raw)


def _seconds(env: Mapping[str, str], name: str, *, default: float) -> float:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if not math.isfinite(value) or value < 0:
        raise SettingsError(f"{name} must be a number of seconds, 0 or more")
    return value


def _port(env: Mapping[str, str]) -> int:
    port = _positive_int(env, "PORT", required=False, default=8080)
    if port > 65535:
        raise SettingsError("PORT must be between 1 and 65535")
    return port


def _private_key(env: Mapping[str, str]) -> bytes:
    text = env.get("GITHUB_PRIVATE_KEY", "").strip()
    path = env.get("GITHUB_PRIVATE_KEY_PATH", "").strip()
    if text and path:
        raise SettingsError("set only one of GITHUB_PRIVATE_KEY and GITHUB_PRIVATE_KEY_PATH")
    if path:
        name = "GITHUB_PRIVATE_KEY_PATH"
        try:
            pem = Path(path).read_bytes()
        except OSError as exc:
            raise SettingsError(f"{name}: cannot read the key file ({exc.strerror})") from None
    elif text:
        name = "GITHUB_PRIVATE_KEY"
        # Some platforms only allow one-line variables; accept literal "\n" escapes.
        pem = text.replace("\\n", "\n").encode()
    else:
        raise SettingsError(
            "GITHUB_PRIVATE_KEY (PEM text) or GITHUB_PRIVATE_KEY_PATH is not set: "
            "download the App's private key from its settings page"
        )
    try:
        key = load_pem_private_key(pem, password=None)
    except (ValueError, TypeError):
        raise SettingsError(f"{name} is not an unencrypted PEM private key") from None
    if not isinstance(key, RSAPrivateKey):
        raise SettingsError(f"{name} must be an RSA key (GitHub Apps sign JWTs with RS256)")
    return pem


def _webhook_secret(env: Mapping[str, str]) -> bytes:
    secret = env.get("GITHUB_WEBHOOK_SECRET", "")
    if not secret:
        # Without a secret anyone could forge deliveries, so the server refuses to start.
        raise SettingsError(
            "GITHUB_WEBHOOK_SECRET is not set: the App's webhook secret is required to verify deliveries"
        )
    return secret.encode()


def _previous_webhook_secret(env: Mapping[str, str]) -> bytes | None:
    # Taken whole, like the current one: a secret may contain any character, so no list to split.
    previous = env.get("GITHUB_WEBHOOK_SECRET_PREVIOUS", "")
    if not previous:
        return None
    if previous == env.get("GITHUB_WEBHOOK_SECRET", ""):
        raise SettingsError(
            "GITHUB_WEBHOOK_SECRET_PREVIOUS is the same as GITHUB_WEBHOOK_SECRET: during a rotation it is"
            " the secret being replaced; unset it otherwise"
        )
    return previous.encode()


# The state MAC is printed in every tracking issue: a short key could be guessed from it offline.
_MIN_STATE_KEY_CHARS = 32


def _state_key(env: Mapping[str, str]) -> bytes | None:
    key = env.get("BOT_STATE_KEY", "")
    if not key:
        return None
    if len(key) < _MIN_STATE_KEY_CHARS:
        raise SettingsError(
            f"BOT_STATE_KEY must be at least {_MIN_STATE_KEY_CHARS} characters of random text"
            " (for example: python -c 'import secrets; print(secrets.token_urlsafe(32))')"
        )
    return key.encode()


def log_format(env: Mapping[str, str]) -> LogFormat:
    """``LOG_FORMAT``: read apart from the other settings, since every command logs, not only ``serve``."""
    raw = env.get("LOG_FORMAT", "").strip().lower() or "text"
    for known in LOG_FORMATS:
        if raw == known:
            return known
    raise SettingsError(f"LOG_FORMAT must be one of {', '.join(LOG_FORMATS)}")


def state_dir_named(env: Mapping[str, str]) -> Path:
    """The state directory ``BOT_STATE_DIR`` names (``./var`` when unset or blank), unchecked."""
    return Path(env.get("BOT_STATE_DIR", "").strip() or "./var")


def _state_dir(env: Mapping[str, str]) -> Path:
    """A directory the bot can write, or one it can create: found now, not as a traceback at start-up."""
    path = state_dir_named(env)
    fix = (
        f"make it a directory writable by uid {os.geteuid()} (in a container: a named volume, or chown the"
        " bind-mounted directory) or point BOT_STATE_DIR elsewhere"
    )
    where = path.absolute()
    try:
        found = where.stat()
    except FileNotFoundError:
        found = None
    except OSError as error:  # a parent directory the bot may not enter
        raise SettingsError(f"BOT_STATE_DIR ({where}) cannot be read ({error.strerror}): {fix}") from None
    if found is not None:
        if not stat.S_ISDIR(found.st_mode):
            raise SettingsError(f"BOT_STATE_DIR ({where}) is not a directory: {fix}")
        if not os.access(where, os.W_OK | os.X_OK):
            raise SettingsError(f"BOT_STATE_DIR ({where}) is not writable: {fix}")
    elif not where.parent.is_dir():
        raise SettingsError(
            f"BOT_STATE_DIR ({where}) cannot be created, {where.parent} does not exist: {fix}"
        )
    elif not os.access(where.parent, os.W_OK | os.X_OK):
        raise SettingsError(
            f"BOT_STATE_DIR ({where}) cannot be created, {where.parent} is not writable: {fix}"
        )
    return path


def database_url(env: Mapping[str, str]) -> str | None:
    """``DATABASE_URL``: read apart too, since ``deliveries`` needs the journal but no App settings."""
    url = env.get("DATABASE_URL", "").strip()
    if not url:
        return None
    parts = urlsplit(url)
    if parts.scheme not in ("postgresql", "postgres") or not parts.path.strip("/"):
        # The URL may hold a password: the message never repeats it.
        raise SettingsError(
            "DATABASE_URL must be a PostgreSQL URL naming a database, such as"
            " postgresql://bot@db.internal:5432/issue_status_bot (unset it to use SQLite in BOT_STATE_DIR)"
        )
    return url


def _claim_lease(env: Mapping[str, str]) -> float:
    lease = _seconds(env, "BOT_CLAIM_LEASE_SECONDS", default=30.0)
    if lease < 1:
        raise SettingsError("BOT_CLAIM_LEASE_SECONDS must be at least 1 second")
    return lease


# More intake processes than this only contend for the journal's write lock.
MAX_INTAKE_PROCESSES = 16


def default_intake_processes(cpus: int | None) -> int:
    """One intake process per CPU, up to 4, when there are two CPUs or more: one event loop caps intake at
    about half what a bare handler takes (bench/README.md, issue 12); on one CPU the processes only
    contend, so one process does everything."""
    return 0 if cpus is None or cpus < 2 else min(cpus, 4)


# cgroup v2: a container's CPU quota (``docker run --cpus 1.5`` writes "150000 100000").
CGROUP_CPU_MAX = Path("/sys/fs/cgroup/cpu.max")


def usable_cpus(cpu_max: Path = CGROUP_CPU_MAX) -> int | None:
    """The CPUs this process may use: those it may run on, fewer when a container's CPU quota says so
    (``os.cpu_count`` counts the host's, so a container limited to one CPU would start four processes)."""
    try:
        cpus: int | None = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cpus = os.cpu_count()
    try:
        quota, period = cpu_max.read_text().split()
        if quota != "max" and cpus is not None:
            cpus = min(cpus, max(1, int(quota) // int(period)))
    except (OSError, ValueError):
        pass
    return cpus


def _intake_processes(env: Mapping[str, str]) -> int:
    raw = env.get("BOT_INTAKE_PROCESSES", "").strip()
    if not raw:
        return default_intake_processes(usable_cpus())
    if not raw.isdigit() or int(raw) > MAX_INTAKE_PROCESSES:
        raise SettingsError(f"BOT_INTAKE_PROCESSES must be a whole number from 0 to {MAX_INTAKE_PROCESSES}")
    return int(raw)


def _api_url(env: Mapping[str, str]) -> str:
    url = env.get("GITHUB_API_URL", DEFAULT_API_URL).strip().rstrip("/") or DEFAULT_API_URL
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise SettingsError("GITHUB_API_URL must be an http(s) URL such as https://api.github.com")
    return url
