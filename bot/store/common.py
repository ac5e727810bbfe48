"""Helpers the aggregate stores share: replanning a changed physician, id pages, marker rows."""
from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, bindparam, delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from sqlalchemy.sql.elements import BindParameter

from bot.core.models import Meeting
from bot.store.schema import PLAN_AGAIN, people, settings


def autocommit(engine: AsyncEngine) -> AsyncEngine:
    """The engine for work done in one statement (every read, and a write that is one statement): on
    PostgreSQL without a transaction around it, so one round trip instead of three (no ``BEGIN``
    before it, no ``COMMIT`` or ``ROLLBACK`` after). A statement is atomic on its own, and under READ
    COMMITTED it sees its own snapshot inside a transaction too, so reads return the same. (A
    server-side cursor still needs ``engine.begin()``.) SQLite begins no transaction for reads."""
    return engine.execution_options(isolation_level="AUTOCOMMIT") if engine.dialect.name == "postgresql" else engine


async def mark_changed(conn: AsyncConnection, *person_ids: int | None) -> None:
    """Mark physicians for planning at the next tick, inside the transaction that changed them."""
    ids = sorted({pid for pid in person_ids if pid is not None})
    if len(ids) == 1:
        await conn.execute(_PLAN_ONE, {"person": ids[0]})
        return
    for start in range(0, len(ids), 500):
        await conn.execute(update(people).where(people.c.id.in_(ids[start:start + 500])).values(**PLAN_AGAIN))


_PLAN_ONE = update(people).where(people.c.id == bindparam("person")).values(**PLAN_AGAIN)
"""The common case, built once: a statement built per call costs more CPU than the database takes."""


async def set_person_columns(engine: AsyncEngine, person_id: int, now: datetime, **values: Any) -> None:
    """Set ``people`` columns of one physician and plan them again (for the typed setters only)."""
    statement = _set_columns(tuple(sorted(values)))
    async with autocommit(engine).begin() as conn:
        await conn.execute(statement, {"person": person_id, "new_updated_at": now,
                                       **{f"new_{name}": value for name, value in values.items()}})


@functools.cache
def _set_columns(names: tuple[str, ...]) -> Any:
    """The UPDATE for one set of columns (a handful of sets exist), built and compiled once."""
    return (update(people).where(people.c.id == bindparam("person"))
            .values(updated_at=bindparam("new_updated_at"), **{name: bindparam(f"new_{name}") for name in names},
                    **PLAN_AGAIN))


PAGE: BindParameter[Any] = bindparam("page", expanding=True)
"""A batch of person ids, bound at execution (``{"page": ids}``) so the statement is compiled once."""


def in_page(column: Any, ids: Sequence[int]) -> Any:
    """``column`` is one of the sorted ``ids``: as a range when they are dense (as on a tick that
    plans everyone; rows of the few others in it are simply not looked up), else one ``PAGE``."""
    dense = bool(ids) and ids[-1] - ids[0] < 2 * len(ids)
    return column.between(ids[0], ids[-1]) if dense else column.in_(PAGE)


def bound_instant(column: Any, dialect: Any) -> Callable[[datetime | None], Any]:
    """How ``column``'s type writes an instant on ``dialect``, for statements run by the driver itself
    (bulk writes of plain tuples); each distinct instant is converted once."""
    process = column.type.dialect_impl(dialect).bind_processor(dialect)
    return process if process is not None else (lambda value: value)


def row_meeting(row: Any) -> Meeting:
    return Meeting(**{name: row._mapping[name] for name in Meeting.__dataclass_fields__})


async def ids(engine: AsyncEngine, query: Any) -> frozenset[Any]:
    """The single column of ``query``'s rows, as a set."""
    async with engine.connect() as conn:
        return frozenset(value for (value,) in await conn.execute(query))


async def set_mark(engine: AsyncEngine, table: Any, key: dict[str, Any], done: bool, now: datetime,
                   column: str = "done_at") -> bool:
    """Insert (done) or delete (not done) a marker row; True when the row changed."""
    condition = and_(*(table.c[name] == value for name, value in key.items()))
    try:
        async with engine.begin() as conn:
            if not done:
                if (await conn.execute(delete(table).where(condition))).rowcount == 0:
                    return False
            elif (await conn.execute(select(func.count()).select_from(table).where(condition))).scalar_one():
                return False
            else:
                await conn.execute(insert(table).values(**key, **{column: now}))
            await mark_changed(conn, key["person_id"])
            return True
    except IntegrityError:
        return False  # another instance marked it at the same moment


# -- leases: one instance at a time does a periodic job (the Teams installer, the presence sync) ---------------

async def take_lease(engine: AsyncEngine, name: str, owner: str, now: datetime, seconds: float) -> bool:
    """Hold ``name`` until ``now + seconds`` unless another owner holds it and it has not run out.

    Renewing one's own lease works the same way. Kept in the settings table as "owner until"."""
    key = f"lease.{name}"
    value = f"{owner} {(now + timedelta(seconds=seconds)).isoformat()}"
    async with engine.connect() as conn:
        current = (await conn.execute(select(settings.c.value).where(settings.c.key == key))).scalar()
    if current is None:
        try:
            async with engine.begin() as conn:
                await conn.execute(insert(settings).values(key=key, value=value))
            return True
        except IntegrityError:  # another instance took it first
            return False
    holder, _, until = current.partition(" ")
    if holder != owner and _lease_end(until) > now:
        return False
    async with engine.begin() as conn:
        changed = await conn.execute(update(settings).where(settings.c.key == key, settings.c.value == current)
                                     .values(value=value))
        return changed.rowcount == 1


async def release_lease(engine: AsyncEngine, name: str, owner: str) -> None:
    key = f"lease.{name}"
    async with engine.begin() as conn:
        current = (await conn.execute(select(settings.c.value).where(settings.c.key == key))).scalar()
        if current is not None and current.partition(" ")[0] == owner:
            await conn.execute(update(settings).where(settings.c.key == key, settings.c.value == current)
                               .values(value=f"{owner} 1970-01-01T00:00:00+00:00"))


def _lease_end(text: str) -> datetime:
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        return datetime.fromisoformat("1970-01-01T00:00:00+00:00")
