"""A synthetic hospital for the benchmarks: N physicians in 40 departments with varied progress.

Written straight into a migrated database through the store's engine with SQLAlchemy Core
bulk inserts (seconds for 50,000 physicians), deterministic for a given size, seed and instant.
Everything is placed relative to ``now`` (join dates, meetings, due reviews), so the product's
scheduler finds a realistic mix of due reminders whenever the bench runs.

Identities follow fixed patterns so the fakes need no directory: physician ``i`` (1-based,
equal to ``people.id``) is Slack user ``slack_user(i)`` with email ``email(i)``; the first
``teams_linked`` physicians are also linked to Teams as ``aad_id(i)`` with a stored personal
conversation reference.
"""
from __future__ import annotations

import asyncio
import json
import random
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import insert

from bot.content import Content
from bot.store import Store
from bot.store.schema import (
    camp_items,
    conversation_refs,
    identities,
    lessons_done,
    meeting_attendees,
    meetings,
    people,
    profile_items,
    quiz_reviews,
    readiness_snapshots,
)

DEPARTMENTS = (
    "Allergy and Immunology", "Anesthesiology", "Cardiology", "Cardiothoracic Surgery", "Critical Care",
    "Dermatology", "Emergency Medicine", "Endocrinology", "Family Medicine", "Gastroenterology",
    "General Surgery", "Geriatrics", "Hematology", "Hospital Medicine", "Infectious Diseases",
    "Internal Medicine", "Interventional Radiology", "Medical Genetics", "Nephrology", "Neurology",
    "Neurosurgery", "Nuclear Medicine", "Obstetrics and Gynecology", "Oncology", "Ophthalmology",
    "Orthopedic Surgery", "Otolaryngology", "Pain Medicine", "Palliative Care", "Pathology",
    "Pediatrics", "Physical Medicine", "Plastic Surgery", "Psychiatry", "Pulmonology",
    "Radiation Oncology", "Radiology", "Rheumatology", "Sports Medicine", "Urology",
)
FIRST = ("Aisha", "Ben", "Carla", "David", "Elena", "Farid", "Grace", "Hiro", "Ines", "Jamal", "Kara", "Luis",
         "Maya", "Nikhil", "Olga", "Pedro", "Quinn", "Rosa", "Samir", "Tara", "Uma", "Victor", "Wen", "Yusuf")
LAST = ("Adams", "Baker", "Chen", "Diaz", "Evans", "Fischer", "Garcia", "Haddad", "Ivanova", "Johnson", "Kim",
        "Lopez", "Murphy", "Nguyen", "Okafor", "Patel", "Quint", "Rivera", "Singh", "Tanaka", "Usman", "Vogel")
ZONES = (None,) * 14 + ("America/Chicago", "America/Denver", "America/Los_Angeles", "America/Phoenix",
                        "Europe/London", "Asia/Kolkata")
BOT = {"id": "28:social-rounds-bot", "name": "Social Rounds"}
TENANT = "bench-tenant"
BATCH = 2000


def email(i: int) -> str:
    return f"physician{i:06d}@bench-hospital.example"


def slack_user(i: int) -> str:
    return f"U{i:09d}"


def aad_id(i: int) -> str:
    return f"00000000-0000-4000-8000-{i:012d}"


def teams_user(i: int) -> str:
    return f"29:bench-{i}"


def index_of_slack_user(user_id: str) -> int | None:
    return int(user_id[1:]) if user_id.startswith("U") and user_id[1:].isdigit() else None


def index_of_email(address: str) -> int | None:
    local = address.split("@", 1)[0]
    return int(local[len("physician"):]) if local.startswith("physician") and local[9:].isdigit() else None


@dataclass(frozen=True)
class RosterStats:
    physicians: int
    departments: int
    rows: int
    seconds: float


async def generate(store: Store, content: Content, n: int, now: datetime, *, seed: int = 9,
                   teams_linked: int = 5000, service_url: str = "http://127.0.0.1:9/") -> RosterStats:
    """Fill a migrated, empty store with ``n`` physicians (ids 1..n) and their progress."""
    import time

    started = time.perf_counter()
    rng = random.Random(seed)
    now = now.astimezone(UTC)
    today = now.date()
    lessons = [lesson.id for lesson in sorted(content.curriculum.lessons, key=lambda lesson: not lesson.core)]
    profile_ids = [item.id for item in content.profile_items]
    camp_ids = [item.id for phase in sorted(content.camp_phases, key=lambda p: p.offset_days) for item in phase.items]

    meeting_rows = _meetings(content, today, now)
    tables: dict[Any, list[dict[str, Any]]] = {t: [] for t in (
        people, identities, profile_items, lessons_done, quiz_reviews, meeting_attendees, camp_items,
        conversation_refs)}
    for i in range(1, n + 1):
        joined = now - timedelta(days=rng.choice((0, 1, 2, 3, 5, 8, 12)) if rng.random() < 0.08
                                 else rng.randint(15, 540), minutes=rng.randint(0, 600))
        has_handle = rng.random() < 0.58
        follows = has_handle and rng.random() < 0.62
        tables[people].append(dict(
            id=i, email=email(i), name=f"Dr. {rng.choice(FIRST)} {rng.choice(LAST)} {i}",
            department=DEPARTMENTS[(i * 7 + rng.randint(0, 3)) % len(DEPARTMENTS)],
            specialty="", role="physician", x_handle=f"bench{i}" if has_handle else None,
            timezone=rng.choice(ZONES), active=rng.random() > 0.01,
            follows_hospital_at=joined + timedelta(days=2) if follows else None,
            followed_back_at=joined + timedelta(days=4) if follows and rng.random() < 0.5 else None,
            video_posted_at=joined + timedelta(days=9) if follows and rng.random() < 0.15 else None,
            snoozed_until=now + timedelta(days=rng.randint(1, 14)) if rng.random() < 0.03 else None,
            stopped_at=joined if rng.random() < 0.02 else None,
            created_at=joined, updated_at=joined,
        ))
        tables[identities].append(dict(platform="slack", platform_user_id=slack_user(i), person_id=i,
                                       linked_at=joined))
        if i <= teams_linked:
            tables[identities].append(dict(platform="teams", platform_user_id=aad_id(i), person_id=i,
                                           linked_at=joined))
            tables[conversation_refs].append(dict(platform="teams", address=aad_id(i), person_id=i,
                                                  reference=_reference(i, service_url), updated_at=joined))
        if has_handle:
            for item in profile_ids[:rng.choice((0, 1, 2, 3, 4, 4, 4))]:
                tables[profile_items].append(dict(person_id=i, item_id=item, done_at=joined))
        done = min(len(lessons), int(rng.expovariate(1 / 6)))
        for k, lesson in enumerate(lessons[:done]):
            answered = joined + timedelta(days=2 + 3 * k)
            tables[lessons_done].append(dict(person_id=i, lesson_id=lesson, completed_at=answered))
            missed = rng.random() < 0.18
            retired = not missed and rng.random() < 0.6
            due = None if retired else (now - timedelta(days=rng.randint(0, 20)) if rng.random() < 0.3
                                        else now + timedelta(days=rng.randint(1, 24)))
            tables[quiz_reviews].append(dict(
                person_id=i, lesson_id=lesson, attempts=1 if not retired else 2, streak=0 if missed else 1 + retired,
                due_at=due, retired=retired, last_correct=not missed, answered_at=answered))
        if rng.random() < 0.22:
            for meeting_id in rng.sample(range(1, len(meeting_rows) + 1), rng.choice((1, 1, 1, 2))):
                tables[meeting_attendees].append(dict(meeting_id=meeting_id, person_id=i, joined_at=joined))
                for item in camp_ids[:rng.randint(0, len(camp_ids))]:
                    tables[camp_items].append(dict(person_id=i, meeting_id=meeting_id, item_id=item, done_at=now))

    rows = 0
    async with store.engine.begin() as conn:
        await conn.execute(insert(meetings), meeting_rows)
        for table, values in tables.items():
            for start in range(0, len(values), BATCH):
                await conn.execute(insert(table), values[start:start + BATCH])
            rows += len(values)
        await conn.execute(insert(readiness_snapshots), _history(today, now, n))
    return RosterStats(physicians=n, departments=len(DEPARTMENTS), rows=rows + len(meeting_rows),
                       seconds=time.perf_counter() - started)


def _meetings(content: Content, today: date, now: datetime) -> list[dict[str, Any]]:
    """Twelve catalog meetings spread from last week to five months out: several camps are open."""
    offsets = (-9, 1, 4, 9, 13, 20, 35, 60, 90, 120, 150, 2)
    rows = []
    for number, (catalog, offset) in enumerate(zip(content.catalog, offsets, strict=False), start=1):
        starts = today + timedelta(days=offset)
        rows.append(dict(id=number, key=f"{catalog.key}-bench", name=f"{catalog.name} (bench)",
                         specialty=catalog.specialty, starts_on=starts, ends_on=starts + timedelta(days=3),
                         city="Chicago", hashtag=f"#{catalog.key.upper()}B", embargo="", embargo_lifts_at=None,
                         created_at=now))
    return rows


def _history(today: date, now: datetime, n: int) -> list[dict[str, Any]]:
    """Six earlier weeks of hospital-wide readiness for the digest's trend."""
    from bot.core.digest import iso_week

    rows = []
    for weeks_ago in range(6, 0, -1):
        share = 0.3 + 0.03 * (6 - weeks_ago)
        rows.append(dict(week=iso_week(today - timedelta(days=7 * weeks_ago)), department="", physicians=n,
                         with_profile=int(n * share), profile_complete=int(n * share * 0.5),
                         following=int(n * share * 0.6), followed_back=int(n * share * 0.3),
                         core_lessons_done=int(n * 0.1), camp_registered=int(n * 0.2), camp_done=int(n * 0.05),
                         score_total=int(n * 30 * share), taken_at=now - timedelta(days=7 * weeks_ago)))
    return rows


def _reference(i: int, service_url: str) -> str:
    return json.dumps({
        "activityId": None, "user": {"id": teams_user(i), "name": f"Physician {i}", "aadObjectId": aad_id(i)},
        "bot": BOT, "conversation": {"id": f"a:personal-{i}", "conversationType": "personal", "tenantId": TENANT},
        "channelId": "msteams", "locale": "en-US", "serviceUrl": service_url,
    }, separators=(",", ":"))


async def create(path: Path, content: Content, n: int, now: datetime, **kwargs: Any) -> RosterStats:
    """A fresh migrated SQLite database at ``path`` holding the synthetic roster."""
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    store = Store.open(f"sqlite:///{path}")
    try:
        await store.upgrade()
        return await generate(store, content, n, now, **kwargs)
    finally:
        await store.close()


if __name__ == "__main__":  # python -m bench.roster N FILE.db
    import sys

    from bot.content import load_content

    size, target = int(sys.argv[1]), Path(sys.argv[2])
    stats = asyncio.run(create(target, load_content(Path(__file__).resolve().parents[1] / "prompts"), size,
                               datetime.now(UTC)))
    print(stats)
