"""Acknowledged deliveries per second and p99 latency: the bot, the Probot reference peer, a bare handler.

    .venv/bin/python bench/intake.py [--rounds 3] [--seconds 10] [--connections 50]
        [--postgres postgresql://postgres@127.0.0.1:5432/postgres] [--intake-processes N]

The three receivers get the same signed payload (GitHub's published ``check_run.completed`` example with an
``installation`` added) from ``../shared/bench/ack-throughput.sh`` (wrk, a fresh delivery id per request),
measured alternately: peer, bare, bot, peer, bare, bot... The bare handler (``bench/bare_handler.py``, its own
process, on the bot's event loop) does only HMAC + orjson parse + 202 and stores nothing: the floor for any
aiohttp receiver. The bot's deliveries take its fast path (``bot/intake/fast_path.py``: read with httptools,
answered without aiohttp's request machinery), so what bot/bare measures is the journal's durable write
against the HTTP work the bot no longer does. The bot is ``python -m bot serve`` with its durable journal on
(its 202 means the delivery is committed to SQLite, or with ``--postgres`` to PostgreSQL, in a database made
for the round), with its default intake processes (``BOT_INTAKE_PROCESSES``: one per CPU from two CPUs;
``--intake-processes`` to set them), started fresh for each round so that one round's backlog does not work
during the next; its workers process what they can meanwhile against a fake GitHub in this process, where the
example's repository is installed and has no configuration (the cheap path).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import re
import sys
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
from harness import (
    LAUNCHERS,
    SECRET,
    SHARED_BENCH,
    BotProcess,
    example_with_installation,
    free_port,
    journal_env,
    journal_name,
    machine,
    median,
    run_shared,
    start_fake,
)

from bot.testing.loopback import new_app_key

INSTALLATION_ID = 1
# In the order each round measures them: the Probot peer, the bare aiohttp handler, the bot.
CONTENDERS = ("peer", "bare", "bot")
LAST_LINE = re.compile(r"acks/s ([\d.]+) p99_ms ([\d.]+) non2xx (\d+)")


async def load(url: str, payload: Path, seconds: int, connections: int) -> tuple[float, float, int]:
    out = await run_shared(
        "ack-throughput.sh", url, SECRET, str(payload), "check_run", str(seconds), str(connections)
    )
    found = LAST_LINE.search(out.strip().splitlines()[-1])
    if found is None:
        raise RuntimeError(f"no result line in ack-throughput.sh output:\n{out}")
    return float(found[1]), float(found[2]), int(found[3])


@contextlib.asynccontextmanager
async def listening(command: list[str], after: tuple[str, ...] = ()) -> AsyncIterator[str]:
    """A receiver started as ``command PORT SECRET *after``, once it prints that it listens; its URL."""
    port = free_port()
    process = await asyncio.create_subprocess_exec(
        *command, str(port), SECRET, *after, stdout=asyncio.subprocess.PIPE
    )
    assert process.stdout is not None
    await asyncio.wait_for(process.stdout.readline(), 300)  # "... listening on PORT"
    try:
        yield f"http://127.0.0.1:{port}/webhook"
    finally:
        process.terminate()
        await process.wait()


def probot_peer() -> contextlib.AbstractAsyncContextManager[str]:
    return listening([str(SHARED_BENCH / "peer-probot.sh")])


def bare_handler(loop: str) -> contextlib.AbstractAsyncContextManager[str]:
    """``bench/bare_handler.py``: HMAC + orjson parse + 202, nothing stored; run by this Python."""
    return listening([sys.executable, str(Path(__file__).with_name("bare_handler.py"))], (loop,))


async def main(
    rounds: int,
    seconds: int,
    connections: int,
    quiet: float,
    loop: str,
    postgres: str | None,
    intake_processes: int | None,
) -> None:
    key = new_app_key()
    fake = await start_fake(key)
    example = example_with_installation(INSTALLATION_ID)
    fake.add_repository(example["repository"]["full_name"])
    fake.add_installation(INSTALLATION_ID, [example["repository"]["full_name"]])
    print(machine())
    print(
        f"load: {seconds} s x {connections} connections per round, {rounds} rounds each, alternating;"
        f" the bot on {loop}, journal in {journal_name(postgres)},"
        f" intake processes: {'default' if intake_processes is None else intake_processes}"
    )
    intake = {} if intake_processes is None else {"BOT_INTAKE_PROCESSES": str(intake_processes)}
    results: dict[str, list[tuple[float, float, int]]] = {name: [] for name in CONTENDERS}
    with tempfile.NamedTemporaryFile("w", suffix=".json") as prepared:
        json.dump(example, prepared)
        prepared.flush()
        payload = Path(prepared.name)
        async with (
            probot_peer() as peer_url,
            bare_handler(loop) as bare_url,
            aiohttp.ClientSession() as session,
        ):
            for round_number in range(1, rounds + 1):
                await asyncio.sleep(quiet)
                results["peer"].append(await load(peer_url, payload, seconds, connections))
                await asyncio.sleep(quiet)
                results["bare"].append(await load(bare_url, payload, seconds, connections))
                async with journal_env(postgres) as journal_settings:
                    bot = BotProcess(key, fake.url, {**journal_settings, **intake}, loop=loop)
                    await bot.start()
                    try:
                        await asyncio.sleep(quiet)
                        results["bot"].append(await load(f"{bot.url}/webhook", payload, seconds, connections))
                        health = await bot.health(session)
                    finally:
                        await bot.stop()
                for name in CONTENDERS:
                    acks, p99, non2xx = results[name][-1]
                    print(
                        f"round {round_number} {name:<4} acks/s {acks:>9,.0f}  p99 {p99:>7.2f} ms"
                        f"  non-2xx {non2xx}"
                    )
                journal = health["deliveries"]
                recorded = sum(journal.values()) - journal["in_progress"]
                print(
                    f"        bot journal at the end of its round: {recorded:,} recorded,"
                    f" {journal['done']:,} done by the workers, {journal['failed']} failed"
                )
    await fake.close()
    acks = {name: median([r[0] for r in results[name]]) for name in CONTENDERS}
    p99 = {name: median([r[1] for r in results[name]]) for name in CONTENDERS}
    for name in CONTENDERS:
        print(f"median {name + ':':<5} acks/s {acks[name]:>9,.0f}  p99 {p99[name]:>7.2f} ms")
    print(
        f"ratio bot/peer: acks/s {acks['bot'] / acks['peer']:.2f}x (target >= 1.05x),"
        f" p99 {p99['bot'] / p99['peer']:.2f}x (target <= 1.0x)"
    )
    print(f"ratio bot/bare: acks/s {acks['bot'] / acks['bare']:.2f}x (target >= 0.75x)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=50)
    parser.add_argument("--quiet", type=float, default=2.0, help="seconds of rest before each measurement")
    parser.add_argument(
        "--loop",
        choices=sorted(LAUNCHERS),
        default="asyncio",
        help="the bot's event loop (default: as deployed)",
    )
    parser.add_argument(
        "--postgres",
        metavar="URL",
        help="journal in PostgreSQL: a server URL, where each round gets a fresh database (default: SQLite)",
    )
    parser.add_argument(
        "--intake-processes",
        type=int,
        metavar="N",
        help="the bot's BOT_INTAKE_PROCESSES (default: its own default, from the CPU count)",
    )
    args = parser.parse_args()
    asyncio.run(
        main(
            args.rounds,
            args.seconds,
            args.connections,
            args.quiet,
            args.loop,
            args.postgres,
            args.intake_processes,
        )
    )
