"""End to end: the real server, real signed Slack requests, and a fake Slack Web API on 127.0.0.1.

Assertions are on what the bot posted, updated, published and opened at the fake Slack, and on
what it stored; nothing inside the bot is patched.
"""
from __future__ import annotations

import asyncio
import json
import logging
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from slack_sdk.models.blocks import Block
from slack_sdk.models.views import View

from bot.app import Runtime
from fakes.slack_api import FakeSlackApi
from slack_fixtures import (
    APP_TOKEN,
    JANE,
    JANE_DM,
    MARIA,
    OMAR,
    PHYSICIAN,
    SIGNING_SECRET,
    SLACK_NOW,
    SlackServer,
    blocks_of,
    button,
    checklist,
    seeded_runtime,
    slack_env,
    start_server,
    texts,
    view_of,
)


def _posted_to(api: FakeSlackApi, channel: str) -> int:
    return len([c for c in api.calls_to("chat.postMessage") if c.args.get("channel") == channel and c.status == 200])


async def _settle(server: SlackServer) -> None:
    """A sync point: another person's DM, answered after the requests sent before it were handled."""
    before = _posted_to(server.api, "DOMAR01")
    await server.dm(OMAR, "help", channel="DOMAR01")
    await server.api.wait_until(lambda: _posted_to(server.api, "DOMAR01") > before)


# -- authenticity -------------------------------------------------------------------------------------

async def test_url_verification_answers_the_challenge(slack: SlackServer) -> None:
    body = json.dumps({"token": "legacy", "challenge": "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P",
                       "type": "url_verification"})
    status, text = await slack.post(body, "application/json")
    assert status == 200
    assert json.loads(text) == {"challenge": "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P"}


@pytest.mark.parametrize("tamper", ["wrong secret", "stale", "future", "no headers", "body changed"])
async def test_bad_or_stale_signatures_are_rejected_and_nothing_happens(slack: SlackServer, tamper: str) -> None:
    fields = {"token": "legacy", "team_id": "T1", "channel_id": "C0GENERAL", "user_id": JANE, "command": "/rounds",
              "text": "follow done", "response_url": slack.api.response_url("x"), "trigger_id": "t"}
    body = "&".join(f"{k}={v}" for k, v in fields.items())
    kind = "application/x-www-form-urlencoded"
    now = int(time.time())
    if tamper == "wrong secret":
        status, _ = await slack.post(body, kind, secret="not-the-secret")
    elif tamper == "stale":
        status, _ = await slack.post(body, kind, timestamp=now - 6 * 60)
    elif tamper == "future":
        status, _ = await slack.post(body, kind, timestamp=now + 6 * 60)
    elif tamper == "no headers":
        async with slack.session.post(f"{slack.url}/slack/events", data=body,
                                      headers={"Content-Type": kind}) as response:
            status = response.status
    else:
        stamp = str(now)
        from slack_fixtures import signature
        headers = {"Content-Type": kind, "X-Slack-Request-Timestamp": stamp,
                   "X-Slack-Signature": signature(SIGNING_SECRET, stamp, body)}
        async with slack.session.post(f"{slack.url}/slack/events", data=body.replace("follow", "video"),
                                      headers=headers) as response:
            status = response.status
    assert status == 401
    await asyncio.sleep(0.2)
    assert slack.api.calls == [], "a rejected request calls nothing"
    person = await slack.runtime.store.people.by_email(PHYSICIAN)
    assert person is not None and person.follows_hospital_at is None
    assert await slack.runtime.store.people.by_identity("slack", JANE) is None


async def test_slack_is_not_mounted_without_its_secrets(slack_runtime: Runtime, slack_api: FakeSlackApi,
                                                         monkeypatch: pytest.MonkeyPatch,
                                                         caplog: pytest.LogCaptureFixture) -> None:
    slack_env(monkeypatch, slack_api)
    monkeypatch.delenv("SLACK_SIGNING_SECRET")
    caplog.set_level(logging.INFO)
    runner, url = await start_server(slack_runtime)
    try:
        async with aiohttp.ClientSession() as session, session.post(f"{url}/slack/events", data="{}") as response:
            assert response.status in (404, 405)
    finally:
        await runner.cleanup()
    assert ("Slack: sending reminders only, not mounted: replies and buttons cannot reach the bot until you set "
            "SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET") in caplog.text
    assert "neither SLACK_SIGNING_SECRET" in caplog.text


# -- slash command, DMs, mentions ------------------------------------------------------------------------

async def test_slash_command_is_acked_then_answered_ephemerally(slack: SlackServer) -> None:
    started = time.monotonic()
    status, body, name = await slack.command(JANE, "status")
    assert status == 200 and body == "", "the ack is an empty 200; the answer follows on the response_url"
    assert time.monotonic() - started < 3
    [answer] = await slack.api.wait_for("response_url")
    assert answer.path == name
    assert answer.args["response_type"] == "ephemeral" and answer.args["replace_original"] is False
    assert answer.args["text"].startswith("Readiness 0/100")
    assert "Readiness 0/100" in texts(answer.args["blocks"])
    [home] = await slack.api.wait_for("views.publish")
    assert home.args["user_id"] == JANE and view_of(home)["type"] == "home"
    person = await slack.runtime.store.people.by_identity("slack", JANE)
    assert person is not None and person.email == PHYSICIAN, "matched to the roster by the Slack email"
    assert person.timezone == "America/Chicago", "the Slack time zone is stored for scheduling"
    assert [c.args["user"] for c in slack.api.calls_to("users.info")] == [JANE]
    assert {c.token for c in slack.api.calls if c.method != "response_url"} == {"xoxb-social-rounds-test"}


async def test_users_info_is_cached(slack: SlackServer) -> None:
    for text in ("status", "follow", "profile"):
        await slack.command(JANE, text)
    await slack.api.wait_for("response_url", 3)
    assert len(slack.api.calls_to("users.info")) == 1


async def test_quiz_in_an_ephemeral_reply_is_replaced_through_the_response_url(slack: SlackServer) -> None:
    await slack.command(JANE, "lesson")
    [lesson] = await slack.api.wait_for("response_url")
    answer = button(lesson.args["blocks"], "quiz:why-show-up:1")
    container = {"type": "message", "message_ts": "1767225000.000001", "channel_id": "C0GENERAL",
                 "is_ephemeral": True}
    await slack.press(JANE, answer, container=container, response_url=slack.api.response_url("ephemeral-press"))
    calls = await slack.api.wait_for("response_url", 2)
    replaced = calls[1]
    assert replaced.path == "ephemeral-press" and replaced.args["replace_original"] is True
    assert replaced.args["response_type"] == "ephemeral"
    assert "Not quite" in replaced.args["text"]
    assert slack.api.calls_to("chat.postMessage") == [] and slack.api.calls_to("chat.update") == []


async def test_bot_messages_and_edits_are_ignored(slack: SlackServer) -> None:
    await slack.event({"type": "message", "subtype": "message_changed", "channel": JANE_DM, "channel_type": "im",
                       "message": {"user": JANE, "text": "status"}, "ts": "1.2"})
    await slack.event({"type": "message", "channel": JANE_DM, "channel_type": "im", "bot_id": "BBOT",
                       "user": "UBOT", "text": "Lesson 1", "ts": "1.3"})
    await _settle(slack)
    assert [c.args["channel"] for c in slack.api.calls_to("chat.postMessage")] == ["DOMAR01"]


# -- retries ---------------------------------------------------------------------------------------------

async def test_event_retries_never_cause_a_second_reply(slack: SlackServer) -> None:
    status, _ = await slack.dm(JANE, "follow done", event_id="Ev0RETRY01")
    assert status == 200
    await slack.api.wait_for("chat.postMessage")
    for attempt in (1, 2, 3):
        status, _ = await slack.dm(JANE, "follow done", event_id="Ev0RETRY01", retry=attempt)
        assert status == 200
    await _settle(slack)
    posted = [c.args["channel"] for c in slack.api.calls_to("chat.postMessage")]
    assert posted == [JANE_DM, "DOMAR01"]


async def test_deduplication_survives_a_restart(slack_api: FakeSlackApi, tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    slack_env(monkeypatch, slack_api)
    for attempt in (None, 1):
        runtime = await seeded_runtime(tmp_path)
        runner, url = await start_server(runtime)
        async with aiohttp.ClientSession() as session:
            server = SlackServer(url, runtime, slack_api, session)
            status, _ = await server.dm(JANE, "status", event_id="Ev0RESTART", retry=attempt)
            assert status == 200
            await _settle(server)
        await runner.cleanup()
    channels = sorted(c.args["channel"] for c in slack_api.calls_to("chat.postMessage"))
    assert channels == ["DJANE01", "DOMAR01", "DOMAR01"], "one answer to Jane across both servers"


async def test_rate_limited_calls_wait_for_retry_after(slack: SlackServer) -> None:
    slack.api.fail_next(1, status=429, retry_after="1", method="chat.postMessage")
    await slack.dm(JANE, "status")
    await slack.api.wait_for("chat.postMessage", timeout=15)
    limited, posted = slack.api.calls_to("chat.postMessage")
    assert (limited.status, posted.status) == (429, 200)
    assert posted.at - limited.at >= 1.0, "Retry-After is honoured"
    assert posted.args["text"].startswith("Readiness")


async def test_dropped_connections_are_retried(slack: SlackServer) -> None:
    slack.api.fail_next(1, status=0, method="users.info")
    await slack.dm(JANE, "status")
    [posted] = await slack.api.wait_for("chat.postMessage", timeout=15)
    assert posted.args["text"].startswith("Readiness"), "identified after the retried users.info"
    assert [c.status for c in slack.api.calls_to("users.info")] == [0, 200]


# -- App Home -----------------------------------------------------------------------------------------

async def test_home_tab_shows_readiness_next_step_and_checklists(slack: SlackServer) -> None:
    await slack.event({"type": "app_home_opened", "user": JANE, "channel": JANE_DM, "tab": "home",
                       "event_ts": "1767225000.000200"})
    [home] = await slack.api.wait_for("views.publish")
    view = view_of(home)
    assert home.args["user_id"] == JANE and view["type"] == "home"
    shown = texts(view["blocks"])
    for expected in ("Readiness 0/100", "Next lesson", "cmd:lesson", "Heart Summit 2026", "profile:photo",
                     "modal:profile", "snooze:1w"):
        assert expected in shown
    assert "modal:meeting" not in shown and "Readiness at" not in shown


async def test_admin_home_has_the_hospital_summary(slack: SlackServer) -> None:
    await slack.event({"type": "app_home_opened", "user": MARIA, "channel": "DMARIA", "tab": "home"})
    [home] = await slack.api.wait_for("views.publish")
    shown = texts(view_of(home)["blocks"])
    assert "Readiness at Riverside University Hospital" in shown and "modal:meeting" in shown


async def test_messages_tab_does_not_publish(slack: SlackServer) -> None:
    await slack.event({"type": "app_home_opened", "user": JANE, "channel": JANE_DM, "tab": "messages"})
    await _settle(slack)
    await slack.api.wait_for("views.publish")
    assert [c.args["user_id"] for c in slack.api.calls_to("views.publish")] == [OMAR]


async def test_ticking_a_checklist_item_in_home_saves_it_and_refreshes_home(slack: SlackServer) -> None:
    await slack.event({"type": "app_home_opened", "user": JANE, "channel": JANE_DM, "tab": "home"})
    [home] = await slack.api.wait_for("views.publish")
    view = view_of(home)
    block, element = checklist(view["blocks"], "profile:")
    photo = next(o for o in element["options"] if o["value"] == "profile:photo")
    pressed = {**element, "selected_options": [*element.get("initial_options", []), photo]}
    await slack.press(JANE, pressed, block_id=block["block_id"], container={"type": "view", "view_id": "V1"},
                      view={**view, "id": "V1"})
    homes = await slack.api.wait_for("views.publish", 2)
    person = await slack.runtime.store.people.by_identity("slack", JANE)
    assert person is not None and "photo" in await slack.runtime.store.profile.items_done(person.id)
    _, refreshed = checklist(view_of(homes[1])["blocks"], "profile:")
    assert [o["value"] for o in refreshed["initial_options"]] == ["profile:photo"]
    assert slack.api.calls_to("chat.postMessage") == [], "an in-place change in Home is the Home refresh"

    block, element = checklist(view_of(homes[1])["blocks"], "profile:")
    await slack.press(JANE, {**element, "selected_options": []}, block_id=block["block_id"],
                      container={"type": "view", "view_id": "V1"})
    await slack.api.wait_for("views.publish", 3)
    assert "photo" not in await slack.runtime.store.profile.items_done(person.id), "unticking takes it back"


async def test_camp_checkbox_in_a_dm_updates_the_message(slack: SlackServer) -> None:
    await slack.dm(JANE, "meetings join Heart")
    await slack.api.wait_for("chat.postMessage", 2)
    await slack.dm(JANE, "camp")
    camp = (await slack.api.wait_for("chat.postMessage", 3))[-1]
    block, element = checklist(blocks_of(camp), "camp:")
    first = element["options"][0]
    container = {"type": "message", "message_ts": camp.response["ts"], "channel_id": JANE_DM, "is_ephemeral": False}
    await slack.press(JANE, {**element, "selected_options": [first]}, block_id=block["block_id"],
                      container=container)
    [update] = await slack.api.wait_for("chat.update")
    assert update.args["ts"] == camp.response["ts"]
    _, updated = checklist(blocks_of(update), "camp:")
    assert updated["initial_options"] == [first]
    assert "1/31 done" in texts(blocks_of(update))


async def test_snooze_from_the_overflow_menu(slack: SlackServer) -> None:
    await slack.dm(JANE, "status")
    [status] = await slack.api.wait_for("chat.postMessage")
    overflow = next(e for b in blocks_of(status) for e in b.get("elements", []) if e["type"] == "overflow")
    week = next(o for o in overflow["options"] if o["value"] == "snooze:1w")
    container = {"type": "message", "message_ts": status.response["ts"], "channel_id": JANE_DM, "is_ephemeral": False}
    await slack.press(JANE, {**overflow, "selected_option": week}, container=container)
    posted = await slack.api.wait_for("chat.postMessage", 2)
    assert "snoozed until" in posted[1].args["text"]
    person = await slack.runtime.store.people.by_identity("slack", JANE)
    assert person is not None and person.snoozed_until is not None


# -- modals -----------------------------------------------------------------------------------------

async def _open_from_home(server: SlackServer, user: str, value: str) -> dict[str, Any]:
    await server.event({"type": "app_home_opened", "user": user, "channel": "D" + user[1:], "tab": "home"})
    [home] = await server.api.wait_for("views.publish")
    opener = button(view_of(home)["blocks"], value)
    await server.press(user, opener, container={"type": "view", "view_id": "V1"})
    [opened] = await server.api.wait_for("views.open")
    assert opened.args["trigger_id"].startswith("trigger-")
    return view_of(opened)


async def test_profile_modal_shows_errors_inline_and_saves_a_good_handle(slack: SlackServer) -> None:
    view = await _open_from_home(slack, JANE, "modal:profile")
    assert view["callback_id"] == "rounds_profile"
    status, body = await slack.submit(JANE, view, {"handle": {"type": "plain_text_input", "value": "@no spaces!"}})
    assert status == 200
    answer = json.loads(body)
    assert answer["response_action"] == "errors" and set(answer["errors"]) == {"handle"}
    assert answer["errors"]["handle"]
    person = await slack.runtime.store.people.by_email(PHYSICIAN)
    assert person is not None and person.x_handle is None

    status, body = await slack.submit(JANE, view, {"handle": {"type": "plain_text_input", "value": "@DrJaneRivera"}})
    assert (status, body) == (200, "")
    person = await slack.runtime.store.people.by_email(PHYSICIAN)
    assert person is not None and person.x_handle == "DrJaneRivera"
    posted = await slack.api.wait_for("chat.postMessage")
    assert posted[0].args["channel"] == JANE and "DrJaneRivera" in posted[0].args["text"]
    homes = await slack.api.wait_for("views.publish", 2)
    assert "DrJaneRivera" in texts(view_of(homes[-1])["blocks"])


async def test_profile_modal_prefills_the_known_handle(slack: SlackServer) -> None:
    view = await _open_from_home(slack, OMAR, "modal:profile")
    assert view["blocks"][1]["element"]["initial_value"] == "@OmarHaddadMD"


async def test_admin_adds_a_meeting_through_the_modal(slack: SlackServer) -> None:
    status, body, name = await slack.command(MARIA, "meetings add")
    assert (status, body) == (200, "")
    [opened] = await slack.api.wait_for("views.open")
    view = view_of(opened)
    assert view["callback_id"] == "rounds_meeting" and opened.args["trigger_id"] == f"trigger-{name}"
    _assert_valid_modal(view)
    assert [b["block_id"] for b in view["blocks"]] == [
        "catalog", "name", "start", "end", "city", "hashtag", "embargo", "embargo_lifts_date", "embargo_lifts_time",
        "attendees"], "the coach's form, embargo lift included"
    bad = {"name": {"value": "Heart Summit 2027"}, "start": {"selected_date": "2027-03-06"},
           "end": {"selected_date": "2027-03-04"}}
    status, body = await slack.submit(MARIA, view, bad)
    assert json.loads(body) == {"response_action": "errors",
                                "errors": {"end": "The meeting ends before it starts; check the dates."}}
    half = {"name": {"value": "Heart Summit 2027"}, "start": {"selected_date": "2027-03-04"},
            "embargo_lifts_date": {"selected_date": "2027-03-05"}, "embargo_lifts_time": {"selected_time": None}}
    status, body = await slack.submit(MARIA, view, half)
    assert json.loads(body) == {"response_action": "errors", "errors": {"embargo_lifts_time": (
        "Give both the date and the time the embargo lifts (hospital time), or leave both empty.")}}
    good = {"name": {"value": "Heart Summit 2027"}, "start": {"selected_date": "2027-03-04"},
            "end": {"selected_date": "2027-03-06"}, "city": {"value": "Boston"}, "hashtag": {"value": "#HS27"},
            "embargo": {"value": "Late-breakers: embargoed until presented."},
            "embargo_lifts_date": {"selected_date": "2027-03-05"}, "embargo_lifts_time": {"selected_time": "07:30"},
            "attendees": {"value": "Cardiology"}}
    status, body = await slack.submit(MARIA, view, good)
    assert (status, body) == (200, "")
    meeting = await slack.runtime.store.meetings.by_key("heart-summit-2027")
    assert meeting is not None and (meeting.city, meeting.hashtag) == ("Boston", "#HS27")
    assert meeting.embargo == "Late-breakers: embargoed until presented."
    assert meeting.embargo_lifts_at is not None and meeting.embargo_lifts_at.isoformat() == "2027-03-05T12:30:00+00:00"
    [added] = await slack.api.wait_for("response_url")
    assert added.path == name and "Heart Summit 2027" in added.args["text"]
    jane = await slack.runtime.store.people.by_email(PHYSICIAN)
    assert jane is not None and meeting.id in await slack.runtime.store.meetings.attending(jane.id)


async def test_library_add_opens_the_story_modal(slack: SlackServer) -> None:
    status, body, name = await slack.command(MARIA, "library add")
    assert (status, body) == (200, "")
    [opened] = await slack.api.wait_for("views.open")
    view = view_of(opened)
    assert view["callback_id"] == "rounds_story" and opened.args["trigger_id"] == f"trigger-{name}"
    _assert_valid_modal(view)
    assert [b["block_id"] for b in view["blocks"]] == [
        "title", "link", "post_x", "post_bluesky", "post_linkedin", "alt_text", "audience", "lift_date",
        "lift_time", "timezone", "expires"]
    assert [b["block_id"] for b in view["blocks"] if not b.get("optional")] == ["title", "link"]
    assert json.loads(view["private_metadata"])["response_url"].endswith(name)

    patient = "Proud of our team: the patient in bed 12 went home today. MRN 4481920, ask his wife."
    story = {"title": {"value": "Heart week at Riverside"}, "link": {"value": "https://news.riverside.example/h?a=1&b=2"},
             "post_x": {"value": patient}, "post_bluesky": {"value": "Heart week starts today 🫀"},
             "audience": {"value": "Cardiology"}, "lift_date": {"selected_date": "2026-05-13"},
             "lift_time": {"selected_time": "08:00"}}
    status, body = await slack.submit(MARIA, view, story)
    answer = json.loads(body)
    assert status == 200 and answer["response_action"] == "errors" and list(answer["errors"]) == ["post_x"]
    assert "would be blocked for a physician" in answer["errors"]["post_x"] and "MRN" in answer["errors"]["post_x"]
    assert await slack.runtime.store.library.search("", SLACK_NOW, admin=True) == []

    story["post_x"] = {"value": "Heart week starts today at Riverside. #CardioTwitter"}
    status, body = await slack.submit(MARIA, view, story)
    assert (status, body) == (200, "")
    saved = await slack.runtime.store.library.get("heart-week-at-riverside", SLACK_NOW, admin=True)
    assert saved is not None and saved.lifts_at.isoformat() == "2026-05-13T12:00:00+00:00"
    assert saved.networks == ("x", "bluesky") and saved.audience.departments == ("Cardiology",)
    [added] = await slack.api.wait_for("response_url")
    assert added.path == name and "Heart week at Riverside" in added.args["text"]


async def test_a_physician_cannot_add_a_story(slack: SlackServer) -> None:
    await slack.command(JANE, "library add")
    [opened] = await slack.api.wait_for("views.open")
    _, body = await slack.submit(JANE, view_of(opened), {"title": {"value": "Mine"},
                                                              "link": {"value": "https://e.example/a"}})
    answer = json.loads(body)
    assert answer["response_action"] == "errors" and list(answer["errors"]) == ["title"]
    assert await slack.runtime.store.library.search("", SLACK_NOW, admin=True) == []


async def test_a_physician_cannot_add_a_meeting(slack: SlackServer) -> None:
    await slack.command(JANE, "meetings add")
    [opened] = await slack.api.wait_for("views.open")
    _, body = await slack.submit(JANE, view_of(opened), {"name": {"value": "Mine"},
                                                              "start": {"selected_date": "2027-03-04"}})
    answer = json.loads(body)
    assert answer["response_action"] == "errors" and list(answer["errors"]) == ["name"]
    assert await slack.runtime.store.meetings.by_key("mine-2027") is None


async def test_a_catalog_meeting_from_the_modal_needs_only_its_start(slack: SlackServer) -> None:
    await slack.command(MARIA, "meetings add")
    [opened] = await slack.api.wait_for("views.open")
    view = view_of(opened)
    status, body = await slack.submit(MARIA, view, {"catalog": {"selected_option": {"value": "asco"}},
                                                    "start": {"selected_date": "2026-01-01"}})
    assert json.loads(body)["errors"].keys() == {"start"}, "a meeting already over: the start date"
    status, body = await slack.submit(MARIA, view, {"catalog": {"selected_option": {"value": "asco"}},
                                                    "start": {"selected_date": "2027-05-28"}})
    assert (status, body) == (200, "")
    meeting = await slack.runtime.store.meetings.by_key("asco-2027")
    assert meeting is not None and meeting.name == "ASCO Annual Meeting 2027"


DRAFT = ("Proud of our team: the zebra-7731 patient in bed 12 went home today.\n"
         "MRN 4481920, ask his wife for updates.")


def _assert_valid_modal(view: dict[str, Any]) -> None:
    assert view["type"] == "modal" and 1 <= len(view["blocks"]) <= 100
    parsed = Block.parse_all(view["blocks"])
    assert [b.to_dict() for b in parsed] == view["blocks"], "slack_sdk dropped or changed a field"
    View(**view).to_dict()  # title/submit/close ≤ 24 characters, private_metadata ≤ 3000


def _draft_input(view: dict[str, Any]) -> dict[str, Any]:
    [draft] = [b for b in view["blocks"] if b["type"] == "input"]
    assert draft["block_id"] == "draft"
    element = draft["element"]
    assert (element["type"], element["multiline"], element["max_length"]) == ("plain_text_input", True, 3000)
    return element


async def test_check_without_a_draft_opens_the_check_modal(slack: SlackServer) -> None:
    status, body, name = await slack.command(JANE, "check")
    assert (status, body) == (200, "")
    [opened] = await slack.api.wait_for("views.open")
    view = view_of(opened)
    assert view["callback_id"] == "rounds_check" and opened.args["trigger_id"] == f"trigger-{name}"
    _assert_valid_modal(view)
    assert "initial_value" not in _draft_input(view)
    await _settle(slack)
    assert slack.api.calls_to("response_url") == [], "the modal, not a 'paste the draft' message"


async def test_check_a_draft_from_the_home_tab(slack: SlackServer) -> None:
    view = await _open_from_home(slack, JANE, "modal:check")
    assert view["callback_id"] == "rounds_check"
    _assert_valid_modal(view)


async def test_a_checked_draft_is_answered_in_the_modal_and_never_logged_or_stored(
        slack: SlackServer, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.DEBUG, logger="bot")
    await slack.command(JANE, "check")
    [opened] = await slack.api.wait_for("views.open")
    status, body = await slack.submit(JANE, view_of(opened), {"draft": {"type": "plain_text_input", "value": DRAFT}})
    assert status == 200
    answer = json.loads(body)
    assert answer["response_action"] == "update"
    view = answer["view"]
    _assert_valid_modal(view)
    assert (view["callback_id"], view["submit"]["text"], view["close"]["text"]) == (
        "rounds_check", "Check again", "Done")
    shown = texts(view["blocks"])
    assert "Draft check: fix before posting" in shown and "Blocked" in shown
    assert "“MRN 4481920” — Medical record numbers are a HIPAA identifier" in shown
    assert "“bed 12” — A room, bed or bay number" in shown
    assert _draft_input(view)["initial_value"] == DRAFT, "the draft stays in the modal to edit and check again"

    clean = "Great discussion on social media at Grand Rounds today. Slides are on our website."
    status, body = await slack.submit(JANE, view, {"draft": {"type": "plain_text_input", "value": clean}})
    again = json.loads(body)["view"]
    _assert_valid_modal(again)
    assert "Draft check: ready to post" in texts(again["blocks"])

    await _settle(slack)
    assert slack.api.calls_to("response_url") == [] and _posted_to(slack.api, JANE_DM) == 0, \
        "the answer is shown in the modal only"
    assert "slack modal user=UJANE01 callback=rounds_check" in caplog.text
    for record in caplog.records:
        logged = record.getMessage() + str(record.args or "")
        for secret in (DRAFT, "zebra-7731", "4481920", "bed 12", "Grand Rounds today"):
            assert secret not in logged, (record.name, record.levelname)
    stored = b"".join(path.read_bytes() for path in tmp_path.glob("t.db*"))
    assert stored, "the SQLite database is where the test expects it"
    for secret in (b"zebra-7731", b"4481920", b"Grand Rounds today"):
        assert secret not in stored


async def test_a_check_reply_in_a_dm_offers_the_modal(slack: SlackServer) -> None:
    await slack.dm(JANE, "check")
    [reply] = await slack.api.wait_for("chat.postMessage")
    assert "Paste the draft" in reply.args["text"]
    container = {"type": "message", "message_ts": reply.response["ts"], "channel_id": JANE_DM, "is_ephemeral": False}
    await slack.press(JANE, button(blocks_of(reply), "modal:check"), container=container)
    [opened] = await slack.api.wait_for("views.open")
    assert view_of(opened)["callback_id"] == "rounds_check"


# -- Socket Mode ---------------------------------------------------------------------------------------

async def test_socket_mode_handles_events_and_commands(slack_api: FakeSlackApi, slack_runtime: Runtime,
                                                       monkeypatch: pytest.MonkeyPatch,
                                                       caplog: pytest.LogCaptureFixture) -> None:
    slack_env(monkeypatch, slack_api, socket_mode=True)
    caplog.set_level(logging.INFO)
    runner, url = await start_server(slack_runtime)
    try:
        assert "Slack: Socket Mode" in caplog.text
        [opened] = await slack_api.wait_for("apps.connections.open")
        assert opened.token == APP_TOKEN
        event = {"token": "legacy", "team_id": "T1", "api_app_id": "A1", "type": "event_callback",
                 "event_id": "Ev0SOCKET1", "event_time": int(time.time()),
                 "event": {"type": "app_home_opened", "user": JANE, "channel": JANE_DM, "tab": "home"}}
        ack = await slack_api.socket_send({"envelope_id": "env-1", "type": "events_api", "payload": event,
                                           "accepts_response_payload": False, "retry_attempt": 0,
                                           "retry_reason": ""})
        assert ack["envelope_id"] == "env-1"
        [home] = await slack_api.wait_for("views.publish")
        assert home.args["user_id"] == JANE
        await slack_api.socket_send({"envelope_id": "env-2", "type": "events_api", "payload": event,
                                     "accepts_response_payload": False, "retry_attempt": 1,
                                     "retry_reason": "timeout"})
        command = {"token": "legacy", "team_id": "T1", "channel_id": "C0GENERAL", "user_id": JANE,
                   "command": "/rounds", "text": "status", "api_app_id": "A1",
                   "response_url": slack_api.response_url("socket"), "trigger_id": "trigger-socket"}
        ack = await slack_api.socket_send({"envelope_id": "env-3", "type": "slash_commands", "payload": command,
                                           "accepts_response_payload": True})
        assert ack["envelope_id"] == "env-3"
        [answer] = await slack_api.wait_for("response_url")
        assert answer.args["text"].startswith("Readiness")
        await asyncio.sleep(0.3)
        assert len(slack_api.calls_to("views.publish")) == 1, \
            "the retried event was not handled again (and the read-only status leaves the Home as it is)"
        async with aiohttp.ClientSession() as session, session.post(f"{url}/slack/events", data="{}") as response:
            assert response.status in (404, 405), "no HTTP endpoint in Socket Mode"
    finally:
        await runner.cleanup()


async def test_old_event_ids_are_forgotten(slack: SlackServer) -> None:
    from datetime import timedelta

    store, now = slack.runtime.store, slack.runtime.clock.now()
    assert await store.events.claim("slack:Ev0LASTMONTH", now - timedelta(days=30))
    assert await store.events.claim("slack:Ev0YESTERDAY", now - timedelta(days=1))
    await slack.dm(JANE, "status")
    await slack.api.wait_for("views.publish")
    assert await store.events.claim("slack:Ev0LASTMONTH", now), "a month-old id was pruned"
    assert not await store.events.claim("slack:Ev0YESTERDAY", now), "a recent id is still remembered"


async def test_digest_chart_is_an_image_block_served_under_a_signed_link(
        slack_api: FakeSlackApi, slack_runtime: Runtime, monkeypatch: pytest.MonkeyPatch) -> None:
    slack_env(monkeypatch, slack_api)
    slack_runtime.config = replace(slack_runtime.config, public_url="https://rounds.riverside.example")
    runner, url = await start_server(slack_runtime)
    try:
        async with aiohttp.ClientSession() as session:
            server = SlackServer(url, slack_runtime, slack_api, session)
            status, _, _ = await server.command(MARIA, "digest")
            assert status == 200
            [posted] = await slack_api.wait_for("response_url")
            assert len(Block.parse_all(posted.args["blocks"])) == len(posted.args["blocks"])
            images = [b for b in posted.args["blocks"] if b["type"] == "image"]
            assert len(images) == 1 and images[0]["alt_text"].startswith("Average readiness by week")
            link = images[0]["image_url"]
            assert link.startswith("https://rounds.riverside.example/charts/digest-2026-W20.png?sig=")
            local = url + link.removeprefix("https://rounds.riverside.example")
            async with session.get(local) as response:
                assert response.status == 200 and response.content_type == "image/png"
                assert (await response.read()).startswith(b"\x89PNG")
            async with session.get(local[:-4] + "0000") as forged:
                assert forged.status == 404
    finally:
        await runner.cleanup()


async def test_without_a_public_url_the_digest_has_no_image_block(slack: SlackServer) -> None:
    await slack.command(MARIA, "digest")
    [posted] = await slack.api.wait_for("response_url")
    assert not [b for b in posted.args["blocks"] if b["type"] == "image"]
    assert "Trend:" in json.dumps(posted.args["blocks"])
