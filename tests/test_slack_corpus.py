"""The Slack corpus (tests/corpora.py: real payload shapes copied from the Slack SDK's own tests)
covers every request type, and whatever the bot does not handle is logged once at DEBUG, naming its
type. That every request is answered within Slack's 3 seconds, without a 404, a 5xx, a traceback or
an ERROR, is tests/test_platforms.py's, for both platforms.
"""
from __future__ import annotations

import logging

import pytest

from corpora import CORPUS, drained, kind, replay
from slack_fixtures import SlackServer


def test_the_corpus_covers_every_request_type() -> None:
    kinds = {kind(entry["body"]).split("/")[0].split(" ")[0] for entry in CORPUS}
    assert {"event", "block_actions", "view_submission", "view_closed", "shortcut", "message_action",
            "block_suggestion", "command", "url_verification"} <= kinds
    subtypes = {kind(entry["body"]) for entry in CORPUS if kind(entry["body"]).startswith("event message/")}
    assert len(subtypes) >= 5
    assert all(entry["origin"] for entry in CORPUS)


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
