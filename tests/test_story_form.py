"""Adding a story through the form (``library add``): what the form alone can tell, then the story's own
rules; a suggested post with a patient identifier is not saved and the answer names the finding and its
fix, at the input it is about, with every value kept."""
from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.coach import Coach
from bot.core.story_form import Roster, StoryProblems, story_from_form, story_key
from bot.messages import Incoming
from conftest import ADMIN_EMAIL, NOW, PHYSICIAN_EMAIL

ROSTER = Roster(frozenset({"Cardiology", "Oncology"}), frozenset({"Cardiologist"}), frozenset({"asco-2026"}))
GOOD = {"title": "Riverside opens a heart failure clinic", "link": "https://news.riverside.example/heart?x=1&y=2",
        "post_x": "Our new heart failure clinic opens today. #CardioTwitter", "post_bluesky": "",
        "post_linkedin": "Proud of the team behind our new clinic.", "alt_text": "", "audience": "Cardiology",
        "lift_date": "2026-03-05", "lift_time": "07:30", "timezone": "", "expires": "2026-03-31"}
PATIENT = "Proud of our team: the patient in bed 12 went home today. MRN 4481920, ask his wife for updates."


def parse(**changes: str):
    return story_from_form({**GOOD, **changes}, hospital_zone="America/New_York", now=NOW, roster=ROSTER)


def problem_fields(**changes: str) -> list[str]:
    with pytest.raises(StoryProblems) as raised:
        parse(**changes)
    return [field for field, _ in raised.value.problems]


def test_the_form_becomes_a_story_in_the_lift_zone() -> None:
    story = parse()
    assert story.key == "riverside-opens-a-heart-failure-clinic"
    assert story.lifts_at == datetime(2026, 3, 5, 12, 30, tzinfo=UTC) and story.lift_zone == "America/New_York"
    assert story.expires_at == datetime(2026, 4, 1, 4, 0, tzinfo=UTC), "offered through the whole last day"
    assert dict(story.posts) == {"x": GOOD["post_x"], "linkedin": GOOD["post_linkedin"]}
    assert story.audience.departments == ("Cardiology",) and not story.audience.everyone
    berlin = parse(timezone="Europe/Berlin")
    assert berlin.lifts_at == datetime(2026, 3, 5, 6, 30, tzinfo=UTC) and berlin.lift_zone == "Europe/Berlin"
    assert parse(lift_date="", lift_time="").lifts_at == NOW, "no lift: at once"


@pytest.mark.parametrize("audience, departments, specialties, meetings, everyone", [
    ("everyone", (), (), (), True),
    ("cardiology, ONCOLOGY", ("Cardiology", "Oncology"), (), (), False),
    ("Cardiologist, meeting:ASCO-2026", (), ("Cardiologist",), ("asco-2026",), False),
])
def test_who_the_story_is_for(audience, departments, specialties, meetings, everyone) -> None:
    story = parse(audience=audience)
    assert (story.audience.departments, story.audience.specialties, story.audience.meetings,
            story.audience.everyone) == (departments, specialties, meetings, everyone)


@pytest.mark.parametrize("changes, fields", [
    ({"lift_time": ""}, ["lift_time"]),
    ({"lift_date": ""}, ["lift_date"]),
    ({"lift_date": "2026-02-30"}, ["lift_date"]),
    ({"lift_time": "7h"}, ["lift_time"]),
    ({"timezone": "Mars/Olympus"}, ["timezone"]),
    ({"expires": "soon"}, ["expires"]),
    ({"audience": ""}, ["audience"]),
    ({"audience": "Cardiology, Podiatry, meeting:nowhere"}, ["audience"]),
    ({"timezone": "Nowhere", "audience": "", "lift_time": ""}, ["timezone", "lift_time", "audience"]),
])
def test_what_the_form_alone_can_tell_is_named_at_its_field(changes, fields) -> None:
    assert problem_fields(**changes) == fields


def test_a_title_without_latin_letters_still_gets_a_key() -> None:
    assert story_key("Новая клиника", NOW) == "story-20260302-1400"
    assert story_key("  Heart -- Week!! 2026 ", NOW) == "heart-week-2026"


# -- through the coach -------------------------------------------------------------------------------------
async def submit(coach: Coach, email: str, values: dict[str, str]):
    return await coach.handle(Incoming(platform="web", user_id=email, action="form:library-add",
                                       values=tuple(values.items())))


async def test_a_post_with_a_patient_identifier_is_not_saved_and_the_answer_says_what_to_fix(
        coach: Coach, people) -> None:
    values = {**GOOD, "post_x": PATIENT, "post_linkedin": PATIENT}
    [error] = await submit(coach, ADMIN_EMAIL, values)
    assert error.kind == "error" and error.form is not None
    errors = error.form.errors
    assert set(errors) == {"post_x", "post_linkedin"}, "each network's post, at its own input"
    assert "The suggested x post would be blocked for a physician" in errors["post_x"]
    assert "MRN" in errors["post_x"] and "Fix:" in errors["post_x"]
    assert "The suggested linkedin post would be blocked" in errors["post_linkedin"]
    assert errors["post_x"] in error.text, "the summary names the finding too"
    assert {f.id: f.value for f in error.form.fields} == {k: v.strip() for k, v in values.items()}, "nothing retyped"
    assert await coach.store.library.search("", NOW, admin=True) == []


async def test_a_good_story_is_saved_embargoed_and_admins_only_see_it(coach: Coach, people) -> None:
    [saved] = await submit(coach, ADMIN_EMAIL, GOOD)
    assert saved.kind == "notice" and "Riverside opens a heart failure clinic" in saved.title
    assert "embargoed until Thu 5 Mar 2026 07:30 (America/New_York)" in saved.text
    story = await coach.store.library.get("riverside-opens-a-heart-failure-clinic", NOW, admin=True)
    assert story is not None and story.lifts_at == datetime(2026, 3, 5, 12, 30, tzinfo=UTC)
    assert await coach.store.library.get(story.key, NOW, admin=False) is None, "embargoed"
    [again] = await submit(coach, ADMIN_EMAIL, GOOD)
    assert again.kind == "error" and again.form is not None and list(again.form.errors) == ["title"]


async def test_the_form_is_checked_as_an_imported_file_is(coach: Coach, people, monkeypatch) -> None:
    """The form's story goes through the library's one check: a meeting gone between the form and its
    submission (the form's roster still names it) is caught there and shown at the audience input."""
    async def roster() -> Roster:
        return ROSTER
    monkeypatch.setattr(coach.story_admin, "_roster", roster)
    values = {**GOOD, "audience": "meeting:asco-2026"}
    [error] = await submit(coach, ADMIN_EMAIL, values)
    assert error.kind == "error" and error.form is not None and list(error.form.errors) == ["audience"]
    assert "No meeting has the key “asco-2026”" in error.form.errors["audience"]
    story = parse(audience="meeting:asco-2026")
    assert [p.field for p in (await coach.story_admin.check([story]))[story.key]] == ["audience.meetings"]
    assert await coach.library.save([story]) == ([], await coach.story_admin.check([story])), "the import too"
    assert await coach.store.library.search("", NOW, admin=True) == []


async def test_a_physician_cannot_submit_the_form(coach: Coach, people) -> None:
    [refused] = await submit(coach, PHYSICIAN_EMAIL, GOOD)
    assert refused.kind == "error" and "only for the marketing team" in refused.text
    assert await coach.store.library.search("", NOW, admin=True) == []
async def test_library_add_gives_admins_the_form_and_physicians_a_refusal(coach: Coach, people) -> None:
    [form] = await coach.handle(Incoming(platform="web", user_id=ADMIN_EMAIL, action="cmd:library add"))
    assert form.kind == "form" and form.form is not None and form.form.submit_action == "form:library-add"
    assert [f.id for f in form.form.fields][:2] == ["title", "link"]
    [refused] = await coach.handle(Incoming(platform="web", user_id=PHYSICIAN_EMAIL, action="cmd:library add"))
    assert refused.kind == "error" and refused.form is None and "only for the marketing team" in refused.text


