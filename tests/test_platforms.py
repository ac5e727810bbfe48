"""What Slack and Teams share: each test runs once per platform (``platform``), through the real
endpoint and the platform's fake; the last renders every reply of the real coach for each. What only
one platform has (App Home, modals, response URLs, installation events, Bot Connector details) stays
in the platform's own test modules; the checks below that hold for one platform only say so with
``if platform.name == …``.
"""
from __future__ import annotations

import asyncio
import json
import logging
import re
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest

from bot.clock import FixedClock
from bot.messages import Reply
from platforms import Platform
from renders import assert_valid_card, assert_valid_message, every_reply
from slack_fixtures import JANE, PHYSICIAN, texts, view_of
from teams_fixtures import CHANNEL, JANE as TEAMS_JANE, message


async def test_someone_not_on_the_roster_gets_the_onboarding(platform: Platform) -> None:
    [welcome] = await platform.say("stranger", "lesson")
    assert "couldn't find you" in welcome.text and "roster" in welcome.text
    assert await platform.person("stranger") is None
    if platform.name == "slack":
        [home] = await platform.slack.api.wait_for("views.publish")
        assert welcome.raw.args["channel"] == "DSTRANGER"
        assert "Welcome to Social Rounds" in texts(view_of(home)["blocks"])
    else:
        assert "Welcome to Social Rounds" in welcome.shown


async def test_a_quiz_answer_updates_the_lesson_in_place(platform: Platform) -> None:
    [lesson] = await platform.say("jane", "lesson")
    assert lesson.text.startswith("Lesson 1 of")
    quiz = [action for action in lesson.actions if action.startswith("quiz:")]
    assert len(quiz) >= 2 and "quiz:why-show-up:2" in quiz
    result = await platform.press("jane", lesson, "quiz:why-show-up:2")
    assert "Twitter followers" in (result.text if platform.name == "slack" else result.shown)
    assert "cmd:lesson" in result.actions, "the result offers the next lesson"
    jane = await platform.runtime.store.people.by_email(PHYSICIAN)
    assert jane is not None and "why-show-up" in await platform.runtime.store.progress.lessons_done(jane.id)
    if platform.name == "slack":
        api = platform.slack.api
        await api.wait_for("views.publish", 2)
        assert len(api.calls_to("chat.postMessage")) == 1, "no stacked copy of the quiz"
        assert api.calls_to("response_url") == []



async def test_a_mention_in_a_channel_answers_privately(platform: Platform) -> None:
    private = await platform.mention("jane", "status")
    assert "readiness" in private.shown.lower()
    if platform.name == "slack":
        assert (private.raw.args["channel"], private.raw.args["user"]) == ("C0GENERAL", JANE)
        assert private.text.startswith("Readiness")
        assert platform.slack.api.calls_to("chat.postMessage") == []
    else:
        activity, _, note = private.raw
        connector, store = platform.connector, platform.runtime.store
        create = next(c for c in connector.calls if c.path == "/v3/conversations")
        assert [m["id"] for m in create.body["members"]] == [TEAMS_JANE.id]
        assert create.body["channelData"] == {"tenant": {"id": "tenant-1"}}
        assert note.conversation_id == activity["conversation"]["id"] and note.activity_id == activity["id"]
        assert "personal chat" in note.body["text"] and not note.body.get("attachments")
        channel = json.loads(await store.conversations.ref("teams", CHANNEL) or "{}")
        assert channel["conversation"]["id"] == CHANNEL, "the channel itself, not the thread"
        personal = json.loads(await store.conversations.ref("teams", TEAMS_JANE.aad_object_id) or "{}")
        assert personal["conversation"]["id"] == f"a:personal-{TEAMS_JANE.id}"


SECRET = "patient in bed 12 with rare zebra-unicorn syndrome"


def log_everything(platform: Platform, caplog: pytest.LogCaptureFixture) -> None:
    """Every level of the bot's own loggers; slack_sdk's DEBUG lines (request bodies) are dropped in
    production by bot/logsafety.py, which these in-process servers do not install."""
    caplog.set_level(logging.INFO if platform.name == "slack" else logging.DEBUG)
    caplog.set_level(logging.DEBUG, logger="bot")


async def test_logs_carry_ids_never_message_text(platform: Platform, caplog: pytest.LogCaptureFixture) -> None:
    log_everything(platform, caplog)
    await platform.say("jane", f"{SECRET} please")
    await platform.say("jane", f"check My draft about {SECRET} #ASCO26")
    await platform.mention("jane", SECRET)
    if platform.name == "slack":
        await platform.slack.command(JANE, f"check {SECRET}")
        await platform.slack.api.wait_for("response_url")
    assert platform.logged_id("jane") in caplog.text
    assert "zebra" not in caplog.text


async def test_a_failed_reply_is_logged_by_id_without_text(platform: Platform,
                                                           caplog: pytest.LogCaptureFixture) -> None:
    log_everything(platform, caplog)
    if platform.name == "slack":
        platform.fail_next_reply()
        await platform.slack.dm(JANE, f"check my secret draft about {SECRET}")
        await platform.slack.api.wait_for("views.publish")
        await asyncio.sleep(0.1)
        assert "slack reply failed user=UJANE01" in caplog.text
    else:
        await platform.say("jane", "help")
        platform.fail_next_reply()
        connector = platform.connector
        connector.clear()
        response = await platform.server.post(message(connector.url, TEAMS_JANE, f"status {SECRET}"))
        assert response.status == 200
        failed, apology = connector.calls
        assert failed.status == 500 and "try again" in apology.body["text"]
        assert "teams turn failed" in caplog.text
    assert "zebra" not in caplog.text and "bed 12" not in caplog.text


async def test_every_request_the_platform_sends_is_answered_quickly_without_errors(
        platform: Platform, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    answers = await platform.replay_corpus()
    assert [(a.what, a.status) for a in answers if a.status != a.expected] == []
    assert [a.what for a in answers if a.status == 404 or (a.status >= 500 and a.status != 501)] == []
    assert [a.what for a in answers if a.seconds >= 3.0] == [], "Slack wants its ack within 3 seconds"
    failures = [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info or "Traceback" in r.getMessage()]
    assert [(r.name, r.getMessage()[:200]) for r in failures] == []
    if platform.name == "teams":
        ignored = [r for r in caplog.records if r.name == "bot.channels.teams" and "ignored" in r.getMessage()]
        for activity in ("messageReaction", "typing", "event", "endOfConversation", "messageUpdate", "messageDelete"):
            assert [r for r in ignored if f"type={activity} " in r.getMessage()], activity
        assert all(r.levelno == logging.DEBUG for r in ignored)


REPLY_KINDS = {"help", "lesson", "quiz_result", "profile", "follow", "meetings", "camp", "status", "settings", "report",
               "error", "onboarding", "reminder", "digest", "check", "form", "networks", "safety", "transcript"}


@pytest.mark.parametrize("renders_valid", [assert_valid_message, assert_valid_card], ids=["slack", "teams"])
async def test_every_reply_the_coach_produces_renders_valid(renders_valid: Callable[[Reply], None],
                                                           tmp_path: Path) -> None:
    replies = await every_reply(tmp_path)
    assert {r.kind for r in replies} >= REPLY_KINDS
    assert any(r.checklist for r in replies) and any(r.table for r in replies)
    assert any(r.progress for r in replies) and any(r.fields for r in replies)
    for reply in replies:
        renders_valid(reply)


async def test_the_digest_says_where_each_number_comes_from(platform: Platform) -> None:
    [digest] = await platform.say("maria", "digest")
    for words in ("Have a professional profile (self-reported)", "Follow the hospital (self-reported)",
                  "Finished the core lessons (done in the bot)", "No week stored before this one yet",
                  "Verified profile on X (verified)", "X profile change, pts", "Score change"):
        assert words in digest.shown, words
    runtime = platform.runtime
    assert await runtime.coach.save_weekly_snapshot(runtime.clock.now())
    assert isinstance(runtime.clock, FixedClock)
    runtime.clock.advance(timedelta(days=7))
    await platform.say("jane", "follow done")
    [week] = await platform.say("maria", "digest")
    assert re.search(r"Follow the hospital \(self-reported\): 1 \(\d+%, \+[1-9]\d* pts since last week\)", week.shown)
    assert re.search(r"Have a professional profile \(self-reported\): \d+ \(\d+%, \+0 pts since last week\)",
                     week.shown)
    assert "Changes compare the same" in week.shown
