"""The PostgreSQL journal's schema, created and migrated at start-up by whichever replica comes first.

Replicas starting together take a transaction-scoped advisory lock before reading the version, so one
migrates while the others wait and then find nothing left to do.
"""

from __future__ import annotations

from bot.journal.model import JournalError
from bot.journal.pg_writer import PgConnection

# pg_advisory_xact_lock's key for migrations: any constant that no other application on the database uses.
MIGRATION_LOCK = 0x155_B07_5C4E
# Each step takes the schema from version i to i + 1; append, never edit.
MIGRATIONS: tuple[tuple[str, ...], ...] = (
    (
        """
        CREATE TABLE deliveries (
            seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            delivery_id text NOT NULL UNIQUE,
            event text NOT NULL,
            action text,
            key text,
            received_at double precision NOT NULL,
            status text NOT NULL CHECK (status IN ('pending', 'done', 'failed', 'dead')),
            attempts integer NOT NULL,
            next_attempt_at double precision NOT NULL,
            last_error text,
            payload_encoding text NOT NULL CHECK (payload_encoding IN ('identity', 'zlib')),
            payload bytea NOT NULL,
            -- the replica working on the entry, until its lease runs out (renewed while it works)
            claimed_by text,
            lease_until double precision
        )
        """,
        # What the workers scan: only the unfinished entries, in arrival order.
        "CREATE INDEX deliveries_open ON deliveries (seq) WHERE status IN ('pending', 'failed')",
        "CREATE INDEX deliveries_claimed ON deliveries (key) WHERE claimed_by IS NOT NULL",
        "CREATE INDEX deliveries_done ON deliveries (received_at) WHERE status = 'done'",
        "CREATE TABLE deployment_secrets (name text PRIMARY KEY, value bytea NOT NULL)",
        """
        CREATE TABLE tracker_states (
            scope text PRIMARY KEY,
            generation bigint NOT NULL,
            marker text NOT NULL
        )
        """,
        # Periodic tasks (catch-up) run by one replica at a time: who holds each, and until when.
        "CREATE TABLE leases (task text PRIMARY KEY, holder text NOT NULL, until double precision NOT NULL)",
        # Live replicas, so that each takes its share of an installation's concurrency cap.
        "CREATE TABLE replicas (id text PRIMARY KEY, seen_at double precision NOT NULL)",
        # When the next write of each installation may start, whichever replica makes it.
        """
        CREATE TABLE write_pacing (
            installation_id bigint PRIMARY KEY,
            next_write_at double precision NOT NULL
        )
        """,
    ),
    (
        # Each tracker's per-test outcomes of its last final runs (bot/results/test_changes.py): too large
        # for the issue body, where only their summary goes.
        "CREATE TABLE test_memories (scope text PRIMARY KEY, data bytea NOT NULL)",
    ),
)
SCHEMA_VERSION = len(MIGRATIONS)


async def migrate(connection: PgConnection, where: str) -> None:
    """Bring the schema to ``SCHEMA_VERSION``; refuse one from a newer bot rather than misread it."""
    async with connection.transaction():
        await connection.execute("SELECT pg_advisory_xact_lock($1)", MIGRATION_LOCK)
        await connection.execute("CREATE TABLE IF NOT EXISTS journal_schema (version integer NOT NULL)")
        version = await connection.fetchval("SELECT version FROM journal_schema")
        if version is None:
            version = 0
            await connection.execute("INSERT INTO journal_schema (version) VALUES (0)")
        if version > SCHEMA_VERSION:
            raise JournalError(
                f"{where} has journal schema version {version}, newer than this bot's {SCHEMA_VERSION}:"
                " upgrade the bot or point DATABASE_URL elsewhere"
            )
        for target, statements in enumerate(MIGRATIONS[version:], start=version + 1):
            for statement in statements:
                await connection.execute(statement)
            await connection.execute("UPDATE journal_schema SET version = $1", target)
