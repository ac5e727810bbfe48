"""The draft checker behind the real Slack endpoint: a long draft gets a clear reply, is not
checked, stored or logged, and does not hold up the next command."""
from __future__ import annotations

import logging

import pytest

from slack_fixtures import JANE, MARIA, SlackServer

MARKER = "zebrafinch"


async def test_a_long_draft_gets_a_clear_reply_and_the_next_command_is_answered(
        slack: SlackServer, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    draft = (f"My patient {MARKER} a.a.a.a.a. 1-1-1-1 " * 1100)[:40_000]
    status, body, long_name = await slack.command(JANE, f"check {draft}")
    assert status == 200 and body == ""
    status, _, next_name = await slack.command(MARIA, "status")
    assert status == 200
    answers = await slack.api.wait_for("response_url", 2)
    by_name = {call.path: call for call in answers}
    text = by_name[long_name].args["text"]
    assert "40,000 characters" in text and "4,000" in text and "split it" in text
    assert by_name[next_name].args["text"].startswith("Readiness")
    assert MARKER not in caplog.text


async def test_a_draft_at_the_cap_is_checked(slack: SlackServer) -> None:
    draft = ("Grateful for our night nurses. " * 200)[:4000]
    await slack.command(JANE, f"check {draft}")
    [answer] = await slack.api.wait_for("response_url")
    assert answer.args["text"].startswith(("Ready to post", "Review before posting", "Don't post")), answer.args["text"]
    assert "Length on X" in answer.args["text"]
