"""Every Bot Framework activity type Teams sends gets an answer: replayed over HTTP to the real server.

Activity shapes follow the Teams channel (message, conversationUpdate, installationUpdate, invoke,
messageReaction, typing, event, endOfConversation, messageUpdate, messageDelete …) as the Bot
Framework schema (botbuilder-schema ``ActivityTypes``) and the Teams docs describe them, built with
the helpers the other Teams tests use. Nothing is answered 404 or 5xx except the SDK's 501 for
invokes the app does not declare; nothing logs a traceback or an ERROR; every answer within 3 s.
"""
from __future__ import annotations

import logging
import time
from typing import Any

import pytest

from fakes.bot_connector import FakeBotConnector
from teams_fixtures import (
    JANE,
    MARIA,
    STRANGER,
    Server,
    _base,
    bot_added,
    channel_thread,
    execute_invoke,
    installation,
    message,
    personal,
    team_general,
)

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


def test_the_corpus_covers_every_activity_type() -> None:
    kinds = {activity["type"] for _, activity, _ in corpus("http://127.0.0.1:1")}
    assert {"message", "conversationUpdate", "installationUpdate", "invoke", "messageReaction", "typing", "event",
            "endOfConversation", "messageUpdate", "messageDelete", "contactRelationUpdate", "deleteUserData",
            "trace", "handoff", "suggestion", "command"} <= kinds


async def test_every_activity_is_answered_quickly_without_errors(
        server: Server, connector: FakeBotConnector, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    answers = []
    for what, activity, expected in corpus(connector.url):
        started = time.monotonic()
        response = await server.post(activity)
        answers.append((what, response.status, expected, time.monotonic() - started))
    assert [(w, s) for w, s, e, _ in answers if s != e] == []
    assert [w for w, s, _, _ in answers if s == 404 or (s >= 500 and s != 501)] == []
    assert [w for w, _, _, seconds in answers if seconds >= 3.0] == []
    failures = [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info or "Traceback" in r.getMessage()]
    assert [(r.name, r.getMessage()[:200]) for r in failures] == []
    ignored = [r.getMessage() for r in caplog.records if r.name == "bot.channels.teams" and "ignored" in r.getMessage()]
    for kind in ("messageReaction", "typing", "event", "endOfConversation", "messageUpdate", "messageDelete"):
        lines = [line for line in ignored if f"type={kind} " in line]
        assert lines, kind
        assert all(r.levelno == logging.DEBUG for r in caplog.records
                   if r.name == "bot.channels.teams" and "ignored" in r.getMessage())
