"""Chart images for platforms that show an image only from a URL (Slack): signed links and the route.

A link carries an expiry instant and an HMAC of the file name and that instant keyed by the Slack
signing secret, so only links the bot handed out work, and only for :data:`LINK_LIFETIME_SECONDS`. The image is drawn again from stored numbers when fetched; nothing is kept on disk.
"""
from __future__ import annotations

import hashlib
import hmac
import re
import time
from collections import OrderedDict
from datetime import date

from aiohttp import web

from bot.channels.ports import DigestCharts
from bot.messages import Image
from bot.words import Words

CHART_PATH = "/charts/{name}"
_DIGEST = re.compile(r"digest-(\d{4}-W\d{2})\.png")
CACHE_SIZE = 16
LINK_LIFETIME_SECONDS = 30 * 24 * 3600
"""A digest is read in the week it is posted; a month later its link no longer answers."""
_EXPIRES = re.compile(r"[0-9]{1,12}")


def _signature(secret: str, name: str, expires: str) -> str:
    return hmac.new(secret.encode(), f"{name}:{expires}".encode(), hashlib.sha256).hexdigest()[:32]


def chart_url(public_url: str, secret: str, image: Image, now: float | None = None) -> str | None:
    """The signed address of ``image`` under ``public_url``, valid for :data:`LINK_LIFETIME_SECONDS` from
    ``now`` (wall-clock seconds); None when either is unset."""
    if not public_url or not secret or not _DIGEST.fullmatch(image.name):
        return None
    expires = str(int((time.time() if now is None else now) + LINK_LIFETIME_SECONDS))
    return (f"{public_url.rstrip('/')}/charts/{image.name}?sig={_signature(secret, image.name, expires)}"
            f"&exp={expires}")


def _iso_week(week: str) -> bool:
    """Whether ``YYYY-Www`` is a week that exists (W53 only in long years; never W00 or W99)."""
    year, number = int(week[:4]), int(week[6:])
    try:
        date.fromisocalendar(year, number, 1)
    except ValueError:
        return False
    return True


def add_chart_route(app: web.Application, charts: DigestCharts, secret: str, words: Words) -> None:
    """``words``: the content's words (the answer to an expired link)."""
    cache: OrderedDict[str, bytes] = OrderedDict()

    async def chart(request: web.Request) -> web.Response:
        name = request.match_info["name"]
        match = _DIGEST.fullmatch(name)
        given, expires = request.query.get("sig", ""), request.query.get("exp", "")
        if match is None or not _EXPIRES.fullmatch(expires) or \
                not hmac.compare_digest(given.encode(), _signature(secret, name, expires).encode()):
            raise web.HTTPNotFound()
        if int(expires) < time.time():
            raise web.HTTPGone(text=words.say("chart_link_expired"))
        if not _iso_week(match.group(1)):
            raise web.HTTPNotFound()
        if name not in cache:
            cache[name] = await charts.digest_chart(match.group(1))
            while len(cache) > CACHE_SIZE:
                cache.popitem(last=False)
        return web.Response(body=cache[name], content_type="image/png",
                            headers={"Cache-Control": "private, max-age=3600"})

    app.router.add_get(CHART_PATH, chart)
