"""Weekly readiness snapshots: written once per ISO week (first writer wins), read for trends."""
from __future__ import annotations

from dataclasses import asdict, fields
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.core.reports import Aggregate, HospitalReport
from bot.store.schema import readiness_snapshots

COUNT_FIELDS = tuple(f.name for f in fields(Aggregate) if f.name != "label")
HOSPITAL = ""


class SnapshotStore:
    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    async def save_week(self, week: str, report: HospitalReport, now: datetime) -> bool:
        """Store the week's numbers unless that week is already stored; True when this call stored them."""
        rows = [dict(week=week, department=HOSPITAL, taken_at=now, **_counts(report.overall))]
        rows += [dict(week=week, department=a.label, taken_at=now, **_counts(a)) for a in report.departments]
        dialect = postgresql if self.engine.dialect.name == "postgresql" else sqlite
        async with self.engine.begin() as conn:
            exists = (await conn.execute(select(readiness_snapshots.c.week).where(
                readiness_snapshots.c.week == week).limit(1))).first()
            if exists:
                return False
            await conn.execute(dialect.insert(readiness_snapshots).values(rows).on_conflict_do_nothing())
        return True

    async def has_week(self, week: str) -> bool:
        async with self.engine.connect() as conn:
            return (await conn.execute(select(readiness_snapshots.c.week).where(
                readiness_snapshots.c.week == week).limit(1))).first() is not None

    async def weeks(self, last: int) -> dict[str, dict[str, Aggregate]]:
        """The latest ``last`` stored weeks, oldest first: week → department ("" = hospital) → numbers."""
        async with self.engine.connect() as conn:
            recent = [w for (w,) in await conn.execute(
                select(readiness_snapshots.c.week).distinct().order_by(readiness_snapshots.c.week.desc()).limit(last))]
            rows = await conn.execute(select(readiness_snapshots).where(readiness_snapshots.c.week.in_(recent)))
            result: dict[str, dict[str, Aggregate]] = {week: {} for week in sorted(recent)}
            for row in rows:
                m = row._mapping
                result[m["week"]][m["department"]] = Aggregate(label=m["department"], **{k: m[k] for k in COUNT_FIELDS})
        return result


def _counts(aggregate: Aggregate) -> dict[str, int]:
    values = asdict(aggregate)
    return {k: values[k] for k in COUNT_FIELDS}
