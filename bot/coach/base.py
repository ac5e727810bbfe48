"""What every coach feature shares: who is asking (:class:`Caller`), the store, content, config and
clock (:class:`Kit`), and the helpers that turn a rendered template into a :class:`Reply`."""
from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.clock import Clock
from bot.config import Config
from bot.content import Content, Rendered
from bot.core.access import is_admin
from bot.core.commands import BadArguments, Command
from bot.core.words import Say
from bot.messages import Button, Reply
from bot.store import Person, Store


@dataclass(frozen=True)
class Caller:
    person: Person
    is_admin: bool
    zone: ZoneInfo
    platform: str = "web"
    """Where this turn came from (a safety alert prefers the recipients' address there)."""


CommandHandler = Callable[[Caller, Command], Awaitable[list[Reply]]]
"""Answers one parsed command."""
ActionHandler = Callable[[Caller, str, Mapping[str, str]], Awaitable[list[Reply]]]
"""Answers one press: the action's argument (what follows ``verb:``) and a submitted form's values."""


class Kit:
    """The coach's dependencies, shared (and replaceable, e.g. the store in tests) by every feature."""

    def __init__(self, store: Store, content: Content, config: Config, clock: Clock) -> None:
        self.store = store
        self.content = content
        self.config = config
        self.clock = clock
        self.teams_reach = False
        """Teams is configured: ``roster`` also says who has no Teams chat with the bot, and why."""


    def hospital(self) -> dict[str, str]:
        return {"name": self.config.hospital_name, "handle": self.config.hospital_handle}

    def today(self, caller: Caller | None) -> date:
        """Today where ``caller`` is (at the hospital when None)."""
        zone = caller.zone if caller else self.config.zone
        return self.clock.now().astimezone(zone).date()

    def say(self, key: str, /, **values: object) -> str:
        """The sentence ``key`` of ``prompts/words.yaml``, filled in."""
        return self.content.words.of(Say(key, values))

    def columns(self, key: str, /) -> tuple[str, ...]:
        """A table's column headings: the words ``key``, separated by `` | ``."""
        return tuple(self.content.words.of(Say(key, {})).split(" | "))

    def explain(self, error: BadArguments) -> str:
        """What is wrong with a command's arguments, in words."""
        return self.content.words.of(error.say)

    def reply(self, template: str, kind: str, *, buttons: tuple[Button, ...] = (),
              replace_original: bool = False, **context: object) -> Reply:
        return from_rendered(self.content.render(template, **context), kind, buttons=buttons,
                             replace_original=replace_original)


class Feature:
    """Base of a feature module: reads the shared :class:`Kit`."""

    def __init__(self, kit: Kit) -> None:
        self.kit = kit
        self.hospital = kit.hospital
        self.today = kit.today
        self.reply = kit.reply
        self.say = kit.say
        self.columns = kit.columns

    @property
    def store(self) -> Store:
        return self.kit.store

    @property
    def content(self) -> Content:
        return self.kit.content

    @property
    def config(self) -> Config:
        return self.kit.config

    @property
    def clock(self) -> Clock:
        return self.kit.clock


def caller_for(person: Person, config: Config, platform: str = "web") -> Caller:
    """``person`` as a caller, in their own time zone (the hospital's when theirs is unknown)."""
    zone = ZoneInfo(person.timezone) if person.timezone and valid_zone(person.timezone) else config.zone
    return Caller(person, is_admin(person, config.admins), zone, platform)


def from_rendered(rendered: Rendered, kind: str, **extra: object) -> Reply:
    return Reply(kind=kind, text=rendered.summary, title=rendered.title, body=rendered.body,  # type: ignore[arg-type]
                 **extra)  # type: ignore[arg-type]


def valid_zone(name: str) -> bool:
    try:
        ZoneInfo(name)
        return True
    except (ZoneInfoNotFoundError, ValueError):
        return False


def show_date(day: date) -> str:
    return f"{day:%a} {day.day} {day:%b %Y}"


def show_day(instant: datetime | None, zone: ZoneInfo) -> str:
    return show_date(instant.astimezone(zone).date()) if instant else ""


def show_moment(instant: datetime, zone: ZoneInfo) -> str:
    local = instant.astimezone(zone)
    return f"{show_date(local.date())}, {local:%H:%M} {local.tzname()}"
