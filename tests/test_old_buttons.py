"""Buttons of messages sent before an upgrade keep working: every element of every reply kind, as the
release before versioned action ids drew them (``tests/data/legacy/``), pressed against this version
through the real server: a 200, and a useful answer (what the button said, or a short note with the
current view of what it was about), never an error.
"""
from __future__ import annotations

import asyncio
import contextlib
import json
from pathlib import Path
from typing import Any

from fakes.bot_connector import FakeBotConnector
from fakes.slack_api import FakeSlackApi
from slack_fixtures import JANE, JANE_DM, MARIA, SlackServer
from teams_fixtures import JANE as TEAMS_JANE, MARIA as TEAMS_MARIA, Server, card_text, cards, execute_invoke

LEGACY = Path(__file__).parent / "data" / "legacy"
ADMIN_MESSAGES = {"report", "report Cardiology", "followback", "digest", "roster", "meetings add"}
ERROR_TITLES = ("Let's try that again", "I didn't catch that", "Something went wrong", "That's for the marketing team",
                "Sorry, something went wrong")


def presses(element: dict[str, Any]) -> list[dict[str, Any]]:
    """Every way a person can use one element, as Slack reports it."""
    kind = element["type"]
    if kind == "button":
        return [element]
    if kind in ("overflow", "static_select"):
        return [{**element, "selected_option": option} for option in element["options"]]
    if kind == "checkboxes":
        initial = element.get("initial_options") or []
        toggled = []
        for option in element["options"]:
            others = [o for o in initial if o["value"] != option["value"]]
            selected = others if option in initial else [*initial, option]
            toggled.append({**element, "selected_options": selected})
        return toggled
    raise AssertionError(f"unexpected element {kind}")


def slack_elements(blocks: list[dict[str, Any]]) -> list[tuple[str, dict[str, Any]]]:
    return [(block.get("block_id", "b"), element) for block in blocks for element in block.get("elements") or []
            if "action_id" in element]


async def drained(channel: Any) -> None:
    for _ in range(400):
        if not [t for t in channel.tasks if not t.done()]:
            return
        await asyncio.sleep(0.02)


def answers(api: FakeSlackApi, since: int, home: bool = False) -> list[str]:
    """What the bot said after call ``since`` (messages, updates, response_url posts, and the redrawn
    Home tab for a press in it), as JSON text."""
    methods = {"chat.postMessage", "chat.update", "chat.postEphemeral", "response_url", "views.open"}
    said = [c for c in api.calls[since:] if c.method in methods or (home and c.method == "views.publish")]
    return [json.dumps(c.args, ensure_ascii=False) for c in said]


def test_the_fixture_holds_every_reply_kind_and_old_action_ids() -> None:
    slack = json.loads((LEGACY / "v1-slack.json").read_text("utf-8"))
    kinds = {m["kind"] for m in slack["messages"]}
    assert {"lesson", "quiz_result", "profile", "follow", "meetings", "camp", "status", "settings", "report",
            "digest", "check", "form", "reminder", "help"} <= kinds
    ids = {e["action_id"] for m in slack["messages"] for _, e in slack_elements(m["blocks"])}
    assert ids and all(i[0] == "a" and i[1:].isdigit() for i in ids)


async def test_every_old_slack_element_is_answered_without_an_error(slack: SlackServer) -> None:
    server, channel = slack, slack.channel
    legacy = json.loads((LEGACY / "v1-slack.json").read_text("utf-8"))
    messages = [(m["label"], m["blocks"]) for m in legacy["messages"]]
    messages += [("home", legacy["home_views"][0]["blocks"]), ("admin home", legacy["home_views"][1]["blocks"])]
    pressed, unanswered, errors = 0, [], []
    for label, blocks in messages:
        user = MARIA if label in ADMIN_MESSAGES or label == "admin home" else JANE
        home = label.endswith("home")
        for block_id, element in slack_elements(blocks):
            for press in presses(element):
                before = len(server.api.calls)
                container = {"type": "view", "view_id": "VHOME"} if home else \
                    {"type": "message", "message_ts": "1767225000.000100", "channel_id": JANE_DM if user == JANE
                     else "DMARIA01", "is_ephemeral": False}
                status, _ = await server.press(
                    user, press, block_id=block_id, container=container,
                    message=None if home else {"ts": "1767225000.000100", "text": label, "blocks": blocks},
                    response_url=server.api.response_url(f"old-{pressed}"),
                    view={"id": "VHOME", "type": "home", "blocks": blocks} if home else None)
                assert status == 200, (label, press["action_id"])
                # Bolt runs the listener after the ack: wait for the answer, then for its last part
                with contextlib.suppress(TimeoutError, AssertionError):
                    await server.api.wait_until(lambda before=before, home=home: bool(answers(server.api, before, home)),
                                                timeout=5)
                await drained(channel)
                said = answers(server.api, before, home)
                pressed += 1
                if not said:
                    unanswered.append((label, press.get("value") or press["type"]))
                errors += [(label, press.get("value"), t) for text in said for t in ERROR_TITLES if t in text]
    assert pressed >= 60
    assert unanswered == [], unanswered
    assert errors == []


async def test_every_old_teams_button_is_answered_without_an_error(server: Server,
                                                                   connector: FakeBotConnector) -> None:
    legacy = json.loads((LEGACY / "v1-teams.json").read_text("utf-8"))
    pressed, errors = 0, []
    for message in legacy["messages"]:
        member = TEAMS_MARIA if message["label"] in ADMIN_MESSAGES else TEAMS_JANE
        for card in cards(message["activity"]):
            for data in _execute_data(card):
                assert "version" not in data  # drawn before cards carried a version
                activity = execute_invoke(connector.url, member, data["action"], card_id=f"old-{pressed}")
                activity["value"]["action"]["data"] = data
                if data["action"].startswith("form:"):  # Teams sends the form's inputs beside the action
                    activity["value"]["action"]["data"] = {**data, "name": "Old Form Summit", "start": "2027-03-04"}
                connector.clear()
                response = await server.post(activity)
                pressed += 1
                assert response.status == 200, (message["label"], data)
                body = await response.json()
                assert body["statusCode"] == 200, (message["label"], data, body)
                shown = [json.dumps(body, ensure_ascii=False)] + [card_text(c) for call in connector.sent()
                                                                  for c in cards(call.body)]
                errors += [(message["label"], data["action"], t) for text in shown for t in ERROR_TITLES if t in text]
    assert pressed >= 40
    assert errors == []


def _execute_data(node: Any) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    if isinstance(node, dict):
        if node.get("type") == "Action.Execute":
            found.append(node["data"])
        for child in node.values():
            found += _execute_data(child)
    elif isinstance(node, list):
        for child in node:
            found += _execute_data(child)
    return found
