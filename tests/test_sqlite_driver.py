"""SQLite connections that make one trip to their thread per statement, under SQLAlchemy as the store uses it."""
from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Column, Integer, MetaData, String, Table, insert, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from bot.store.sqlite_driver import FIRST_ROWS, OneTripConnection
from bot.store.store import Store

metadata = MetaData()
items = Table("items", metadata, Column("id", Integer, primary_key=True), Column("name", String, unique=True))


class CountingConnection(OneTripConnection):
    trips = 0

    async def on_thread(self, function: Callable[..., Any], *args: Any) -> Any:
        CountingConnection.trips += 1
        return await super().on_thread(function, *args)

    async def commit(self) -> None:
        if self.sqlite.in_transaction:
            CountingConnection.trips += 1
        await super().commit()

    async def rollback(self) -> None:
        if self.sqlite.in_transaction:
            CountingConnection.trips += 1
        await super().rollback()


@pytest.fixture
async def engine(tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    path = str(tmp_path / "d.db")

    async def connect() -> CountingConnection:
        connection = CountingConnection(lambda: sqlite3.connect(path), 64)
        connection._thread.daemon = True
        return await connection

    engine = create_async_engine(f"sqlite+aiosqlite:///{path}", async_creator=connect)
    async with engine.begin() as conn:
        await conn.run_sync(metadata.create_all)
    yield engine
    await engine.dispose()


async def test_a_read_is_one_trip_and_returning_it_to_the_pool_none(engine: AsyncEngine) -> None:
    async with engine.begin() as conn:
        await conn.execute(insert(items), [{"name": f"n{i}"} for i in range(3)])
    CountingConnection.trips = 0
    async with engine.connect() as conn:
        rows = (await conn.execute(select(items.c.name).order_by(items.c.id))).all()
    assert [r.name for r in rows] == ["n0", "n1", "n2"]
    assert CountingConnection.trips == 1


async def test_a_write_is_one_trip_per_statement_and_one_for_the_commit(engine: AsyncEngine) -> None:
    CountingConnection.trips = 0
    async with engine.begin() as conn:
        new_id = (await conn.execute(insert(items).values(name="a").returning(items.c.id))).scalar_one()
        updated = await conn.execute(text("UPDATE items SET name = 'b' WHERE id = :id"), {"id": new_id})
        assert updated.rowcount == 1
    assert CountingConnection.trips == 3
    async with engine.connect() as conn:
        assert (await conn.execute(select(items.c.name))).scalar_one() == "b"


async def test_large_results_come_whole_and_in_order_also_streamed(engine: AsyncEngine) -> None:
    count = FIRST_ROWS * 3 + 7
    async with engine.begin() as conn:
        await conn.execute(insert(items), [{"name": f"n{i:05}"} for i in range(count)])
    async with engine.connect() as conn:
        names = [r.name for r in await conn.execute(select(items.c.name).order_by(items.c.name))]
    assert names == [f"n{i:05}" for i in range(count)]
    async with engine.begin() as conn:
        parts = [len(part) async for part in (await conn.stream(select(items.c.name))).partitions(100)]
        assert sum(parts) == count and max(parts) == 100
        first = (await conn.stream(select(items.c.id).order_by(items.c.id))).fetchmany
        assert [r.id for r in await first(2)] == [1, 2]  # an unfinished stream is closed with its connection


async def test_a_failed_write_rolls_back_the_whole_transaction_and_the_connection_stays_usable(
        engine: AsyncEngine) -> None:
    async with engine.begin() as conn:
        await conn.execute(insert(items).values(name="kept"))
    with pytest.raises(IntegrityError):
        async with engine.begin() as conn:
            await conn.execute(insert(items).values(name="lost"))
            await conn.execute(insert(items).values(name="kept"))
    async with engine.connect() as conn:
        assert (await conn.execute(select(items.c.name))).scalars().all() == ["kept"]


async def test_the_store_opens_sqlite_with_these_connections(tmp_path: Path) -> None:
    store = Store.open(f"sqlite:///{tmp_path}/s.db")
    try:
        async with store.engine.connect() as conn:
            raw = await conn.get_raw_connection()
            assert isinstance(raw.driver_connection, OneTripConnection)
            mode = (await conn.execute(text("PRAGMA journal_mode"))).scalar()
            assert mode == "wal"
    finally:
        await store.close()
