"""Safety cases: a physician's private report of harassment, seen only by the configured recipients.

A case holds a link, a kind, an urgency and its handling; the text of the posts involved is
never stored (the link is enough for whoever helps).
"""
from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.store.common import autocommit
from bot.store.schema import people, safety_cases

REFERENCE_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"
"""No 0/O or 1/I: a reference is read aloud on the phone."""


@dataclass(frozen=True)
class SafetyCase:
    id: int
    reference: str
    person_id: int
    link: str
    kind: str
    urgency: str
    status: str
    created_at: datetime
    handled_at: datetime | None
    handled_by: int | None
    name: str = ""
    """The reporting physician's name (for the recipients)."""
    department: str = ""


def _case(row: Any) -> SafetyCase:
    m = row._mapping
    return SafetyCase(id=m["id"], reference=m["reference"], person_id=m["person_id"], link=m["link"], kind=m["kind"],
                      urgency=m["urgency"], status=m["status"], created_at=m["created_at"],
                      handled_at=m["handled_at"], handled_by=m["handled_by"], name=m["name"],
                      department=m["department"])


_SELECT = (select(safety_cases, people.c.name, people.c.department)
           .join(people, people.c.id == safety_cases.c.person_id))


class SafetyStore:
    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self.reads = autocommit(engine)

    async def open_case(self, person_id: int, link: str, kind: str, urgency: str, now: datetime) -> SafetyCase:
        """Record a report under a fresh reference such as ``SR-7K3QX``."""
        for _ in range(8):
            reference = "SR-" + "".join(secrets.choice(REFERENCE_ALPHABET) for _ in range(5))
            try:
                async with self.engine.begin() as conn:
                    await conn.execute(insert(safety_cases).values(
                        reference=reference, person_id=person_id, link=link, kind=kind, urgency=urgency,
                        status="open", created_at=now))
            except IntegrityError:
                continue  # the reference is taken: draw another
            case = await self.by_reference(reference)
            assert case is not None
            return case
        raise RuntimeError("could not draw a free case reference")

    async def by_reference(self, reference: str) -> SafetyCase | None:
        async with self.reads.connect() as conn:
            row = (await conn.execute(_SELECT.where(safety_cases.c.reference == reference.upper()))).first()
        return _case(row) if row else None

    async def by_id(self, case_id: int) -> SafetyCase | None:
        async with self.reads.connect() as conn:
            row = (await conn.execute(_SELECT.where(safety_cases.c.id == case_id))).first()
        return _case(row) if row else None

    async def cases(self, *, status: str | None = None, person_id: int | None = None) -> list[SafetyCase]:
        """Cases, newest first; only those with ``status`` or of ``person_id`` when given."""
        query = _SELECT.order_by(safety_cases.c.created_at.desc(), safety_cases.c.id.desc())
        if status:
            query = query.where(safety_cases.c.status == status)
        if person_id is not None:
            query = query.where(safety_cases.c.person_id == person_id)
        async with self.reads.connect() as conn:
            return [_case(row) for row in await conn.execute(query)]

    async def mark_handled(self, case_id: int, by: int, now: datetime) -> bool:
        """True when this call closed an open case (a second press changes nothing)."""
        async with self.engine.begin() as conn:
            result = await conn.execute(update(safety_cases).where(
                safety_cases.c.id == case_id, safety_cases.c.status == "open")
                .values(status="handled", handled_at=now, handled_by=by))
        return result.rowcount == 1
