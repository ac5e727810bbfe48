"""Replies from the real coach, and what makes a rendered reply valid on each platform.

The two scripts drive the coach as the Slack and the Teams render tests always have (a physician, an
oncologist, a marketing manager, someone not on the roster; typed commands and the buttons they get;
reminders, broadcasts and home screens). ``every_reply`` runs both, each on its own seeded store, so
both renderers are checked against every reply either script produces (tests/test_platforms.py).
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from slack_sdk.models.blocks import Block
from slack_sdk.models.views import View

from bot.app import Runtime
from bot.channels.slack.render import actions_of, notification_text, render_message
from bot.channels.teams.render import CARD_BUDGET, card_size, render_card
from bot.coach import Coach
from bot.messages import Incoming, Reply
from bot.words import load_words
from slack_fixtures import ADMIN, ONCOLOGIST, PHYSICIAN, seeded_runtime as slack_seeded_runtime
from teams_fixtures import card_errors, seeded_runtime as teams_seeded_runtime

# -- Slack: Block Kit within Slack's limits --------------------------------------------------------------
LIMITS = {"message": 50, "view": 100}
WORDS = load_words(Path(__file__).parents[1] / "prompts")
"""The bot's words (``prompts/words.yaml``), which the Slack renderer is given."""


# -- validation -----------------------------------------------------------------------------------

def _walk_text(value: Any) -> list[dict[str, Any]]:
    """Every text object inside a block."""
    found = []
    if isinstance(value, dict):
        if value.get("type") in ("plain_text", "mrkdwn") and "text" in value:
            found.append(value)
        for child in value.values():
            found.extend(_walk_text(child))
    elif isinstance(value, list):
        for child in value:
            found.extend(_walk_text(child))
    return found


def assert_valid_blocks(blocks: list[dict[str, Any]], surface: str) -> None:
    assert blocks, "a message needs at least one block"
    assert len(blocks) <= LIMITS[surface]
    parsed = Block.parse_all(blocks)
    assert all(b is not None for b in parsed), "slack_sdk did not recognise a block"
    assert [b.to_dict() for b in parsed] == blocks, "slack_sdk dropped or changed a field"
    action_ids: list[str] = []
    block_ids = [b["block_id"] for b in blocks if "block_id" in b]
    assert len(block_ids) == len(set(block_ids))
    for block in blocks:
        assert len(block.get("block_id", "")) <= 255
        for text in _walk_text(block):
            assert text["text"].strip(), f"empty text in {block['type']}"
        if block["type"] == "header":
            assert len(block["text"]["text"]) <= 150 and block["text"]["type"] == "plain_text"
        if block["type"] == "section":
            if "text" in block:
                assert len(block["text"]["text"]) <= 3000
            assert len(block.get("fields", [])) <= 10
            assert all(len(f["text"]) <= 2000 for f in block.get("fields", []))
        if block["type"] == "context":
            assert len(block["elements"]) <= 10
        if block["type"] == "actions":
            assert 1 <= len(block["elements"]) <= 25
            for element in block["elements"]:
                action_ids.append(element["action_id"])
                assert len(element["action_id"]) <= 255
                _assert_element(element)
    assert len(action_ids) == len(set(action_ids)), "action_id must be unique in a message or view"


def _assert_element(element: dict[str, Any]) -> None:
    if element["type"] == "button":
        assert len(element["text"]["text"]) <= 75
        assert 0 < len(element["value"]) <= 2000
        assert actions_of(element) == [element["value"]]
    options = element.get("options", [])
    for option in options:
        assert len(option["text"]["text"]) <= 75 and 0 < len(option["value"]) <= 150
        assert len(option.get("description", {}).get("text", "")) <= 75
    if element["type"] == "checkboxes":
        assert 1 <= len(options) <= 10
        assert all(o in options for o in element.get("initial_options", []))
    if element["type"] == "overflow":
        assert 2 <= len(options) <= 5
    if element["type"] == "static_select":
        assert 1 <= len(options) <= 100


def assert_valid_message(reply: Reply) -> None:
    message = render_message(reply, WORDS)
    assert message.text.strip(), "notification text is required with blocks"
    assert message.text == notification_text(reply)
    assert_valid_blocks(message.blocks, "message")
    json.dumps(message.payload())


def assert_valid_view(view: dict[str, Any]) -> None:
    assert_valid_blocks(view["blocks"], "view")
    View(**view).to_dict()  # slack_sdk's own view checks (≤ 100 blocks, title/submit ≤ 24, metadata ≤ 3000)


def assert_valid_card(reply: Reply) -> None:
    """Teams: a valid Adaptive Card 1.5 within the size budget, its title on top."""
    card = render_card(reply, WORDS)
    assert card_errors(card) == [], (reply.kind, reply.title)
    assert card_size(card) <= CARD_BUDGET, (reply.kind, reply.title, card_size(card))
    assert card["version"] == "1.5" and card["fallbackText"]
    if reply.title:
        assert card["body"][0]["text"] == reply.title


# -- the scripts -----------------------------------------------------------------------------------------
COMMANDS = (
    "help", "help snooze", "hello", "lesson", "quiz", "status", "profile", "profile @", "profile @DrJaneRivera",
    "profile done photo", "follow", "follow done", "follow undo", "video", "video done", "meetings",
    "meetings join Heart", "camp", "camp Heart", "meetings leave Heart", "camp", "snooze 1w", "snooze 99y",
    "stop", "start", "report", "meetings add asco 2027-05-28", "frobnicate", "lessson", "check",
    "check Patient in bed 12, MRN 4481920, went home today", "meetings add",
    "networks", "networks x bluesky", "transcript", "harassment", "harassment https://x.com/troll/status/1 doxxing urgent",
    "harassment https://x.com/troll/status/1 he wrote awful things",
)
ADMIN_COMMANDS = ("meetings add", "report", "report Cardiology", "report Nowhere",
                  "meetings add asco 2027-05-28 city=Chicago",
                  'meetings add name="Heart Summit 2027" start=2027-03-04 end=2027-03-06 hashtag=#HS27',
                  "meetings add name=Bad start=2027-03-06 end=2027-03-04", "meetings", "help")


async def slack_script(runtime: Runtime) -> tuple[list[Reply], list[list[Reply]]]:
    coach = runtime.coach
    replies: list[Reply] = []
    homes: list[list[Reply]] = []

    async def turn(user: str, email: str | None, text: str | None = None, action: str | None = None) -> list[Reply]:
        got = await coach.handle(Incoming("slack", user, text=text, action=action, email=email))
        replies.extend(got)
        return got

    for text in COMMANDS:
        got = await turn("UJANE", PHYSICIAN, text)
        for reply in got:  # press what the coach offers: quiz answers, checklist items, joins
            for button in reply.buttons[:2]:
                await turn("UJANE", PHYSICIAN, action=button.action)
            if reply.checklist:
                for item in reply.checklist.items[:2]:
                    await turn("UJANE", PHYSICIAN, action=item.action)
    for _ in range(3):
        lesson = await turn("UOMAR", ONCOLOGIST, "lesson")
        await turn("UOMAR", ONCOLOGIST, action=lesson[0].buttons[-1].action)
    await turn("UOMAR", ONCOLOGIST, action="snooze:1w")
    await turn("UOMAR", ONCOLOGIST, action="meeting:join:999")
    for text in (*ADMIN_COMMANDS, "harassment cases"):
        await turn("UMARIA", ADMIN, text)
    for kind in ("safety_case", "safety_handled"):  # what the safety recipients and the reporter receive
        sent = await coach.broadcast(kind, {"case": 1})
        assert sent is not None
        replies.append(sent)
    await turn("USTRANGER", "visitor@elsewhere.example", "help")
    for user, email in (("UJANE", PHYSICIAN), ("UMARIA", ADMIN), ("USTRANGER", "nobody@elsewhere.example")):
        homes.append(await coach.home(Incoming("slack", user, email=email)))
    return replies, homes


PHYSICIAN_SCRIPT = (
    "help", "help snooze", "lesson", "quiz", "status", "profile", "profile @JaneRiveraMD", "profile done photo",
    "follow", "follow done", "video", "video done", "meetings", "camp", "meetings join asco", "camp asco",
    "snooze 1w", "stop", "start", "bogus", "report", "snooze forever",
    "check Great talk by @DrLee at #ASCO26! Patient in bed 4 recovering well, call 555-201-3344",
    "check Proud of our team today.", "networks", "networks linkedin", "transcript", "harassment",
    "harassment https://x.com/troll/status/1 pile-on urgent",
)
ADMIN_SCRIPT = (
    "meetings add", "meetings add asco 2026-05-29 city=Chicago attendees=Cardiology", "report", "report Cardiology",
    "report meeting asco", "followback", "digest", "roster", "help",
)
ADMIN_AFTER = ("harassment cases",)
PHYSICIAN_ACTIONS = ("follow:undo", "video:done", "profile:bio", "snooze:1w", "cmd:status")


async def teams_script(runtime: Runtime) -> list[Reply]:
    coach: Coach = runtime.coach
    replies: list[Reply] = []

    async def say(who: str, text: str | None = None, action: str | None = None) -> list[Reply]:
        got = await coach.handle(Incoming(platform="teams", user_id=f"aad-{who}", email=who, text=text,
                                          action=action))
        replies.extend(got)
        return got

    replies.extend(await coach.handle(Incoming(platform="teams", user_id="aad-stranger",
                                               email="nobody@elsewhere.example", text="help")))
    for text in ADMIN_SCRIPT:
        await say(ADMIN, text)
    for text in PHYSICIAN_SCRIPT:
        got = await say(PHYSICIAN, text)
        if text == "lesson":
            quiz = next(b.action for b in got[0].buttons if b.action.startswith("quiz:"))
            await say(PHYSICIAN, action=quiz)
        if text == "camp asco":
            await say(PHYSICIAN, action=got[0].checklist.items[0].action)  # type: ignore[union-attr]
    for action in PHYSICIAN_ACTIONS:
        await say(PHYSICIAN, action=action)
    for text in ADMIN_AFTER:
        await say(ADMIN, text)
    for kind in ("safety_case", "safety_handled"):  # what the safety recipients and the reporter receive
        sent = await coach.broadcast(kind, {"case": 1})
        assert sent is not None
        replies.append(sent)
    person = await runtime.store.people.by_email(PHYSICIAN)
    admin = await runtime.store.people.by_email(ADMIN)
    assert person is not None and admin is not None
    replies.extend(await coach.home(Incoming(platform="teams", user_id=f"aad-{PHYSICIAN}")))
    replies.extend(await coach.home(Incoming(platform="teams", user_id=f"aad-{ADMIN}")))
    await runtime.store.profile.set_x_handle(person.id, None, runtime.clock.now())
    for kind, spec in (("profile", {"step": 1}), ("follow", {"step": 0}), ("lesson", {}),
                       ("camp", {"meeting": 1, "phase": runtime.content.camp_phases[-1].id})):
        reminder = await coach.reminder(person.id, kind, spec)
        if reminder is not None:
            replies.append(reminder)
    digest = await coach.broadcast("digest", {})
    if digest is not None:
        replies.append(digest)
    return replies


async def every_reply(tmp_path: Path) -> list[Reply]:
    """What both scripts get from the coach, each on its own seeded store."""
    replies: list[Reply] = []
    for name, seeded, script in (("slack", slack_seeded_runtime, slack_script),
                                 ("teams", teams_seeded_runtime, teams_script)):
        (tmp_path / name).mkdir()
        runtime = await seeded(tmp_path / name)
        try:
            got = await script(runtime)
            replies.extend(got[0] if isinstance(got, tuple) else got)
        finally:
            await runtime.store.close()
    return replies
