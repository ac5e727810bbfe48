"""Baseline for the Slack measurement: a bare Bolt ``AsyncApp`` that acks ``/rounds`` with a constant.

Same aiohttp server, same Bolt adapter calls and Bolt defaults as the product's ``/slack/events``
(signature check, ``auth.test`` once against the fake Slack), and nothing else: no store, no coach,
no answer after the ack. ``python -m bench.bare_bolt --port P`` with SLACK_BOT_TOKEN,
SLACK_SIGNING_SECRET and SLACK_API_URL in the environment.
"""
from __future__ import annotations

import argparse
import logging
import os

from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.app.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient


def create_app() -> web.Application:
    client = AsyncWebClient(token=os.environ["SLACK_BOT_TOKEN"], base_url=os.environ["SLACK_API_URL"])
    bolt = AsyncApp(client=client, signing_secret=os.environ["SLACK_SIGNING_SECRET"],
                    logger=logging.getLogger("bare-bolt"))

    @bolt.command("/rounds")
    async def rounds(ack) -> None:
        await ack("ok")

    async def events(request: web.Request) -> web.Response:
        return await to_aiohttp_response(await bolt.async_dispatch(await to_bolt_request(request)))

    async def healthz(request: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})

    app = web.Application()
    app.router.add_post("/slack/events", events)
    app.router.add_get("/healthz", healthz)
    return app


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    web.run_app(create_app(), host="127.0.0.1", port=args.port, print=None, access_log=None)
