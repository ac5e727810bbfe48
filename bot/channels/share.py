"""``GET /s/<token>``: a share button's tap, counted, then sent on to the network's own composer.

The token (:func:`bot.core.share.share_token`) is an opaque reference to a story, a network and the
outbox message the button came in, signed with the installation's share secret; it names nobody.
A token that is malformed, forged or about a story or message the bot does not know is answered 404,
never an error of ours. A link preview (a HEAD request, or a platform's unfurler fetching the link)
is redirected like a tap but not counted. The answer is never cached and sends no referrer, so the
network does not learn the token.
"""
from __future__ import annotations

import logging
from datetime import datetime
from typing import Protocol

from aiohttp import web

from bot.clock import Clock
from bot.core.share import SHARE_PATH, ShareRef, read_token
from bot.words import Words

log = logging.getLogger(__name__)
PREVIEW_AGENTS = ("slackbot", "slack-imgproxy", "skypeuripreview", "bingpreview",
                  "facebookexternalhit", "twitterbot", "linkedinbot", "bluesky cardyb", "discordbot")
"""Fragments of the user agents of link unfurlers (lower case): they fetch a link to preview it, nobody tapped."""
NO_STORE = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer", "X-Robots-Tag": "noindex"}


class ShareTaps(Protocol):
    """Where a share button goes, and the count of its taps."""

    async def share_secret(self) -> str:
        """The key share tokens are signed with."""
        ...

    async def share_target(self, ref: ShareRef, now: datetime, *, count: bool) -> str | None:
        """The composer's address for ``ref`` (counting the tap when ``count``); None when the story or
        the message is unknown, or the message did not offer that story."""
        ...


def is_preview(request: web.Request) -> bool:
    agent = request.headers.get("User-Agent", "").lower()
    return request.method == "HEAD" or any(fragment in agent for fragment in PREVIEW_AGENTS)


def add_share_route(app: web.Application, taps: ShareTaps, clock: Clock, words: Words) -> None:
    async def share(request: web.Request) -> web.StreamResponse:
        ref = read_token(await taps.share_secret(), request.match_info["token"])
        if ref is None:
            log.info("share link refused: not a valid token")
            raise web.HTTPNotFound(text=words.say("share_link_unknown"), headers=NO_STORE)
        preview = is_preview(request)
        target = await taps.share_target(ref, clock.now(), count=not preview)
        if target is None:
            log.info("share link refused: story=%s message=%s unknown", ref.story_id, ref.message_id)
            raise web.HTTPNotFound(text=words.say("share_link_unknown"), headers=NO_STORE)
        log.info("share %s story=%s network=%s message=%s", "preview" if preview else "tap", ref.story_id,
                 ref.network, ref.message_id)
        # the address exactly as built (HTTPFound would re-encode it through yarl)
        return web.Response(status=302, headers={**NO_STORE, "Location": target})

    app.router.add_get(SHARE_PATH, share)
