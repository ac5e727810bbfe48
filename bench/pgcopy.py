"""Copy a bench SQLite database into a fresh PostgreSQL database (for runs with several instances).

``ROUNDS_BENCH_POSTGRES_URL`` names the server's maintenance database (default
``postgresql://postgres@127.0.0.1:5432/postgres``); the copy is made as ``rounds_bench_<random>``
and dropped afterwards. Rows go over PostgreSQL's COPY protocol, a chunk at a time.
"""
from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import asyncpg
from sqlalchemy import select

from bot.store import Store
from bot.store.schema import metadata

CHUNK_ROWS = 50_000
"""Rows read from SQLite and sent with one COPY at a time (a 200,000-physician roster has millions)."""
ADMIN_URL = os.environ.get("ROUNDS_BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")


@asynccontextmanager
async def scratch_database(admin_url: str, prefix: str, timeout: float = 10) -> AsyncIterator[str]:
    """Create ``<prefix><random>`` on the server of ``admin_url``, yield its URL, drop it afterwards.

    Also what tests/pg.py gives each PostgreSQL test."""
    name = f"{prefix}{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(admin_url, timeout=timeout)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    try:
        yield f"{admin_url.rpartition('/')[0]}/{name}"
    finally:
        admin = await asyncpg.connect(admin_url, timeout=timeout)
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await admin.close()


@asynccontextmanager
async def postgres_copy(sqlite_db: Path) -> AsyncIterator[str]:
    """Yield the URL of a migrated PostgreSQL database holding every row of ``sqlite_db``."""
    async with scratch_database(ADMIN_URL, "rounds_bench_") as url:
        target = Store.open(url)
        await target.upgrade()
        await target.close()
        source = Store.open(f"sqlite:///{sqlite_db}")
        connection = await asyncpg.connect(url)
        try:
            async with source.engine.connect() as conn:
                for table in metadata.sorted_tables:
                    copied = 0
                    stream = await conn.stream(select(table))
                    async for chunk in stream.partitions(CHUNK_ROWS):
                        await connection.copy_records_to_table(table.name, records=[tuple(r) for r in chunk],
                                                               columns=[c.name for c in table.columns])
                        copied += len(chunk)
                    if "id" in table.c and copied:
                        await connection.execute(
                            f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), "
                            f"(SELECT max(id) FROM {table.name}))")
            # As after any bulk load: freshly copied tables have no statistics, and until autovacuum gets to
            # them (a minute or more) PostgreSQL plans one physician's lookups as parallel scans of whole
            # tables, about 5 ms each instead of 0.02 ms.
            await connection.execute("ANALYZE")
        finally:
            await connection.close()
            await source.close()
        yield url
