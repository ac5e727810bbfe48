"""Every kind of reply the real coach produces, rendered as an Adaptive Card: every button and checklist
item an Action.Execute, a plain-text summary with every message. That each is valid against the
Adaptive Cards 1.5 schema and within 28 KB is tests/test_platforms.py's (tests/renders.py)."""
from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest

from bot.channels.teams.render import (
    CARD_BUDGET,
    EXECUTE_VERB,
    card_size,
    invoke_card_response,
    message_payload,
    plain_text,
    render_card,
    to_card_markdown,
)
from bot.core.forms import SNOOZE_KINDS, SNOOZE_MENU
from bot.messages import (
    Button,
    Checklist,
    ChecklistItem,
    Form,
    FormField,
    Image,
    Progress,
    Reply,
    ReplyKind,
    Table,
)
from renders import WORDS, teams_script
from teams_fixtures import card_actions, card_errors, card_text, seeded_runtime

SNOOZE_TITLES = ["Snooze reminders 1 day", "Snooze reminders 3 days", "Snooze reminders 1 week",
                 "Snooze reminders 2 weeks", "Stop reminders"]
"""The snooze menu's words (prompts/words.yaml)."""


@pytest.fixture
async def coach_replies(tmp_path: Path) -> list[Reply]:
    runtime = await seeded_runtime(tmp_path)
    try:
        return await teams_script(runtime)
    finally:
        await runtime.store.close()


async def test_buttons_and_checklist_items_carry_coach_actions(coach_replies: list[Reply]) -> None:
    for reply in coach_replies:
        card = render_card(reply, WORDS)
        expected = [item.action for item in reply.checklist.items] if reply.checklist else []
        expected += [reply.form.submit_action] if reply.form else []
        expected += [button.action for button in reply.buttons]
        expected += [choice.action for choice in SNOOZE_MENU.choices] if reply.kind in SNOOZE_KINDS else []
        assert card_actions(card) == expected, (reply.kind, reply.title)
        serialized = json.dumps(card)
        assert "Action.Submit" not in serialized
        assert serialized.count(f'"verb": "{EXECUTE_VERB}"') == len(expected)


async def test_every_message_carries_a_plain_text_summary(coach_replies: list[Reply]) -> None:
    for reply in coach_replies:
        payload = message_payload(reply, WORDS)
        assert payload["text"] == reply.text and payload["summary"]
        assert "**" not in payload["summary"] and "`" not in payload["summary"]
        assert payload["attachments"][0]["contentType"] == "application/vnd.microsoft.card.adaptive"
        assert invoke_card_response(reply, WORDS)["value"] == payload["attachments"][0]["content"]


def _big_reply() -> Reply:
    rows = tuple((f"Dr. Physician Number {i}", f"@Handle{i}", str(i % 100), "Profile complete", "Follow the hospital")
                 for i in range(600))
    items = tuple(ChecklistItem(f"item-{i}", f"Checklist item {i} with a long label", i % 2 == 0, f"camp:1:item-{i}",
                                "A detail sentence that explains the item at some length. " * 4, "2 weeks before")
                  for i in range(30))
    return Reply(kind="report", text="Big report", title="A very large department", body="Paragraph. " * 2000,
                 table=Table(("Physician", "X handle", "Score", "Stage", "Next step"), rows),
                 checklist=Checklist("Tweet Camp", items), buttons=(Button("Full report", "cmd:report"),))


def test_oversized_replies_are_cut_to_the_budget_and_stay_valid() -> None:
    reply = _big_reply()
    card = render_card(reply, WORDS)
    assert card_size(card) <= CARD_BUDGET
    assert card_errors(card) == []
    text = card_text(card)
    assert "Showing" in text and "of 600 rows" in text
    assert card_actions(card) == [i.action for i in reply.checklist.items] + ["cmd:report"]  # type: ignore[union-attr]


def test_rendering_details() -> None:
    reply = Reply(
        kind="status", text="Readiness 40/100. Next: `follow done`.", title="Your readiness",
        body="**Next step:** follow us: `follow done`.\n\n- ✓ Profile created\n- ○ Follows the hospital\n"
             "Tweet Camp: 2 of 9 items.\n\nSee [the guide](https://example.org/guide).",
        progress=Progress(40, "Profile created", "Follow @RiversideUH: `follow done`."),
        fields=(("Profile", "done"), ("Follows", "0%")),
        buttons=(Button("Next lesson", "cmd:lesson", "primary"), Button("Stop", "cmd:stop", "danger"),
                 Button("A. A long quiz answer that needs its own row", "quiz:x:1")),
        footer="Sources: [A](https://example.org/a)",
        image=Image(b"\x89PNG fake", "Average readiness by week: W1 30, W2 40.", "digest-2026-W20.png"))
    card = render_card(reply, WORDS)
    assert card_errors(card) == []
    texts = [block.get("text") for block in card["body"] if block["type"] == "TextBlock"]
    assert "**Next step:** follow us: **follow done**." in texts
    assert "- ✓ Profile created\n- ○ Follows the hospital" in texts, "list lines stay one list"
    assert "Tweet Camp: 2 of 9 items." in texts
    sets = [block["actions"] for block in card["body"] if block["type"] == "ActionSet"]
    assert [[a["title"] for a in s] for s in sets] == [["Next lesson", "Stop"],
                                                      ["A. A long quiz answer that needs its own row"],
                                                      SNOOZE_TITLES]
    assert all(a["mode"] == "secondary" for a in sets[-1]), "the snooze choices are in the card's … menu"
    assert [a.get("style", "default") for a in sets[0]] == ["positive", "destructive"]
    facts = next(block for block in card["body"] if block["type"] == "FactSet")["facts"]
    assert facts == [{"title": "Profile", "value": "done"}, {"title": "Follows", "value": "0%"}]
    payload = message_payload(reply, WORDS)
    image = payload["attachments"][1]
    assert image["contentType"] == "image/png"
    assert base64.b64decode(image["contentUrl"].split(",", 1)[1]) == b"\x89PNG fake"
    assert payload["summary"] == "Readiness 40/100. Next: follow done."


def test_a_form_becomes_labelled_inputs_and_one_execute_that_submits_them() -> None:
    form = Form((FormField("name", "Name", required=True, placeholder="Heart Summit 2027", value="Heart Summit"),
                 FormField("start", "Starts", "date", required=True, value="2027-03-06"),
                 FormField("embargo", "Embargo rules", "multiline"),
                 FormField("lifts", "Embargo lifts at", "time", value="07:30")), "form:meetings-add", "Add meeting")
    reply = Reply(kind="error", text="The meeting ends before it starts; check the dates.",
                  title="Let's try that again", form=form, buttons=(Button("Meetings", "cmd:meetings"),))
    card = render_card(reply, WORDS)
    assert card_errors(card) == []
    assert [block.get("text") for block in card["body"][:2]] == [
        "Let's try that again", "The meeting ends before it starts; check the dates."]
    [inputs] = [block["items"] for block in card["body"] if block["type"] == "Container"]
    assert inputs == [
        {"type": "Input.Text", "id": "name", "label": "Name", "maxLength": 500, "placeholder": "Heart Summit 2027",
         "value": "Heart Summit", "isRequired": True, "errorMessage": "Name: required."},
        {"type": "Input.Date", "id": "start", "label": "Starts", "value": "2027-03-06", "isRequired": True,
         "errorMessage": "Starts: required."},
        {"type": "Input.Text", "id": "embargo", "label": "Embargo rules", "maxLength": 3000, "isMultiline": True},
        {"type": "Input.Time", "id": "lifts", "label": "Embargo lifts at", "value": "07:30"},
    ]
    assert card_actions(card) == ["form:meetings-add", "cmd:meetings"]
    submit = next(block for block in card["body"] if block["type"] == "ActionSet")["actions"]
    assert submit == [{"type": "Action.Execute", "title": "Add meeting", "verb": EXECUTE_VERB,
                       "data": {"action": "form:meetings-add", "version": 2}, "style": "positive"}]


def test_narrow_tables_are_tables_and_wide_ones_are_one_block_per_row() -> None:
    narrow = render_card(Reply(kind="help", text="Help", table=Table(("Command", "What it does"),
                                                                     (("help", "this list"),))), WORDS)
    table = next(block for block in narrow["body"] if block["type"] == "Table")
    assert len(table["columns"]) == 2 and len(table["rows"]) == 2
    wide = render_card(Reply(kind="report", text="Report", table=Table(
        ("Department", "Physicians", "Profile", "Follow us", "Avg score"),
        (("Cardiology", "7", "57%", "43%", "61"), ("Oncology", "6", "50%", "33%", "55")))), WORDS)
    assert card_errors(wide) == [] and "msteams" not in wide
    records = [block for block in wide["body"] if block["type"] == "Container"]
    assert [r["items"][0]["text"] for r in records] == ["Cardiology", "Oncology"]
    assert records[0]["items"][1]["facts"][0] == {"title": "Physicians", "value": "7"}


def test_markdown_helpers() -> None:
    assert to_card_markdown("type `help` or `stop`") == "type **help** or **stop**"
    assert plain_text("**Bold** _it_ [label](https://x.org) `code` snake_case_name") == \
        "Bold it label code snake_case_name"


def test_a_form_shows_its_choices_hints_and_each_error_at_its_input() -> None:
    form = Form((FormField("catalog", "From the meeting catalog", "select", placeholder="Pick a meeting",
                           options=(("ASCO Annual Meeting", "asco"), ("ACC", "acc")), value="acc"),
                 FormField("name", "Name", hint="Leave empty to use the catalog meeting's name."),
                 FormField("end", "Ends", "date", value="2027-03-04",
                           error="The meeting ends before it starts; check the dates.")),
                "form:meetings-add", "Add meeting")
    card = render_card(Reply(kind="error", text="The meeting ends before it starts; check the dates.", form=form),
                       WORDS)
    assert card_errors(card) == []
    [items] = [block["items"] for block in card["body"] if block["type"] == "Container"]
    assert items == [
        {"type": "Input.ChoiceSet", "id": "catalog", "label": "From the meeting catalog", "style": "compact",
         "choices": [{"title": "ASCO Annual Meeting", "value": "asco"}, {"title": "ACC", "value": "acc"}],
         "placeholder": "Pick a meeting", "value": "acc"},
        {"type": "Input.Text", "id": "name", "label": "Name", "maxLength": 500},
        {"type": "TextBlock", "text": "Leave empty to use the catalog meeting's name.", "wrap": True,
         "isSubtle": True, "size": "Small", "spacing": "None"},
        {"type": "Input.Date", "id": "end", "label": "Ends", "value": "2027-03-04"},
        {"type": "TextBlock", "text": "The meeting ends before it starts; check the dates.", "wrap": True,
         "color": "Attention", "weight": "Bolder", "size": "Small", "spacing": "None"},
    ]


@pytest.mark.parametrize("kind", sorted(SNOOZE_KINDS))
def test_the_snooze_menu_slack_shows_is_on_the_same_cards(kind: ReplyKind) -> None:
    card = render_card(Reply(kind=kind, text="Lesson 3 of 27", buttons=(Button("Next lesson", "cmd:lesson"),)), WORDS)
    assert card_errors(card) == []
    *_, menu = card["body"]
    assert menu == {"type": "ActionSet", "actions": [
        {"type": "Action.Execute", "title": title, "verb": EXECUTE_VERB, "data": {"action": c.action, "version": 2},
         "mode": "secondary"} for title, c in zip(SNOOZE_TITLES, SNOOZE_MENU.choices, strict=True)]}
    assert "snooze:" not in json.dumps(render_card(Reply(kind="help", text="Help"), WORDS))
