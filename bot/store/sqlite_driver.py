"""SQLite connections that go to their thread once per statement, not four or five times.

aiosqlite runs each call on a connection's own thread: creating a cursor, executing, fetching,
closing the cursor and the rollback when a pooled connection is returned are five trips there and
back (a queue put, a thread wake-up, a wake-up of the event loop). On a small virtual machine a
trip costs about 0.15 ms of CPU, while an indexed statement costs SQLite 0.01-0.05 ms: a physician's
turn spent most of its database time travelling. Here a statement is executed, its first rows
fetched and its cursor closed in one trip; a rollback or commit with no transaction open (every
read: Python's sqlite3 begins one only before a write) makes no trip at all. Larger results keep
the cursor open and fetch the rest on demand, so a streamed query still reads in parts.

SQLAlchemy wraps these connections as it wraps aiosqlite's (``async_creator``), so statements,
types, errors and the pool behave as with the stock driver.
"""
from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator, Callable, Sequence
from typing import Any

import aiosqlite

FIRST_ROWS = 256
"""Rows fetched in the executing trip: every statement a turn runs fits in one trip."""


class OneTripCursor:
    """The part of aiosqlite's cursor SQLAlchemy uses, with the trips folded together."""

    arraysize = 1

    def __init__(self, connection: OneTripConnection) -> None:
        self._connection = connection
        self._open: sqlite3.Cursor | None = None
        """The thread's cursor while rows beyond the first are still to be fetched."""
        self._rows: list[Any] = []
        self.description: Any = None
        self.rowcount = -1
        self.lastrowid: int | None = None

    async def __aenter__(self) -> OneTripCursor:
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.close()

    async def execute(self, sql: str, parameters: Any = None) -> OneTripCursor:
        return await self._run(lambda cursor: cursor.execute(sql, () if parameters is None else parameters))

    async def executemany(self, sql: str, parameters: Sequence[Any]) -> OneTripCursor:
        return await self._run(lambda cursor: cursor.executemany(sql, parameters))

    async def _run(self, statement: Callable[[sqlite3.Cursor], Any]) -> OneTripCursor:
        await self.close()

        def on_thread() -> tuple[sqlite3.Cursor | None, list[Any], Any, int, int | None]:
            cursor = self._connection.sqlite.cursor()
            try:
                statement(cursor)
                rows = cursor.fetchmany(FIRST_ROWS) if cursor.description else []
            except BaseException:
                cursor.close()
                raise
            more = cursor.description is not None and len(rows) == FIRST_ROWS
            found = (cursor if more else None, rows, cursor.description, cursor.rowcount, cursor.lastrowid)
            if not more:
                cursor.close()
            return found

        self._open, self._rows, self.description, self.rowcount, self.lastrowid = (
            await self._connection.on_thread(on_thread))
        return self

    async def fetchone(self) -> Any:
        rows = await self.fetchmany(1)
        return rows[0] if rows else None

    async def fetchmany(self, size: int | None = None) -> list[Any]:
        size = size or self.arraysize
        if len(self._rows) < size and self._open is not None:
            self._rows += await self._connection.on_thread(self._open.fetchmany, max(size, FIRST_ROWS))
            if len(self._rows) < size:
                await self.close()
        rows, self._rows = self._rows[:size], self._rows[size:]
        return rows

    async def fetchall(self) -> list[Any]:
        if self._open is not None:
            self._rows += await self._connection.on_thread(self._open.fetchall)
            await self.close()
        rows, self._rows = self._rows, []
        return rows

    async def __aiter__(self) -> AsyncIterator[Any]:
        while rows := await self.fetchmany(FIRST_ROWS):
            for row in rows:
                yield row

    async def close(self) -> None:
        if self._open is not None:
            cursor, self._open = self._open, None
            await self._connection.on_thread(cursor.close)


class OneTripConnection(aiosqlite.Connection):
    """aiosqlite's connection and thread, handing out :class:`OneTripCursor`."""

    @property
    def sqlite(self) -> sqlite3.Connection:
        """The thread's connection (use it only on that thread)."""
        return self._conn

    async def on_thread(self, function: Callable[..., Any], *args: Any) -> Any:
        return await self._execute(function, *args)

    def cursor(self) -> OneTripCursor:  # type: ignore[override]  # SQLAlchemy enters it with ``__aenter__``
        return OneTripCursor(self)

    async def commit(self) -> None:
        if self._conn.in_transaction:
            await super().commit()

    async def rollback(self) -> None:
        if self._conn.in_transaction:
            await super().rollback()


def one_trip_connector(database: str, **kwargs: Any) -> Callable[[], Any]:
    """SQLAlchemy's ``async_creator`` for a SQLite file (or ``:memory:``) with ``sqlite3.connect`` arguments."""

    async def connect() -> OneTripConnection:
        connection = OneTripConnection(lambda: sqlite3.connect(database, **kwargs), 64)
        connection._thread.daemon = True  # as SQLAlchemy does for aiosqlite: never holds up the exit
        await connection  # starts the thread and connects on it
        return connection

    return connect
