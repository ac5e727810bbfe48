"""The channels' capabilities (:mod:`bot.channels.ports`) over the store and the coach.

Thin on purpose: each method is one store call, so a channel's behaviour stays in the channel
while only this module (and the composition root) knows the store is there.
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

from bot.channels.ports import DirectoryEntry, InstallCandidate, Linked
from bot.clock import Clock
from bot.coach import Coach
from bot.core.dnd import DndStatus
from bot.core.share import SHARE_SECRET_SETTING, ShareRef, intent_url
from bot.store import Store
from bot.store.directory import DirectoryUser
from bot.store.library import STORY_KIND

OUTBOX_ID_MAX = 2**31 - 1
"""Ids above the database's 32-bit integer columns are not looked up (PostgreSQL would refuse them)."""


class ChannelServices:
    """Implements :class:`~bot.channels.ports.SlackRecords`, :class:`~bot.channels.ports.TeamsRecords`,
    :class:`~bot.channels.ports.InstallRecords` and :class:`~bot.channels.ports.DigestCharts`."""

    def __init__(self, store: Store, coach: Coach, clock: Clock) -> None:
        self._store = store
        self._coach = coach
        self._clock = clock
        self._share_secret = ""

    # -- identities ------------------------------------------------------------------------------------
    async def person_by_identity(self, platform: str, user_id: str) -> Linked | None:
        return await self._store.people.by_identity(platform, user_id)

    async def person_by_email(self, email: str) -> Linked | None:
        return await self._store.people.by_email(email)

    async def link_identity(self, platform: str, user_id: str, person_id: int, now: datetime) -> None:
        await self._store.people.link_identity(platform, user_id, person_id, now)

    # -- parking -----------------------------------------------------------------------------------------
    async def park(self, platform: str, address: str | None, reason: str, now: datetime) -> int:
        return await self._store.outbox.park(platform, address, reason, now)

    async def resume(self, platform: str, address: str | None, now: datetime) -> int:
        return await self._store.outbox.resume(platform, address, now)

    async def parked_everywhere(self, platform: str) -> bool:
        return any(t.address == "*" for t in await self._store.outbox.parked(platform))

    # -- events ------------------------------------------------------------------------------------------
    async def claim_event(self, key: str, now: datetime) -> bool:
        return await self._store.events.claim(key, now)

    async def forget_events_before(self, cutoff: datetime) -> int:
        return await self._store.events.forget_before(cutoff)

    # -- the Slack directory -----------------------------------------------------------------------------
    async def save_members(self, members: Sequence[DirectoryEntry], now: datetime) -> int:
        return await self._store.slack_directory.save(
            [DirectoryUser(m.user_id, m.email, m.deleted) for m in members], now)

    async def link_roster(self, now: datetime) -> int:
        return await self._store.slack_directory.link_roster(now)

    async def user_for_email(self, email: str) -> str | None:
        return await self._store.slack_directory.user_for_email(email)

    async def mark_missing(self, email: str, now: datetime) -> None:
        await self._store.slack_directory.mark_missing(email, now)

    async def missing_since(self, email: str) -> datetime | None:
        return await self._store.slack_directory.missing_since(email)

    async def synced_at(self) -> datetime | None:
        return await self._store.slack_directory.synced_at()

    async def set_synced(self, now: datetime) -> None:
        await self._store.slack_directory.set_synced(now)

    async def try_lease(self, name: str, owner: str, now: datetime, seconds: float) -> bool:
        return await self._store.slack_directory.try_lease(name, owner, now, seconds)

    # -- Slack Do Not Disturb -----------------------------------------------------------------------------
    async def dnd_statuses(self, user_ids: Iterable[str]) -> dict[str, DndStatus]:
        return await self._store.slack_dnd.statuses(user_ids)

    async def save_dnd(self, statuses: Sequence[DndStatus]) -> None:
        await self._store.slack_dnd.save(statuses)

    async def due_now(self, platform: str, address: str, reason: str, now: datetime) -> int:
        return await self._store.outbox.due_now(platform, address, reason, now)

    # -- conversation references -------------------------------------------------------------------------
    async def save_reference(self, platform: str, address: str, reference: str, person_id: int | None,
                             now: datetime) -> None:
        await self._store.conversations.save_ref(platform, address, reference, person_id, now)

    async def reference(self, platform: str, address: str) -> str | None:
        return await self._store.conversations.ref(platform, address)

    async def delete_reference(self, platform: str, address: str) -> bool:
        return await self._store.conversations.delete_ref(platform, address)

    # -- Teams installs through Graph --------------------------------------------------------------------
    async def install_candidates(self, now: datetime, after_id: int, limit: int) -> Sequence[InstallCandidate]:
        return await self._store.teams_installs.candidates(now, after_id, limit)

    async def record_install(self, person_id: int, state: str, reason: str, user_id: str | None, now: datetime,
                             retry_at: datetime | None = None) -> None:
        await self._store.teams_installs.record(person_id, state, reason, user_id, now, retry_at)

    async def latest_reference(self) -> str | None:
        return await self._store.teams_installs.latest_reference()

    async def take_install_lease(self, name: str, owner: str, now: datetime, seconds: float) -> bool:
        return await self._store.teams_installs.take_lease(name, owner, now, seconds)

    async def release_install_lease(self, name: str, owner: str) -> None:
        await self._store.teams_installs.release_lease(name, owner)

    # -- charts ------------------------------------------------------------------------------------------
    async def digest_chart(self, week: str) -> bytes:
        reply = await self._coach.digest_reply(self._clock.now(), week)
        assert reply.image is not None
        return reply.image.png

    # -- share buttons -----------------------------------------------------------------------------------
    async def share_secret(self) -> str:
        if not self._share_secret:
            self._share_secret = await self._store.settings.secret(SHARE_SECRET_SETTING)
        return self._share_secret

    async def share_target(self, ref: ShareRef, now: datetime, *, count: bool) -> str | None:
        """The composer's address for a share button, counting the tap as the message's recipient's;
        None unless the message is a share suggestion of that story, the story is live and it has a
        post for the network."""
        if ref.message_id > OUTBOX_ID_MAX or ref.story_id > OUTBOX_ID_MAX:
            return None
        message = await self._store.outbox.get(ref.message_id)
        if message is None or message.kind != STORY_KIND or message.person_id is None \
                or message.spec.get("story") != ref.story_id:
            return None
        story = await self._store.library.get(str(ref.story_id), now, admin=False)
        if story is None or story.id != ref.story_id or not story.live(now) or ref.network not in story.networks:
            return None
        if count:
            await self._store.library.mark(story.id, message.person_id, "tapped", now)
        return intent_url(ref.network, story.post(ref.network), story.link)
