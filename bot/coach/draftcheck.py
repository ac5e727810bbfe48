"""``check``: a draft post screened for privacy and professionalism risks, in memory only."""
from __future__ import annotations

import asyncio
from datetime import timedelta

from bot.coach.base import Caller, Feature
from bot.core.commands import Command
from bot.core.preflight import DraftContext, MeetingWindow, check_draft
from bot.messages import Reply
from bot.preflight_rules import preflight_reply, too_long_reply


class DraftCheck(Feature):
    async def check(self, caller: Caller, command: Command) -> list[Reply]:
        """Check a draft in memory; the text is never stored or logged.

        A draft longer than the checker reads gets a clear reply and is not checked. The check
        runs in a worker thread so a long draft cannot hold up other requests on the event loop.
        """
        rules = self.content.preflight
        if len(command.rest) > rules.max_chars:
            return [too_long_reply(rules, len(command.rest))]
        now = self.clock.now()
        today = self.today(caller)
        meetings = await self.store.meetings(ending_on_or_after=today - timedelta(days=1))
        windows = tuple(MeetingWindow(m.name, m.hashtag, m.starts_on, m.ends_on,
                                      m.embargo_lifts_at.astimezone(caller.zone) if m.embargo_lifts_at else None)
                        for m in meetings)
        context = DraftContext(now=now, meetings=windows)
        report = await asyncio.to_thread(check_draft, command.rest, rules, context)
        return [preflight_reply(report, command.rest)]
