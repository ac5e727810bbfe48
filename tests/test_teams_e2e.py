"""End to end: the real server on 127.0.0.1, Bot Framework activities posted as Teams posts them,
and a fake Bot Connector recording what the bot sends back."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import aiohttp
import pytest

from bot.app import create_app, teams_transport
from bot.channels.teams.activities import clean_text
from bot.channels.teams.transport import TeamsTransport
from bot.config import ConfigError
from bot.core.reasons import said
from bot.delivery.transport import Envelope, retry_after_seconds
from bot.messages import Reply
from bot.settings import Settings
from bot.store import Store
from fakes.bot_connector import FakeBotConnector, Member
from teams_fixtures import (
    CHANNEL,
    JANE,
    MARIA,
    PERSONAL_JANE,
    PHYSICIAN,
    ROOT,
    TEAM,
    Server,
    bot_added,
    card_actions,
    card_errors,
    card_text,
    cards,
    channel_thread,
    clear_teams_env,
    execute_invoke,
    installation,
    message,
    seeded_runtime,
    start_server,
    team_general,
)


def _one_card(body: dict) -> dict:
    [card] = cards(body)
    assert card_errors(card) == []
    return card


# -- personal chat ----------------------------------------------------------------------------------------
async def test_personal_message_links_the_roster_physician_and_answers_with_a_card(
        server: Server, connector: FakeBotConnector) -> None:
    activity = message(connector.url, JANE, "help", timezone_name="America/Chicago")
    response = await server.post(activity)
    assert response.status == 200

    [lookup, reply] = connector.calls
    assert (lookup.method, lookup.path) == ("GET", f"/v3/conversations/{PERSONAL_JANE}/members/{JANE.id}")
    assert (reply.method, reply.conversation_id, reply.activity_id) == ("POST", PERSONAL_JANE, activity["id"])
    body = reply.body
    assert body["text"] and body["summary"], "a notification needs plain text, not 'Sent a card'"
    assert "Social Rounds" in card_text(_one_card(body))
    assert body["recipient"]["id"] == JANE.id and body["from"]["id"] == "28:social-rounds-bot"

    store = server.runtime.store
    person = await store.people.by_identity("teams", JANE.aad_object_id)
    assert person is not None and person.email == PHYSICIAN
    assert person.timezone == "America/Chicago"
    reference = json.loads(await store.conversations.ref("teams", JANE.aad_object_id) or "{}")
    assert reference["conversation"]["id"] == PERSONAL_JANE
    assert reference["serviceUrl"] == connector.url
    assert (await store.conversations.addresses([person.id]))[person.id]["teams"] == JANE.aad_object_id

    connector.clear()
    await server.post(message(connector.url, JANE, "status"))
    assert [c.method for c in connector.calls] == ["POST"], "a linked user is not looked up again"


async def test_a_roster_import_that_linked_the_teams_id_is_honoured(
        server: Server, connector: FakeBotConnector) -> None:
    store = server.runtime.store
    omar = await store.people.by_email("omar.haddad@riverside.example")
    assert omar is not None
    await store.people.link_identity("teams", "29:omar", omar.id, server.runtime.clock.now())
    member = Member("29:omar", "Dr. Omar Haddad", "AAD-OMAR", "o.haddad@home.example")
    connector.add_member(member)
    await server.post(message(connector.url, member, "profile"))
    [reply] = connector.sent()
    assert "@OmarHaddadMD" in card_text(_one_card(reply.body))
    assert (await store.conversations.addresses([omar.id]))[omar.id]["teams"] == "aad-omar", "AAD ids are stored lowercase"


async def test_the_snooze_menu_is_on_teams_cards_and_snoozes(server: Server, connector: FakeBotConnector) -> None:
    await server.post(message(connector.url, JANE, "status"))
    [status] = connector.sent()
    card = _one_card(status.body)
    menu = card["body"][-1]
    assert [(a["title"], a["data"]["action"], a["mode"]) for a in menu["actions"]] == [
        ("Snooze reminders 1 day", "snooze:1d", "secondary"), ("Snooze reminders 3 days", "snooze:3d", "secondary"),
        ("Snooze reminders 1 week", "snooze:1w", "secondary"), ("Snooze reminders 2 weeks", "snooze:2w", "secondary"),
        ("Stop reminders", "cmd:stop", "secondary")]
    connector.clear()

    response = await server.post(execute_invoke(connector.url, JANE, "snooze:3d"))
    assert response.status == 200
    person = await server.runtime.store.people.by_identity("teams", JANE.aad_object_id)
    assert person is not None and person.snoozed_until is not None
    assert person.snoozed_until - server.runtime.clock.now() >= timedelta(days=3) - timedelta(hours=1)


async def test_ticking_a_checklist_item_refreshes_the_card(server: Server, connector: FakeBotConnector) -> None:
    await server.post(message(connector.url, JANE, "profile"))
    [profile] = connector.sent()
    card = _one_card(profile.body)
    assert "profile:photo" in card_actions(card) and "✅" not in card_text(card)

    response = await server.post(execute_invoke(connector.url, JANE, "profile:photo"))
    refreshed = (await response.json())["value"]
    assert card_errors(refreshed) == []
    assert "✅" in card_text(refreshed)
    person = await server.runtime.store.people.by_identity("teams", JANE.aad_object_id)
    assert person is not None and "photo" in await server.runtime.store.profile.items_done(person.id)


async def test_action_submit_from_older_clients_updates_the_pressed_card(
        server: Server, connector: FakeBotConnector) -> None:
    await server.post(message(connector.url, JANE, "status"))
    connector.clear()
    await server.post(message(connector.url, JANE, "", value={"action": "profile:bio"}, reply_to="activity-7"))
    [update] = connector.sent()
    assert (update.method, update.conversation_id, update.activity_id) == ("PUT", PERSONAL_JANE, "activity-7")
    assert "✅" in card_text(_one_card(update.body))


async def test_a_button_that_opens_something_new_posts_a_new_message(
        server: Server, connector: FakeBotConnector) -> None:
    await server.post(message(connector.url, JANE, "help"))
    connector.clear()
    response = await server.post(execute_invoke(connector.url, JANE, "cmd:status"))
    answer = await response.json()
    assert answer["statusCode"] == 200 and answer["type"] == "application/vnd.microsoft.activity.message"
    [status] = connector.sent()
    assert status.method == "POST" and "readiness" in card_text(_one_card(status.body)).lower()


async def test_invoke_errors_come_back_as_invoke_bodies(server: Server, connector: FakeBotConnector) -> None:
    activity = execute_invoke(connector.url, JANE, "cmd:status")
    activity["value"]["action"]["type"] = "Action.Submit"
    answer = await (await server.post(activity)).json()
    assert answer["statusCode"] == 400 and answer["type"] == "application/vnd.microsoft.error"

    activity = execute_invoke(connector.url, JANE, "cmd:status")
    activity["value"]["action"]["data"] = {}
    assert (await (await server.post(activity)).json())["statusCode"] == 400

    activity = execute_invoke(connector.url, JANE, "cmd:status")
    activity["name"] = "task/fetch"
    assert (await server.post(activity)).status == 501
    assert connector.sent() == []


# -- the add-a-meeting form ------------------------------------------------------------------------------
def _inputs(card: dict) -> dict[str, dict]:
    """Every input element of a card by id."""
    found: dict[str, dict] = {}

    def walk(node: object) -> None:
        if isinstance(node, dict):
            if str(node.get("type", "")).startswith("Input."):
                found[node["id"]] = node
            for child in node.values():
                walk(child)
        elif isinstance(node, list):
            for child in node:
                walk(child)

    walk(card)
    return found


def _submit(service_url: str, member: Member, action: str, inputs: dict[str, str]) -> dict:
    """An ``Action.Execute`` from a card form: Teams puts each input's value into ``data`` beside ``action``."""
    activity = execute_invoke(service_url, member, action, card_id="form-card")
    activity["value"]["action"]["data"].update(inputs)
    return activity


MEETING_FORM = {"name": "Heart Summit 2026", "start": "2026-06-04", "end": "2026-06-02", "city": "Boston",
                "hashtag": "#HS26", "embargo": "Late-breaking trials: embargoed until presented.\nPosters: free.",
                "embargo_lifts_date": "2026-06-05", "embargo_lifts_time": "08:00", "attendees": "Cardiology"}


async def test_an_admin_adds_a_meeting_with_the_card_form(server: Server, connector: FakeBotConnector) -> None:
    await server.post(message(connector.url, MARIA, "meetings add"))
    [sent] = connector.sent()
    card = _one_card(sent.body)
    assert sent.body["text"] == ("Add a meeting to the calendar: a start date and a name (or a catalog meeting) "
                                 "are required.")
    inputs = _inputs(card)
    assert {key: element["type"] for key, element in inputs.items()} == {
        "catalog": "Input.ChoiceSet", "name": "Input.Text", "start": "Input.Date", "end": "Input.Date", "city": "Input.Text",
        "hashtag": "Input.Text", "embargo": "Input.Text", "embargo_lifts_date": "Input.Date",
        "embargo_lifts_time": "Input.Time", "attendees": "Input.Text"}
    assert [key for key, element in inputs.items() if element.get("isRequired")] == ["start"]
    assert {"title": "ASCO Annual Meeting", "value": "asco"} in inputs["catalog"]["choices"]
    assert inputs["embargo"]["isMultiline"] is True
    assert all(element["label"] and "value" not in element for element in inputs.values())
    assert card_actions(card) == ["form:meetings-add"]
    connector.clear()

    response = await server.post(_submit(connector.url, MARIA, "form:meetings-add", MEETING_FORM))
    answer = await response.json()
    assert answer["statusCode"] == 200 and answer["type"] == "application/vnd.microsoft.card.adaptive"
    error = answer["value"]
    assert card_errors(error) == []
    assert error["body"][0]["text"] == "Let's try that again", "the error is on top"
    assert "The meeting ends before it starts; check the dates." in card_text(error)
    assert {key: element.get("value", "") for key, element in _inputs(error).items() if key != "catalog"} == \
        MEETING_FORM, "nothing has to be typed again"
    [inputs_box] = [block["items"] for block in error["body"] if block["type"] == "Container"]
    at_end = next(i for i, item in enumerate(inputs_box) if item.get("id") == "end")
    assert inputs_box[at_end + 1]["text"] == "A catalog meeting lasts its usual number of days.", "its hint"
    assert inputs_box[at_end + 2] == {
        "type": "TextBlock", "text": "The meeting ends before it starts; check the dates.", "wrap": True,
        "color": "Attention", "weight": "Bolder", "size": "Small", "spacing": "None"}, "the error is at its input"
    assert sum(1 for item in inputs_box if item.get("color") == "Attention") == 1
    assert await server.runtime.store.meetings.by_key("heart-summit-2026") is None

    response = await server.post(_submit(connector.url, MARIA, "form:meetings-add", {**MEETING_FORM, "end": ""}))
    answer = await response.json()
    assert answer["type"] == "application/vnd.microsoft.card.adaptive"
    added = answer["value"]
    assert card_errors(added) == [] and _inputs(added) == {}, "the confirmation takes the form's place"
    assert "Added: Heart Summit 2026" in card_text(added)
    assert "1 physician is registered" in card_text(added)
    assert connector.sent() == []
    store = server.runtime.store
    meeting = await store.meetings.by_key("heart-summit-2026")
    assert meeting is not None
    assert (meeting.starts_on.isoformat(), meeting.ends_on.isoformat(), meeting.city, meeting.hashtag) == (
        "2026-06-04", "2026-06-04", "Boston", "#HS26")
    assert meeting.embargo == "Late-breaking trials: embargoed until presented.\nPosters: free."
    assert meeting.embargo_lifts_at is not None and meeting.embargo_lifts_at.isoformat() == "2026-06-05T12:00:00+00:00"
    jane = await store.people.by_email(PHYSICIAN)
    assert jane is not None and meeting.id in await store.meetings.attending(jane.id)


async def test_a_physician_gets_the_refusal_not_the_form(server: Server, connector: FakeBotConnector) -> None:
    await server.post(message(connector.url, JANE, "meetings add"))
    [sent] = connector.sent()
    card = _one_card(sent.body)
    assert _inputs(card) == {} and "only for the marketing team" in card_text(card)
    response = await server.post(_submit(connector.url, JANE, "form:meetings-add", MEETING_FORM))
    refused = (await response.json())["value"]
    assert card_errors(refused) == [] and "only for the marketing team" in card_text(refused)
    assert await server.runtime.store.meetings.all() == []


STORY_FORM = {"title": "Heart week at Riverside", "link": "https://news.riverside.example/h?a=1&b=2",
              "post_x": "Proud of our team: the patient in bed 12 went home today. MRN 4481920.",
              "post_bluesky": "", "post_linkedin": "", "alt_text": "", "audience": "Cardiology", "lift_date": "",
              "lift_time": "", "timezone": "", "expires": ""}


async def test_an_admin_adds_a_story_with_the_card_form(server: Server, connector: FakeBotConnector) -> None:
    response = await server.post(_submit(connector.url, MARIA, "form:library-add", STORY_FORM))
    error = (await response.json())["value"]
    assert card_errors(error) == []
    [inputs_box] = [block["items"] for block in error["body"] if block["type"] == "Container"]
    at_post = next(i for i, item in enumerate(inputs_box) if item.get("id") == "post_x")
    shown = [item["text"] for item in inputs_box[at_post + 1:at_post + 3] if item.get("color") == "Attention"]
    assert len(shown) == 1 and "would be blocked for a physician" in shown[0] and "MRN" in shown[0], \
        "the finding and its fix, at the X post's input"
    assert sum(1 for item in inputs_box if item.get("color") == "Attention") == 1
    assert _inputs(error)["post_x"]["value"] == STORY_FORM["post_x"], "nothing has to be typed again"
    store = server.runtime.store
    assert await store.library.search("", server.runtime.clock.now(), admin=True) == []

    good = {**STORY_FORM, "post_x": "Heart week starts today at Riverside. #CardioTwitter"}
    saved = (await (await server.post(_submit(connector.url, MARIA, "form:library-add", good))).json())["value"]
    assert card_errors(saved) == [] and _inputs(saved) == {} and "Heart week at Riverside" in card_text(saved)
    story = await store.library.get("heart-week-at-riverside", server.runtime.clock.now(), admin=False)
    assert story is not None and story.networks == ("x",), "no lift given: live at once"


# -- team channels ------------------------------------------------------------------------------------------


async def test_a_button_pressed_in_a_channel_answers_privately(server: Server, connector: FakeBotConnector) -> None:
    where = channel_thread()
    response = await server.post(execute_invoke(connector.url, JANE, "cmd:profile", where=where))
    answer = await response.json()
    assert answer["type"] == "application/vnd.microsoft.activity.message" and "personal chat" in answer["value"]
    [private] = connector.sent()
    assert private.conversation_id == f"a:personal-{JANE.id}"
    assert "profile:photo" in card_actions(_one_card(private.body))


async def test_channel_messages_without_a_mention_are_ignored(server: Server, connector: FakeBotConnector) -> None:
    assert (await server.post(message(connector.url, JANE, "status", where=channel_thread()))).status == 200
    assert connector.calls == []


def test_clean_text_strips_the_bot_mention_and_teams_html() -> None:
    assert clean_text("<at>Social Rounds</at>&nbsp;lesson", ["<at>Social Rounds</at>"]) == "lesson"
    assert clean_text("<p><at>Rounds</at> check Great talk by <at>Dr Lee</at></p>", []) == \
        "check Great talk by Dr Lee"
    assert clean_text("  snooze   1w \n", []) == "snooze 1w"


# -- installation -----------------------------------------------------------------------------------------
async def test_personal_install_welcomes_and_stores_the_reference(server: Server, connector: FakeBotConnector) -> None:
    await server.post(installation(connector.url, JANE, "add"))
    assert connector.sent() == []
    assert await server.runtime.store.conversations.ref("teams", JANE.aad_object_id) is not None

    await server.post(bot_added(connector.url, JANE))
    [welcome] = connector.sent()
    assert welcome.conversation_id == PERSONAL_JANE
    assert "Social Rounds" in card_text(_one_card(welcome.body))
    person = await server.runtime.store.people.by_email(PHYSICIAN)
    assert person is not None
    assert (await server.runtime.store.conversations.addresses([person.id]))[person.id]["teams"] == JANE.aad_object_id


async def test_team_install_stores_the_channel_and_uninstall_stops_messages(
        server: Server, connector: FakeBotConnector) -> None:
    store = server.runtime.store
    await server.post(installation(connector.url, MARIA, "add", where=team_general()))
    assert await store.conversations.ref("teams", TEAM) is not None
    transport = teams_transport(Settings.from_env(os.environ), server.runtime)
    assert isinstance(transport, TeamsTransport)
    reply = Reply(kind="digest", text="Weekly digest", title="Weekly digest", ephemeral=False)
    assert (await transport.send(Envelope(1, "teams", TEAM, reply, "digest:1"))).status == "sent"

    await server.post(installation(connector.url, MARIA, "remove", where=team_general()))
    assert await store.conversations.ref("teams", TEAM) is None
    connector.clear()
    result = await transport.send(Envelope(2, "teams", TEAM, reply, "digest:2"))
    assert result.status == "failed" and result.error == "no_conversation"
    assert connector.calls == []


async def test_removing_the_bot_from_a_personal_chat_forgets_it(server: Server, connector: FakeBotConnector) -> None:
    await server.post(message(connector.url, JANE, "help"))
    activity = bot_added(connector.url, JANE)
    activity["membersRemoved"], activity["membersAdded"] = activity.pop("membersAdded"), []
    await server.post(activity)
    assert await server.runtime.store.conversations.ref("teams", JANE.aad_object_id) is None


# -- proactive sends -----------------------------------------------------------------------------------------
async def _installed_transport(server: Server, connector: FakeBotConnector) -> TeamsTransport:
    await server.post(message(connector.url, JANE, "help"))
    connector.clear()
    transport = teams_transport(Settings.from_env(os.environ), server.runtime)
    assert transport is not None
    return transport


REMINDER = Reply(kind="reminder", text="Time for your 2-minute lesson", title="Your next lesson",
                 body="**Why show up?** takes two minutes.", ephemeral=False)


async def test_transport_sends_a_card_through_the_stored_reference(
        server: Server, connector: FakeBotConnector) -> None:
    transport = await _installed_transport(server, connector)
    envelope = Envelope(7, "teams", JANE.aad_object_id, REMINDER, "lesson:1")
    assert transport.pace_key(envelope) == f"teams:{JANE.aad_object_id}"
    result = await transport.send(envelope)
    assert result.status == "sent" and result.message_id and result.message_id.startswith("activity-")
    [sent] = connector.calls
    assert (sent.method, sent.path) == ("POST", f"/v3/conversations/{PERSONAL_JANE}/activities")
    assert sent.body["summary"] == "Time for your 2-minute lesson"
    assert "Why show up?" in card_text(_one_card(sent.body))


@pytest.mark.parametrize(("status", "retry_after", "expected", "wait"), [
    (429, "7", "retry", 7.0),
    (429, None, "retry", None),
    (500, None, "retry", None),
    (503, "2", "retry", 2.0),
    (403, None, "failed", None),
    (404, None, "failed", None),
])
async def test_transport_maps_connector_errors_with_one_attempt(
        server: Server, connector: FakeBotConnector, status: int, retry_after: str | None,
        expected: str, wait: float | None) -> None:
    transport = await _installed_transport(server, connector)
    connector.fail_next(1, status, retry_after)
    result = await transport.send(Envelope(8, "teams", JANE.aad_object_id, REMINDER, "lesson:2"))
    assert (result.status, result.retry_after) == (expected, wait)
    assert str(status) in said(result.error, server.runtime.content.words.say)  # a code, said with its status
    assert len(connector.calls) == 1, "one attempt; the sender owns retries and pacing"
    assert (await transport.send(Envelope(8, "teams", JANE.aad_object_id, REMINDER, "lesson:2"))).status == "sent"


async def test_transport_without_a_reference_fails_and_a_dead_connector_is_retried(
        server: Server, connector: FakeBotConnector) -> None:
    transport = await _installed_transport(server, connector)
    result = await transport.send(Envelope(9, "teams", "aad-nobody", REMINDER, "x"))
    assert result.status == "failed" and result.error == "no_conversation"
    await connector.stop()
    result = await transport.send(Envelope(10, "teams", JANE.aad_object_id, REMINDER, "y"))
    assert result.status == "retry" and "network" in result.error


async def test_digest_goes_to_the_marketing_channel_with_its_chart(
        server: Server, connector: FakeBotConnector) -> None:
    await server.post(message(connector.url, MARIA, "<at>Social Rounds</at> help", where=channel_thread(),
                              mention=True))
    connector.clear()
    digest = await server.runtime.coach.broadcast("digest", {})
    assert digest is not None
    transport = teams_transport(Settings.from_env(os.environ), server.runtime)
    assert transport is not None
    assert (await transport.send(Envelope(11, "teams", server.runtime.config.teams_marketing_channel, digest,
                                          "digest:w"))).status == "sent"
    [sent] = connector.calls
    assert sent.path == f"/v3/conversations/{CHANNEL}/activities"
    card, image = sent.body["attachments"]
    assert card_errors(card["content"]) == []
    assert image["contentType"] == "image/png" and image["contentUrl"].startswith("data:image/png;base64,")


def test_retry_after_accepts_seconds_and_dates() -> None:
    assert retry_after_seconds("12") == 12.0
    assert retry_after_seconds("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0
    assert retry_after_seconds(None) is None and retry_after_seconds("soon") is None


# -- faults, privacy, HTTP -----------------------------------------------------------------------------------


async def test_bad_requests(server: Server) -> None:
    url = f"{server.url}/api/messages"
    assert (await server.session.post(url, data="type=message")).status == 415
    response = await server.session.post(url, data="{oops", headers={"Content-Type": "application/json"})
    assert response.status == 400
    assert (await server.session.post(url, json={"text": "no type"})).status == 400
    assert (await server.session.post(url, json=[1, 2])).status == 400


# -- mounting rules -----------------------------------------------------------------------------------------
async def test_with_an_app_id_unauthenticated_requests_are_rejected(
        tmp_path: Path, connector: FakeBotConnector, monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture) -> None:
    clear_teams_env(monkeypatch)
    monkeypatch.setenv("MICROSOFT_APP_ID", "6f1c2f0e-4a57-4a8e-9a43-0d1f3c2b7e11")
    monkeypatch.setenv("MICROSOFT_APP_PASSWORD", "not-a-real-secret")
    runtime = await seeded_runtime(tmp_path)
    runner, url = await start_server(runtime)
    forged = ("Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJpc3MiOiJodHRwczovL2V2aWwuZXhhbXBsZSIsImF1ZCI6Im"
              "FueSJ9.c2lnbmF0dXJl")
    try:
        async with aiohttp.ClientSession() as session:
            for headers in ({}, {"Authorization": forged}, {"Authorization": "Bearer not-a-jwt"}):
                response = await session.post(f"{url}/api/messages", json=message(connector.url, JANE, "help"),
                                              headers=headers)
                assert response.status == 401
            response = await session.post(f"{url}/api/messages", json=execute_invoke(connector.url, JANE, "cmd:status"))
            assert response.status == 401
        assert connector.calls == []
        assert await runtime.store.conversations.ref("teams", JANE.aad_object_id) is None
        assert await runtime.store.people.by_identity("teams", JANE.aad_object_id) is None
    finally:
        await runner.cleanup()


async def test_without_settings_the_endpoint_is_not_mounted(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    clear_teams_env(monkeypatch)
    runtime = await seeded_runtime(tmp_path)
    runner, url = await start_server(runtime)
    try:
        assert teams_transport(Settings.from_env(os.environ), runtime) is None
        async with aiohttp.ClientSession() as session:
            response = await session.post(f"{url}/api/messages", json={"type": "message"})
            assert response.status in (404, 405)
    finally:
        await runner.cleanup()


async def test_anonymous_mode_is_refused_with_an_app_id(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    clear_teams_env(monkeypatch)
    monkeypatch.setenv("MICROSOFT_APP_ID", "6f1c2f0e-4a57-4a8e-9a43-0d1f3c2b7e11")
    monkeypatch.setenv("MICROSOFT_APP_PASSWORD", "x")
    monkeypatch.setenv("ROUNDS_TEAMS_ANONYMOUS", "1")
    runtime = await seeded_runtime(tmp_path)
    try:
        with pytest.raises(ConfigError, match="ROUNDS_TEAMS_ANONYMOUS"):
            create_app(Settings.from_env(os.environ), runtime, webchat=False, background=False)
    finally:
        await runtime.store.close()


@pytest.mark.parametrize(("env", "fragment"), [
    ({"MICROSOFT_APP_ID": "6f1c2f0e-4a57-4a8e-9a43-0d1f3c2b7e11", "MICROSOFT_APP_PASSWORD": "x",
      "ROUNDS_TEAMS_ANONYMOUS": "1"}, "ROUNDS_TEAMS_ANONYMOUS=1 is refused"),
    ({"MICROSOFT_APP_ID": "6f1c2f0e-4a57-4a8e-9a43-0d1f3c2b7e11", "MICROSOFT_APP_TYPE": "SingleTenant",
      "MICROSOFT_APP_PASSWORD": "x"}, "MICROSOFT_APP_TENANT_ID is required"),
    ({"MICROSOFT_APP_ID": "6f1c2f0e-4a57-4a8e-9a43-0d1f3c2b7e11", "MICROSOFT_APP_TYPE": "Sometimes"},
     "MICROSOFT_APP_TYPE"),
])
async def test_serve_exits_2_on_contradictory_teams_settings(tmp_path: Path, env: dict[str, str],
                                                           fragment: str) -> None:
    database = f"sqlite:///{tmp_path}/serve.db"
    store = Store.open(database)
    await store.upgrade()
    await store.close()
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("MICROSOFT_APP_", "ROUNDS_TEAMS_", "SLACK_"))}
    process = subprocess.run(
        [sys.executable, "-m", "bot", "serve", "--host", "127.0.0.1", "--port", "0"],
        env={**clean, **env, "DATABASE_URL": database}, cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert process.returncode == 2, process.stderr
    assert fragment in process.stderr
