"""The demo hospital that `rounds demo` seeds: ~40 physicians in 6 departments, a marketing
manager, and the next editions of catalog meetings, with varied progress so reports say something."""
from __future__ import annotations

import random
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from bot.content import Content
from bot.core.models import Meeting
from bot.store import RosterEntry, Store

DEPARTMENTS = {
    "Cardiology": ("Cardiologist", ["acc", "aha", "esc"]),
    "Oncology": ("Medical Oncologist", ["asco", "esmo", "sabcs"]),
    "Neurology": ("Neurologist", ["aan"]),
    "Gastroenterology": ("Gastroenterologist", ["ddw"]),
    "Pulmonology": ("Pulmonologist", ["ats", "chest"]),
    "Radiology": ("Radiologist", ["rsna"]),
}
FIRST = ["Aisha", "Ben", "Carla", "David", "Elena", "Farid", "Grace", "Hiro", "Ines", "Jamal", "Keiko",
         "Liam", "Maya", "Nikhil", "Olivia", "Pedro", "Quinn", "Rosa", "Samir", "Tara", "Umar", "Vera",
         "Wes", "Xin", "Yara", "Zoe", "Amir", "Bianca", "Chen", "Dana", "Emeka", "Fatima", "Gabe", "Hana",
         "Ivan", "Julia", "Kofi", "Lena", "Mateo", "Nora"]
LAST = ["Rivera", "Okafor", "Chen", "Novak", "Haddad", "Schmidt", "Tanaka", "Singh", "Moreau", "Kowalski",
        "Ibrahim", "Larsen", "Costa", "Park", "Nguyen", "Adeyemi", "Fischer", "Romero", "Ali", "Bauer"]
MARKETING = RosterEntry("maria.lopez@riverside.example", "Maria Lopez", "Marketing", "Marketing manager", "admin")
DOMAIN = "riverside.example"
DEMO_MORNING = time(9, 0)


def demo_start(now: datetime, zone: ZoneInfo, quiet_end: time) -> datetime:
    """Where a new demo's clock starts: the next weekday morning in the hospital's zone (09:00, or when
    quiet hours end if that is later), so reminders can arrive from the first press of a clock button."""
    local = now.astimezone(zone)
    at = max(DEMO_MORNING, quiet_end)
    day = local.date()
    while True:
        start = datetime.combine(day, at, zone)
        if start > local and start.weekday() < 5:
            return start.astimezone(ZoneInfo("UTC"))
        day += timedelta(days=1)


def roster() -> list[RosterEntry]:
    rng = random.Random(7)
    entries = [MARKETING]
    names = iter(zip(FIRST, rng.sample(LAST * 2, len(FIRST)), strict=True))
    for department, (specialty, _) in DEPARTMENTS.items():
        for _ in range(rng.choice((6, 7))):
            first, last = next(names)
            entries.append(RosterEntry(f"{first}.{last}@{DOMAIN}".lower(), f"Dr. {first} {last}", department,
                                       specialty))
    return entries


def _lifts(first_day: date, zone: ZoneInfo) -> datetime:
    """Late-breaking results in the demo lift at 07:00 on the meeting's first day."""
    return datetime.combine(first_day, time(7, 0), zone).astimezone(ZoneInfo("UTC"))


def next_editions(content: Content, today: date, zone: ZoneInfo) -> list[Meeting]:
    """The next edition of each catalog meeting a demo department attends, within a year."""
    wanted = {key for _, keys in DEPARTMENTS.values() for key in keys}
    meetings = []
    for catalog in content.catalog:
        if catalog.key not in wanted:
            continue
        year = today.year if catalog.usual_month > today.month else today.year + 1
        starts = date(year, catalog.usual_month, 1) + timedelta(days=(3 - date(year, catalog.usual_month, 1).weekday()) % 7 + 7)
        meetings.append(Meeting(0, f"{catalog.key}-{year}", f"{catalog.name} {year}", catalog.specialty, starts,
                                starts + timedelta(days=catalog.days - 1), "", catalog.hashtag_for(year),
                                catalog.embargo, _lifts(starts, zone)))
    # One meeting two weeks out, so Tweet Camp is live in the demo from the first minute.
    soon = today + timedelta(days=12)
    meetings.append(Meeting(0, f"hospital-medicine-{soon.year}", f"Regional Hospital Medicine Summit {soon.year}",
                            "Hospital medicine", soon, soon + timedelta(days=2), "Boston", f"#RHMS{soon.year % 100:02d}",
                            "Abstracts are public once presented; late-breaking sessions are embargoed until they begin.",
                            _lifts(soon, zone)))
    return sorted(meetings, key=lambda m: m.starts_on)


async def seed(store: Store, content: Content, now: datetime, hospital_zone: ZoneInfo) -> bool:
    """Fill an empty database with the demo hospital; False when it already has people."""
    if await store.count("people"):
        return False
    today = now.astimezone(hospital_zone).date()
    await store.people.upsert(roster(), now)
    added = [await store.meetings.add(m, now) for m in next_editions(content, today, hospital_zone)]
    rng = random.Random(11)
    lessons = [lesson.id for lesson in content.curriculum.lessons if lesson.core]
    for person in await store.people.all(role="physician"):
        level = rng.random()
        if level < 0.35:
            continue  # a third have not started
        handle = (person.name.split()[-1] + person.name.split()[1][0] + "MD")[:15]
        await store.profile.set_x_handle(person.id, handle, now)
        for item in content.profile_items[: rng.randint(1, len(content.profile_items))]:
            await store.profile.set_item(person.id, item.id, True, now)
        if level > 0.5:
            await store.profile.set_follows_hospital(person.id, True, now)
        if level > 0.7:
            await store.profile.set_followed_back(person.id, now)
        for lesson_id in lessons[: rng.randint(0, len(lessons))]:
            await store.progress.mark_lesson_done(person.id, lesson_id, now)
        relevant = [m for m in added if m.specialty.split()[0].lower() in person.specialty.lower()
                    or m.key.startswith("hospital-medicine")]
        if relevant and level > 0.6:
            await store.meetings.set_attending(person.id, relevant[0].id, True, now)
    return True
