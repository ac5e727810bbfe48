"""Every Block Kit payload the bot can produce is valid Block Kit within Slack's limits.

The replies come from the real coach, driven through many commands by a physician and an
admin, plus one synthetic reply of every kind with every field set and oversized variants.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any, get_args

import pytest
from slack_sdk.models.blocks import Block
from slack_sdk.models.views import View

from bot.channels.slack.modals import (
    check_draft, check_modal, check_result_modal, meeting_command, meeting_error_block, meeting_modal,
    profile_command, profile_modal,
)
from bot.channels.slack.render import (
    actions_of, home_view, mrkdwn, notification_text, render_message, reply_blocks, split_text,
)
from bot.messages import (
    Button, Checklist, ChecklistItem, Form, FormField, Incoming, Progress, Reply, ReplyKind, Table,
)
from bot.runtime import Runtime
from slack_fixtures import ADMIN, HEART_SUMMIT, ONCOLOGIST, PHYSICIAN, seeded_runtime

LIMITS = {"message": 50, "view": 100}


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
    message = render_message(reply)
    assert message.text.strip(), "notification text is required with blocks"
    assert message.text == notification_text(reply)
    assert_valid_blocks(message.blocks, "message")
    json.dumps(message.payload())


def assert_valid_view(view: dict[str, Any]) -> None:
    assert_valid_blocks(view["blocks"], "view")
    View(**view).to_dict()  # slack_sdk's own view checks (≤ 100 blocks, title/submit ≤ 24, metadata ≤ 3000)


# -- replies from the real coach ---------------------------------------------------------------------

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


async def _coach_replies(runtime: Runtime) -> tuple[list[Reply], list[list[Reply]]]:
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
    for text in ADMIN_COMMANDS + ("harassment cases",):
        await turn("UMARIA", ADMIN, text)
    for kind in ("safety_case", "safety_handled"):  # what the safety recipients and the reporter receive
        sent = await coach.broadcast(kind, {"case": 1})
        assert sent is not None
        replies.append(sent)
    await turn("USTRANGER", "visitor@elsewhere.example", "help")
    for user, email in (("UJANE", PHYSICIAN), ("UMARIA", ADMIN), ("USTRANGER", "nobody@elsewhere.example")):
        homes.append(await coach.home(Incoming("slack", user, email=email)))
    return replies, homes


@pytest.fixture
async def coach_output(tmp_path: Path) -> tuple[list[Reply], list[list[Reply]]]:
    runtime = await seeded_runtime(tmp_path)
    try:
        return await _coach_replies(runtime)
    finally:
        await runtime.store.close()


async def test_every_reply_the_coach_produces_renders_valid_blocks(coach_output: Any) -> None:
    replies, _ = coach_output
    kinds = {r.kind for r in replies}
    assert {"help", "lesson", "quiz_result", "profile", "follow", "meetings", "camp", "status", "settings",
            "report", "error", "onboarding", "check", "form", "networks", "safety", "transcript"} <= kinds
    assert any(r.checklist for r in replies) and any(r.table for r in replies) and any(r.progress for r in replies)
    for reply in replies:
        assert_valid_message(reply)


async def test_home_views_render_within_limits(coach_output: Any) -> None:
    _, homes = coach_output
    physician, admin, stranger = (home_view(replies) for replies in homes)
    for view in (physician, admin, stranger):
        assert view["type"] == "home"
        assert_valid_view(view)
    admin_values = [e.get("value") for b in admin["blocks"] for e in b.get("elements", [])]
    assert "modal:meeting" in admin_values and "modal:meeting" not in json.dumps(physician)
    physician_values = [e.get("value") for b in physician["blocks"] for e in b.get("elements", [])]
    assert "modal:check" in physician_values and "modal:check" in admin_values
    assert "cmd:lesson" in json.dumps(physician) and "modal:profile" in json.dumps(physician)
    assert any(e["type"] == "checkboxes" for b in physician["blocks"] for e in b.get("elements", []))
    assert "cmd:lesson" not in json.dumps(stranger), "someone not on the roster gets onboarding only"


# -- synthetic replies: every kind, every field, and far too much of everything ---------------------------

def _checklist(count: int, done_every: int = 3, prefix: str = "camp:12:") -> Checklist:
    return Checklist("Tweet Camp: Heart Summit 2026", tuple(
        ChecklistItem(f"item-number-{i:02d}-with-a-long-id", f"Checklist item {i} " + "x" * 90, i % done_every == 0,
                      f"{prefix}item-number-{i:02d}-with-a-long-id", detail="Detail " * 30, due="2 weeks before")
        for i in range(count)))


def _full(kind: str, size: int = 1) -> Reply:
    return Reply(
        kind=kind,  # type: ignore[arg-type]
        text="Summary with **bold**, <tags> & a [link](https://example.org/?a=1&b=2) " * size,
        title="A title that is far too long for a Slack header block " * 4 * size,
        body=("Paragraph with **bold**, _italic_, `code` and a [source](https://doi.org/10.1/x).\n\n" * 40 * size),
        buttons=tuple(Button(f"Button {i} " + "label " * 20, f"cmd:report Department {i}",
                             ("primary", "danger", "default")[i % 3]) for i in range(30 * size)),
        checklist=_checklist(24 * size),
        table=Table(("Physician", "X handle", "Score", "Stage", "Next step"), tuple(
            (f"Dr. Someone With A Long Name {i}", f"@handle{i}", str(i % 100), "Profile set up",
             "Follow the hospital account & more") for i in range(150 * size))),
        progress=Progress(57, "Follows the hospital", "Finish the **core lessons**."),
        footer="Sources: [One](https://example.org/1); [Two](https://example.org/2)",
        replace_original=True, ephemeral=False,
        fields=tuple((f"Field {i}", f"Value {i} " * 50) for i in range(14)),
        form=Form(tuple(FormField(f"field-{i}", f"Field {i} " * 30, "text", i % 2 == 0, "Placeholder " * 20,
                                  "Value " * 100) for i in range(30 * size)), "form:meetings-add", "Add " * 30))


@pytest.mark.parametrize("kind", get_args(ReplyKind))
def test_every_kind_with_every_field_renders_valid_blocks(kind: str) -> None:
    assert_valid_message(_full(kind))
    assert_valid_message(_full(kind, size=3))
    assert_valid_message(Reply(kind=kind, text="Just text."))  # type: ignore[arg-type]
    assert_valid_message(Reply(kind=kind, text="x" * 50_000))  # type: ignore[arg-type]


def test_oversized_home_and_long_bodies_are_cut_to_the_limits() -> None:
    replies = [_full(kind, 2) for kind in ("status", "profile", "camp", "meetings", "report", "help")]
    view = home_view(replies)
    assert_valid_view(view)
    assert len(view["blocks"]) == 100
    blocks = reply_blocks(Reply(kind="lesson", text="t", body=("word " * 700 + "\n\n") * 60))
    assert len(blocks) == 50
    assert blocks[-1]["type"] in ("context", "actions")


def test_split_text_cuts_at_paragraphs_then_lines_then_words() -> None:
    assert split_text("a\n\nb", 3000) == ["a\n\nb"]
    pieces = split_text("\n\n".join(["p" * 2000, "q" * 2000, "r" * 10]), 3000)
    assert pieces == ["p" * 2000, "q" * 2000 + "\n\n" + "r" * 10]
    assert split_text("w " * 4000, 3000)[0].endswith("w")
    assert all(len(p) <= 3000 for p in split_text("x" * 7000, 3000))
    assert split_text("   ") == []


def test_markdown_subset_becomes_mrkdwn() -> None:
    assert mrkdwn("**Takeaway:** post") == "*Takeaway:* post"
    assert mrkdwn("see [JMIR 2018](https://www.jmir.org/2018/11/e289)") == \
        "see <https://www.jmir.org/2018/11/e289|JMIR 2018>"
    assert mrkdwn("a < b & c > d") == "a &lt; b &amp; c &gt; d"
    assert mrkdwn("<!channel> <@U123>") == "&lt;!channel&gt; &lt;@U123&gt;", "no mass mentions from content"
    assert mrkdwn("- one\n- two") == "• one\n• two"
    assert mrkdwn("_italic_ and `code`") == "_italic_ and `code`"


def test_notification_text_is_plain_summary() -> None:
    reply = Reply(kind="status", text="Readiness **40**/100", title="Your readiness")
    assert notification_text(reply) == "Readiness *40*/100"
    assert render_message(reply).payload()["text"] == "Readiness *40*/100"
    assert "Readiness *40*/100" in json.dumps(render_message(reply).blocks), "a title never hides the text"


# -- pressed elements back to coach actions ------------------------------------------------------------------

def test_checklist_split_in_tens_and_each_tick_or_untick_is_known_without_the_original() -> None:
    checklist = _checklist(24)
    blocks = reply_blocks(Reply(kind="camp", text="Camp", checklist=checklist))
    boxes = [(b, e) for b in blocks for e in b.get("elements", []) if e["type"] == "checkboxes"]
    assert [len(e["options"]) for _, e in boxes] == [10, 10, 4]
    block, element = boxes[1]
    initial = element["initial_options"]
    assert [o["value"] for o in initial] == [i.action for i in checklist.items[10:20] if i.done]
    ticked = next(o for o in element["options"] if o not in initial)
    pressed = {**element, "block_id": block["block_id"], "selected_options": initial + [ticked]}
    assert actions_of(pressed) == [ticked["value"]]
    pressed = {**element, "block_id": block["block_id"], "selected_options": initial[1:]}
    assert actions_of(pressed) == [initial[0]["value"]], "an untick names the item, though Slack omits it"
    assert actions_of({**element, "block_id": "not json", "selected_options": []}) == []


def test_long_item_ids_split_checklists_to_keep_block_ids_short() -> None:
    checklist = Checklist("Long", tuple(
        ChecklistItem(f"i{i}", f"Item {i}", True, f"profile:{'very-long-item-id-' * 3}{i}") for i in range(10)))
    blocks = reply_blocks(Reply(kind="profile", text="Profile", checklist=checklist))
    boxes = [e for b in blocks for e in b.get("elements", []) if e["type"] == "checkboxes"]
    assert len(boxes) > 1 and sum(len(e["options"]) for e in boxes) == 10
    assert all(len(b.get("block_id", "")) <= 255 for b in blocks)


def test_menus_carry_coach_actions() -> None:
    blocks = reply_blocks(Reply(kind="reminder", text="Lesson time", buttons=(Button("Next lesson", "cmd:lesson"),)))
    overflow = next(e for b in blocks for e in b.get("elements", []) if e["type"] == "overflow")
    assert [o["value"] for o in overflow["options"]] == ["snooze:1d", "snooze:3d", "snooze:1w", "snooze:2w", "cmd:stop"]
    assert actions_of({**overflow, "selected_option": overflow["options"][2]}) == ["snooze:1w"]
    assert actions_of({"type": "static_select", "selected_option": {"value": "snooze:2w"}}) == ["snooze:2w"]
    assert actions_of({"type": "datepicker", "selected_date": "2026-01-01"}) == []


def test_slack_opens_its_own_modals_for_the_draft_checker_and_the_coachs_forms() -> None:
    def values(reply: Reply) -> list[str]:
        return [e["value"] for b in reply_blocks(reply) for e in b.get("elements", []) if e["type"] == "button"]

    assert values(Reply(kind="check", text="Paste the draft after “check”")) == ["modal:check"]
    result = Reply(kind="check", text="Ready to post", fields=(("Verdict", "Ready"),))
    assert values(result) == ["modal:check"]
    assert "Check another draft" in json.dumps(reply_blocks(result))
    form = Form((FormField("name", "Name", required=True),), "form:meetings-add", "Add meeting")
    assert values(Reply(kind="form", text="Add a meeting", form=form)) == ["modal:meeting"]
    other = Form((FormField("name", "Name"),), "form:something-else")
    assert values(Reply(kind="form", text="A form Slack has no modal for", form=other)) == []


# -- modals ----------------------------------------------------------------------------------------------

def test_modals_are_valid_views(tmp_path: Path) -> None:
    from bot.content import load_content

    catalog = load_content(Path(__file__).resolve().parents[1] / "prompts").catalog
    for view in (profile_modal(None), profile_modal("DrJaneRivera", {"response_url": "https://x/y"}),
                 meeting_modal(catalog), meeting_modal(catalog * 20, {"response_url": "u" * 5000})):
        assert view["type"] == "modal"
        assert_valid_view(view)
    assert profile_modal("DrJaneRivera")["blocks"][1]["element"]["initial_value"] == "@DrJaneRivera"


def test_check_modals_are_valid_views_and_keep_the_draft_in_the_input() -> None:
    opened = check_modal()
    assert_valid_view(opened)
    [draft_input] = [b for b in opened["blocks"] if b["type"] == "input"]
    assert draft_input["element"]["max_length"] == 3000 and draft_input["element"]["multiline"] is True
    draft = "Patient in bed 12 went home today.\n" * 200
    huge = _full("check", size=3)
    for replies in ([Reply(kind="check", text="Ready to post", fields=(("Verdict", "Ready"),))], [huge, huge]):
        view = check_result_modal(replies, draft)
        assert_valid_view(view)
        assert view["callback_id"] == "rounds_check" and view["blocks"][-1]["block_id"] == "draft"
        assert view["blocks"][-1]["element"]["initial_value"] == draft[:3000]
        assert "modal:" not in json.dumps(view) and "snooze:" not in json.dumps(view), "no modal in a modal"
    state = {"state": {"values": {"draft": {"value": {"type": "plain_text_input", "value": "  A draft\nline 2 "}}}}}
    assert check_draft(state) == "A draft\nline 2"
    assert check_draft({"state": {"values": {}}}) == ""


def test_modal_answers_become_coach_commands() -> None:
    view = {"state": {"values": {"handle": {"value": {"type": "plain_text_input", "value": " @DrJane "}}}}}
    assert profile_command(view) == "profile @DrJane"
    meeting = {"state": {"values": {
        "catalog": {"value": {"type": "static_select", "selected_option": None}},
        "name": {"value": {"type": "plain_text_input", "value": "Heart Summit 2027"}},
        "start": {"value": {"type": "datepicker", "selected_date": "2027-03-04"}},
        "end": {"value": {"type": "datepicker", "selected_date": None}},
        "city": {"value": {"type": "plain_text_input", "value": "St. John's"}},
        "hashtag": {"value": {"type": "plain_text_input", "value": "#HS27"}},
        "embargo": {"value": {"type": "plain_text_input", "value": None}},
        "attendees": {"value": {"type": "plain_text_input", "value": "Cardiology, jane.rivera@riverside.example"}},
    }}}
    command = meeting_command(meeting)
    assert command == ("meetings add name='Heart Summit 2027' start=2027-03-04 city='St. John'\"'\"'s' "
                       "hashtag='#HS27' attendees='Cardiology, jane.rivera@riverside.example'")
    form = meeting_modal(())
    assert meeting_error_block("“#1” is not a hashtag; use letters", form) == "hashtag"
    assert meeting_error_block("The meeting ends before it starts; check the dates.", form) == "end"
    assert meeting_error_block("The meeting needs a start date.", form) == "start"
    assert meeting_error_block("“x” is not in the meeting catalog", form) == "name", "no catalog input, no error there"
    assert meeting_error_block("Heart Summit 2027 is already on the calendar.", form) == "name"


async def test_meeting_command_is_understood_by_the_coach(tmp_path: Path) -> None:
    runtime = await seeded_runtime(tmp_path)
    try:
        meeting = {"state": {"values": {
            "catalog": {"value": {"selected_option": {"value": "asco"}}},
            "start": {"value": {"selected_date": "2027-05-28"}},
            "city": {"value": {"value": "Chicago"}},
        }}}
        replies = await runtime.coach.handle(Incoming("slack", "UMARIA", text=meeting_command(meeting), email=ADMIN))
        assert replies[0].kind == "meetings", replies[0].text
        assert await runtime.store.meeting_by_key("asco-2027") is not None
        assert HEART_SUMMIT.key != "asco-2027"
    finally:
        await runtime.store.close()
