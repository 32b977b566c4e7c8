"""Records per second into the SQLite journal: one at a time vs. concurrently (group commit).

    .venv/bin/python bench/journal_throughput.py [--records 5000] [--concurrency 200]

Prints records/s and commits per 1,000 records for each durability setting and payload encoding, using
the check_run.completed example payload. Each run gets a fresh journal in a temporary directory.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
import uuid
from pathlib import Path

from bot.journal import SQLiteJournal
from bot.journal.sqlite import Synchronous

PAYLOAD = (Path(__file__).parents[1] / "bot/testing/payloads/check_run.completed.json").read_bytes()


async def sequential(journal: SQLiteJournal, records: int) -> None:
    for _ in range(records):
        await journal.record(str(uuid.uuid4()), "check_run", "completed", PAYLOAD, "octo/repo#2")


async def concurrent(journal: SQLiteJournal, records: int, concurrency: int) -> None:
    """``concurrency`` receivers, like aiohttp handlers, each recording one delivery after another."""

    async def receiver(count: int) -> None:
        for _ in range(count):
            await journal.record(str(uuid.uuid4()), "check_run", "completed", PAYLOAD, "octo/repo#2")

    share, extra = divmod(records, concurrency)
    await asyncio.gather(*(receiver(share + (i < extra)) for i in range(concurrency)))


async def measure(
    mode: str, records: int, concurrency: int, synchronous: Synchronous, compress: bool
) -> None:
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "journal.sqlite3"
        journal = SQLiteJournal(path, synchronous=synchronous, compress_payloads=compress)
        started = time.perf_counter()
        if mode == "sequential":
            await sequential(journal, records)
        else:
            await concurrent(journal, records, concurrency)
        elapsed = time.perf_counter() - started
        commits = journal.commits
        await journal.close()
        size = path.stat().st_size
    print(
        f"{mode:<10} synchronous={synchronous:<6} {'zlib' if compress else 'raw ':<4}"
        f" {records / elapsed:>9,.0f} records/s"
        f" {1000 * commits / records:>7.1f} commits/1000 records"
        f" {size / records / 1024:>5.1f} KiB/record on disk"
    )


async def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--records", type=int, default=5000)
    parser.add_argument("--concurrency", type=int, default=200)
    args = parser.parse_args()
    print(f"{args.records} records of {len(PAYLOAD):,} bytes; concurrency {args.concurrency}")
    for synchronous in ("NORMAL", "FULL"):
        for compress in (False, True):
            for mode in ("sequential", "concurrent"):
                await measure(mode, args.records, args.concurrency, synchronous, compress)


if __name__ == "__main__":
    asyncio.run(main())
