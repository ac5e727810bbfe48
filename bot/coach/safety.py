"""The private harassment desk: guidance at once, a case reference, and an alert to the configured
safety recipients only. A case stores the link, the kind and the urgency; never what was said."""
from __future__ import annotations

import logging
from collections.abc import Mapping

from bot.coach.base import Caller, Feature, from_rendered
from bot.core.commands import BadArguments, Command, parse_safety_report
from bot.messages import Button, Reply, Table
from bot.store import Person
from bot.store.outbox import NewMessage
from bot.store.safety import SafetyCase

log = logging.getLogger(__name__)


class Safety(Feature):
    """``harassment``; the ``safety:handled:<case>`` press; the alerts sent to recipients and reporters."""

    async def harassment(self, caller: Caller, command: Command) -> list[Reply]:
        words = command.rest.split()
        verb = words[0].lower() if words else ""
        if verb in ("cases", "open", "list"):
            return await self._safety_cases(caller)
        if verb in ("handled", "done", "close"):
            if len(words) < 2:
                raise BadArguments("harassment_which_report")
            case = await self.store.safety.by_reference(words[1])
            if case is None or not await self._may_handle(caller):
                raise BadArguments("harassment_unknown_report", reference=repr(words[1]))
            return await self._mark_handled(caller, case)
        guidance_buttons = (Button(self.say("button_safety_lesson"), "cmd:lesson"),)
        if not command.rest:
            return [from_rendered(self.content.render("harassment", case=None, recipients=0, hospital=self.hospital()),
                               "safety", buttons=guidance_buttons)]
        report = parse_safety_report(command.rest)
        now = self.clock.now()
        case = await self.store.safety.open_case(caller.person.id, report.link, report.kind, report.urgency, now)
        sent = await self._alert_recipients(caller, case)
        log.info("safety case opened case=%s person=%s kind=%s urgency=%s recipients=%d",
                 case.id, caller.person.id, case.kind, case.urgency, sent)
        rendered = self.content.render("harassment", case=case, recipients=sent, hospital=self.hospital())
        return [from_rendered(rendered, "safety")]

    async def _recipients(self) -> list[Person]:
        """Who receives and handles reports: the configured safety contacts, else the marketing managers."""
        if self.config.safety_contacts:
            found = [await self.store.people.by_email(email) for email in self.config.safety_contacts]
            return [person for person in found if person is not None and person.active]
        return await self.store.people.managers(self.config.admins)

    async def _may_handle(self, caller: Caller) -> bool:
        if self.config.safety_contacts:
            return self.config.is_safety_contact(caller.person.email)
        return caller.is_admin

    async def _alert_recipients(self, caller: Caller, case: SafetyCase) -> int:
        """Queue the alert for every recipient and safety channel; how many were addressed."""
        now = self.clock.now()
        spec = {"case": case.id}
        targets: list[tuple[str, str]] = [
            (platform, channel) for platform, channel in (("slack", self.config.slack_safety_channel),
                                                          ("teams", self.config.teams_safety_channel)) if channel]
        people = [p for p in await self._recipients() if p.id != caller.person.id]
        addresses = await self.store.conversations.addresses([p.id for p in people])
        for person in people:
            known = addresses.get(person.id, {})
            platform = caller.platform if caller.platform in known else next(iter(known), None)
            if platform is not None:
                targets.append((platform, known[platform]))
            elif caller.platform == "web":
                targets.append(("web", person.email))
            else:
                targets.append(("slack", f"email:{person.email}"))  # looked up by email when sent
        messages = [NewMessage(f"safety:{case.id}:{platform}:{address}", None, platform, address, "safety_case",
                               spec, now) for platform, address in targets]
        await self.store.outbox.add(messages, now)
        return len(messages)

    async def _safety_cases(self, caller: Caller) -> list[Reply]:
        if not await self._may_handle(caller):
            return [self.reply("not_admin", "error", command="harassment cases")]
        cases = await self.store.safety.cases(status="open")
        rendered = self.content.render("harassment_cases", cases=cases)
        table = Table(self.columns("columns_safety_cases"), tuple(
            (c.reference, c.name, c.kind, c.urgency, c.link, f"{c.created_at.astimezone(caller.zone):%Y-%m-%d %H:%M}")
            for c in cases)) if cases else None
        buttons = tuple(Button(self.say("button_handled_case", reference=c.reference), f"safety:handled:{c.id}") for c in cases[:20])
        return [from_rendered(rendered, "safety", table=table, buttons=buttons)]

    async def handled_pressed(self, caller: Caller, arg: str, values: Mapping[str, str]) -> list[Reply]:
        what, _, case_id = arg.partition(":")
        case = await self.store.safety.by_id(int(case_id)) if what == "handled" and case_id.isdigit() else None
        if case is None or not await self._may_handle(caller):
            return [self.reply("not_admin", "error", command="harassment handled")]
        replies = await self._mark_handled(caller, case)
        return [Reply(**{**replies[0].__dict__, "replace_original": True})]

    async def _mark_handled(self, caller: Caller, case: SafetyCase) -> list[Reply]:
        now = self.clock.now()
        changed = await self.store.safety.mark_handled(case.id, caller.person.id, now)
        if changed:
            log.info("safety case handled case=%s by=%s", case.id, caller.person.id)
            addresses = (await self.store.conversations.addresses([case.person_id])).get(case.person_id, {})
            reporter = await self.store.people.get(case.person_id)
            target = next(iter(addresses.items()), None)
            if target is None and reporter is not None and caller.platform == "web":
                target = ("web", reporter.email)
            if target is not None:
                await self.store.outbox.add([NewMessage(f"safety-handled:{case.id}", None, target[0], target[1],
                                                        "safety_handled", {"case": case.id}, now)], now)
        case = await self.store.safety.by_id(case.id) or case
        rendered = self.content.render("harassment_handled", case=case, changed=changed, for_reporter=False)
        return [from_rendered(rendered, "safety")]

    async def safety_broadcast(self, kind: str, spec: dict) -> Reply | None:
        """Render a stored case for its recipients (``safety_case``) or its reporter (``safety_handled``)."""
        case = await self.store.safety.by_id(int(spec.get("case", 0)))
        if case is None:
            return None
        if kind == "safety_handled":
            rendered = self.content.render("harassment_handled", case=case, changed=True, for_reporter=True)
            return from_rendered(rendered, "safety", ephemeral=False)
        reported = f"{case.created_at.astimezone(self.config.zone):%a %d %b %Y, %H:%M %Z}"
        rendered = self.content.render("harassment_case", case=case, reported=reported, hospital=self.hospital())
        buttons = (Button(self.say("button_mark_handled"), f"safety:handled:{case.id}", "primary"),) if case.status == "open" else ()
        return from_rendered(rendered, "safety", buttons=buttons, ephemeral=False)
