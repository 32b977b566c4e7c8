"""``issue-status-bot deliveries``: what the journal holds, and sending a parked delivery back to work.

Reads the journal the servers write (PostgreSQL at DATABASE_URL, else ``journal.sqlite3`` under
BOT_STATE_DIR) and may run while they do: both backends let readers and writers work at once, and this
command never claims entries.
Exit codes: 0 done, 1 no such delivery (or nothing to retry), 2 bad usage.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sqlite3
import sys
from collections.abc import Awaitable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bot.journal import (
    JOURNAL_FILENAME,
    STATUSES,
    Journal,
    JournalEntry,
    JournalError,
    journal_location,
    open_journal,
)
from bot.journal.model import RETRYABLE
from bot.settings import SettingsError, database_url

EXIT_OK = 0
EXIT_NOT_FOUND = 1
EXIT_BAD_USAGE = 2
# Keeps one line per delivery in a terminal; ``show`` prints the whole error.
_ERROR_PREVIEW = 60


def add_deliveries_commands(subparsers: argparse._SubParsersAction[Any]) -> argparse.ArgumentParser:
    """Add ``deliveries list|show|retry`` to the top-level command's subparsers; returns ``deliveries``."""
    deliveries: argparse.ArgumentParser = subparsers.add_parser(
        "deliveries", help="list, show and retry journalled webhook deliveries (reads BOT_STATE_DIR)"
    )
    actions = deliveries.add_subparsers(dest="deliveries_command", required=True, metavar="ACTION")
    listing = actions.add_parser("list", help="the newest deliveries, optionally of one status")
    listing.add_argument("--status", choices=STATUSES, help="only deliveries in this state")
    listing.add_argument("--limit", type=_positive_int, default=50, help="at most this many (default 50)")
    show = actions.add_parser("show", help="one delivery's state and its payload as JSON")
    show.add_argument("delivery_id", metavar="ID", help="the X-GitHub-Delivery id")
    retry = actions.add_parser("retry", help="send a failed or dead delivery back to the workers now")
    retry.add_argument("delivery_id", metavar="ID", help="the X-GitHub-Delivery id")
    return deliveries


def run_deliveries_command(
    args: argparse.Namespace, state_dir: Path, environ: Mapping[str, str] | None = None
) -> int:
    try:
        url = database_url(os.environ if environ is None else environ)
    except SettingsError as error:
        _complain(str(error))
        return EXIT_BAD_USAGE
    path = state_dir / JOURNAL_FILENAME
    if url is None and not path.is_file():
        _complain(
            f"no journal at {path}: set BOT_STATE_DIR to the server's state directory"
            " (or DATABASE_URL to its PostgreSQL database)"
        )
        return EXIT_NOT_FOUND
    where = journal_location(url, state_dir)
    try:
        return asyncio.run(_run(args, open_journal(url, state_dir, replica=False), where))
    except (JournalError, sqlite3.DatabaseError) as error:
        _complain(f"cannot read {where}: {error}")
        return EXIT_BAD_USAGE


async def _run(args: argparse.Namespace, opening: Awaitable[Journal], path: str) -> int:
    journal = await opening
    try:
        if args.deliveries_command == "list":
            _print_table(await journal.list(args.status, args.limit))
            return EXIT_OK
        entry = await journal.get(args.delivery_id)
        if entry is None:
            _complain(f"no delivery {args.delivery_id} in {path} (never received, or pruned after 72 h)")
            return EXIT_NOT_FOUND
        if args.deliveries_command == "show":
            print(_details(entry))
            return EXIT_OK
        if entry.status not in RETRYABLE or not await journal.retry(entry.delivery_id):
            _complain(f"delivery {entry.delivery_id} is {entry.status}: only failed or dead ones are retried")
            return EXIT_NOT_FOUND
        print(f"delivery {entry.delivery_id} is pending again; a worker will pick it up")
        return EXIT_OK
    finally:
        await journal.close()


def _print_table(entries: list[JournalEntry]) -> None:
    if not entries:
        print("no deliveries")
        return
    rows = [
        (
            _timestamp(entry.received_at),
            entry.status,
            str(entry.attempts),
            _kind(entry),
            entry.key or "-",
            entry.delivery_id,
            _preview(entry.last_error),
        )
        for entry in entries
    ]
    header = ("RECEIVED (UTC)", "STATUS", "TRIES", "EVENT", "KEY", "DELIVERY", "LAST ERROR")
    widths = [max(len(row[column]) for row in [header, *rows]) for column in range(len(header))]
    for row in [header, *rows]:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip())


def _details(entry: JournalEntry) -> str:
    lines = [
        f"delivery:     {entry.delivery_id}",
        f"event:        {_kind(entry)}",
        f"key:          {entry.key or '-'}",
        f"received:     {_timestamp(entry.received_at)} UTC",
        f"status:       {entry.status}",
        f"attempts:     {entry.attempts}",
    ]
    if entry.status == "failed":
        lines.append(f"next attempt: {_timestamp(entry.next_attempt_at)} UTC")
    if entry.last_error:
        lines.append(f"last error:   {entry.last_error}")
    lines += ["payload:", _pretty_json(entry.payload)]
    return "\n".join(lines)


def _pretty_json(payload: bytes) -> str:
    try:
        return json.dumps(json.loads(payload), indent=2, ensure_ascii=False)
    except ValueError:  # recorded before validation, or not UTF-8: show it as received
        return payload.decode("utf-8", errors="replace")


def _kind(entry: JournalEntry) -> str:
    return f"{entry.event}.{entry.action}" if entry.action else entry.event


def _timestamp(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%d %H:%M:%S")


def _preview(error: str | None) -> str:
    if not error:
        return ""
    line = error.splitlines()[0]
    return line if len(line) <= _ERROR_PREVIEW else line[: _ERROR_PREVIEW - 1] + "…"


def _positive_int(text: str) -> int:
    if not text.isdigit() or int(text) == 0:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return int(text)


def _complain(message: str) -> None:
    print(f"issue-status-bot deliveries: {message}", file=sys.stderr)
