"""X (Twitter) handle rules: 1–15 letters, digits or underscores."""
from __future__ import annotations

import re

_HANDLE = re.compile(r"[A-Za-z0-9_]{1,15}")
_PROFILE_URL = re.compile(r"^(?:https?://)?(?:www\.)?(?:x|twitter)\.com/", re.IGNORECASE)


class InvalidHandle(ValueError):
    """The text is not a valid X handle; the message says why, in plain words."""


def normalize_handle(text: str) -> str:
    """Accept ``@name``, ``name`` or a profile URL; return the bare handle."""
    text = text.strip()
    if _PROFILE_URL.match(text):
        text = re.split(r"[?#]", _PROFILE_URL.sub("", text), maxsplit=1)[0]
    raw = text.strip("/").lstrip("@")
    if not raw:
        raise InvalidHandle("An X handle needs at least one character, like @DrJaneRivera.")
    if len(raw) > 15:
        raise InvalidHandle(f"“{raw}” is {len(raw)} characters; X handles are at most 15.")
    if not _HANDLE.fullmatch(raw):
        raise InvalidHandle(
            f"“{raw}” has characters X does not allow; use letters, digits and underscores only."
        )
    return raw
