"""Chart images for platforms that show an image only from a URL (Slack): signed links and the route.

A link carries an HMAC of the file name keyed by the Slack signing secret, so only links the bot
handed out work. The image is drawn again from stored numbers when fetched; nothing is kept on disk.
"""
from __future__ import annotations

import hashlib
import hmac
import re
from collections import OrderedDict

from aiohttp import web

from bot.messages import Image
from bot.runtime import Runtime

CHART_PATH = "/charts/{name}"
_DIGEST = re.compile(r"digest-(\d{4}-W\d{2})\.png")
CACHE_SIZE = 16


def _signature(secret: str, name: str) -> str:
    return hmac.new(secret.encode(), name.encode(), hashlib.sha256).hexdigest()[:32]


def chart_url(public_url: str, secret: str, image: Image) -> str | None:
    """The signed address of ``image`` under ``public_url``; None when either is unset."""
    if not public_url or not secret or not _DIGEST.fullmatch(image.name):
        return None
    return f"{public_url.rstrip('/')}/charts/{image.name}?sig={_signature(secret, image.name)}"


def add_chart_route(app: web.Application, runtime: Runtime, secret: str) -> None:
    cache: OrderedDict[str, bytes] = OrderedDict()

    async def chart(request: web.Request) -> web.Response:
        name = request.match_info["name"]
        match = _DIGEST.fullmatch(name)
        given = request.query.get("sig", "")
        if match is None or not hmac.compare_digest(given, _signature(secret, name)):
            raise web.HTTPNotFound()
        if name not in cache:
            reply = await runtime.coach.digest_reply(runtime.clock.now(), match.group(1))
            assert reply.image is not None
            cache[name] = reply.image.png
            while len(cache) > CACHE_SIZE:
                cache.popitem(last=False)
        return web.Response(body=cache[name], content_type="image/png",
                            headers={"Cache-Control": "private, max-age=3600"})

    app.router.add_get(CHART_PATH, chart)
