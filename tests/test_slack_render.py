"""Every Block Kit payload the bot can produce is valid Block Kit within Slack's limits.

That every reply of the real coach renders valid blocks is tests/test_platforms.py's (with the checks
of tests/renders.py); here: home views, one synthetic reply of every kind with every field set,
oversized variants, and the modals.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any, get_args

import pytest

from bot.channels.slack.modals import (
    MEETING_CALLBACK,
    check_draft,
    check_modal,
    check_result_modal,
    form_modal,
    modal_errors,
    profile_command,
    profile_modal,
    values,
)
from bot.channels.slack.render import (
    actions_of,
    home_view,
    mrkdwn,
    notification_text,
    render_message,
    reply_blocks,
    split_text,
)
from bot.core.forms import MEETING_FORM
from bot.forms import build_form
from bot.messages import (
    Button,
    Checklist,
    ChecklistItem,
    Form,
    FormField,
    Incoming,
    Progress,
    Reply,
    ReplyKind,
    Table,
)
from renders import WORDS, assert_valid_message, assert_valid_view, slack_script
from slack_fixtures import ADMIN, HEART_SUMMIT, seeded_runtime

# -- replies from the real coach ---------------------------------------------------------------------

@pytest.fixture
async def coach_output(tmp_path: Path) -> tuple[list[Reply], list[list[Reply]]]:
    runtime = await seeded_runtime(tmp_path)
    try:
        return await slack_script(runtime)
    finally:
        await runtime.store.close()


async def test_home_views_render_within_limits(coach_output: Any) -> None:
    _, homes = coach_output
    physician, admin, stranger = (home_view(replies, WORDS) for replies in homes)
    for view in (physician, admin, stranger):
        assert view["type"] == "home"
        assert_valid_view(view)
    admin_values = [e.get("value") for b in admin["blocks"] for e in b.get("elements", [])]
    assert "modal:meeting" in admin_values and "modal:meeting" not in json.dumps(physician)
    assert "modal:story" in admin_values and "modal:story" not in json.dumps(physician)
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
    view = home_view(replies, WORDS)
    assert_valid_view(view)
    assert len(view["blocks"]) == 100
    blocks = reply_blocks(Reply(kind="lesson", text="t", body=("word " * 700 + "\n\n") * 60), WORDS)
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
    assert render_message(reply, WORDS).payload()["text"] == "Readiness *40*/100"
    assert "Readiness *40*/100" in json.dumps(render_message(reply, WORDS).blocks), "a title never hides the text"


# -- pressed elements back to coach actions ------------------------------------------------------------------

def test_checklist_split_in_tens_and_each_tick_or_untick_is_known_without_the_original() -> None:
    checklist = _checklist(24)
    blocks = reply_blocks(Reply(kind="camp", text="Camp", checklist=checklist), WORDS)
    boxes = [(b, e) for b in blocks for e in b.get("elements", []) if e["type"] == "checkboxes"]
    assert [len(e["options"]) for _, e in boxes] == [10, 10, 4]
    block, element = boxes[1]
    initial = element["initial_options"]
    assert [o["value"] for o in initial] == [i.action for i in checklist.items[10:20] if i.done]
    ticked = next(o for o in element["options"] if o not in initial)
    pressed = {**element, "block_id": block["block_id"], "selected_options": [*initial, ticked]}
    assert actions_of(pressed) == [ticked["value"]]
    pressed = {**element, "block_id": block["block_id"], "selected_options": initial[1:]}
    assert actions_of(pressed) == [initial[0]["value"]], "an untick names the item, though Slack omits it"
    assert actions_of({**element, "block_id": "not json", "selected_options": []}) == []


def test_long_item_ids_split_checklists_to_keep_block_ids_short() -> None:
    checklist = Checklist("Long", tuple(
        ChecklistItem(f"i{i}", f"Item {i}", True, f"profile:{'very-long-item-id-' * 3}{i}") for i in range(10)))
    blocks = reply_blocks(Reply(kind="profile", text="Profile", checklist=checklist), WORDS)
    boxes = [e for b in blocks for e in b.get("elements", []) if e["type"] == "checkboxes"]
    assert len(boxes) > 1 and sum(len(e["options"]) for e in boxes) == 10
    assert all(len(b.get("block_id", "")) <= 255 for b in blocks)


def test_menus_carry_coach_actions() -> None:
    blocks = reply_blocks(Reply(kind="reminder", text="Lesson time", buttons=(Button("Next lesson", "cmd:lesson"),)),
                          WORDS)
    overflow = next(e for b in blocks for e in b.get("elements", []) if e["type"] == "overflow")
    assert [o["value"] for o in overflow["options"]] == ["snooze:1d", "snooze:3d", "snooze:1w", "snooze:2w", "cmd:stop"]
    assert actions_of({**overflow, "selected_option": overflow["options"][2]}) == ["snooze:1w"]
    assert actions_of({"type": "static_select", "selected_option": {"value": "snooze:2w"}}) == ["snooze:2w"]
    assert actions_of({"type": "datepicker", "selected_date": "2026-01-01"}) == []


def test_slack_opens_its_own_modals_for_the_draft_checker_and_the_coachs_forms() -> None:
    def values(reply: Reply) -> list[str]:
        return [e["value"] for b in reply_blocks(reply, WORDS) for e in b.get("elements", []) if e["type"] == "button"]

    assert values(Reply(kind="check", text="Paste the draft after “check”")) == ["modal:check"]
    result = Reply(kind="check", text="Ready to post", fields=(("Verdict", "Ready"),))
    assert values(result) == ["modal:check"]
    assert "Check another draft" in json.dumps(reply_blocks(result, WORDS))
    form = Form((FormField("name", "Name", required=True),), "form:meetings-add", "Add meeting")
    assert values(Reply(kind="form", text="Add a meeting", form=form)) == ["modal:meeting"]
    story = Form((FormField("title", "Title", required=True),), "form:library-add", "Save story")
    assert values(Reply(kind="form", text="Add a story", form=story)) == ["modal:story"]
    assert "Open the story form" in json.dumps(reply_blocks(Reply(kind="form", text="Add a story", form=story), WORDS))
    other = Form((FormField("name", "Name"),), "form:something-else")
    assert values(Reply(kind="form", text="A form Slack has no modal for", form=other)) == []


# -- modals ----------------------------------------------------------------------------------------------

def test_modals_are_valid_views(content: Any) -> None:
    from dataclasses import replace

    many = replace(content, catalog=content.catalog * 20)
    filled = build_form(MEETING_FORM, content, {"catalog": "asco", "name": "ASCO 2027", "start": "2027-05-28",
                                                "embargo": "Line 1\nLine 2", "embargo_lifts_time": "07:30"},
                        {"end": "The meeting ends before it starts; check the dates."})
    for view in (profile_modal(None, WORDS), profile_modal("DrJaneRivera", WORDS, {"response_url": "https://x/y"}),
                 form_modal(build_form(MEETING_FORM, content), MEETING_CALLBACK, WORDS),
                 form_modal(build_form(MEETING_FORM, many), MEETING_CALLBACK, WORDS, {"response_url": "u" * 5000}),
                 form_modal(filled, MEETING_CALLBACK, WORDS)):
        assert view["type"] == "modal"
        assert_valid_view(view)
    assert profile_modal("DrJaneRivera", WORDS)["blocks"][1]["element"]["initial_value"] == "@DrJaneRivera"
    inputs = {b["block_id"]: b for b in form_modal(filled, MEETING_CALLBACK, WORDS)["blocks"]}
    assert inputs["catalog"]["element"]["initial_option"]["value"] == "asco"
    assert inputs["start"]["element"]["initial_date"] == "2027-05-28"
    assert inputs["embargo_lifts_time"]["element"]["initial_time"] == "07:30"
    assert inputs["embargo"]["element"]["initial_value"] == "Line 1\nLine 2"


def test_the_meeting_modal_is_the_coachs_form_with_the_embargo_lift(content: Any) -> None:
    form = build_form(MEETING_FORM, content)
    view = form_modal(form, MEETING_CALLBACK, WORDS, {"response_url": "https://x/y"})
    assert (view["callback_id"], view["title"]["text"], view["submit"]["text"]) == (
        "rounds_meeting", "Add a meeting", "Add meeting")
    assert [(b["block_id"], b["label"]["text"], b["element"]["type"], b.get("optional", False))
            for b in view["blocks"]] == [
        ("catalog", "From the meeting catalog", "static_select", True), ("name", "Name", "plain_text_input", True),
        ("start", "Starts", "datepicker", False),
        ("end", "Ends (leave empty for a one-day meeting)", "datepicker", True),
        ("city", "City", "plain_text_input", True), ("hashtag", "Hashtag", "plain_text_input", True),
        ("embargo", "Embargo rules", "plain_text_input", True),
        ("embargo_lifts_date", "Embargo lifts on (optional)", "datepicker", True),
        ("embargo_lifts_time", "Embargo lifts at (hospital time)", "timepicker", True),
        ("attendees", "Invite (departments or emails, comma-separated)", "plain_text_input", True)]
    assert [b["block_id"] for b in view["blocks"]] == [f.id for f in form.fields], "one definition, one order"
    by_id = {b["block_id"]: b for b in view["blocks"]}
    assert by_id["name"]["hint"]["text"] == "Leave empty to use the catalog meeting's name."
    assert by_id["embargo"]["element"]["multiline"] is True
    assert len(by_id["catalog"]["element"]["options"]) == len(content.catalog)


def test_check_modals_are_valid_views_and_keep_the_draft_in_the_input() -> None:
    opened = check_modal(WORDS)
    assert_valid_view(opened)
    [draft_input] = [b for b in opened["blocks"] if b["type"] == "input"]
    assert draft_input["element"]["max_length"] == 3000 and draft_input["element"]["multiline"] is True
    draft = "Patient in bed 12 went home today.\n" * 200
    huge = _full("check", size=3)
    for replies in ([Reply(kind="check", text="Ready to post", fields=(("Verdict", "Ready"),))], [huge, huge]):
        view = check_result_modal(replies, draft, WORDS)
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
        "embargo": {"value": {"type": "plain_text_input", "value": None}},
        "embargo_lifts_time": {"value": {"type": "timepicker", "selected_time": "07:30"}},
    }}}
    assert values(meeting) == {"catalog": "", "name": "Heart Summit 2027", "start": "2027-03-04", "end": "",
                               "city": "St. John's", "embargo": "", "embargo_lifts_time": "07:30"}


def test_coach_errors_go_to_the_input_they_are_about(content: Any) -> None:
    view = form_modal(build_form(MEETING_FORM, content), MEETING_CALLBACK, WORDS)
    form = build_form(MEETING_FORM, content, errors={"hashtag": "“#1” is not a hashtag; use `#ASCO27`."})
    error = Reply(kind="error", text="“#1” is not a hashtag; use `#ASCO27`.", form=form)
    assert modal_errors([error], view, "name") == {"hashtag": "“#1” is not a hashtag; use #ASCO27."}
    refusal = Reply(kind="error", text="Sorry, `meetings add` is only for the marketing team.")
    assert modal_errors([refusal], view, "name") == {"name": "Sorry, meetings add is only for the marketing team."}
    older = {"blocks": [b for b in view["blocks"] if b["block_id"] not in ("hashtag", "name")]}
    assert modal_errors([error], older, "name") == {"catalog": "“#1” is not a hashtag; use #ASCO27."}, \
        "a modal drawn by an older release without that input: its first input"
    assert modal_errors([Reply(kind="meetings", text="Added")], view, "name") == {}
    assert modal_errors([], view, "name") == {}


async def test_the_modals_values_are_the_coachs_form(tmp_path: Path) -> None:
    runtime = await seeded_runtime(tmp_path)
    try:
        meeting = {"state": {"values": {
            "catalog": {"value": {"selected_option": {"value": "asco"}}},
            "start": {"value": {"selected_date": "2027-05-28"}},
            "city": {"value": {"value": "Chicago"}},
            "embargo_lifts_date": {"value": {"selected_date": "2027-05-30"}},
            "embargo_lifts_time": {"value": {"selected_time": "08:00"}},
        }}}
        replies = await runtime.coach.handle(Incoming("slack", "UMARIA", action=MEETING_FORM.submit_action,
                                                      values=tuple(values(meeting).items()), email=ADMIN))
        assert replies[0].kind == "meetings", replies[0].text
        added = await runtime.store.meetings.by_key("asco-2027")
        assert added is not None and added.city == "Chicago" and added.embargo_lifts_at is not None
        assert HEART_SUMMIT.key != "asco-2027"
    finally:
        await runtime.store.close()
