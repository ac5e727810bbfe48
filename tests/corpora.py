"""What Slack and Teams send, as replayable corpora for tests/test_platforms.py (every request is
answered quickly, without errors) and the corpus tests of each platform.

Slack: real payload shapes copied from the Slack SDK's own tests (``tests/data/slack_corpus.json``,
with their origin), signed and sent as Slack sends them. Teams: every Bot Framework activity type the
Teams channel sends (message, conversationUpdate, installationUpdate, invoke, messageReaction,
typing, event, endOfConversation, messageUpdate, messageDelete …), as the Bot Framework schema
(botbuilder-schema ``ActivityTypes``) and the Teams docs describe them, built with the helpers the
other Teams tests use; invokes the app does not declare get the SDK's 501.
"""
from __future__ import annotations

import asyncio
import copy
import json
import time
from pathlib import Path
from typing import Any

from slack_fixtures import SlackServer
from teams_fixtures import (
    JANE,
    MARIA,
    STRANGER,
    _base,
    bot_added,
    channel_thread,
    execute_invoke,
    installation,
    message,
    personal,
    team_general,
)

# -- Slack ---------------------------------------------------------------------------------------------------
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


# -- Teams ---------------------------------------------------------------------------------------------------
UNDECLARED_INVOKES = ("composeExtension/query", "composeExtension/fetchTask", "task/fetch", "task/submit",
                      "signin/verifyState", "fileConsent/invoke", "actionableMessage/executeAction",
                      "config/fetch", "tab/fetch", "message/submitAction", "application/search",
                      "handoff/action", "healthCheck")


def corpus(url: str) -> list[tuple[str, dict[str, Any], int]]:
    """(what, activity, expected status)."""
    jane_chat = personal(JANE)
    items: list[tuple[str, dict[str, Any], int]] = [
        ("message personal", message(url, JANE, "help"), 200),
        ("message channel without mention", message(url, JANE, "hello all", where=channel_thread()), 200),
        ("message channel with mention", message(url, JANE, "<at>Social Rounds</at> status", where=channel_thread(),
                                                 mention=True), 200),
        ("message Action.Submit v1", message(url, JANE, "", value={"action": "cmd:status"}, reply_to="card-1"), 200),
        ("message Action.Submit unknown", message(url, JANE, "", value={"action": "teleport:now", "version": 2}), 200),
        ("message attachment only", {**message(url, JANE, ""), "attachments": [
            {"contentType": "image/png", "contentUrl": "https://example.com/x.png", "name": "x.png"}]}, 200),
        ("conversationUpdate bot added personal", bot_added(url, JANE), 200),
        ("conversationUpdate bot added team", bot_added(url, MARIA, where=team_general()), 200),
        ("conversationUpdate user added", {**bot_added(url, MARIA, where=team_general()),
                                           "membersAdded": [{"id": "29:newcomer", "aadObjectId": "aad-new"}]}, 200),
        ("conversationUpdate user removed", {**bot_added(url, MARIA, where=team_general()), "membersAdded": [],
                                             "membersRemoved": [{"id": "29:leaver"}]}, 200),
        ("conversationUpdate channelCreated", {**_base("conversationUpdate", url, MARIA, *team_general()),
                                               "channelData": {"eventType": "channelCreated", "tenant": {"id": "t"},
                                                               "channel": {"id": "19:new@thread.tacv2"},
                                                               "team": {"id": "19:general@thread.tacv2"}}}, 200),
        ("conversationUpdate teamRenamed", {**_base("conversationUpdate", url, MARIA, *team_general()),
                                            "channelData": {"eventType": "teamRenamed",
                                                            "team": {"id": "19:general@thread.tacv2",
                                                                     "name": "Riverside Physicians"}}}, 200),
        ("installationUpdate add", installation(url, JANE, "add"), 200),
        ("installationUpdate add-upgrade", installation(url, JANE, "add-upgrade"), 200),
        ("installationUpdate remove-upgrade", installation(url, JANE, "remove-upgrade"), 200),
        ("invoke adaptiveCard/action", execute_invoke(url, JANE, "cmd:status"), 200),
        ("invoke adaptiveCard/action unknown", execute_invoke(url, JANE, "teleport:now"), 200),
        ("messageReaction added", {**_base("messageReaction", url, JANE, *jane_chat), "replyToId": "card-1",
                                   "reactionsAdded": [{"type": "like"}]}, 200),
        ("messageReaction removed", {**_base("messageReaction", url, JANE, *jane_chat), "replyToId": "card-1",
                                     "reactionsRemoved": [{"type": "heart"}]}, 200),
        ("typing", _base("typing", url, JANE, *jane_chat), 200),
        ("event meetingStart", {**_base("event", url, JANE, *jane_chat), "name": "application/vnd.microsoft.meetingStart",
                                "value": {"Id": "meeting-1", "MeetingType": "Scheduled"}}, 200),
        ("event tokens/response", {**_base("event", url, JANE, *jane_chat), "name": "tokens/response",
                                   "value": {"connectionName": "x", "token": "not-a-token"}}, 200),
        ("endOfConversation", {**_base("endOfConversation", url, JANE, *jane_chat), "code": "userCancelled"}, 200),
        ("messageUpdate", {**_base("messageUpdate", url, JANE, *jane_chat), "text": "edited",
                           "channelData": {"eventType": "editMessage", "tenant": {"id": "t"}}}, 200),
        ("messageDelete", {**_base("messageDelete", url, JANE, *jane_chat),
                           "channelData": {"eventType": "softDeleteMessage", "tenant": {"id": "t"}}}, 200),
        ("contactRelationUpdate", {**_base("contactRelationUpdate", url, JANE, *jane_chat), "action": "add"}, 200),
        ("deleteUserData", _base("deleteUserData", url, JANE, *jane_chat), 200),
        ("trace", {**_base("trace", url, JANE, *jane_chat), "name": "x", "label": "y"}, 200),
        ("handoff", _base("handoff", url, JANE, *jane_chat), 200),
        ("suggestion", _base("suggestion", url, JANE, *jane_chat), 200),
        ("command", {**_base("command", url, JANE, *jane_chat), "name": "application/x", "value": {}}, 200),
        ("conversationUpdate bot removed personal", {**bot_added(url, STRANGER), "membersAdded": [],
                                                     "membersRemoved": [{"id": "28:social-rounds-bot"}]}, 200),
        ("installationUpdate remove", installation(url, JANE, "remove"), 200),
    ]
    for name in UNDECLARED_INVOKES:
        items.append((f"invoke {name} (not declared)", {**_base("invoke", url, JANE, *jane_chat), "name": name,
                                                        "value": {"commandId": "x", "parameters": []}}, 501))
    return items
