"""The content library's store: stories, their audience, and what each physician did with them.

**The embargo is enforced here.** Every read takes the caller's instant and whether they are an
admin: before a story's lift nobody but admins gets it back, from a lookup, a list or a search,
and planning (:func:`offers`) never sees it. Moving a lift later cancels what was already planned
for the story. Saving stories plans everyone again at the next tick (a story may be for anyone).
"""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from sqlalchemy import and_, delete, func, insert, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from bot.core.library import EVENTS, Audience, Event, Story, StoryState, StoryTally
from bot.store.common import autocommit, in_page, mark_changed
from bot.store.schema import (
    PLAN_AGAIN,
    meeting_attendees,
    meetings,
    outbox,
    people,
    stories,
    story_audience,
    story_people,
)

STORY_KIND = "story"
"""The outbox kind of a share suggestion."""


def _story_prefix(story_id: int) -> str:
    return f":{STORY_KIND}:{story_id}:"


def _visible(now: datetime, admin: bool) -> Any:
    """The embargo as a condition: admins see everything, others only what has lifted."""
    return stories.c.id.is_not(None) if admin else stories.c.lifts_at <= now


def _live(now: datetime) -> Any:
    return and_(stories.c.lifts_at <= now, or_(stories.c.expires_at.is_(None), stories.c.expires_at > now))


class LibraryStore:
    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self.reads = autocommit(engine)

    # -- writing -------------------------------------------------------------------------------------
    async def save(self, batch: Sequence[Story], now: datetime) -> list[Story]:
        """Add or replace stories by key, all or none (one transaction); returns them with their ids.

        A story whose lift moves later has its planned, unsent suggestions cancelled (they are planned
        again at the new lift). Everyone is planned again at the next tick.
        """
        saved: list[Story] = []
        async with self.engine.begin() as conn:
            known = {row.key: row for row in await conn.execute(
                select(stories.c.id, stories.c.key, stories.c.lifts_at, stories.c.created_at)
                .where(stories.c.key.in_([s.key for s in batch])))}
            for story in batch:
                values = dict(key=story.key, title=story.title, link=story.link, post_x=story.post("x"),
                              post_bluesky=story.post("bluesky"), post_linkedin=story.post("linkedin"),
                              alt_text=story.alt_text, lifts_at=story.lifts_at, lift_zone=story.lift_zone,
                              expires_at=story.expires_at, updated_at=now)
                old = known.get(story.key)
                if old is None:
                    story_id = (await conn.execute(insert(stories).values(**values, created_at=now)
                                                   .returning(stories.c.id))).scalar_one()
                    created = now
                else:
                    story_id, created = old.id, old.created_at
                    await conn.execute(update(stories).where(stories.c.id == story_id).values(**values))
                    await conn.execute(delete(story_audience).where(story_audience.c.story_id == story_id))
                    if story.lifts_at > old.lifts_at:
                        await _cancel_planned(conn, story_id, "the story's embargo lift moved later")
                rows = story.audience.rows()
                if rows:
                    await conn.execute(insert(story_audience), [dict(story_id=story_id, kind=kind, value=value)
                                                                for kind, value in rows])
                saved.append(_with(story, story_id, created))
            await conn.execute(update(people).where(people.c.plan_after.is_not(None)).values(**PLAN_AGAIN))
        return saved

    async def mark(self, story_id: int, person_id: int, event: Event, now: datetime) -> bool:
        """Remember that a physician was offered, tapped, shared or declined a story (the first instant
        of each is kept); True when this call recorded it. Sharing or declining plans them again."""
        if event not in EVENTS:
            raise ValueError(f"unknown story event {event!r}")
        column = f"{event}_at"
        dialect = postgresql if self.engine.dialect.name == "postgresql" else sqlite
        mine = and_(story_people.c.story_id == story_id, story_people.c.person_id == person_id)
        async with self.engine.begin() as conn:
            await conn.execute(dialect.insert(story_people).values(story_id=story_id, person_id=person_id)
                               .on_conflict_do_nothing(index_elements=["story_id", "person_id"]))
            changed = (await conn.execute(update(story_people).where(mine, story_people.c[column].is_(None))
                                          .values(**{column: now}))).rowcount == 1
            if changed and event in ("shared", "declined"):
                await mark_changed(conn, person_id)
        return changed

    # -- reading (every read takes the caller's instant and admin flag) --------------------------------
    async def get(self, key: str, now: datetime, *, admin: bool) -> Story | None:
        """The story named ``key`` (or its number), or None when there is none the caller may see."""
        condition = stories.c.key == key.strip().lower()
        if key.strip().isdigit():
            condition = or_(condition, stories.c.id == int(key.strip()))
        found = await self._select(and_(condition, _visible(now, admin)))
        return found[0] if found else None

    async def listing(self, now: datetime, *, admin: bool) -> list[Story]:
        """Stories not expired that the caller may see, soonest lift first (admins: embargoed ones too)."""
        unexpired = or_(stories.c.expires_at.is_(None), stories.c.expires_at > now)
        return await self._select(and_(unexpired, _visible(now, admin)))

    async def search(self, text: str, now: datetime, *, admin: bool) -> list[Story]:
        """Stories whose key or title contains ``text`` (any case) that the caller may see."""
        pattern = f"%{text.strip().lower()}%"
        return await self._select(and_(or_(func.lower(stories.c.title).like(pattern), stories.c.key.like(pattern)),
                                       _visible(now, admin)))

    async def by_lift(self, now: datetime, *, admin: bool, since: datetime | None = None,
                      before: datetime | None = None) -> list[Story]:
        """Stories the caller may see whose lift is at or after ``since`` and before ``before`` (a bound
        left out is open), expired ones too; soonest lift first. The range is the database's to select
        (the lift is indexed), not the caller's to filter."""
        condition = _visible(now, admin)
        if since is not None:
            condition = and_(condition, stories.c.lifts_at >= since)
        if before is not None:
            condition = and_(condition, stories.c.lifts_at < before)
        return await self._select(condition)

    async def for_person(self, person_id: int, now: datetime) -> list[Story]:
        """The stories a physician may share now: lifted, not expired, for them, not shared or declined."""
        async with self.reads.connect() as conn:
            offered = await offers(conn, [person_id], now, include_planned=True)
        wanted = {sid for sid, _ in offered.stories.get(person_id, ())}
        return [s for s in await self._select(_live(now)) if s.id in wanted]

    async def state(self, story_id: int, person_id: int) -> StoryState:
        async with self.reads.connect() as conn:
            row = (await conn.execute(select(story_people).where(
                story_people.c.story_id == story_id, story_people.c.person_id == person_id))).first()
        if row is None:
            return StoryState()
        return StoryState(row.offered_at, row.tapped_at, row.shared_at, row.declined_at)

    async def tallies(self, story_ids: Iterable[int] | None = None) -> list[StoryTally]:
        """Per story (all, or those given): offered, tapped, shared, declined; and per department."""
        query = (select(story_people.c.story_id, people.c.department,
                        *(func.count(story_people.c[f"{e}_at"]) for e in EVENTS))
                 .join(people, people.c.id == story_people.c.person_id)
                 .group_by(story_people.c.story_id, people.c.department))
        if story_ids is not None:
            query = query.where(story_people.c.story_id.in_(list(story_ids)))
        totals: dict[int, list[int]] = defaultdict(lambda: [0, 0, 0, 0])
        departments: dict[int, dict[str, tuple[int, int, int, int]]] = defaultdict(dict)
        async with self.reads.connect() as conn:
            for story_id, department, *counts in await conn.execute(query):
                totals[story_id] = [a + b for a, b in zip(totals[story_id], counts, strict=True)]
                departments[story_id][department] = (counts[0], counts[1], counts[2], counts[3])
        return [StoryTally(sid, offered=totals[sid][0], tapped=totals[sid][1], shared=totals[sid][2],
                           declined=totals[sid][3], by_department=departments[sid]) for sid in sorted(totals)]

    async def unknown_meetings(self, keys: Iterable[str]) -> list[str]:
        """The meeting keys among ``keys`` that no meeting has (an audience must name real meetings)."""
        wanted = sorted(set(keys))
        if not wanted:
            return []
        async with self.reads.connect() as conn:
            known = {k for (k,) in await conn.execute(select(meetings.c.key).where(meetings.c.key.in_(wanted)))}
        return [k for k in wanted if k not in known]

    async def _select(self, condition: Any) -> list[Story]:
        async with self.reads.connect() as conn:
            rows = (await conn.execute(select(stories).where(condition)
                                       .order_by(stories.c.lifts_at, stories.c.id))).all()
            audiences = await _audiences(conn, [row.id for row in rows])
        return [_story(row, audiences.get(row.id, Audience())) for row in rows]


# -- planning ------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Offers:
    """What planning reads about stories for a page of physicians."""

    stories: dict[int, tuple[tuple[int, int], ...]]
    """Per physician: (story id, lift as epoch seconds) of live stories for them not yet planned,
    shared or declined, oldest lift first."""
    next_lift: datetime | None
    """The next lift of a story not expired, after now (when planning must look again)."""


async def offers(conn: AsyncConnection, person_ids: Sequence[int], now: datetime, *,
                 include_planned: bool = False) -> Offers:
    """Live stories each physician should be offered (``include_planned``: also those already planned
    or offered but not shared or declined: what ``library`` lists), and the next lift to wake up for."""
    ids = sorted(person_ids)
    page = {"page": ids}
    live_rows = (await conn.execute(select(stories.c.id, stories.c.lifts_at).where(_live(now))
                                    .order_by(stories.c.lifts_at, stories.c.id))).all()
    next_lift = (await conn.execute(select(func.min(stories.c.lifts_at)).where(
        stories.c.lifts_at > now, or_(stories.c.expires_at.is_(None), stories.c.expires_at > now)))).scalar()
    if not live_rows or not ids:
        return Offers({}, next_lift)
    live = [row.id for row in live_rows]
    lifts = {row.id: int(row.lifts_at.timestamp()) for row in live_rows}
    audiences = await _audiences(conn, live)
    who = {row.id: (row.department, row.specialty) for row in await conn.execute(
        select(people.c.id, people.c.department, people.c.specialty).where(in_page(people.c.id, ids)), page)}
    attending: dict[int, set[str]] = defaultdict(set)
    if any(a.meetings for a in audiences.values()):
        for person_id, key in await conn.execute(
                select(meeting_attendees.c.person_id, meetings.c.key)
                .join(meetings, meetings.c.id == meeting_attendees.c.meeting_id)
                .where(in_page(meeting_attendees.c.person_id, ids)), page):
            attending[person_id].add(key)
    done: set[tuple[int, int]] = set()
    settled = or_(story_people.c.shared_at.is_not(None), story_people.c.declined_at.is_not(None))
    if not include_planned:
        settled = or_(settled, story_people.c.offered_at.is_not(None))
    for story_id, person_id in await conn.execute(
            select(story_people.c.story_id, story_people.c.person_id)
            .where(in_page(story_people.c.person_id, ids), story_people.c.story_id.in_(live), settled), page):
        done.add((person_id, story_id))
    if not include_planned:
        # Planned for the current lift, whatever became of it (sent, cancelled at send time, dead): once.
        current = {f"{STORY_KIND}:{sid}:{lift}" for sid, lift in lifts.items()}
        for person_id, key in await conn.execute(
                select(outbox.c.person_id, outbox.c.dedup_key)
                .where(in_page(outbox.c.person_id, ids), outbox.c.kind == STORY_KIND), page):
            _, _, rest = key.partition(":")
            if rest in current:
                done.add((person_id, int(rest.split(":")[1])))
    found: dict[int, tuple[tuple[int, int], ...]] = {}
    for person_id in ids:
        if person_id not in who:
            continue
        department, specialty = who[person_id]
        mine = tuple((sid, lifts[sid]) for sid in live if (person_id, sid) not in done
                     and audiences.get(sid, Audience()).includes(department, specialty, attending[person_id]))
        if mine:
            found[person_id] = mine
    return Offers(found, next_lift)


async def _cancel_planned(conn: AsyncConnection, story_id: int, reason: str) -> None:
    """Cancel the story's suggestions not sent yet, and plan their physicians again (it frees the day's cap)."""
    planned = and_(outbox.c.kind == STORY_KIND, outbox.c.dedup_key.like(f"%{_story_prefix(story_id)}%"),
                   outbox.c.status.in_(("pending", "parked")))
    person_ids = (await conn.execute(update(outbox).where(planned).values(
        status="cancelled", last_error=reason, lease_until=None, lease_owner=None)
        .returning(outbox.c.person_id))).scalars().all()
    await mark_changed(conn, *person_ids)


async def _audiences(conn: AsyncConnection, story_ids: Sequence[int]) -> dict[int, Audience]:
    if not story_ids:
        return {}
    rows: dict[int, list[tuple[str, str]]] = defaultdict(list)
    for story_id, kind, value in await conn.execute(
            select(story_audience.c.story_id, story_audience.c.kind, story_audience.c.value)
            .where(story_audience.c.story_id.in_(list(story_ids)))):
        rows[story_id].append((kind, value))
    return {story_id: Audience.of_rows(found) for story_id, found in rows.items()}


def _story(row: Any, audience: Audience) -> Story:
    posts = {network: row._mapping[f"post_{network}"] for network in ("x", "bluesky", "linkedin")
             if row._mapping[f"post_{network}"]}
    return Story(key=row.key, title=row.title, link=row.link, posts=posts, audience=audience, lifts_at=row.lifts_at,
                 lift_zone=row.lift_zone, expires_at=row.expires_at, alt_text=row.alt_text, id=row.id,
                 created_at=row.created_at)


def _with(story: Story, story_id: int, created: datetime) -> Story:
    return replace(story, id=story_id, created_at=created)
