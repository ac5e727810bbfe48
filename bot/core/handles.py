"""X (Twitter) handle rules: 1–15 letters, digits or underscores."""
from __future__ import annotations

import re

from bot.core.words import Say

_HANDLE = re.compile(r"[A-Za-z0-9_]{1,15}")
_PROFILE_URL = re.compile(r"^(?:https?://)?(?:www\.)?(?:x|twitter)\.com/", re.IGNORECASE)


class InvalidHandle(ValueError):
    """The text is not a valid handle; :attr:`say` names the words that say why (``prompts/words.yaml``)."""

    def __init__(self, key: str, /, **values: object) -> None:
        super().__init__(key)
        self.say = Say(key, values)


def normalize_handle(text: str) -> str:
    """Accept ``@name``, ``name`` or a profile URL; return the bare handle."""
    text = text.strip()
    if _PROFILE_URL.match(text):
        text = re.split(r"[?#]", _PROFILE_URL.sub("", text), maxsplit=1)[0]
    raw = text.strip("/").lstrip("@")
    if not raw:
        raise InvalidHandle("handle_x_empty")
    if len(raw) > 15:
        raise InvalidHandle("handle_x_too_long", handle=raw, length=len(raw))
    if not _HANDLE.fullmatch(raw):
        raise InvalidHandle("handle_x_bad_characters", handle=raw)
    return raw


# -- Bluesky: a domain handle (alice.bsky.social) or a DID (did:plc:…) -------------------------------------

_BSKY_URL = re.compile(r"^(?:https?://)?(?:www\.)?bsky\.app/profile/", re.IGNORECASE)
_DOMAIN_LABEL = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?")
_DID = re.compile(r"did:[a-z]+:[A-Za-z0-9._:%-]*[A-Za-z0-9._-]")
MAX_BLUESKY_HANDLE = 253


def normalize_bluesky(text: str) -> str:
    """Accept ``@alice.bsky.social``, ``alice.bsky.social``, a ``bsky.app/profile/…`` link or a DID; return
    the bare handle in lower case (handles are case-insensitive) or the DID as given."""
    text = text.strip()
    if _BSKY_URL.match(text):
        text = re.split(r"[/?#]", _BSKY_URL.sub("", text), maxsplit=1)[0]
    raw = text.strip("/").lstrip("@")
    if not raw:
        raise InvalidHandle("handle_bluesky_empty")
    if raw.startswith("did:"):
        if len(raw) > 2048 or not _DID.fullmatch(raw):
            raise InvalidHandle("handle_bluesky_bad_did", handle=raw)
        return raw
    handle = raw.lower()
    if len(handle) > MAX_BLUESKY_HANDLE:
        raise InvalidHandle("handle_bluesky_too_long", handle=raw, length=len(raw))
    labels = handle.split(".")
    if len(labels) < 2 or not all(_DOMAIN_LABEL.fullmatch(label) for label in labels) \
            or not labels[-1][0].isalpha():
        raise InvalidHandle("handle_bluesky_not_a_domain", handle=raw)
    return handle


def normalize_for(network: str, text: str) -> str:
    """The handle ``text`` names on ``network`` (``x`` or ``bluesky``); InvalidHandle says what is wrong."""
    if network == "x":
        return normalize_handle(text)
    if network == "bluesky":
        return normalize_bluesky(text)
    raise ValueError(f"no handles on network {network!r}")


# -- LinkedIn: a profile address, self-reported (LinkedIn has no public API to check it) ------------------

_LINKEDIN = re.compile(r"(?:https?://)?(?:[a-z]{2,3}\.)?linkedin\.com/(in|pub)/([^/\s?#]{3,100})/?(?:[?#].*)?",
                       re.IGNORECASE)


def normalize_linkedin(text: str) -> str:
    """``linkedin.com/in/jane-rivera`` and its variants as ``https://www.linkedin.com/in/jane-rivera``."""
    text = text.strip()
    match = _LINKEDIN.fullmatch(text)
    if match is None:
        raise InvalidHandle("handle_linkedin_not_a_profile", address=text[:80])
    return f"https://www.linkedin.com/{match.group(1).lower()}/{match.group(2)}"
