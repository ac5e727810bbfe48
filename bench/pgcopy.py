"""Copy a bench SQLite database into a fresh PostgreSQL database (for runs with several instances).

``ROUNDS_BENCH_POSTGRES_URL`` names the server's maintenance database (default
``postgresql://postgres@127.0.0.1:5432/postgres``); the copy is made as ``rounds_bench_<random>``
and dropped afterwards.
"""
from __future__ import annotations

import os
import uuid
from contextlib import asynccontextmanager
from pathlib import Path
from typing import AsyncIterator

import asyncpg
from sqlalchemy import select

from bot.store import Store
from bot.store.schema import metadata

ADMIN_URL = os.environ.get("ROUNDS_BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")


@asynccontextmanager
async def postgres_copy(sqlite_db: Path) -> AsyncIterator[str]:
    """Yield the URL of a migrated PostgreSQL database holding every row of ``sqlite_db``."""
    name = f"rounds_bench_{uuid.uuid4().hex[:10]}"
    admin = await asyncpg.connect(ADMIN_URL, timeout=10)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    url = f"{ADMIN_URL.rpartition('/')[0]}/{name}"
    try:
        target = Store.open(url)
        await target.upgrade()
        await target.close()
        source = Store.open(f"sqlite:///{sqlite_db}")
        connection = await asyncpg.connect(url)
        try:
            async with source.engine.connect() as conn:
                for table in metadata.sorted_tables:
                    rows = (await conn.execute(select(table))).all()
                    if rows:
                        await connection.copy_records_to_table(table.name, records=[tuple(r) for r in rows],
                                                               columns=[c.name for c in table.columns])
                    if "id" in table.c and rows:
                        await connection.execute(
                            f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), "
                            f"(SELECT max(id) FROM {table.name}))")
        finally:
            await connection.close()
            await source.close()
        yield url
    finally:
        admin = await asyncpg.connect(ADMIN_URL, timeout=10)
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await admin.close()
