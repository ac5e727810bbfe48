"""Every well-formed, signed Slack request gets an answer: a corpus of real payload shapes (copied from
the Slack SDK's own tests, see ``tests/data/slack_corpus.json``) replayed against the real server.

Nothing is answered 404 or 5xx, nothing logs a traceback or an ERROR, every ack comes within Slack's
3 seconds, and whatever the bot does not handle is logged once at DEBUG, naming its type.
"""
from __future__ import annotations

import asyncio
import copy
import json
import logging
import time
from pathlib import Path
from typing import Any

import pytest

from slack_fixtures import SlackServer

CORPUS = json.loads((Path(__file__).parent / "data" / "slack_corpus.json").read_text("utf-8"))["payloads"]
JSON_TYPES = {"event_callback", "url_verification", "app_rate_limited"}
ACK_SECONDS = 3.0


def kind(body: dict[str, Any]) -> str:
    if "command" in body and "type" not in body:
        return f"command {body['command']}"
    if body.get("type") == "event_callback":
        event = body.get("event") or {}
        return f"event {event.get('type')}" + (f"/{event['subtype']}" if event.get("subtype") else "")
    return str(body.get("type"))


async def replay(server: SlackServer, number: int, body: dict[str, Any]) -> tuple[int, str, float]:
    """Send one corpus payload as Slack would (JSON, form fields or ``payload=``), signed."""
    body = copy.deepcopy(body)
    _local_urls(server, body, f"corpus-{number}")
    if body.get("type") == "event_callback":
        body["event_id"] = f"Ev{number:04d}{body.get('event_id', '')}"  # upstream tests reuse ids
    started = time.monotonic()
    if body.get("type") in JSON_TYPES:
        status, text = await server.post(json.dumps(body), "application/json")
    elif "command" in body and "type" not in body:
        status, text = await server.post_form({k: str(v) for k, v in body.items()})
    else:
        status, text = await server.post_payload(body)
    return status, text, time.monotonic() - started


def _local_urls(server: SlackServer, node: Any, name: str) -> None:
    """``response_url``s point at the fake Slack: nothing leaves the machine."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "response_url" and isinstance(value, str):
                node[key] = server.api.response_url(name)
            else:
                _local_urls(server, value, name)
    elif isinstance(node, list):
        for item in node:
            _local_urls(server, item, name)


async def drained(channel: Any) -> None:
    for _ in range(200):
        if not [t for t in channel.tasks if not t.done()]:
            return
        await asyncio.sleep(0.05)


def test_the_corpus_covers_every_request_type() -> None:
    kinds = {kind(entry["body"]).split("/")[0].split(" ")[0] for entry in CORPUS}
    assert {"event", "block_actions", "view_submission", "view_closed", "shortcut", "message_action",
            "block_suggestion", "command", "url_verification"} <= kinds
    subtypes = {kind(entry["body"]) for entry in CORPUS if kind(entry["body"]).startswith("event message/")}
    assert len(subtypes) >= 5
    assert all(entry["origin"] for entry in CORPUS)


async def test_every_signed_payload_is_answered_quickly_without_errors(
        slack: SlackServer, caplog: pytest.LogCaptureFixture) -> None:
    server, channel = slack, slack.channel
    caplog.set_level(logging.DEBUG)
    answers = []
    for number, entry in enumerate(CORPUS):
        status, text, seconds = await replay(server, number, entry["body"])
        answers.append((kind(entry["body"]), entry["origin"], status, text[:80], round(seconds, 3)))
    await drained(channel)
    wrong = [a for a in answers if a[2] == 404 or a[2] >= 500 or a[2] != 200]
    assert [(a[0], a[2], a[3]) for a in wrong] == []
    slow = [a for a in answers if a[4] >= ACK_SECONDS]
    assert slow == []
    failures = [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info
                or "Traceback" in r.getMessage()]
    assert [(r.name, r.getMessage()[:200]) for r in failures] == []


async def test_what_the_bot_does_not_handle_is_logged_once_at_debug_by_type(
        slack: SlackServer, caplog: pytest.LogCaptureFixture) -> None:
    server, channel = slack, slack.channel
    caplog.set_level(logging.DEBUG, logger="bot.channels.slack")
    ignored = {"event reaction_added": "event=reaction_added", "shortcut": "type=shortcut",
               "view_closed": "type=view_closed", "block_suggestion": "type=block_suggestion",
               "app_rate_limited": "type=app_rate_limited", "command /hello-world": "command=/hello-world",
               "dialog_submission": "type=dialog_submission", "event function_executed": "event=function_executed"}
    for number, entry in enumerate(CORPUS):
        name = kind(entry["body"])
        if name not in ignored:
            continue
        caplog.clear()
        status, _, _ = await replay(server, number, entry["body"])
        await drained(channel)
        lines = [r for r in caplog.records if r.name == "bot.channels.slack" and "ignored" in r.getMessage()]
        assert status == 200
        assert len(lines) == 1 and lines[0].levelno == logging.DEBUG and ignored[name] in lines[0].getMessage(), name
