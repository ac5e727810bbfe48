"""One-tap share links: each network's own composer, opened with a story's suggested post filled in,
and the opaque signed reference a share button carries through the bot's redirect.

The intents, as each network documents them:

- X, the post web intent (docs.x.com, "Web intent"): ``https://x.com/intent/tweet`` with ``text`` and
  ``url``; X puts the link after the text and counts it as 23 characters.
- Bluesky, the compose action intent (docs.bsky.app, "Action Intent Links"):
  ``https://bsky.app/intent/compose`` with ``text`` only, so the link goes at the end of the text.
- LinkedIn, the share URL: ``https://www.linkedin.com/sharing/share-offsite/`` with ``url`` only;
  LinkedIn fills nothing but the link (its card comes from the page's Open Graph tags), so the
  suggested LinkedIn text is shown in the message for the physician to paste.

Every value is percent-encoded as UTF-8 with nothing left unescaped (``quote(safe="")``): a space is
``%20``, ``#`` ``%23``, ``&`` ``%26``, and a link's own query string stays inside its parameter.

A share button does not point at the network directly but at ``/s/<token>`` on the bot's
``public_url``, which counts the tap and redirects. The token names the story, the network and the
outbox message the button was sent in, masked and signed with HMAC-SHA256 keyed by the installation's
secret: it names nobody, nothing of it reads in clear, and a token not made with the secret is refused. Pure: no I/O, no clock.
"""
from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
import struct
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal
from urllib.parse import quote, urlsplit

Network = Literal["x", "bluesky", "linkedin"]
NETWORKS: tuple[Network, ...] = ("x", "bluesky", "linkedin")
"""The networks a story can be shared to, in the order their buttons are shown."""

X_INTENT = "https://x.com/intent/tweet"
BLUESKY_INTENT = "https://bsky.app/intent/compose"
LINKEDIN_SHARE = "https://www.linkedin.com/sharing/share-offsite/"
SHARE_PATH = "/s/{token}"
"""The redirect's route on ``public_url``."""
SHARE_SECRET_SETTING = "share.secret"
"""The stored setting that holds the installation's share key (made at random on first use)."""
_SIGNATURE_BYTES = 16
_REF = struct.Struct(">BQQ")
"""Network index, story id, outbox message id."""
_TOKEN = re.compile(r"[A-Za-z0-9_-]{44}")
"""33 bytes (17 of reference, 16 of signature) in unpadded URL-safe base64."""


class NotALink(ValueError):
    """A story's link is not an absolute http(s) address."""


def _encode(value: str) -> str:
    return quote(value, safe="")


def check_link(link: str) -> str:
    """``link`` when it is an absolute http(s) address with a host and no spaces; raises NotALink."""
    try:
        parts = urlsplit(link)
    except ValueError:
        raise NotALink(link) from None
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc or any(c.isspace() for c in link):
        raise NotALink(link)
    return link


def post_text(network: Network, text: str, link: str) -> str:
    """What the composer shows once opened: the suggested text, with the link at its end on Bluesky
    (which takes no separate link) unless the text already holds it. X adds its ``url`` itself;
    LinkedIn shows only the link's card."""
    if network == "bluesky" and link not in text:
        return f"{text} {link}" if text else link
    if network == "linkedin":
        return ""
    return text


def intent_url(network: Network, text: str, link: str) -> str:
    """The address that opens ``network``'s composer with ``text`` and ``link`` filled in."""
    check_link(link)
    if network == "x":
        if link in text:  # already in the text: X would show it twice
            return f"{X_INTENT}?text={_encode(text)}"
        return f"{X_INTENT}?text={_encode(text)}&url={_encode(link)}"
    if network == "bluesky":
        return f"{BLUESKY_INTENT}?text={_encode(post_text(network, text, link))}"
    if network == "linkedin":
        return f"{LINKEDIN_SHARE}?url={_encode(link)}"
    raise ValueError(f"unknown network {network!r}")


def intent_urls(posts: Mapping[Network, str], link: str) -> dict[Network, str]:
    """Every network that has a suggested post in ``posts`` → its composer's address, in
    :data:`NETWORKS` order."""
    return {network: intent_url(network, posts[network], link) for network in NETWORKS if network in posts}


# -- the signed reference a share button carries -----------------------------------------------------------
@dataclass(frozen=True)
class ShareRef:
    """A share button: which story, to which network, in which outbox message (and so to whom, but
    only the store knows that)."""

    story_id: int
    network: Network
    message_id: int


def _mac(secret: str, payload: bytes) -> bytes:
    return hmac.new(secret.encode(), b"share:" + payload, hashlib.sha256).digest()[:_SIGNATURE_BYTES]


def _pad(secret: str, signature: bytes) -> bytes:
    return hmac.new(secret.encode(), b"share-pad:" + signature, hashlib.sha256).digest()[:_REF.size]


def _xor(data: bytes, pad: bytes) -> bytes:
    return bytes(a ^ b for a, b in zip(data, pad, strict=True))


def share_token(secret: str, ref: ShareRef) -> str:
    """An opaque, URL-safe token for ``ref``: its signature, then the reference masked with a key
    stream drawn from the signature (a synthetic-IV construction), so that nothing of it reads in
    clear and only ``secret`` makes or reads one."""
    if not secret:
        raise ValueError("a share token needs a secret")
    payload = _REF.pack(NETWORKS.index(ref.network), ref.story_id, ref.message_id)
    signature = _mac(secret, payload)
    return base64.urlsafe_b64encode(signature + _xor(payload, _pad(secret, signature))).decode().rstrip("=")


def read_token(secret: str, token: str) -> ShareRef | None:
    """The reference ``token`` stands for, or None when it is malformed or was not made with ``secret``."""
    if not secret or not _TOKEN.fullmatch(token):
        return None
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    except (binascii.Error, ValueError):
        return None
    if len(raw) != _REF.size + _SIGNATURE_BYTES:
        return None
    signature, masked = raw[:_SIGNATURE_BYTES], raw[_SIGNATURE_BYTES:]
    payload = _xor(masked, _pad(secret, signature))
    if not hmac.compare_digest(signature, _mac(secret, payload)):
        return None
    index, story_id, message_id = _REF.unpack(payload)
    if index >= len(NETWORKS):
        return None
    return ShareRef(story_id, NETWORKS[index], message_id)


def share_url(public_url: str, secret: str, ref: ShareRef) -> str:
    """The button's address: the bot's redirect for ``ref`` under ``public_url``."""
    return public_url.rstrip("/") + SHARE_PATH.format(token=share_token(secret, ref))
