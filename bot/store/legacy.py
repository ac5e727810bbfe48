"""Transitional: the store's former flat methods, each delegating to its aggregate's store.

Callers move to ``store.<aggregate>.<method>``; this module goes once none is left.
"""
from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import update

from bot.store.schema import PLAN_AGAIN, people

if TYPE_CHECKING:
    from bot.store.conversations import ConversationStore
    from bot.store.meetings import MeetingStore
    from bot.store.people import PeopleStore
    from bot.store.planning import PlanningStore
    from bot.store.preferences import PreferenceStore
    from bot.store.profile import ProfileStore
    from bot.store.progress import ProgressStore
    from bot.store.readiness import ReadinessStore
    from bot.store.roster import RosterStore
    from bot.store.settings import EventStore, SettingStore


class FlatMethods:
    engine: Any
    people: PeopleStore
    roster: RosterStore
    profile: ProfileStore
    preferences: PreferenceStore
    progress: ProgressStore
    meetings: MeetingStore
    conversations: ConversationStore
    readiness: ReadinessStore
    planning: PlanningStore
    events: EventStore
    settings: SettingStore

    async def upsert_people(self, *args: Any, **kwargs: Any) -> Any:
        return await self.people.upsert(*args, **kwargs)

    async def person(self, *args: Any, **kwargs: Any) -> Any:
        return await self.people.get(*args, **kwargs)

    async def person_by_email(self, *args: Any, **kwargs: Any) -> Any:
        return await self.people.by_email(*args, **kwargs)

    async def person_by_identity(self, *args: Any, **kwargs: Any) -> Any:
        return await self.people.by_identity(*args, **kwargs)

    async def link_identity(self, *args: Any, **kwargs: Any) -> Any:
        return await self.people.link_identity(*args, **kwargs)

    async def managers(self, *args: Any, **kwargs: Any) -> Any:
        return await self.people.managers(*args, **kwargs)

    async def claim_x_handle(self, *args: Any, **kwargs: Any) -> Any:
        return await self.profile.claim_x_handle(*args, **kwargs)

    async def handle_conflicts(self, *args: Any, **kwargs: Any) -> Any:
        return await self.profile.handle_conflicts(*args, **kwargs)

    async def set_profile_item(self, *args: Any, **kwargs: Any) -> Any:
        return await self.profile.set_item(*args, **kwargs)

    async def profile_done(self, *args: Any, **kwargs: Any) -> Any:
        return await self.profile.items_done(*args, **kwargs)

    async def mark_lesson_done(self, *args: Any, **kwargs: Any) -> Any:
        return await self.progress.mark_lesson_done(*args, **kwargs)

    async def lessons_done(self, *args: Any, **kwargs: Any) -> Any:
        return await self.progress.lessons_done(*args, **kwargs)

    async def lessons_completed(self, *args: Any, **kwargs: Any) -> Any:
        return await self.progress.lessons_completed(*args, **kwargs)

    async def transcripts(self, *args: Any, **kwargs: Any) -> Any:
        return await self.progress.transcripts(*args, **kwargs)

    async def reviews(self, *args: Any, **kwargs: Any) -> Any:
        return await self.progress.reviews(*args, **kwargs)

    async def save_review(self, *args: Any, **kwargs: Any) -> Any:
        return await self.progress.save_review(*args, **kwargs)

    async def add_meeting(self, *args: Any, **kwargs: Any) -> Any:
        return await self.meetings.add(*args, **kwargs)

    async def meeting_by_key(self, *args: Any, **kwargs: Any) -> Any:
        return await self.meetings.by_key(*args, **kwargs)

    async def set_attending(self, *args: Any, **kwargs: Any) -> Any:
        return await self.meetings.set_attending(*args, **kwargs)

    async def attending(self, *args: Any, **kwargs: Any) -> Any:
        return await self.meetings.attending(*args, **kwargs)

    async def set_camp_item(self, *args: Any, **kwargs: Any) -> Any:
        return await self.meetings.set_camp_item(*args, **kwargs)

    async def camp_done(self, *args: Any, **kwargs: Any) -> Any:
        return await self.meetings.camp_done(*args, **kwargs)

    async def snapshot(self, *args: Any, **kwargs: Any) -> Any:
        return await self.readiness.snapshot(*args, **kwargs)

    async def attendee_snapshots(self, *args: Any, **kwargs: Any) -> Any:
        return await self.readiness.attendee_snapshots(*args, **kwargs)

    async def roster_counts(self, *args: Any, **kwargs: Any) -> Any:
        return await self.readiness.roster_counts(*args, **kwargs)

    async def due_for_planning(self, *args: Any, **kwargs: Any) -> Any:
        return await self.planning.due(*args, **kwargs)

    async def planning_inputs(self, *args: Any, **kwargs: Any) -> Any:
        return await self.planning.inputs(*args, **kwargs)

    async def set_plan_after(self, *args: Any, **kwargs: Any) -> Any:
        return await self.planning.set_plan_after(*args, **kwargs)

    async def replan_everyone(self, *args: Any, **kwargs: Any) -> Any:
        return await self.planning.replan_everyone(*args, **kwargs)

    async def addresses(self, *args: Any, **kwargs: Any) -> Any:
        return await self.conversations.addresses(*args, **kwargs)

    async def save_conversation_ref(self, *args: Any, **kwargs: Any) -> Any:
        return await self.conversations.save_ref(*args, **kwargs)

    async def conversation_ref(self, *args: Any, **kwargs: Any) -> Any:
        return await self.conversations.ref(*args, **kwargs)

    async def delete_conversation_ref(self, *args: Any, **kwargs: Any) -> Any:
        return await self.conversations.delete_ref(*args, **kwargs)

    async def claim_event(self, *args: Any, **kwargs: Any) -> Any:
        return await self.events.claim(*args, **kwargs)

    async def forget_events_before(self, *args: Any, **kwargs: Any) -> Any:
        return await self.events.forget_before(*args, **kwargs)

    async def get_setting(self, *args: Any, **kwargs: Any) -> Any:
        return await self.settings.get(*args, **kwargs)

    async def set_setting(self, *args: Any, **kwargs: Any) -> Any:
        return await self.settings.set(*args, **kwargs)

    async def apply_roster(self, *args: Any, **kwargs: Any) -> Any:
        return await self.roster.apply(*args, **kwargs)

    async def update_person(self, person_id: int, now: datetime, **values: Any) -> None:
        allowed = {"x_handle", "timezone", "follows_hospital_at", "followed_back_at", "video_posted_at",
                   "snoozed_until", "stopped_at", "active", "department", "specialty", "name",
                   "quiet_start", "quiet_end", "weekends_off", "lesson_time", "networks"}
        unknown = set(values) - allowed
        if unknown:
            raise ValueError(f"cannot update {sorted(unknown)}")
        async with self.engine.begin() as conn:
            await conn.execute(update(people).where(people.c.id == person_id)
                               .values(updated_at=now, **values, **PLAN_AGAIN))
