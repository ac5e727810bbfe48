"""The one definition of each form: its fields in bot.core.forms, its words in prompts/forms.yaml, and
the neutral Form every channel renders (values kept, errors at their fields)."""
from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.core.commands import BadArguments, meeting_form_arguments, parse_meeting_request
from bot.core.forms import FORMS, MEETING_FORM, SNOOZE_KINDS, SNOOZE_MENU, STORY_FORM, FieldSpec, FormSpec
from bot.forms import build_form
from conftest import RoundsServer


def embargo(content) -> str:
    """The embargo rules of an ad hoc meeting that gives none (prompts/words.yaml)."""
    return content.words.say("meeting_default_embargo")


def test_the_meeting_form_has_every_field_with_its_words(content) -> None:
    form = build_form(MEETING_FORM, content)
    assert (form.submit_action, form.submit_label, form.title) == ("form:meetings-add", "Add meeting", "Add a meeting")
    assert [f.id for f in form.fields] == [
        "catalog", "name", "start", "end", "city", "hashtag", "embargo", "embargo_lifts_date", "embargo_lifts_time",
        "attendees"]
    by_id = {f.id: f for f in form.fields}
    assert [f.id for f in form.fields if f.required] == ["start"]
    assert (by_id["catalog"].kind, by_id["catalog"].label, by_id["catalog"].placeholder) == (
        "select", "From the meeting catalog", "Pick a meeting")
    assert len(by_id["catalog"].options) == len(content.catalog) and by_id["catalog"].options[0][1] == "asco"
    assert by_id["name"].hint == "Leave empty to use the catalog meeting's name."
    assert (by_id["embargo_lifts_date"].kind, by_id["embargo_lifts_time"].kind) == ("date", "time")
    assert form.errors == {} and all(f.value == "" for f in form.fields)
    assert FORMS == {"meetings-add": MEETING_FORM, "library-add": STORY_FORM}


def test_the_story_form_has_every_field_with_its_words(content) -> None:
    form = build_form(STORY_FORM, content)
    assert (form.submit_action, form.submit_label, form.title) == ("form:library-add", "Save story", "Add a story")
    assert [f.id for f in form.fields] == [
        "title", "link", "post_x", "post_bluesky", "post_linkedin", "alt_text", "audience", "lift_date",
        "lift_time", "timezone", "expires"]
    by_id = {f.id: f for f in form.fields}
    assert [f.id for f in form.fields if f.required] == ["title", "link"]
    assert {f.id: f.kind for f in form.fields if f.kind != "text"} == {
        "post_x": "multiline", "post_bluesky": "multiline", "post_linkedin": "multiline", "lift_date": "date",
        "lift_time": "time", "expires": "date"}
    assert by_id["post_x"].placeholder == "Our new heart clinic opens today. #CardioTwitter"
    assert all(f.label for f in form.fields)


def test_values_are_kept_and_errors_shown_at_their_field(content) -> None:
    form = build_form(MEETING_FORM, content, {"name": " Heart Summit ", "start": "2027-03-04", "extra": "x"},
                      {"end": "The meeting ends before it starts; check the dates."})
    values = {f.id: f.value for f in form.fields}
    assert (values["name"], values["start"], values["end"]) == ("Heart Summit", "2027-03-04", "")
    assert form.errors == {"end": "The meeting ends before it starts; check the dates."}
    unknown = build_form(MEETING_FORM, content, errors={"nowhere": "Something is off."})
    assert unknown.errors == {"name": "Something is off."}, "an error about no shown field goes to errors_at"


def test_a_select_without_choices_is_left_out_and_its_errors_move(content) -> None:
    no_catalog = replace(content, catalog=())
    form = build_form(MEETING_FORM, no_catalog, errors={"catalog": "“x” is not in the meeting catalog."})
    assert "catalog" not in [f.id for f in form.fields]
    assert form.errors == {"name": "“x” is not in the meeting catalog."}


def test_initial_values(content) -> None:
    spec = FormSpec("meetings-add", (FieldSpec("city", initial="Chicago"), FieldSpec("name")), errors_at="name")
    form = build_form(spec, content)
    assert [(f.id, f.value) for f in form.fields] == [("city", "Chicago"), ("name", "")]
    assert [f.value for f in build_form(spec, content, {"city": ""}).fields] == ["", ""], "a cleared value stays clear"


@pytest.mark.parametrize("values, field, key", [
    ({"start": "2027-03-06", "end": "2027-03-04", "name": "X"}, "end", "meeting_ends_before_start"),
    ({"start": "2027-02-30", "name": "X"}, "start", "meeting_not_a_date"),
    ({"start": "2027-03-04", "end": "soon", "name": "X"}, "end", "meeting_not_a_date"),
    ({"name": "X"}, "start", "meeting_needs_start"),
    ({"start": "2027-03-04"}, "name", "meeting_needs_name"),
    ({"start": "2027-03-04", "name": "X", "hashtag": "#1"}, "hashtag", "meeting_bad_hashtag"),
    ({"start": "2027-03-04", "name": "X", "embargo_lifts_date": "2027-03-04"}, "embargo_lifts_time",
     "meeting_embargo_half_given"),
    ({"start": "2027-03-04", "name": "X", "embargo_lifts_time": "07:00"}, "embargo_lifts_date",
     "meeting_embargo_half_given"),
    ({"start": "2027-03-04", "name": "X", "embargo_lifts_date": "2027-03-04", "embargo_lifts_time": "7h"},
     "embargo_lifts_date", "meeting_embargo_not_a_moment"),
])
def test_validation_errors_name_their_field(content, values, field, key) -> None:
    with pytest.raises(BadArguments) as raised:
        parse_meeting_request(meeting_form_arguments(values), content.catalog, ZoneInfo("America/New_York"),
                              embargo(content))
    assert (raised.value.field, raised.value.say.key) == (field, key)
    assert MEETING_FORM.field(field) is not None, "every error names a field of the form"


def test_a_catalog_pick_is_the_catalog_key() -> None:
    assert meeting_form_arguments({"catalog": "asco", "start": "2027-05-28", "city": "Chicago"}) == (
        "asco start=2027-05-28 city=Chicago")


def test_one_snooze_menu() -> None:
    assert [c.action for c in SNOOZE_MENU.choices] == ["snooze:1d", "snooze:3d", "snooze:1w", "snooze:2w", "cmd:stop"]
    assert {"lesson", "reminder", "status"} == SNOOZE_KINDS


def test_the_local_chat_shows_an_error_at_its_field_through_its_http_api(tmp_path: Path) -> None:
    with RoundsServer("demo", cwd=tmp_path) as server:
        server.wait_healthy(timeout=90)  # a loaded machine can take longer than the default to start it
        _, data = server.get_json("/chat/api/personas")
        admin = next(p for p in data["personas"] if p["role"] == "admin")  # type: ignore[index]
        [shown] = server.post_json("/chat/api/message", {"persona": admin["id"], "text": "meetings add"})["replies"]  # type: ignore[index]
        assert [f["id"] for f in shown["form"]["fields"]][:3] == ["catalog", "name", "start"]
        values = {"name": "Riverside Heart Symposium", "start": "2030-03-06", "end": "2030-03-04", "hashtag": "#RHS30"}
        answer = server.post_json("/chat/api/message", {"persona": admin["id"], "action": "form:meetings-add",
                                                        "message_id": shown["message_id"], "values": values})
        [error] = answer["replies"]  # type: ignore[index]
        assert error["message_id"] == shown["message_id"], "the error takes the form's place"
        errors = {f["id"]: f["error"] for f in error["form"]["fields"] if f["error"]}
        assert errors == {"end": "The meeting ends before it starts; check the dates."}
        assert {f["id"]: f["value"] for f in error["form"]["fields"] if f["id"] in values} == values
        assert server.stop() == 0
