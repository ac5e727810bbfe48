"""The local chat's backend (:class:`~bot.channels.webchat.WebChatBackend`): people to play, the coach,
the demo clock and the web inbox."""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from bot.channels.webchat import Persona
from bot.core.access import is_admin
from bot.core.reminders import Respect, may_send
from bot.delivery.service import Delivery
from bot.messages import Incoming, Reply

if TYPE_CHECKING:
    from bot.app import Runtime


class WebChatBridge:
    """What the local chat needs from the product: people to play, the coach, the demo clock."""

    def __init__(self, runtime: Runtime, delivery: Delivery) -> None:
        self.runtime = runtime
        self.delivery = delivery

    def quiet_until(self, instant: datetime) -> datetime | None:
        """When the hospital's quiet hours (or weekend) holding reminders back end; None outside them."""
        quiet = self.runtime.config.quiet_hours
        respect = Respect(self.runtime.config.zone, quiet.start, quiet.end, quiet.weekends)
        if may_send(respect, instant):
            return None
        step = instant.replace(second=0, microsecond=0)
        for _ in range(4 * 24 * 4):  # 15-minute steps, at most four days (a weekend and a night)
            step += timedelta(minutes=15)
            if may_send(respect, step):
                return step
        return None

    async def personas(self) -> list[Persona]:
        people = await self.runtime.store.people.all()
        return [Persona(id=p.email, name=p.name, department=p.department,
                        role="admin" if is_admin(p, self.runtime.config.admins) else "physician",
                        detail=p.specialty) for p in people]

    async def handle(self, incoming: Incoming) -> list[Reply]:
        return await self.runtime.coach.handle(incoming)

    def now(self) -> datetime:
        return self.runtime.clock.now()

    async def advance_clock(self, delta: timedelta) -> datetime:
        await self.runtime.advance_clock(delta)
        await self.delivery.tick()
        await self.delivery.sender.drain_once()
        return self.runtime.clock.now()

    async def inbox(self, persona_id: str, after: int) -> list[tuple[int, Reply]]:
        messages = await self.runtime.store.outbox.sent_for("web", persona_id, after)
        rendered = []
        for message in messages:
            reply = await self.runtime.coach.reminder(message.person_id, message.kind, message.spec) \
                if message.person_id is not None else None
            if reply is not None:
                rendered.append((message.id, reply))
        return rendered
