"""Readiness: the physician's score, stage and one next step."""
from __future__ import annotations

from datetime import date

from bot.coach.base import Caller, Feature, from_rendered
from bot.core.commands import Command
from bot.core.readiness import Readiness, Stage, assess
from bot.core.snapshot import PersonSnapshot, progress_of
from bot.messages import Button, Progress, Reply

NEXT_STEP_ACTIONS = {
    Stage.PROFILE_CREATED: ("Set up my profile", "cmd:profile"),
    Stage.PROFILE_COMPLETE: ("Profile checklist", "cmd:profile"),
    Stage.FOLLOWS_HOSPITAL: ("Follow the hospital", "cmd:follow"),
    Stage.CORE_LESSONS: ("Next lesson", "cmd:lesson"),
    Stage.TWEET_CAMP: ("Tweet Camp checklist", "cmd:camp"),
    Stage.VIDEO: ("I posted a video", "video:done"),
}


class Status(Feature):
    """``status``, and a person's readiness for the other features."""

    async def readiness(self, person_id: int, today: date) -> Readiness | None:
        snapshot = await self.store.snapshot(person_id)
        if snapshot is None:
            return None
        c = self.content
        return assess(progress_of(snapshot, c.curriculum, c.profile_items, c.camp_phases, today))

    async def status(self, caller: Caller, command: Command) -> list[Reply]:
        return await self.status_of(caller)

    async def status_of(self, caller: Caller, snapshot: PersonSnapshot | None = None) -> list[Reply]:
        """The status reply, from ``snapshot`` when the caller already read it."""
        today = self.today(caller)
        snapshot = snapshot or await self.store.snapshot(caller.person.id)
        assert snapshot is not None
        c = self.content
        progress = progress_of(snapshot, c.curriculum, c.profile_items, c.camp_phases, today)
        readiness = assess(progress)
        stages = [dict(label=s.stage.label, done=s.done, applicable=s.applicable, percent=round(100 * s.fraction),
                       stage=s.stage.value) for s in readiness.stages]
        rendered = self.content.render(
            "status", readiness=readiness, stages=stages,
            next_step=readiness.next_step.value if readiness.next_step else None,
            camp=progress.camp, hospital=self.hospital(), handle=caller.person.x_handle)
        reached = readiness.reached.label if readiness.reached else "Getting started"
        next_text = rendered.exports.get("next_line", "")
        buttons: tuple[Button, ...] = ()
        if readiness.next_step in NEXT_STEP_ACTIONS:
            label, action = NEXT_STEP_ACTIONS[readiness.next_step]
            buttons = (Button(label, action, "primary"),)
        fields = tuple((s["label"], _stage_value(s)) for s in stages)
        return [from_rendered(rendered, "status", progress=Progress(readiness.score, reached, next_text),
                              buttons=buttons, fields=fields)]


def _stage_value(stage: dict) -> str:
    if not stage["applicable"]:
        return "no meeting yet"
    if stage["done"]:
        return "✓ done"
    if stage["stage"] == "followed_back":
        return "marketing's step"
    return f"{stage['percent']}%" if stage["percent"] else "to do"
