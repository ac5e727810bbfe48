"""Platform-neutral messages: what a platform adapter hands to the coach and gets back.

Adapters translate these to and from Slack Block Kit, Teams Adaptive Cards and the local
web chat; the coach never sees a platform payload.

Text fields use a small Markdown subset that every renderer understands:
``**bold**``, ``_italic_``, ``[label](https://url)`` and blank-line separated paragraphs.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

Platform = Literal["slack", "teams", "web"]


@dataclass(frozen=True)
class Incoming:
    """One thing a person did: typed text, or pressed a button (``action``)."""

    platform: Platform
    user_id: str
    text: str | None = None
    action: str | None = None
    """Action id of a pressed button or ticked checklist item, e.g. ``quiz:why-show-up:2``."""
    email: str | None = None
    display_name: str | None = None
    timezone: str | None = None
    """IANA zone reported by the platform, stored for scheduling."""
    conversation_id: str | None = None
    message_id: str | None = None
    """Platform id of the message whose button was pressed (for in-place updates)."""
    values: tuple[tuple[str, str], ...] = ()
    """What was typed into a submitted form (``action`` is the form's ``submit_action``): field id, value."""
    action_version: int | None = None
    """The version stamp of the pressed element (:mod:`bot.actions`); None: drawn by this version."""


@dataclass(frozen=True)
class Button:
    label: str
    action: str
    style: Literal["primary", "danger", "default"] = "default"


@dataclass(frozen=True)
class ChecklistItem:
    id: str
    label: str
    done: bool
    action: str
    """Action id that toggles this item."""
    detail: str = ""
    due: str = ""
    """Human text for when the item is due, e.g. ``"2 weeks before (Mon 1 Jun)"``."""


@dataclass(frozen=True)
class Checklist:
    title: str
    items: tuple[ChecklistItem, ...]

    @property
    def done_count(self) -> int:
        return sum(1 for item in self.items if item.done)


@dataclass(frozen=True)
class Table:
    headers: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]


@dataclass(frozen=True)
class Image:
    png: bytes
    alt: str
    """Text alternative, also the fallback where a platform cannot show the image."""
    name: str
    """Stable file name, e.g. ``digest-2026-W48.png``."""


@dataclass(frozen=True)
class Progress:
    score: int
    """Readiness score, 0–100."""
    stage: str
    """Label of the highest stage reached in order."""
    next_step: str
    """The one next thing to do, as a sentence."""


FormFieldKind = Literal["text", "multiline", "date", "time", "select"]


@dataclass(frozen=True)
class FormField:
    """One input of a form (:mod:`bot.core.forms` defines them); ``date`` values are ``YYYY-MM-DD``,
    ``time`` values ``HH:MM``, ``select`` values one of ``options``' values."""

    id: str
    label: str
    kind: FormFieldKind = "text"
    required: bool = False
    placeholder: str = ""
    value: str = ""
    """What the input holds when the form is shown (kept when a submission comes back with an error)."""
    hint: str = ""
    """A short line under the input."""
    options: tuple[tuple[str, str], ...] = ()
    """A ``select``'s choices: label, value."""
    error: str = ""
    """What is wrong with the submitted value, shown at this input."""


@dataclass(frozen=True)
class Form:
    """Inputs to fill in; submitting sends ``submit_action`` with every field's value (``Incoming.values``)."""

    fields: tuple[FormField, ...]
    submit_action: str
    """Action id of the submission, e.g. ``form:meetings-add``."""
    submit_label: str = "Submit"
    title: str = ""
    """The form's name where it opens on its own (a Slack modal's title)."""

    @property
    def errors(self) -> dict[str, str]:
        """Field id → what is wrong with it, for the fields that came back with an error."""
        return {f.id: f.error for f in self.fields if f.error}


ReplyKind = Literal[
    "help", "lesson", "quiz", "quiz_result", "profile", "follow", "meetings", "camp",
    "status", "settings", "report", "error", "onboarding", "reminder", "digest", "check", "form", "notice",
    "networks", "safety", "transcript", "library",
]


@dataclass(frozen=True)
class Reply:
    """One message from the bot.

    ``text`` is always a complete plain-language summary: it is what a notification shows,
    and what a platform without cards would send on its own.
    """

    kind: ReplyKind
    text: str
    title: str = ""
    body: str = ""
    """Longer Markdown body shown on the card (the summary ``text`` stays short)."""
    buttons: tuple[Button, ...] = ()
    checklist: Checklist | None = None
    table: Table | None = None
    progress: Progress | None = None
    footer: str = ""
    replace_original: bool = False
    """True when this reply should update the message whose button was pressed."""
    ephemeral: bool = True
    """Only the asker sees it (Slack slash commands); shared replies set False."""
    fields: tuple[tuple[str, str], ...] = field(default_factory=tuple)
    """Short label/value pairs shown side by side."""
    image: Image | None = None
    form: Form | None = None
    """Inputs the person fills in and submits (an admin's add-a-meeting form, or the same form with an error)."""


INERT_BREAK = "\u200b"
"""A zero-width space: invisible on every platform, and it keeps ``](`` and ``]:`` from touching."""


def inert(text: str) -> str:
    """Text someone typed (or a roster brought), made inert inside a reply's Markdown.

    Replies are the project's Markdown subset, and each renderer turns ``[label](url)`` into a live
    link: Slack's ``<url|label>``, an Adaptive Card's Markdown, the local chat's ``<a>``. Text that came
    from a person must never become such a link (``meetings join [Click](https://evil.example/x)``
    echoed back as a "Click" pointing elsewhere), so the link syntax in it is broken by an invisible
    character: the person still reads exactly what was typed, URL included. Slack's control characters
    ``& < >`` are escaped by its renderer for every text, as is HTML by the local chat."""
    return text.replace("](", "]" + INERT_BREAK + "(").replace("]:", "]" + INERT_BREAK + ":")

