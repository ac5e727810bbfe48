"""``help``: the commands this person may use, or how one of them works."""
from __future__ import annotations

from bot.coach.base import Caller, Feature, from_rendered
from bot.core.commands import SPEC_BY_NAME, SPECS, BadArguments, Command
from bot.messages import Button, Reply, Table


class Help(Feature):
    async def help(self, caller: Caller, command: Command) -> list[Reply]:
        spec = SPEC_BY_NAME.get(command.args[0].lower()) if command.args else None
        if command.args and spec is None:
            raise BadArguments("help_unknown_command", word=command.args[0])
        specs = [s for s in SPECS if caller.is_admin or not s.admin]
        topic = {"name": spec.name, "usage": spec.usage, "summary": self.content.words.of(spec.summary),
                 "example": spec.example} \
            if spec else None
        rendered = self.content.render("help", hospital=self.hospital(), is_admin=caller.is_admin, topic=topic)
        if topic is None:
            rows = tuple((s.usage, self.content.words.of(s.summary)) for s in specs)
            table = Table(self.columns("columns_help"), rows)
        else:
            table = None
        buttons = (Button(self.say("button_next_lesson"), "cmd:lesson", "primary"),
                   Button(self.say("button_my_status"), "cmd:status"), Button(self.say("button_profile"), "cmd:profile"))
        return [from_rendered(rendered, "help", buttons=buttons, table=table)]
