"""The first hour in the chat, as a new user meets it: no empty field leaves its punctuation behind,
and each rough edge found by trying the product has a test here."""
from __future__ import annotations

import re
from dataclasses import replace
from datetime import date, timedelta
from pathlib import Path

import pytest

from bot.content import TEMPLATES, Content
from bot.core.commands import SPECS
from bot.core.curriculum import ReviewState
from bot.core.library import Audience, Story
from bot.core.models import Meeting
from bot.core.reports import department_rows, followback_worklist, hospital_report, meeting_readiness
from bot.core.tweetcamp import describe_offset, timeline
from bot.core.verified import verified_report
from bot.messages import Reply
from bot.store.safety import SafetyCase
from conftest import ADMIN_EMAIL, NOW, PHYSICIAN_EMAIL, WORDS, Chat

ROOT = Path(__file__).resolve().parents[1]
BARE = Meeting(0, "rsna-2026", "RSNA Annual Meeting 2026", "Radiology", date(2026, 3, 19), date(2026, 3, 21),
               "", "", "")
"""A meeting with every optional field empty: no city, no hashtag, no embargo text."""
ARTEFACTS = {
    "a separator after a comma": r",\s*·",
    "two separators in a row": r"·\s*·",
    "a separator ending a line": r"·[ \t]*(\n|$)",
    "a separator starting a line": r"(^|\n)[ \t]*(- )?·",
    "'in' before a comma": r"\bin\s*,",
    "empty brackets": r"\(\s*\)|\(\s*,|,\s*\)",
    "empty bold": r"\*\*\s*\*\*",
    "a label with nothing after it": r"(Embargo|hashtag):\s*(\*\*\s*\*\*)?\.?[ \t]*(\n|$)",
    "a space before punctuation": r"\S[ \t]+[,.;:](\s|$)",
    "a missing value": r"\bNone\b|@\s",
}


def artefacts(text: str) -> list[str]:
    return [name for name, pattern in ARTEFACTS.items() if re.search(pattern, text)]


def assert_clean(reply_or_text: Reply | str, where: str = "") -> None:
    texts = [reply_or_text] if isinstance(reply_or_text, str) else \
        [reply_or_text.title, reply_or_text.text, reply_or_text.body]
    for text in texts:
        assert artefacts(text) == [], f"{where}: {text!r}"


@pytest.mark.parametrize("text, problem", [
    ("RSNA Annual Meeting 2026, · Thu 10 Dec", "a separator after a comma"),
    ("You're registered for **RSNA** in , starting Thu", "'in' before a comma"),
    ("**RSNA** · · starts Thu", "two separators in a row"),
    ("Official hashtag: ****.", "empty bold"),
    ("Embargo: \nYour Tweet Camp", "a label with nothing after it"),
])
def test_the_artefact_check_sees_what_users_saw(text: str, problem: str) -> None:
    assert problem in artefacts(text)


async def test_every_template_renders_cleanly_with_its_optional_fields_empty(content: Content, coach, store,
                                                                             people) -> None:
    """Each template, with a meeting lacking city, hashtag and embargo, no handle, nobody registered."""
    meeting = await store.meetings.add(BARE, NOW)
    today = NOW.date()
    lesson = content.curriculum.lessons[0]
    rows = await coach.roster_rows(today)
    report = hospital_report("Riverside University Hospital", rows)
    digest = await coach.build_digest(NOW)
    attendance = meeting_readiness([], [meeting], 24, today)[0]
    phases = [dict(entry=e, when=WORDS(describe_offset(e.phase.offset_days)), date="Thu 5 Mar 2026")
              for e in timeline(content.camp_phases, meeting.starts_on, meeting.ends_on, today)]
    hospital = {"name": "Riverside University Hospital", "handle": "RiversideUH"}
    readiness = (await coach.readiness(people[PHYSICIAN_EMAIL].id, today))
    case = SafetyCase(1, "SR-7K3QX", people[PHYSICIAN_EMAIL].id, "https://x.com/a/status/1", "harassment", "normal",
                      "open", NOW, None, None, name="Dr. Jane Rivera")  # link, kind, urgency, name always set
    handled = replace(case, status="handled", handled_at=NOW, name="Dr. Jane Rivera", department="Cardiology")
    verified = verified_report("Riverside University Hospital", [], NOW, timedelta(days=7))
    story = Story("heart-week", "Heart Week", "https://riverside.example/heart-week", {"x": "Heart Week starts today."},
                  Audience(everyone=True), NOW, "America/New_York")
    contexts: dict[str, list[dict]] = {
        "help": [dict(hospital=hospital, is_admin=False, topic=None), dict(hospital=hospital, is_admin=True, topic={
            "name": SPECS[0].name, "usage": SPECS[0].usage, "summary": content.words.of(SPECS[0].summary), "example": SPECS[0].example})],
        "onboarding": [dict(hospital="Riverside University Hospital", name=""), dict(hospital="Riverside", name=None)],
        "lesson": [dict(lesson=lesson, track=content.curriculum.track(lesson.track), number=1, total=25,
                        review=False)],
        "quiz": [dict(lesson=lesson, review=False), dict(lesson=lesson, review=True)],
        "quiz_none": [dict(next_due=""), dict(next_due="Sat 14 Mar 2026")],
        "quiz_result": [dict(lesson=lesson, correct=c, chosen="A", right_choice="B", retired=r, next_due=d)
                        for c, r, d in ((True, True, ""), (False, False, "Sat 14 Mar 2026"))],
        "curriculum_done": [dict(done=25, total=25)],
        "profile": [dict(handle=None, items=content.profile_items, done=0, total=4, hospital=hospital),
                    dict(handle="JaneMD", items=content.profile_items, done=4, total=4, hospital=hospital)],
        "handle_saved": [dict(handle="JaneMD", previous=None), dict(handle="JaneMD", previous="")],
        "handle_invalid": [dict(reason="Handles have at most 15 characters.")],
        "handle_taken": [dict(handle="JaneMD")],
        "follow": [dict(hospital=hospital, follows=f, followed_back=b, handle=h)
                   for f, b, h in ((False, False, None), (True, False, None), (True, True, ""))],
        "video": [dict(posted=False), dict(posted=True)],
        "meetings": [dict(meetings=[dict(meeting=meeting, joined=j)], hospital=hospital) for j in (False, True)]
        + [dict(meetings=[], hospital=hospital)],
        "meeting_joined": [dict(meeting=meeting, joined=j, was_registered=w) for j, w in
                           ((True, False), (False, True), (False, False))],
        "meeting_added": [dict(meeting=meeting, invited=0), dict(meeting=meeting, invited=2)],
        "meeting_form": [{}],
        "camp": [dict(meeting=meeting, phases=phases, done=0, total=24, today="Mon 2 Mar 2026")],
        "no_meeting": [dict(upcoming=[]), dict(upcoming=[meeting])],
        "status": [dict(readiness=readiness, stages=[], next_step=n, camp=None, hospital=hospital, handle=None)
                   for n in (None, "profile_created", "follows_hospital")],
        "snoozed": [dict(until="Mon 9 Mar 2026, 09:00 EDT")],
        "settings": [dict(changed=False, quiet="19:00–08:00", quiet_own=False, weekends_off=True, lessons="08:30",
                          lessons_own=False, zone="America/New_York", snoozed_until="", stopped=False)],
        "stopped": [dict(hospital=hospital)],
        "started": [dict(hospital=hospital)],
        "report": [dict(report=report, hospital=hospital, verified=verified.hospital, stale_days=7)],
        "report_department": [dict(department="Cardiology", rows=department_rows(rows, "Cardiology"))],
        "report_meeting": [dict(meeting=meeting, attendance=attendance, today="Mon 2 Mar 2026")],
        "followback": [dict(rows=followback_worklist(rows), hospital=hospital, conflicts=[], verified=[],
                            stale_days=7)],
        "roster": [dict(active=3, inactive=0, departments=[("Cardiology", 3)], unreachable=[], teams=t,
                        teams_reached=0, teams_reasons=[], parked=[]) for t in (False, True)],
        "digest": [dict(digest=digest, hospital=hospital, stale_days=7, stories=[])],
        "not_admin": [dict(command="report"), dict(command="meetings add")],
        "reminder_footer": [{}],
        "reminder_profile": [dict(handle=None, missing=list(content.profile_items), step=0, hospital=hospital),
                             dict(handle="JaneMD", missing=list(content.profile_items[:1]), step=1,
                                  hospital=hospital)],
        "reminder_follow": [dict(hospital=hospital, step=0)],
        "reminder_camp": [dict(meeting=meeting, phase=content.camp_phases[0], when="2 weeks before", day=d, days=n)
                          for d, n in ((None, None), (3, 5))],
        "stale_action": [dict(note=""), dict(note="That quiz was answered already.")],
        "networks": [dict(chosen=["X"], changed=False, is_default=True, skipped=0),
                     dict(chosen=["X", "Bluesky"], changed=True, is_default=False, skipped=3)],
        "transcript": [dict(rows=[], total_minutes=0),
                       dict(rows=[("Why it matters", "", "2026-03-02", "2 min")], total_minutes=2)],
        "harassment": [dict(case=None, recipients=0, hospital=hospital), dict(case=case, recipients=0, hospital=hospital)],
        "harassment_case": [dict(case=c, reported="Mon 2 Mar 2026, 09:00 EST", hospital=hospital)
                            for c in (case, handled)],
        "harassment_cases": [dict(cases=[]), dict(cases=[case])],
        "harassment_handled": [dict(case=c, changed=ch, for_reporter=r)
                               for c, ch, r in ((handled, True, False), (handled, False, False), (handled, True, True))],
        "unknown_command": [dict(text="hepl", suggestion="help"), dict(text="xyz", suggestion=None)],
        "story": [dict(story=story, posts=[], alt_text="", embargoed=False, countdown="", lifts="", state="",
                       suggestion=False, hospital=hospital, shares=[]),
                  dict(story=story, posts=[("X", "Heart Week starts today.")], alt_text="A red heart", embargoed=True,
                       countdown="2 days", lifts="Mon 9 Mar 2026, 09:00 EDT", state="You said you shared it.",
                       suggestion=True, hospital=hospital,
                       shares=[("X", "https://x.com/intent/tweet?text=Heart%20Week")])],
        "story_added": [dict(story=story, lifted=lifted, lift=NOW) for lifted in (True, False)],
        "story_form": [dict(zone="America/New_York")],
        "library": [dict(stories=[], admin=a) for a in (False, True)] + [dict(stories=[dict(
            title="Heart Week", key="heart-week", embargoed=e, countdown="2 days", lifts="Mon 9 Mar 2026",
            expires="" if e else "Mon 30 Mar 2026", done="")], admin=e) for e in (False, True)],
        "library_report": [dict(stories=[], departments={}, total=(0, 0, 0, 0)),
                           dict(stories=[story], departments={"Cardiology": (3, 2, 1, 1)}, total=(3, 2, 1, 1))],
        "library_report_department": [dict(department="Cardiology", counts=(1, 0, 0, 0), stories=1)],
    }
    assert set(contexts) == set(TEMPLATES), "every template needs a context here"
    for name, variants in contexts.items():
        for context in variants:
            rendered = content.render(name, **context)
            for part in (rendered.title, rendered.summary, rendered.body, *rendered.exports.values()):
                assert artefacts(part) == [], f"{name} with {sorted(context)}: {part!r}"


async def test_a_meeting_without_city_hashtag_or_embargo_reads_cleanly_everywhere(coach, store, people) -> None:
    admin, jane = Chat(coach, ADMIN_EMAIL), Chat(coach, PHYSICIAN_EMAIL)
    [added] = await admin.say('meetings add name="RSNA Annual Meeting 2026" start=2026-03-12 attendees=Cardiology')
    assert added.kind == "meetings", added.text
    assert_clean(added, "meeting added")
    for reply in await jane.say("meetings"):
        assert_clean(reply, "meetings")
    assert "**RSNA Annual Meeting 2026** · Thu 12 Mar–Thu 12 Mar 2026 · _you're going_" in \
        (await jane.say("meetings"))[0].body
    [camp] = await jane.say("camp")
    assert_clean(camp, "camp")
    assert camp.body.startswith("**RSNA Annual Meeting 2026** · starts Thu 12 Mar 2026\n")
    left, _listing = await jane.say("meetings leave RSNA")
    assert_clean(left, "left")
    joined, _ = await jane.say("meetings join RSNA")
    assert_clean(joined, "joined")
    assert joined.body.startswith("You're registered for **RSNA Annual Meeting 2026**, starting Thursday 12 March 2026.\n")
    [report] = await admin.say("report meeting RSNA")
    assert_clean(report, "report meeting")
    [digest] = await admin.say("digest")
    assert_clean(digest, "digest")
    meeting = await store.meetings.by_key("rsna-annual-meeting-2026") or \
        next(m for m in await store.meetings.all() if m.name == "RSNA Annual Meeting 2026")
    reminder = await coach.reminder(people[PHYSICIAN_EMAIL].id, "camp", {"meeting": meeting.id, "phase": "two-weeks"})
    if reminder is not None:
        assert_clean(reminder, "camp reminder")


async def test_leaving_a_meeting_you_never_joined_says_so(coach, store, people) -> None:
    meeting = await store.meetings.add(replace(BARE, city="Chicago", hashtag="#RSNA26"), NOW)
    jane = Chat(coach, PHYSICIAN_EMAIL)
    left, _ = await jane.say("meetings leave RSNA")
    assert (left.kind, left.title) == ("meetings", "You weren't registered for RSNA Annual Meeting 2026")
    assert "You left" not in left.text and "nothing to leave" in left.text
    await jane.say("meetings join RSNA")
    left, _ = await jane.say("meetings leave RSNA")
    assert left.title == "You left RSNA Annual Meeting 2026"
    assert meeting.id not in await store.meetings.attending(people[PHYSICIAN_EMAIL].id)


async def test_a_physician_asking_to_add_a_meeting_is_told_who_adds_meetings(coach, people) -> None:
    for text in ("meetings add", "meetings add asco 2026-05-28"):
        [reply] = await Chat(coach, PHYSICIAN_EMAIL).say(text)
        assert reply.title == "That's for the marketing team"
        assert "other people's data" not in reply.body
        assert "adding meetings to the hospital's calendar is only for the marketing team" in reply.body
        assert "meetings join" in reply.body


async def test_nothing_due_for_review_is_not_an_error(coach, store, people) -> None:
    jane = Chat(coach, PHYSICIAN_EMAIL)
    [reply] = await jane.say("quiz")
    assert reply.kind == "quiz" and reply.title == "No quiz question is due"
    assert reply.text == "No quiz question is due for review right now. Type `lesson` for new material."
    await store.progress.save_review(people[PHYSICIAN_EMAIL].id, ReviewState("why-show-up", 1, 0, NOW + timedelta(days=12),
                                                                    False, False), NOW)
    [reply] = await jane.say("quiz")
    assert reply.kind == "quiz" and "the next comes back around Sat 14 Mar 2026" in reply.text


async def test_a_meeting_in_the_past_is_refused_with_the_reason(coach, store, people) -> None:
    admin = Chat(coach, ADMIN_EMAIL)
    [reply] = await admin.say('meetings add name="Heart Summit 2025" start=2025-03-04 end=2025-03-06')
    assert reply.kind == "error"
    assert reply.text.startswith("Heart Summit 2025 ended on Thu 6 Mar 2025, before today (Mon 2 Mar 2026)")
    assert "year" in reply.text
    assert [m for m in await store.meetings.all() if m.name == "Heart Summit 2025"] == []
    [ongoing] = await admin.say('meetings add name="Heart Summit 2026" start=2026-03-01 end=2026-03-03')
    assert ongoing.kind == "meetings"  # started yesterday, still running: accepted


async def test_the_profile_checklist_and_status_say_each_thing_once(coach, people) -> None:
    jane = Chat(coach, PHYSICIAN_EMAIL)
    await jane.say("profile @JaneRiveraMD")
    [profile] = await jane.say("profile done photo")
    assert profile.checklist.title == "Profile checklist"
    assert not re.search(r"\d+\s*/\s*\d+|\d+ of \d+", profile.checklist.title)  # renderers show the count
    [status] = await jane.say("status")
    shown = "\n".join((status.body, *(v for _, v in status.fields), status.progress.next_step))
    assert shown.lower().count("next step") == 0 and status.progress.next_step


def test_tweet_camp_promises_nothing_the_bot_does_not_do() -> None:
    text = (ROOT / "prompts" / "tweetcamp.yaml").read_text(encoding="utf-8").lower()
    for promise in ("embargo calendar", "debrief quiz", "the bot's"):
        assert promise not in text


def test_readme_lists_every_command_help_lists() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    table = readme.split("## Commands physicians use", 1)[1].split("## Command line", 1)[0]
    for spec in SPECS:
        assert f"`{spec.name}" in table, f"README's command table lacks `{spec.name}`"


@pytest.mark.parametrize("now, starts", [
    ("2026-03-02T14:00:00+00:00", "2026-03-03T14:00:00+00:00"),  # Mon 09:00 EST → Tue 09:00
    ("2026-03-02T12:30:00+00:00", "2026-03-02T14:00:00+00:00"),  # Mon 07:30 → the same morning
    ("2026-03-07T01:00:00+00:00", "2026-03-09T13:00:00+00:00"),  # Fri 20:00 EST → Mon 09:00 EDT (DST began)
    ("2026-03-08T16:00:00+00:00", "2026-03-09T13:00:00+00:00"),  # Sunday → Monday
])
def test_the_demo_clock_starts_on_the_next_weekday_morning_in_the_hospital_zone(now: str, starts: str) -> None:
    from datetime import datetime, time
    from zoneinfo import ZoneInfo

    from bot.demo import demo_start

    assert demo_start(datetime.fromisoformat(now), ZoneInfo("America/New_York"), time(8, 0)) == \
        datetime.fromisoformat(starts)
    # Quiet hours that end later push the start to their end.
    assert demo_start(datetime.fromisoformat(now), ZoneInfo("America/New_York"), time(9, 30)).astimezone(
        ZoneInfo("America/New_York")).time() == time(9, 30)


HR_EXPORTS = {
    "last-first": ('"Last Name, First Name",Email Address,Dept,Primary Specialty,Slack ID,Teams ID,Badge Number\n'
                   '"Rivera, Jane",Jane.Rivera@Riverside.example,Cardiology,Cardiologist,U012AB3CD,,12\n'
                   '"Haddad, Omar",omar.haddad@riverside.example,Oncology,Medical Oncologist,,29:1a2b3c4d5e6f7g8h,13\n'),
    "first-and-last": ("First Name;Last Name;E-mail;Department Name;Specialty;Azure AD Object ID\n"
                       "Jane;Rivera;jane.rivera@riverside.example;Cardiology;Cardiologist;\n"
                       "Omar;Haddad;omar.haddad@riverside.example;Oncology;Medical Oncologist;"
                       "6f1c2f0e-4a57-4a8e-9a43-0d1f3c2b7e11\n"),
    "given-family": ("Given Name,Family Name,Work Email,Division,Speciality\n"
                     "Jane,Rivera,jane.rivera@riverside.example,Cardiology,Cardiologist\n"
                     "Omar,Haddad,omar.haddad@riverside.example,Oncology,Medical Oncologist\n"),
}


@pytest.mark.parametrize("kind", sorted(HR_EXPORTS))
def test_common_hr_export_headers_are_understood(kind: str) -> None:
    from bot.core.roster_csv import parse_roster

    parse = parse_roster(HR_EXPORTS[kind].encode(), f"{kind}.csv", WORDS)
    assert parse.ok, parse.problems()
    assert [(r.entry.name, r.entry.email, r.entry.department, r.entry.specialty) for r in parse.records] == [
        ("Jane Rivera", "jane.rivera@riverside.example", "Cardiology", "Cardiologist"),
        ("Omar Haddad", "omar.haddad@riverside.example", "Oncology", "Medical Oncologist")]
    if kind == "last-first":
        assert [r.links for r in parse.records] == [(("slack", "U012AB3CD"),), (("teams", "29:1a2b3c4d5e6f7g8h"),)]
        assert parse.warnings == ("ignoring column Badge Number",)  # the header it did not recognise, by name


def test_an_unrecognised_required_header_is_named_with_what_would_work() -> None:
    from bot.core.roster_csv import parse_roster

    parse = parse_roster(b"Nom,Courriel,Dept\nA,b@c.de,X\n", "fr.csv", WORDS)
    [problem] = parse.problems()
    assert problem.startswith("fr.csv:1: missing required columns name, email (found: Nom, Courriel, Dept; "
                              "not recognised: Nom, Courriel); accepted headers: name: Name, Full Name")
    assert "Email Address" in problem


def test_readme_documents_the_roster_columns_and_their_variants() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Roster CSV", 1)[1].split("\n## ", 1)[0]
    for header in ("`slack_id`", "`teams_id`", "Last Name, First Name", "Email Address", "Dept", "First Name",
                   "Last Name", "`x_handle`"):
        assert header in section, header
