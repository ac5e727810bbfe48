"""The actions that buttons, menus and checklist items carry, and how presses of messages drawn by
an earlier (or later) release are answered.

An action is ``verb:arguments`` (``quiz:why-show-up:2``, ``cmd:status``, ``camp:3:official-hashtag``).
Renderers stamp every element with :data:`ACTION_VERSION`, the version of this grammar (Slack:
the action id ``v2:<verb>:<n>``; Teams: ``version`` beside ``action`` in the card's data); an element
without a stamp was drawn by version 1, the last release without stamps. Messages stay in chats
for months, so a press is first brought up to date (:func:`current`): a release that renames or
reshapes an action bumps the version and adds the step from the old form to :data:`UPGRADES`.
A press that no version understands any more (a newer release's message during a rolling upgrade,
an element another app drew, a lesson or meeting that is gone) is answered with a short note and
the current view of what it was about (:func:`topic`), never with an error.
"""
from __future__ import annotations

from collections.abc import Callable

ACTION_VERSION = 2
FOREIGN = 0
"""The version of an element this bot did not draw (or whose stamp it cannot read)."""

UPGRADES: dict[int, Callable[[str], str | None]] = {
    1: lambda action: action,  # version 2 only added the stamp; the actions themselves are unchanged
}
"""From each version to the next: the action as the next version writes it, or None when it is gone."""

TOPICS: dict[str, str] = {
    "cmd": "",  # the command itself is the view
    "quiz": "lesson",
    "profile": "profile",
    "follow": "follow",
    "video": "video",
    "meeting": "meetings",
    "camp": "camp",
    "followback": "followback",
    "snooze": "settings",
    "form": "meetings",
    "modal": "help",
    "networks": "networks",
    "safety": "harassment",
    "story": "library",
}
"""Per verb: the command that shows the current state of what such a button was about."""


def current(action: str, version: int | None) -> str | None:
    """``action`` as this version understands it; None when it cannot (too new, foreign, removed).

    ``version`` None means the current version (the local chat, which always draws afresh)."""
    if version is None:
        return action
    if not FOREIGN < version <= ACTION_VERSION:
        return None
    upgraded: str | None = action
    for step in range(version, ACTION_VERSION):
        upgraded = UPGRADES[step](upgraded) if upgraded is not None else None
    return upgraded


def verb(action: str) -> str:
    return action.partition(":")[0]


def topic(action: str) -> str:
    """The command whose answer is the current view of what ``action`` was about (``help`` when unknown)."""
    name = verb(action)
    if name == "cmd":
        return action.partition(":")[2] or "help"
    return TOPICS.get(name) or "help"


class Stale(Exception):
    """A press the coach cannot carry out because what it was about has changed or is gone.

    ``str(exc)`` says what happened; :attr:`topic` is the command to show instead."""

    def __init__(self, message: str, topic: str) -> None:
        super().__init__(message)
        self.topic = topic
