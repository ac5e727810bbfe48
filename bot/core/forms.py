"""The bot's forms and menus, defined once for every platform: which fields, of which kind, in which
order, which are required. Pure data.

The words (labels, hints, placeholders, submit label) live in ``prompts/forms.yaml``; each channel
renders the result its own way (a Slack modal, Adaptive Card inputs, the local chat's ``<form>``).
A field's ``id`` is the key of its value in a submission, a Slack modal's ``block_id``, an Adaptive
Card input's ``id`` and the local chat's input ``name``, so an error naming a field is shown at it.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from bot.core.words import Say, say

FieldKind = Literal["text", "multiline", "date", "time", "select"]
"""``date`` values are ``YYYY-MM-DD``, ``time`` values ``HH:MM``, ``select`` values one option's value."""

FORM_ACTION_PREFIX = "form:"
"""A form's submission is the action ``form:<form id>`` (:mod:`bot.actions`)."""


@dataclass(frozen=True)
class FieldSpec:
    id: str
    kind: FieldKind = "text"
    required: bool = False
    initial: str = ""
    """What the input holds when the form is first shown."""


@dataclass(frozen=True)
class FormSpec:
    id: str
    fields: tuple[FieldSpec, ...]
    errors_at: str
    """The field that shows an error about the whole form (Slack shows errors only at an input)."""

    @property
    def submit_action(self) -> str:
        return FORM_ACTION_PREFIX + self.id

    def field(self, field_id: str) -> FieldSpec | None:
        return next((f for f in self.fields if f.id == field_id), None)


CATALOG_FIELD = "catalog"
EMBARGO_LIFT_DATE = "embargo_lifts_date"
EMBARGO_LIFT_TIME = "embargo_lifts_time"

MEETING_FORM = FormSpec(
    id="meetings-add",
    fields=(
        FieldSpec(CATALOG_FIELD, "select"),
        FieldSpec("name"),
        FieldSpec("start", "date", required=True),
        FieldSpec("end", "date"),
        FieldSpec("city"),
        FieldSpec("hashtag"),
        FieldSpec("embargo", "multiline"),
        FieldSpec(EMBARGO_LIFT_DATE, "date"),
        FieldSpec(EMBARGO_LIFT_TIME, "time"),
        FieldSpec("attendees"),
    ),
    errors_at="name",
)
"""Put a meeting on the calendar (admins). A catalog meeting fills the name, hashtag, length and
embargo rules, so only the start date is always required."""

STORY_LIFT_DATE = "lift_date"
STORY_LIFT_TIME = "lift_time"
STORY_ZONE = "timezone"
STORY_FORM = FormSpec(
    id="library-add",
    fields=(
        FieldSpec("title", required=True),
        FieldSpec("link", required=True),
        FieldSpec("post_x", "multiline"),
        FieldSpec("post_bluesky", "multiline"),
        FieldSpec("post_linkedin", "multiline"),
        FieldSpec("alt_text"),
        FieldSpec("audience"),
        FieldSpec(STORY_LIFT_DATE, "date"),
        FieldSpec(STORY_LIFT_TIME, "time"),
        FieldSpec(STORY_ZONE),
        FieldSpec("expires", "date"),
    ),
    errors_at="title",
)
"""Add a story to the content library (admins): what physicians are offered to share, to whom, and
from when (the embargo lift) until when. At least one suggested post is needed; each is run through
the draft checker when the story is saved."""

FORMS: dict[str, FormSpec] = {form.id: form for form in (MEETING_FORM, STORY_FORM)}


@dataclass(frozen=True)
class Choice:
    label: Say
    action: str
    """The coach action a pick sends, e.g. ``snooze:1w``."""


@dataclass(frozen=True)
class Menu:
    """Choices shown together, out of the way: Slack's overflow menu or select, a card's overflow actions."""

    placeholder: Say
    choices: tuple[Choice, ...]


SNOOZE_MENU = Menu(say("snooze_menu"), (
    Choice(say("snooze_menu_1_day"), "snooze:1d"),
    Choice(say("snooze_menu_3_days"), "snooze:3d"),
    Choice(say("snooze_menu_1_week"), "snooze:1w"),
    Choice(say("snooze_menu_2_weeks"), "snooze:2w"),
    Choice(say("button_stop_reminders"), "cmd:stop"),
))
SNOOZE_KINDS = frozenset({"lesson", "reminder", "status"})
"""Reply kinds that carry the snooze menu: the ones a reminder can nudge with."""


@dataclass(frozen=True)
class FieldWords:
    label: str
    placeholder: str = ""
    hint: str = ""


@dataclass(frozen=True)
class FormWords:
    """A form's words, from ``prompts/forms.yaml``."""

    title: str
    submit: str
    fields: dict[str, FieldWords]
