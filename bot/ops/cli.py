"""The ``issue-status-bot`` command: ``serve`` runs the App, ``demo`` replays the canonical story,
``deliveries`` inspects and retries journalled webhook deliveries, ``reconcile`` recomputes trackers,
``check-config`` validates a configuration and shows what it binds to in an issue, ``register`` creates the
GitHub App from app.yaml through GitHub's manifest flow."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections.abc import Mapping
from pathlib import Path

from bot.journal import JournalError
from bot.logs import configure_logging
from bot.ops.check_config import add_check_config_command, run_check_config
from bot.ops.deliveries import add_deliveries_commands, run_deliveries_command
from bot.ops.env_file import EnvFileError, with_env_file
from bot.ops.register.command import add_register_command, run_register
from bot.settings import Settings, SettingsError, log_format, state_dir_named

EXIT_BAD_SETTINGS = 2
# The journal's store cannot be used (PostgreSQL unreachable, a schema from a newer bot): one line, no
# traceback, and an exit a supervisor restarts on.
EXIT_JOURNAL_UNUSABLE = 1
# Intake processes (BOT_INTAKE_PROCESSES) could not be kept running: stopped rather than half-serving.
EXIT_INTAKE_FAILED = 3


def _fail(error: Exception, code: int) -> int:
    """One line on stderr, no traceback, and the exit code."""
    print(f"issue-status-bot: {error}", file=sys.stderr)
    return code


def serve(environ: Mapping[str, str]) -> int:
    from bot.intake.server import serve_alone

    try:
        settings = Settings.from_env(environ)
    except SettingsError as error:
        return _fail(error, EXIT_BAD_SETTINGS)
    # On SIGTERM, requests being read get as long as a body may take (10 s), then work in flight gets
    # SHUTDOWN_GRACE_SECONDS (20 s): 30 s in all, within the stop timeout the README asks for (40 s).
    # The server logs its own start-up line (version, address, journal, trackers) once it is ready.
    if settings.intake_processes:
        from bot.intake.processes import IntakeFailed, serve_in_processes

        try:
            asyncio.run(serve_in_processes(settings, environ))
        except JournalError as error:
            return _fail(error, EXIT_JOURNAL_UNUSABLE)
        except IntakeFailed as error:
            return _fail(error, EXIT_INTAKE_FAILED)
        return 0
    try:
        asyncio.run(serve_alone(settings))
    except JournalError as error:
        return _fail(error, EXIT_JOURNAL_UNUSABLE)
    return 0


def reconcile(repository: str | None, environ: Mapping[str, str]) -> int:
    from bot.healing.reconcile import reconcile_with_settings

    try:
        settings = Settings.from_env(environ)
    except SettingsError as error:
        return _fail(error, EXIT_BAD_SETTINGS)
    try:
        summary = asyncio.run(reconcile_with_settings(settings, repository=repository))
    except JournalError as error:
        return _fail(error, EXIT_JOURNAL_UNUSABLE)
    print(summary)
    return 0 if summary.ok else 1


def demo() -> int:
    from bot.ops.demo import run_demo

    return asyncio.run(run_demo())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="issue-status-bot", description=__doc__)
    parser.add_argument("--log-level", default="INFO", help="DEBUG, INFO, WARNING or ERROR")
    commands = parser.add_subparsers(dest="command", required=True)
    serving = commands.add_parser("serve", help="run the webhook server (settings from the environment)")
    commands.add_parser("demo", help="replay the canonical story against an embedded fake GitHub")
    inspecting = add_deliveries_commands(commands)
    add_check_config_command(commands)
    reconciling = commands.add_parser(
        "reconcile", help="recompute every tracker from GitHub's latest CI results, now"
    )
    reconciling.add_argument("--repo", metavar="OWNER/NAME", help="only this repository")
    for needs_settings in (serving, reconciling, inspecting):
        needs_settings.add_argument(
            "--env-file",
            type=Path,
            default=Path(".env"),
            help="settings read when the file exists (as `register` writes it); the environment wins",
        )
    add_register_command(commands)
    args = parser.parse_args(argv)
    try:
        # LOG_FORMAT may come from the env file too, like the settings of the commands that read it: the
        # file is read once, here, and those commands take their settings from the same environment.
        environ = (
            with_env_file(os.environ, args.env_file)
            if args.command in ("serve", "reconcile", "deliveries")
            else os.environ
        )
        configure_logging(args.log_level, log_format(environ))
    except (SettingsError, EnvFileError) as error:
        return _fail(error, EXIT_BAD_SETTINGS)
    if args.command == "serve":
        return serve(environ)
    if args.command == "reconcile":
        return reconcile(args.repo, environ)
    if args.command == "register":
        return run_register(args)
    if args.command == "check-config":
        return run_check_config(args)
    if args.command == "deliveries":
        return run_deliveries_command(args, state_dir_named(environ), environ)
    return demo()


if __name__ == "__main__":
    sys.exit(main())
