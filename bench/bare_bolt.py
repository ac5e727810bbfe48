"""Baselines for the Slack measurements: a bare Bolt ``AsyncApp`` for ``/rounds``.

Same aiohttp server, same Bolt adapter calls and Bolt defaults as the product's ``/slack/events``
(signature check, ``auth.test`` once against the fake Slack), and nothing else: no store, no coach.
By default it acks with a constant and answers nothing (the baseline for acks). With ``--answer``
it also answers every command after the ack through its ``response_url``, with one HTTP session
kept for the whole process as the product keeps one (the baseline for answered commands).
``python -m bench.bare_bolt --port P [--answer]`` with SLACK_BOT_TOKEN, SLACK_SIGNING_SECRET and
SLACK_API_URL in the environment.
"""
from __future__ import annotations

import argparse
import logging
import os
from typing import Any

import aiohttp
from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.app.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.webhook.async_client import AsyncWebhookClient


def create_app(*, answer: bool = False) -> web.Application:
    client = AsyncWebClient(token=os.environ["SLACK_BOT_TOKEN"], base_url=os.environ["SLACK_API_URL"])
    bolt = AsyncApp(client=client, signing_secret=os.environ["SLACK_SIGNING_SECRET"],
                    logger=logging.getLogger("bare-bolt"))
    app = web.Application()
    sessions: list[aiohttp.ClientSession] = []

    @bolt.command("/rounds")
    async def rounds(ack: Any, body: dict[str, Any]) -> None:
        await ack("ok")
        if answer:
            webhook = AsyncWebhookClient(body["response_url"], session=sessions[0])
            await webhook.send(text="ok", response_type="ephemeral")

    async def events(request: web.Request) -> web.Response:
        return await to_aiohttp_response(await bolt.async_dispatch(await to_bolt_request(request)))

    async def healthz(request: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})

    async def open_session(app: web.Application) -> None:
        sessions.append(aiohttp.ClientSession())

    async def close_session(app: web.Application) -> None:
        for session in sessions:
            await session.close()

    app.on_startup.append(open_session)
    app.on_cleanup.append(close_session)
    app.router.add_post("/slack/events", events)
    app.router.add_get("/healthz", healthz)
    return app


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--answer", action="store_true", help="answer every command through its response_url")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    web.run_app(create_app(answer=args.answer), host="127.0.0.1", port=args.port, print=None, access_log=None)
