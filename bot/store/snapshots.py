"""Weekly readiness snapshots: written once per ISO week (first writer wins), read for trends; with
each physician's marks of that week, read for week-over-week changes over the same physicians."""
from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import asdict, fields
from datetime import datetime

from sqlalchemy import select, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.core.numbers import Marks
from bot.core.reports import Aggregate, HospitalReport
from bot.store.common import autocommit
from bot.store.schema import readiness_snapshots, weekly_marks

COUNT_FIELDS = tuple(f.name for f in fields(Aggregate) if f.name != "label")
HOSPITAL = ""
MARKS_BATCH = 5_000
_MARKS_MANY = text("""
INSERT INTO weekly_marks (week, person_id, flags, score)
SELECT CAST(:week AS varchar), m.person, m.flags, m.score
  FROM unnest(CAST(:people AS integer[]), CAST(:flags AS text[]), CAST(:scores AS integer[])) AS m(person, flags, score)
""")


class SnapshotStore:
    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self.reads = autocommit(engine)

    async def save_week(self, week: str, report: HospitalReport, now: datetime,
                        marks: Mapping[int, Marks] | None = None) -> bool:
        """Store the week's numbers (and each physician's marks) unless that week is already stored;
        True when this call stored them."""
        rows = [dict(week=week, department=HOSPITAL, taken_at=now, **_counts(report.overall))]
        rows += [dict(week=week, department=a.label, taken_at=now, **_counts(a)) for a in report.departments]
        dialect = postgresql if self.engine.dialect.name == "postgresql" else sqlite
        async with self.engine.begin() as conn:
            exists = (await conn.execute(select(readiness_snapshots.c.week).where(
                readiness_snapshots.c.week == week).limit(1))).first()
            if exists:
                return False
            stored = (await conn.execute(dialect.insert(readiness_snapshots).values(rows).on_conflict_do_nothing()
                                         .returning(readiness_snapshots.c.week))).all()
            if not stored:
                return False  # another instance stored this week first, between the check and the insert
            # A mark per physician (tens of thousands): arrays in one statement per batch on PostgreSQL,
            # one statement the SQLite driver runs for each row.
            per_person = await asyncio.to_thread(  # tens of thousands of rows: off the event loop
                lambda: [(week, person, ",".join(sorted(m.flags)), m.score) for person, m in (marks or {}).items()])
            if conn.dialect.name == "postgresql":
                for start in range(0, len(per_person), MARKS_BATCH):
                    _, people_, flags, scores = (list(column) for column in zip(
                        *per_person[start:start + MARKS_BATCH], strict=True))
                    await conn.execute(_MARKS_MANY, dict(week=week, people=people_, flags=flags, scores=scores))
            elif per_person:
                await conn.exec_driver_sql(
                    "INSERT INTO weekly_marks (week, person_id, flags, score) VALUES (?, ?, ?, ?)", per_person)
        return True

    async def marks(self, week: str) -> dict[int, Marks]:
        """Each physician's marks stored for ``week`` (empty when that week has none)."""
        shared: dict[str, frozenset[str]] = {}
        async with self.reads.connect() as conn:
            return {person: Marks(shared.setdefault(flags, frozenset(filter(None, flags.split(",")))), score)
                    for person, flags, score in await conn.execute(
                        select(weekly_marks.c.person_id, weekly_marks.c.flags, weekly_marks.c.score)
                        .where(weekly_marks.c.week == week))}

    async def has_week(self, week: str) -> bool:
        async with self.reads.connect() as conn:
            return (await conn.execute(select(readiness_snapshots.c.week).where(
                readiness_snapshots.c.week == week).limit(1))).first() is not None

    async def weeks(self, last: int) -> dict[str, dict[str, Aggregate]]:
        """The latest ``last`` stored weeks, oldest first: week → department ("" = hospital) → numbers."""
        async with self.reads.connect() as conn:
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
