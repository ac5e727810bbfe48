"""A sentence the bot says, named by its key in ``prompts/words.yaml`` rather than written in code.

Code says ``say("snooze_not_a_date", when=...)``; the content renders it (``{name}`` placeholders,
``{{`` and ``}}`` for literal braces; a value may itself be a :class:`Say`). ``rounds content check``
finds every ``say("…")`` and ``BadArguments("…")`` in the code and fails, at ``file:line``, on a key
that ``words.yaml`` lacks or on a placeholder the code does not give.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from string import Formatter


@dataclass(frozen=True)
class Say:
    key: str
    values: Mapping[str, object] = field(default_factory=dict)


def say(key: str, /, **values: object) -> Say:
    return Say(key, values)


def fill(text: str, values: Mapping[str, object], lookup: Callable[[Say], str]) -> str:
    """``text`` with its placeholders replaced by ``values`` (a nested :class:`Say` through ``lookup``)."""
    if "{" not in text and "}" not in text:
        return text
    return text.format_map({name: lookup(value) if isinstance(value, Say) else value
                            for name, value in values.items()})


def placeholders(text: str) -> set[str]:
    """The placeholder names in ``text`` (raises ValueError on a malformed one)."""
    return {name for _, name, _, _ in Formatter().parse(text) if name is not None}
