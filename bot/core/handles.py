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
        raise InvalidHandle("A Bluesky handle needs a domain, like @jane.bsky.social.")
    if raw.startswith("did:"):
        if len(raw) > 2048 or not _DID.fullmatch(raw):
            raise InvalidHandle(f"“{raw}” is not a valid DID; it looks like did:plc:abc123….")
        return raw
    handle = raw.lower()
    if len(handle) > MAX_BLUESKY_HANDLE:
        raise InvalidHandle(f"“{raw}” is {len(raw)} characters; Bluesky handles are at most 253.")
    labels = handle.split(".")
    if len(labels) < 2 or not all(_DOMAIN_LABEL.fullmatch(label) for label in labels) \
            or not labels[-1][0].isalpha():
        raise InvalidHandle(f"“{raw}” is not a Bluesky handle; it is a domain name like jane.bsky.social.")
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
        raise InvalidHandle(f"“{text[:80]}” is not a profile address like https://www.linkedin.com/in/jane-rivera")
    return f"https://www.linkedin.com/{match.group(1).lower()}/{match.group(2)}"
