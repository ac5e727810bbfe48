"""Readiness: the physician's score, stage and one next step."""
from __future__ import annotations

from datetime import date

from bot.coach.base import Caller, Feature, from_rendered
from bot.core.commands import Command
from bot.core.readiness import Readiness, Stage, assess
from bot.core.snapshot import PersonSnapshot, progress_of
from bot.core.words import say
from bot.messages import Button, Progress, Reply

NEXT_STEP_ACTIONS = {
    Stage.PROFILE_CREATED: (say("button_set_up_my_profile"), "cmd:profile"),
    Stage.PROFILE_COMPLETE: (say("button_profile_checklist"), "cmd:profile"),
    Stage.FOLLOWS_HOSPITAL: (say("button_follow_the_hospital"), "cmd:follow"),
    Stage.CORE_LESSONS: (say("button_next_lesson"), "cmd:lesson"),
    Stage.TWEET_CAMP: (say("button_tweet_camp_checklist"), "cmd:camp"),
    Stage.VIDEO: (say("button_i_posted_a_video"), "video:done"),
}
"""The button for each next step: its label (``prompts/words.yaml``) and its action."""


class Status(Feature):
    """``status``, and a person's readiness for the other features."""

    async def readiness(self, person_id: int, today: date) -> Readiness | None:
        snapshot = await self.store.readiness.snapshot(person_id)
        if snapshot is None:
            return None
        c = self.content
        return assess(progress_of(snapshot, c.curriculum, c.profile_items, c.camp_phases, today))

    async def status(self, caller: Caller, command: Command) -> list[Reply]:
        return await self.status_of(caller)

    async def status_of(self, caller: Caller, snapshot: PersonSnapshot | None = None) -> list[Reply]:
        """The status reply, from ``snapshot`` when the caller already read it."""
        today = self.today(caller)
        snapshot = snapshot or await self.store.readiness.snapshot(caller.person.id, caller.person)
        assert snapshot is not None
        c = self.content
        progress = progress_of(snapshot, c.curriculum, c.profile_items, c.camp_phases, today)
        readiness = assess(progress)
        stages = [dict(label=c.words.of(s.stage.label), done=s.done, applicable=s.applicable,
                       percent=round(100 * s.fraction), stage=s.stage.value) for s in readiness.stages]
        rendered = self.content.render(
            "status", readiness=readiness, stages=stages,
            next_step=readiness.next_step.value if readiness.next_step else None,
            camp=progress.camp, hospital=self.hospital(), handle=caller.person.x_handle)
        reached = c.words.of(readiness.reached.label) if readiness.reached else self.say("stage_getting_started")
        next_text = rendered.exports.get("next_line", "")
        buttons: tuple[Button, ...] = ()
        if readiness.next_step in NEXT_STEP_ACTIONS:
            label, action = NEXT_STEP_ACTIONS[readiness.next_step]
            buttons = (Button(self.content.words.of(label), action, "primary"),)
        fields = tuple((s["label"], self._stage_value(s)) for s in stages)
        return [from_rendered(rendered, "status", progress=Progress(readiness.score, reached, next_text),
                              buttons=buttons, fields=fields)]


    def _stage_value(self, stage: dict) -> str:
        if not stage["applicable"]:
            return self.say("stage_no_meeting_yet")
        if stage["done"]:
            return self.say("stage_done")
        if stage["stage"] == "followed_back":
            return self.say("stage_marketings_step")
        return self.say("stage_percent", percent=stage["percent"]) if stage["percent"] else self.say("stage_to_do")
