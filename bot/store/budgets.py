"""Rate budgets shared by every instance through PostgreSQL: one row per budget key.

Each row is a token bucket kept as GCRA (the "theoretical arrival time" ``tat``, in seconds of the
database's clock): taking ``cost`` tokens moves ``tat`` on by ``cost / per_second`` and answers how
long the caller must wait before using them. The whole step is one ``INSERT … ON CONFLICT DO
UPDATE … RETURNING`` statement, so instances never race, and every instance reads the same clock
(the database's), so their clocks need not agree. A pause (a 429 with Retry-After) moves ``tat``
past the pause with the burst used up: nobody, on any instance, gets a token before it ends.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.core.models import BudgetState, Rate
from bot.store.common import autocommit

_NOW = "extract(epoch from clock_timestamp())"

_ACQUIRE = text(f"""
INSERT INTO rate_budgets AS b (key, per_second, burst, tat, paused_until)
VALUES (:key, CAST(:per_second AS float8), CAST(:burst AS float8), {_NOW} + CAST(:cost AS float8) / CAST(:per_second AS float8), NULL)
ON CONFLICT (key) DO UPDATE
   SET tat = greatest(b.tat, {_NOW}) + CAST(:cost AS float8) / CAST(:per_second AS float8),
       per_second = CAST(:per_second AS float8), burst = CAST(:burst AS float8)
RETURNING greatest(0.0, b.tat - CAST(:cost AS float8) / CAST(:per_second AS float8) - (CAST(:burst AS float8) - 1.0) / CAST(:per_second AS float8) - {_NOW})
""")

_ACQUIRE_MANY = text(f"""
WITH req AS (SELECT r.key, r.per_second, r.burst, r.cost, {_NOW} AS now
               FROM unnest(CAST(:keys AS text[]), CAST(:per_second AS float8[]), CAST(:burst AS float8[]),
                           CAST(:cost AS float8[])) AS r(key, per_second, burst, cost))
INSERT INTO rate_budgets AS b (key, per_second, burst, tat, paused_until)
SELECT key, per_second, burst, now + cost / per_second, NULL FROM req
ON CONFLICT (key) DO UPDATE
   SET tat = greatest(b.tat + (SELECT r.cost / r.per_second FROM req r WHERE r.key = excluded.key), excluded.tat),
       per_second = excluded.per_second, burst = excluded.burst
RETURNING b.key, b.tat, (SELECT max(now) FROM req)
""")
"""Several keys in one statement (each key once): ``excluded.tat`` is now + cost / per_second, so the
new ``tat`` is greatest(tat, now) + cost / per_second, as in :data:`_ACQUIRE`."""

_PAUSE = text(f"""
INSERT INTO rate_budgets AS b (key, per_second, burst, tat, paused_until)
VALUES (:key, 1.0, 1.0, {_NOW} + CAST(:seconds AS float8), {_NOW} + CAST(:seconds AS float8))
ON CONFLICT (key) DO UPDATE
   SET tat = greatest(b.tat, {_NOW} + CAST(:seconds AS float8) + (b.burst - 1.0) / b.per_second),
       paused_until = greatest(coalesce(b.paused_until, 0.0), {_NOW} + CAST(:seconds AS float8))
""")

_STATE = text(f"""
SELECT key, per_second, burst, greatest(0.0, tat - (burst - 1.0) / per_second - {_NOW}),
       greatest(0.0, coalesce(paused_until, 0.0) - {_NOW})
  FROM rate_budgets WHERE key LIKE :prefix ORDER BY key
""")

_PAUSED = text(f"SELECT greatest(0.0, coalesce(paused_until, 0.0) - {_NOW}) FROM rate_budgets WHERE key = :key")

_FORGET = text(f"DELETE FROM rate_budgets WHERE tat < {_NOW} - CAST(:idle AS float8) AND coalesce(paused_until, 0.0) < {_NOW}")


class SqlBudget:
    """Budgets in the ``rate_budgets`` table (PostgreSQL; several instances share them)."""

    def __init__(self, engine: AsyncEngine) -> None:
        if engine.dialect.name != "postgresql":
            raise ValueError("shared budgets need PostgreSQL; use the in-process budget on SQLite")
        self.engine = autocommit(engine)
        """Every step is one statement: no BEGIN and COMMIT round trips around it."""

    async def acquire(self, key: str, rate: Rate, cost: float = 1.0) -> float:
        async with self.engine.connect() as conn:
            wait = (await conn.execute(_ACQUIRE, dict(key=key, per_second=rate.per_second, burst=rate.burst,
                                                      cost=float(cost)))).scalar_one()
        return float(wait)

    async def acquire_many(self, requests: Sequence[tuple[str, Rate, float]]) -> list[float]:
        """:meth:`acquire` for several (key, rate, cost) in one statement; the waits in the same order. A
        key asked for more than once is taken once for the sum, its requests one after the other."""
        if not requests:
            return []
        totals: dict[str, list[Any]] = {}
        for key, rate, cost in requests:
            entry = totals.setdefault(key, [rate, 0.0])
            entry[1] += cost
        keys = list(totals)
        async with self.engine.connect() as conn:
            rows = (await conn.execute(_ACQUIRE_MANY, dict(
                keys=keys, per_second=[float(totals[k][0].per_second) for k in keys],
                burst=[float(totals[k][0].burst) for k in keys], cost=[float(totals[k][1]) for k in keys]))).all()
        start = {key: float(tat) - totals[key][1] / totals[key][0].per_second for key, tat, _ in rows}
        now = float(rows[0][2])
        waits = []
        for key, _, cost in requests:
            rate = totals[key][0]
            waits.append(max(0.0, start[key] - (rate.burst - 1.0) / rate.per_second - now))
            start[key] += cost / rate.per_second
        return waits

    async def pause(self, key: str, seconds: float) -> None:
        async with self.engine.connect() as conn:
            await conn.execute(_PAUSE, dict(key=key, seconds=max(0.0, float(seconds))))

    async def paused_for(self, key: str) -> float:
        async with self.engine.connect() as conn:
            left = (await conn.execute(_PAUSED, dict(key=key))).scalar()
        return float(left or 0.0)

    async def state(self, prefix: str = "") -> list[BudgetState]:
        async with self.engine.connect() as conn:
            rows = (await conn.execute(_STATE, dict(prefix=_like(prefix)))).all()
        return [BudgetState(key, Rate(per_second, burst), float(booked), float(paused))
                for key, per_second, burst, booked, paused in rows]

    async def forget_idle(self, idle_seconds: float = 3600.0) -> int:
        """Drop budgets nobody used for a while (one per Slack channel adds up)."""
        async with self.engine.connect() as conn:
            return (await conn.execute(_FORGET, dict(idle=float(idle_seconds)))).rowcount


def _like(prefix: str) -> str:
    return prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
