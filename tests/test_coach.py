"""The coach end to end through a real SQLite store: typed commands and button presses in,
platform-neutral replies out, and the stored state after."""
from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from bot.coach import Coach
from bot.config import Config
from bot.core.commands import SPECS
from bot.core.curriculum import ReviewState
from bot.core.models import Meeting
from bot.core.snapshot import progress_of
from bot.messages import Button, FormField, Incoming, Progress, Table
from bot.store import Store
from bot.store.directory import DirectoryUser
from conftest import (
    ADMIN_EMAIL,
    NEUROLOGIST_EMAIL,
    NOW,
    ONCOLOGIST_EMAIL,
    PHYSICIAN_EMAIL,
    Chat,
)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def one(replies):
    assert len(replies) == 1, replies
    return replies[0]


def stale(replies, view_kind: str):
    """A press of something that changed or is gone: a short note, then the current view (no error)."""
    assert [r.kind for r in replies][:1] == ["notice"], replies
    assert len(replies) >= 2 and replies[1].kind == view_kind, replies
    assert all(r.kind != "error" for r in replies)
    return replies[0]


async def add_asco(store: Store, starts: date = date(2026, 3, 20), ends: date = date(2026, 3, 24),
                   key: str = "asco-2026") -> Meeting:
    return await store.meetings.add(Meeting(0, key, "ASCO Annual Meeting 2026", "Oncology", starts, ends, "Chicago",
                                           "#ASCO26", "Late-breaking abstracts are embargoed until presented."), NOW)


# -- who is talking ---------------------------------------------------------------------------------------------

async def test_someone_not_on_the_roster_is_welcomed(coach, store):
    reply = one(await coach.handle(Incoming(platform="slack", user_id="U0STRANGER", display_name="Sam")))
    assert reply.kind == "onboarding"
    assert reply.title == "Welcome to Social Rounds"
    assert reply.text == ("Hi Sam! I couldn't find you on the Riverside University Hospital physician roster yet, "
                          "so I can't track your progress.")
    assert await store.people.by_identity("slack", "U0STRANGER") is None


async def test_web_user_is_matched_by_email_and_linked(coach, store, people):
    reply = one(await Chat(coach, PHYSICIAN_EMAIL).say("status"))
    assert reply.kind == "status"
    assert (await store.people.by_identity("web", PHYSICIAN_EMAIL)).id == people[PHYSICIAN_EMAIL].id


async def test_slack_user_is_matched_by_email_once_then_by_id(coach, store, people):
    first = Incoming(platform="slack", user_id="U01JANE", text="status", email="Jane.Rivera@Riverside.example",
                     timezone="America/Los_Angeles")
    assert (one(await coach.handle(first))).kind == "status"
    jane = await store.people.by_identity("slack", "U01JANE")
    assert jane.id == people[PHYSICIAN_EMAIL].id
    assert jane.timezone == "America/Los_Angeles"
    # Later events carry no email: the stored identity is enough. A bogus zone is ignored.
    later = Incoming(platform="slack", user_id="U01JANE", text="status", timezone="Mars/Base")
    assert (one(await coach.handle(later))).kind == "status"
    assert (await store.people.get(jane.id)).timezone == "America/Los_Angeles"


async def test_deactivated_person_is_not_coached(coach, store, people):
    await store.people.deactivate(people[NEUROLOGIST_EMAIL].id, NOW)
    reply = one(await coach.handle(Incoming(platform="web", user_id=NEUROLOGIST_EMAIL, text="status")))
    assert reply.kind == "onboarding"
    assert await store.people.by_identity("web", NEUROLOGIST_EMAIL) is None


async def test_person_removed_from_the_roster_after_linking_is_not_coached(coach, store, people):
    lena = Chat(coach, NEUROLOGIST_EMAIL)
    assert one(await lena.say("status")).kind == "status"  # links the web identity
    await store.people.deactivate(people[NEUROLOGIST_EMAIL].id, NOW)
    assert one(await lena.say("status")).kind == "onboarding"


# -- help and unknown input ---------------------------------------------------------------------------------------

async def test_help_for_a_physician_hides_admin_commands(chat, content):
    reply = one(await chat.say("help"))
    assert reply.kind == "help"
    assert reply.title == "Social Rounds for Riverside University Hospital"
    assert reply.text.startswith("I'm your social media coach: 2-minute lessons")
    assert reply.table.headers == ("Command", "What it does")
    assert reply.table.rows == tuple((s.usage, content.words.of(s.summary)) for s in SPECS if not s.admin)
    assert reply.table.rows[1] == ("lesson", "your next 2-minute lesson with its quiz question")
    usages = [row[0] for row in reply.table.rows]
    assert usages[:3] == ["help [command]", "lesson", "quiz"]
    assert {"status", "stop", "start", "snooze <1d|3d|1w|2w|until YYYY-MM-DD>"} <= set(usages)
    assert not any(u.startswith(("report", "meetings add")) for u in usages)
    assert reply.buttons == (Button("Next lesson", "cmd:lesson", "primary"), Button("My status", "cmd:status"),
                             Button("Profile", "cmd:profile"))
    assert "report" not in reply.body


async def test_help_for_an_admin_lists_admin_commands(admin_chat, content):
    reply = one(await admin_chat.say("help"))
    assert reply.table.rows == tuple((s.usage, content.words.of(s.summary)) for s in SPECS)
    usages = [row[0] for row in reply.table.rows]
    assert any(u.startswith("meetings add <catalog key>") for u in usages)
    assert any(u.startswith("report [department") for u in usages)
    assert "As a marketing manager you can also see `report` and `report <department>`." in reply.body


async def test_help_on_one_command(chat):
    reply = one(await chat.say("help Snooze"))
    assert reply.title == "How to use: snooze"
    assert reply.text == "`snooze <1d|3d|1w|2w|until YYYY-MM-DD>`: pause reminders for a while."
    assert "Example: `snooze 1w`" in reply.body
    assert reply.table is None


@pytest.mark.parametrize("text", ["", "   ", "/rounds", "hi"])
async def test_empty_or_greeting_means_help(chat, text):
    assert (one(await chat.say(text))).kind == "help"


async def test_help_on_an_unknown_command(chat):
    reply = one(await chat.say("help teleport"))
    assert reply.kind == "error"
    assert reply.text == "I don't have a command called “teleport”. Type `help` for the list."


@pytest.mark.parametrize("text, summary", [
    ("lesosn", "I don't know “lesosn”. Did you mean `lesson`? Type `help` for everything I can do."),
    ("/rounds staus", "I don't know “staus”. Did you mean `status`? Type `help` for everything I can do."),
    ("unsubscrib me", "I don't know “unsubscrib me”. Did you mean `stop`? Type `help` for everything I can do."),
    ("what is this?", "I don't know “what is this?”. Type `help` for everything I can do, "
                      "or `lesson` for a 2-minute lesson."),
])
async def test_unknown_input_gets_the_closest_command(chat, text, summary):
    reply = one(await chat.say(text))
    assert (reply.kind, reply.title, reply.text) == ("error", "I didn't catch that", summary)


async def test_long_unknown_input_is_truncated_in_the_reply(chat):
    reply = one(await chat.say("x" * 300))
    assert reply.text == "I don't know “" + "x" * 37 + "...”. Type `help` for everything I can do, " \
                         "or `lesson` for a 2-minute lesson."


async def test_unknown_button_action(chat):
    note = stale(await chat.press("teleport:now"), "help")
    assert note.text == "That button is from an older message; here is how things stand now."


# -- lessons and spaced review ------------------------------------------------------------------------------------

async def test_lesson_then_a_missed_answer(chat, store, people):
    lesson = one(await chat.say("lesson"))
    assert lesson.kind == "lesson"
    assert lesson.title == "Why show up?"
    assert lesson.text.startswith("Lesson 1 of 30: Why show up? (2 min). Visible hospitals tend to have")
    assert lesson.body.startswith("_Getting started and your profile · lesson 1 of 30 · 2 min_\n\n")
    assert [b.action for b in lesson.buttons] == [f"quiz:why-show-up:{n}" for n in (1, 2, 3, 4)]
    assert lesson.buttons[1].label == "B. Number of Twitter followers"
    assert lesson.footer.startswith("Sources: [Triemstra, Poeppelman & Arora, JMIR 2018]"
                                    "(https://www.jmir.org/2018/11/e289); ")

    result = one(await chat.press(lesson.buttons[0].action))
    assert result.kind == "quiz_result"
    assert result.replace_original is True
    assert result.title == "Not quite: Why show up?"
    assert result.text.startswith("Not quite. The answer is “Number of Twitter followers”. ")
    assert "You answered: Number of Facebook followers ✗\nThe right answer: **Number of Twitter followers**" \
        in result.body
    # 12 days after Mon 2 Mar 2026 09:00 EST
    assert result.body.endswith("I'll bring this question back around Sat 14 Mar 2026.")
    assert result.buttons == (Button("Next lesson", "cmd:lesson", "primary"), Button("My status", "cmd:status"))

    pid = people[PHYSICIAN_EMAIL].id
    assert await store.progress.lessons_done(pid) == {"why-show-up"}
    assert await store.progress.reviews(pid) == {"why-show-up": ReviewState(
        "why-show-up", attempts=1, streak=0, due_at=utc(2026, 3, 14, 14, 0), retired=False, last_correct=False)}

    again = stale(await chat.press("quiz:why-show-up:2"), "lesson")
    assert again.text == "You already answered this question. It comes back for review on Sat 14 Mar 2026."
    assert (await store.progress.reviews(pid))["why-show-up"].attempts == 1

    nxt = one(await chat.press(result.buttons[0].action))
    assert (nxt.kind, nxt.title) == ("lesson", "Handle, name and photo")
    assert nxt.text.startswith("Lesson 2 of 30: Handle, name and photo (")
    assert nxt.buttons[0].action == "quiz:handle-name-photo:1"


async def test_spaced_review_missed_then_right_twice_retires(chat, clock, store, people):
    pid = people[PHYSICIAN_EMAIL].id
    await chat.say("lesson")
    await chat.press("quiz:why-show-up:1")  # missed → back in 12 days

    nothing_due = one(await chat.say("quiz"))
    assert nothing_due.kind == "quiz"  # not styled as an error: nothing is wrong
    assert nothing_due.text == ("No quiz question is due for review right now; the next comes back around "
                                "Sat 14 Mar 2026. Type `lesson` for new material.")

    clock.advance(timedelta(days=12))
    review = one(await chat.say("lesson"))  # a due review comes before new material
    assert (review.kind, review.title) == ("quiz", "Review: Why show up?")
    assert review.text.startswith("Time for a quick review: In Triemstra et al. (JMIR 2018)")
    assert (one(await chat.say("quiz"))).title == "Review: Why show up?"

    right = one(await chat.press("quiz:why-show-up:2"))
    assert right.title == "Right: Why show up?"
    assert right.text.startswith("Right! The answer is “Number of Twitter followers”.")
    # 24 days after Sat 14 Mar 2026 10:00 EDT
    assert right.body.endswith("I'll ask it once more around Tue 7 Apr 2026 to make it stick.")
    assert await store.progress.reviews(pid) == {"why-show-up": ReviewState(
        "why-show-up", attempts=2, streak=1, due_at=utc(2026, 4, 7, 14, 0), retired=False, last_correct=True)}

    clock.advance(timedelta(days=24))
    retired = one(await chat.press("quiz:why-show-up:2"))
    assert retired.body.endswith("You have answered this one right twice in a row: it is retired.")
    assert await store.progress.reviews(pid) == {"why-show-up": ReviewState(
        "why-show-up", attempts=3, streak=2, due_at=None, retired=True, last_correct=True)}

    clock.advance(timedelta(days=365))
    assert stale(await chat.press("quiz:why-show-up:2"), "lesson").text == (
        "You already answered this question. It is retired: you answered it right twice in a row.")
    assert (one(await chat.say("lesson"))).title == "Handle, name and photo"


async def test_two_right_answers_in_a_row_retire(chat, clock, store, people):
    await chat.press("quiz:why-show-up:2")
    clock.advance(timedelta(days=24))
    reply = one(await chat.press("quiz:why-show-up:2"))
    assert reply.body.endswith("it is retired.")
    assert (await store.progress.reviews(people[PHYSICIAN_EMAIL].id))["why-show-up"].retired is True


@pytest.mark.parametrize("action", ["quiz:retired-lesson:1", "quiz:why-show-up:x", "quiz:why-show-up:9",
                                    "quiz:why-show-up:0"])
async def test_bad_quiz_buttons(chat, store, people, action):
    note = stale(await chat.press(action), "lesson")
    assert note.text == "That quiz is no longer available. Type `lesson` for your next one."
    assert await store.progress.reviews(people[PHYSICIAN_EMAIL].id) == {}
    assert await store.progress.lessons_done(people[PHYSICIAN_EMAIL].id) == frozenset()


async def test_every_lesson_done(chat, content, store, people):
    for lesson in content.curriculum.lessons:
        await store.progress.mark_lesson_done(people[PHYSICIAN_EMAIL].id, lesson.id, NOW)
    reply = one(await chat.say("lesson"))
    assert (reply.kind, reply.title) == ("lesson", "You've completed every lesson")
    assert reply.text == "You have completed all 30 lessons. Review questions will come back when they are due."
    assert reply.buttons == (Button("My status", "cmd:status"), Button("My networks", "cmd:networks"))


# -- status ---------------------------------------------------------------------------------------------------

async def test_status_of_a_newcomer(chat):
    reply = one(await chat.say("status"))
    assert reply.kind == "status"
    assert reply.title == "Your readiness: 0/100"
    next_line = "Create your professional X account and register it: `profile @yourhandle`."
    assert reply.text == f"Readiness 0/100. Next step: {next_line}"
    assert reply.progress == Progress(0, "Getting started", next_line)
    assert reply.buttons == (Button("Set up my profile", "cmd:profile", "primary"),)
    assert reply.fields == (("Profile created", "to do"), ("Profile complete", "to do"),
                            ("Follows the hospital", "to do"), ("Followed back by the hospital", "marketing's step"),
                            ("Core lessons done", "to do"), ("Tweet Camp done", "no meeting yet"),
                            ("Video posted", "to do"))


async def test_status_after_some_progress(chat):
    await chat.say("profile @JaneRiveraMD")
    await chat.press("profile:photo")
    await chat.press("profile:bio")
    await chat.press("follow:done")
    await chat.press("quiz:why-show-up:2")
    reply = one(await chat.say("status"))
    # 20 + 15·2/4 + 15 + 0 + 25·1/8 = 45.625 of 85 → 54
    assert reply.progress == Progress(54, "Profile created",
                                      "Finish your profile checklist: photo, bio, link and a pinned post.")
    assert reply.buttons == (Button("Profile checklist", "cmd:profile", "primary"),)
    assert reply.fields == (("Profile created", "✓ done"), ("Profile complete", "50%"),
                            ("Follows the hospital", "✓ done"), ("Followed back by the hospital", "marketing's step"),
                            ("Core lessons done", "12%"), ("Tweet Camp done", "no meeting yet"), ("Video posted", "to do"))
    # The next step is said once, by the progress block: the body explains the stages instead.
    assert reply.progress.next_step == "Finish your profile checklist: photo, bio, link and a pinned post."
    assert "next step" not in reply.body.lower()
    assert reply.body.startswith("Your readiness counts a professional profile, following @RiversideUH")

    await chat.say("video done")
    assert (one(await chat.say("status"))).progress.score == 59  # + 5 bonus


async def test_status_with_a_meeting_shows_tweet_camp_beside_the_score(chat, store, people):
    meeting = await add_asco(store)
    await store.meetings.set_attending(people[PHYSICIAN_EMAIL].id, meeting.id, True, NOW)
    await chat.say("profile @JaneRiveraMD")
    await chat.press(f"camp:{meeting.id}:official-hashtag")
    reply = one(await chat.say("status"))
    # 20 of 85 → 24: Tweet Camp is measured per meeting, not in the score
    assert reply.progress.score == 24
    assert ("Tweet Camp done", "3%") in reply.fields
    assert reply.body.endswith("Tweet Camp for ASCO Annual Meeting 2026: 1 of 31 items.")


# -- profile, follow, video --------------------------------------------------------------------------------------

async def test_register_and_change_handle(chat, store, people):
    saved, profile = await chat.say("profile @DrJaneRivera")
    assert (saved.kind, saved.text) == ("profile", "Saved: your X handle is now @DrJaneRivera.")
    assert profile.kind == "profile"
    assert profile.text == "Your X handle is @DrJaneRivera; 0 of 4 profile items done."
    assert profile.checklist.title == "Profile checklist"  # the count is shown once, by the checklist
    assert [(i.id, i.done, i.action) for i in profile.checklist.items] == [
        ("photo", False, "profile:photo"), ("bio", False, "profile:bio"), ("link", False, "profile:link"),
        ("pinned", False, "profile:pinned")]
    assert (await store.people.get(people[PHYSICIAN_EMAIL].id)).x_handle == "DrJaneRivera"

    saved, _ = await chat.say("profile https://x.com/JaneRiveraMD")
    assert saved.body == ("Saved: your X handle is now **@JaneRiveraMD** (it was @DrJaneRivera). What was verified "
                          "about the old handle no longer counts; the next daily check looks at the new one.")
    assert (await store.people.get(people[PHYSICIAN_EMAIL].id)).x_handle == "JaneRiveraMD"


@pytest.mark.parametrize("text, reason", [
    ("profile dr-jane", "“dr-jane” has characters X does not allow; use letters, digits and underscores only."),
    ("profile @JaneRiveraCardiology", "“JaneRiveraCardiology” is 20 characters; X handles are at most 15."),
    ("profile Jane Rivera", "“Jane Rivera” has characters X does not allow; use letters, digits and underscores only."),
])
async def test_invalid_handle_is_refused_with_the_reason(chat, store, people, text, reason):
    reply = one(await chat.say(text))
    assert (reply.kind, reply.title, reply.text) == ("error", "That handle doesn't look right", reason)
    assert reply.body.endswith("Try again with `profile @yourhandle`.")
    assert (await store.people.get(people[PHYSICIAN_EMAIL].id)).x_handle is None


async def test_profile_checklist_toggles(chat, store, people):
    pid = people[PHYSICIAN_EMAIL].id
    reply = one(await chat.press("profile:photo"))
    assert reply.replace_original is True
    assert reply.checklist.title == "Profile checklist"
    assert [i.done for i in reply.checklist.items] == [True, False, False, False]
    assert await store.profile.items_done(pid) == {"photo"}
    await chat.press("profile:photo")
    assert await store.profile.items_done(pid) == frozenset()
    await chat.say("profile done bio")
    await chat.say("profile done bio")
    assert await store.profile.items_done(pid) == {"bio"}
    await chat.say("profile undo bio")
    assert await store.profile.items_done(pid) == frozenset()


@pytest.mark.parametrize("how", ["say", "press"])
async def test_unknown_profile_item(chat, how):
    if how == "press":
        assert stale(await chat.press("profile:tan"), "profile").text == \
            "That item is no longer on the profile checklist."
        return
    reply = one(await chat.say("profile done tan"))
    assert (reply.kind, reply.text) == (
        "error", "“tan” is not on the profile checklist; items: bio, link, photo, pinned.")


async def test_profile_done_without_an_item(chat):
    reply = one(await chat.say("profile done"))
    assert reply.text == "Say which item, e.g. `profile done photo`. Items: photo, bio, link, pinned."


async def test_follow_the_hospital(chat, store, people, clock):
    pid = people[PHYSICIAN_EMAIL].id
    ask = one(await chat.say("follow"))
    assert (ask.kind, ask.title) == ("follow", "Follow @RiversideUH")
    assert ask.text == "Follow @RiversideUH on X, then press the button to tell me."
    assert ask.buttons == (Button("I follow @RiversideUH", "follow:done", "primary"),)

    done = one(await chat.press("follow:done"))
    assert done.replace_original is True
    assert done.text == "Thanks: you follow @RiversideUH."
    assert "Register your handle with `profile @yourhandle` so marketing can follow you back." in done.body
    assert done.buttons == (Button("Undo: I don't follow yet", "follow:undo"),)
    assert (await store.people.get(pid)).follows_hospital_at == NOW

    await chat.say("profile @JaneRiveraMD")
    assert "Marketing will follow @JaneRiveraMD back" in (one(await chat.say("follow"))).body

    await chat.say("follow undo")
    assert (await store.people.get(pid)).follows_hospital_at is None
    reply = one(await chat.say("follow maybe"))
    assert reply.text == ("Use `follow` to see how, `follow done` once you follow the hospital, "
                          "or `follow undo` to take it back.")


async def test_video(chat, store, people):
    pid = people[PHYSICIAN_EMAIL].id
    ask = one(await chat.say("video"))
    assert ask.buttons == (Button("I posted a video", "video:done", "primary"),)
    done = one(await chat.press("video:done"))
    assert done.text == "Noted: you've posted a professional video. That's the bonus stage of readiness."
    assert (await store.people.get(pid)).video_posted_at == NOW
    await chat.say("video undo")
    assert (await store.people.get(pid)).video_posted_at is None
    assert (one(await chat.say("video soon"))).text == (
        "Use `video done` once you have posted a professional video, or `video undo`.")


# -- meetings and Tweet Camp --------------------------------------------------------------------------------------

async def test_admin_adds_a_meeting_and_registers_attendees(admin_chat, store, people):
    reply = one(await admin_chat.say(
        "meetings add asco 2026-03-20 city=Chicago attendees=Cardiology,omar.haddad@riverside.example"))
    assert reply.kind == "meetings"
    assert reply.text == "ASCO Annual Meeting 2026 is on the calendar (20 Mar 2026, #ASCO26); 2 physicians registered."
    meeting = await store.meetings.by_key("asco-2026")
    assert (meeting.name, meeting.starts_on, meeting.ends_on, meeting.city, meeting.hashtag) == (
        "ASCO Annual Meeting 2026", date(2026, 3, 20), date(2026, 3, 24), "Chicago", "#ASCO26")
    assert await store.meetings.attending(people[PHYSICIAN_EMAIL].id) == {meeting.id}
    assert await store.meetings.attending(people[ONCOLOGIST_EMAIL].id) == {meeting.id}
    assert await store.meetings.attending(people[NEUROLOGIST_EMAIL].id) == frozenset()
    assert await store.meetings.attending(people[ADMIN_EMAIL].id) == frozenset()

    again = one(await admin_chat.say("meetings add asco 2026-03-20"))
    assert (again.kind, again.text) == ("error", "ASCO Annual Meeting 2026 is already on the calendar.")
    bad = one(await admin_chat.say("meetings add ascoo 2026-03-20"))
    assert bad.kind == "error" and bad.text.startswith("“ascoo” is not in the meeting catalog (")


async def test_physicians_cannot_add_meetings(chat, store):
    reply = one(await chat.say("meetings add asco 2026-03-20"))
    assert (reply.kind, reply.title, reply.text) == (
        "error", "That's for the marketing team",
        "Sorry, `meetings add` is only for the marketing team. Type `status` to see your own progress.")
    assert await store.meetings.all() == []


async def submit_form(coach: Coach, email: str, values: dict[str, str]):
    return await coach.handle(Incoming(platform="web", user_id=email, action="form:meetings-add",
                                       values=tuple(values.items())))


HEART_SUMMIT_FORM = {
    "name": "Heart Summit 2026", "start": "2026-04-09", "end": "2026-04-11", "city": "St. John's",
    "hashtag": "#HS26", "embargo": "Late-breaking trials are embargoed until presented.\nPosters: after the session.",
    "embargo_lifts_date": "2026-04-10", "embargo_lifts_time": "07:30",
    "attendees": "Cardiology, omar.haddad@riverside.example",
}


async def test_meetings_add_without_arguments_gives_admins_the_form(admin_chat):
    reply = one(await admin_chat.say("meetings add"))
    assert (reply.kind, reply.title, reply.text) == (
        "form", "Add a meeting",
        "Add a meeting to the calendar: a start date and a name (or a catalog meeting) are required.")
    assert "`meetings add name=" in reply.body, "the typed command is offered too"
    assert (reply.form.submit_action, reply.form.submit_label) == ("form:meetings-add", "Add meeting")
    assert [(f.id, f.kind, f.required) for f in reply.form.fields] == [
        ("catalog", "select", False), ("name", "text", False), ("start", "date", True), ("end", "date", False), ("city", "text", False),
        ("hashtag", "text", False), ("embargo", "multiline", False), ("embargo_lifts_date", "date", False),
        ("embargo_lifts_time", "time", False), ("attendees", "text", False)]
    assert all(f.value == "" and f.error == "" for f in reply.form.fields)
    assert ("ASCO Annual Meeting", "asco") in reply.form.fields[0].options, "the catalog to pick from"
    assert reply.form.fields[-1] == FormField("attendees", "Invite (departments or emails, comma-separated)",
                                              placeholder="Cardiology, ana.ortiz@hospital.org")


async def test_physicians_get_no_form_and_cannot_submit_it(chat, coach, store):
    reply = one(await chat.say("meetings add"))
    assert (reply.kind, reply.text, reply.form) == (
        "error", "Sorry, `meetings add` is only for the marketing team. Type `status` to see your own progress.",
        None)
    submitted = one(await submit_form(coach, PHYSICIAN_EMAIL, HEART_SUMMIT_FORM))
    assert (submitted.kind, submitted.form, submitted.replace_original) == ("error", None, True)
    assert submitted.text.startswith("Sorry, `meetings add` is only for the marketing team.")
    assert await store.meetings.all() == []


async def test_submitting_the_form_adds_the_meeting(coach, store, people):
    reply = one(await submit_form(coach, ADMIN_EMAIL, HEART_SUMMIT_FORM))
    assert (reply.kind, reply.replace_original) == ("meetings", True), "the answer takes the form's place"
    assert reply.text == "Heart Summit 2026 is on the calendar (9 Apr 2026, #HS26); 2 physicians registered."
    meeting = await store.meetings.by_key("heart-summit-2026")
    assert (meeting.name, meeting.starts_on, meeting.ends_on, meeting.city, meeting.hashtag) == (
        "Heart Summit 2026", date(2026, 4, 9), date(2026, 4, 11), "St. John's", "#HS26")
    assert meeting.embargo == "Late-breaking trials are embargoed until presented.\nPosters: after the session."
    assert meeting.embargo_lifts_at == utc(2026, 4, 10, 11, 30)  # 07:30 EDT, the hospital's zone
    assert await store.meetings.attending(people[PHYSICIAN_EMAIL].id) == {meeting.id}
    assert await store.meetings.attending(people[ONCOLOGIST_EMAIL].id) == {meeting.id}
    assert await store.meetings.attending(people[NEUROLOGIST_EMAIL].id) == frozenset()


@pytest.mark.parametrize("change, field, message", [
    ({"end": "2026-04-01"}, "end", "The meeting ends before it starts; check the dates."),
    ({"start": "2026-04-31"}, "start", "start “2026-04-31” is not a date; write it like 2027-05-28."),
    ({"embargo_lifts_time": ""}, "embargo_lifts_time",
     "Give both the date and the time the embargo lifts (hospital time), or leave both empty."),
    ({"embargo_lifts_date": ""}, "embargo_lifts_date",
     "Give both the date and the time the embargo lifts (hospital time), or leave both empty."),
    ({"hashtag": "#1"}, "hashtag", "“#1” is not a hashtag; use letters and digits, like #ASCO27."),
    ({"name": ""}, "name", "The meeting needs a name (or a catalog key)."),
    ({"start": "2025-04-09", "end": "2025-04-11"}, "start", "Heart Summit 2026 ended on"),
])
async def test_a_bad_form_comes_back_with_the_error_at_its_field_and_its_values(
        coach, store, people, change, field, message):
    values = {**HEART_SUMMIT_FORM, **change}
    reply = one(await submit_form(coach, ADMIN_EMAIL, values))
    assert (reply.kind, reply.title) == ("error", "Let's try that again")
    assert reply.text.startswith(message) and reply.body == reply.text
    assert reply.replace_original is True
    assert reply.form.submit_action == "form:meetings-add"
    assert {f.id: f.value for f in reply.form.fields if f.id in values} == values
    assert reply.form.errors == {field: reply.text}, "the message is shown at the field it is about"
    assert await store.meetings.all() == []


async def test_a_catalog_meeting_needs_only_its_start_date(coach, store, people):
    reply = one(await submit_form(coach, ADMIN_EMAIL, {"catalog": "asco", "start": "2026-05-29", "name": ""}))
    assert (reply.kind, reply.replace_original) == ("meetings", True)
    meeting = await store.meetings.by_key("asco-2026")
    assert meeting is not None and (meeting.name, meeting.starts_on, meeting.hashtag) == (
        "ASCO Annual Meeting 2026", date(2026, 5, 29), "#ASCO26")
    unknown = one(await submit_form(coach, ADMIN_EMAIL, {"catalog": "nope", "start": "2026-05-29"}))
    assert list(unknown.form.errors) == ["name"], "an unknown catalog key still needs a name"


async def test_a_meeting_already_on_the_calendar_is_refused_with_the_form(coach, store, people):
    await submit_form(coach, ADMIN_EMAIL, HEART_SUMMIT_FORM)
    again = one(await submit_form(coach, ADMIN_EMAIL, HEART_SUMMIT_FORM))
    assert (again.kind, again.text) == ("error", "Heart Summit 2026 is already on the calendar.")
    assert {f.id: f.value for f in again.form.fields}["name"] == "Heart Summit 2026"
    assert again.form.errors == {"name": again.text}
    empty = one(await submit_form(coach, ADMIN_EMAIL, {}))
    assert empty.kind == "error" and empty.text.startswith("The meeting needs a start date.")
    assert list(empty.form.errors) == ["start"]
    assert len(await store.meetings.all()) == 1


async def test_an_unknown_form_is_not_understood(admin_chat, coach):
    replies = await coach.handle(Incoming(platform="web", user_id=ADMIN_EMAIL, action="form:teleport",
                                          values=(("where", "Mars"),)))
    stale(replies, "meetings")
    assert all(reply.form is None for reply in replies)


async def test_join_and_leave_a_meeting(chat, store, people):
    meeting = await add_asco(store)
    await add_asco(store, date(2026, 2, 1), date(2026, 2, 3), key="past-2026")  # already over
    pid = people[PHYSICIAN_EMAIL].id

    listing = one(await chat.say("meetings"))
    assert listing.text == "1 upcoming meeting; join one to get its Tweet Camp checklist."
    assert listing.buttons == (Button("Join ASCO Annual Meeting 2026", f"meeting:join:{meeting.id}", "primary"),)

    joined, updated = await chat.say("join asco")
    assert joined.text == ("You're registered for ASCO Annual Meeting 2026 (20 Mar 2026). "
                           "Its Tweet Camp checklist counts down from two weeks before.")
    assert joined.buttons == (Button("Open Tweet Camp", "cmd:camp asco-2026", "primary"),)
    assert updated.replace_original is True
    assert updated.buttons == (Button("Leave ASCO Annual Meeting 2026", f"meeting:leave:{meeting.id}"),)
    assert await store.meetings.attending(pid) == {meeting.id}

    left, _ = await chat.press(f"meeting:leave:{meeting.id}")
    assert left.text == "You're no longer registered for ASCO Annual Meeting 2026."
    assert await store.meetings.attending(pid) == frozenset()

    unknown = one(await chat.say("meetings join AHA"))
    assert unknown.text == "I don't know an upcoming meeting called “AHA”. Upcoming: ASCO Annual Meeting 2026."
    gone = stale(await chat.press("meeting:join:999"), "meetings")
    assert gone.text == "That meeting is no longer on the calendar. Type `meetings` for the current list."
    assert (one(await chat.say("meetings join"))).text == "Say which meeting, e.g. `meetings join ASCO`."


async def test_camp_without_a_meeting(chat, store):
    meeting = await add_asco(store)
    reply = one(await chat.say("camp"))
    assert (reply.kind, reply.title) == ("camp", "Tweet Camp")
    assert reply.text.startswith("You're not registered for an upcoming meeting.")
    assert reply.buttons == (Button("Join ASCO Annual Meeting 2026", f"meeting:join:{meeting.id}"),)


async def test_camp_checklist_and_toggle(chat, store, people):
    meeting = await add_asco(store)
    pid = people[PHYSICIAN_EMAIL].id
    await store.meetings.set_attending(pid, meeting.id, True, NOW)

    camp = one(await chat.say("camp"))
    assert camp.text == "Tweet Camp for ASCO Annual Meeting 2026 (#ASCO26): 0 of 31 items done."
    items = camp.checklist.items
    assert len(items) == 31
    assert (items[0].id, items[0].action, items[0].due) == (
        "official-hashtag", f"camp:{meeting.id}:official-hashtag", "2 weeks before (Fri 6 Mar 2026)")
    assert [items[i].due for i in (7, 13, 17, 26, 27)] == [
        "1 week before (Fri 13 Mar 2026)", "the day before (Thu 19 Mar 2026)",
        "each meeting day (Fri 20 Mar 2026 to Tue 24 Mar 2026)", "each meeting day (Fri 20 Mar 2026 to Tue 24 Mar 2026)",
        "the day after it ends (Wed 25 Mar 2026)"]
    assert "**Now:" not in camp.body  # nothing is open on 2 March

    ticked = one(await chat.press(items[0].action))
    assert ticked.replace_original is True
    assert ticked.checklist.done_count == 1
    assert ticked.text == "Tweet Camp for ASCO Annual Meeting 2026 (#ASCO26): 1 of 31 items done."
    assert await store.meetings.camp_done(pid, meeting.id) == {"official-hashtag"}
    await chat.press(items[0].action)
    assert await store.meetings.camp_done(pid, meeting.id) == frozenset()


async def test_ticking_a_camp_item_registers_for_the_meeting(chat, store, people):
    meeting = await add_asco(store)
    pid = people[PHYSICIAN_EMAIL].id
    await chat.press(f"camp:{meeting.id}:recap-thread")
    assert await store.meetings.attending(pid) == {meeting.id}
    assert await store.meetings.camp_done(pid, meeting.id) == {"recap-thread"}
    bad = stale(await chat.press(f"camp:{meeting.id}:no-such-item"), "camp")
    assert bad.text == "That checklist item no longer exists. Type `camp` for the current checklist."


async def test_camp_by_name(chat, store):
    await add_asco(store)
    assert (one(await chat.say("camp #ASCO26"))).title == "Tweet Camp: ASCO Annual Meeting 2026"


@pytest.mark.parametrize("instant, open_line", [
    # Sat 7 Mar 23:59 EST: two weeks before a meeting on Sun 22 Mar is tomorrow.
    (utc(2026, 3, 8, 4, 59), None),
    # Sun 8 Mar 00:00 EST: local midnight is 05:00 UTC before the switch to daylight time...
    (utc(2026, 3, 8, 5, 0), "**Now: Two weeks before** (2 weeks before, Sun 8 Mar 2026)"),
    # ...and 04:00 UTC after it: Sat 14 Mar 23:59 EDT is still the first phase,
    (utc(2026, 3, 15, 3, 59), "**Now: Two weeks before** (2 weeks before, Sun 8 Mar 2026)"),
    # Sun 15 Mar 00:00 EDT opens the next one.
    (utc(2026, 3, 15, 4, 0), "**Now: One week before** (1 week before, Sun 15 Mar 2026)"),
])
async def test_camp_phases_open_at_local_midnight_across_dst(chat, store, people, clock, instant, open_line):
    meeting = await add_asco(store, date(2026, 3, 22), date(2026, 3, 25))
    await store.meetings.set_attending(people[PHYSICIAN_EMAIL].id, meeting.id, True, NOW)
    clock.at = instant
    body = (one(await chat.say("camp"))).body
    now_lines = [line for line in body.splitlines() if line.startswith("**Now:")]
    assert now_lines == ([open_line] if open_line else [])


async def test_camp_uses_the_physicians_own_zone(coach, store, people, clock):
    meeting = await add_asco(store, date(2026, 3, 22), date(2026, 3, 25))
    await store.meetings.set_attending(people[PHYSICIAN_EMAIL].id, meeting.id, True, NOW)
    clock.at = utc(2026, 3, 8, 6, 0)  # Sun 01:00 in New York, still Sat 22:00 in Los Angeles
    new_york = Incoming(platform="web", user_id=PHYSICIAN_EMAIL, text="camp")
    assert "**Now: Two weeks before**" in (one(await coach.handle(new_york))).body
    los_angeles = Incoming(platform="web", user_id=PHYSICIAN_EMAIL, text="camp", timezone="America/Los_Angeles")
    assert "**Now:" not in (one(await coach.handle(los_angeles))).body


# -- snooze, stop, start ----------------------------------------------------------------------------------------

async def test_snooze_for_days(chat, store, people):
    reply = one(await chat.say("snooze 3d"))
    assert (reply.kind, reply.title) == ("settings", "Reminders snoozed")
    assert reply.text == "Reminders are snoozed until Thu 5 Mar 2026, 09:00 EST. Type `start` to resume sooner."
    assert reply.buttons == (Button("Resume now", "cmd:start"),)
    assert (await store.people.get(people[PHYSICIAN_EMAIL].id)).snoozed_until == utc(2026, 3, 5, 14, 0)


async def test_snooze_until_a_date_after_the_dst_switch(chat, store, people):
    reply = one(await chat.say("snooze until 2026-03-09"))
    assert reply.text == "Reminders are snoozed until Mon 9 Mar 2026, 00:00 EDT. Type `start` to resume sooner."
    assert (await store.people.get(people[PHYSICIAN_EMAIL].id)).snoozed_until == utc(2026, 3, 9, 4, 0)


async def test_snooze_button(chat, store, people):
    await chat.press("snooze:1w")
    # a week later at the same local time: 09:00 EST on 2 Mar resumes 09:00 EDT on 9 Mar
    assert (await store.people.get(people[PHYSICIAN_EMAIL].id)).snoozed_until == NOW + timedelta(weeks=1, hours=-1)


async def test_bad_snooze_changes_nothing(chat, store, people):
    reply = one(await chat.say("snooze forever"))
    assert (reply.kind, reply.title, reply.text) == (
        "error", "Let's try that again", "“forever” is not a snooze length; try 1d, 3d, 1w, 2w or until 2026-12-01.")
    assert (await store.people.get(people[PHYSICIAN_EMAIL].id)).snoozed_until is None


async def test_stop_and_start(chat, store, people, clock):
    pid = people[PHYSICIAN_EMAIL].id
    await chat.say("snooze 1d")
    stopped = one(await chat.say("stop"))
    assert (stopped.kind, stopped.text) == ("settings", "I've stopped all reminders. Type `start` whenever you want "
                                                        "them back.")
    assert stopped.buttons == (Button("Resume reminders", "cmd:start"),)
    assert (await store.people.get(pid)).stopped_at == NOW
    # Everything else keeps working while reminders are stopped.
    assert (one(await chat.say("status"))).kind == "status"

    clock.advance(timedelta(hours=5))
    started = one(await chat.press(stopped.buttons[0].action))
    assert started.text == ("Reminders are on again: never in quiet hours, and `snooze` or `stop` work any time.")
    person = await store.people.get(pid)
    assert (person.stopped_at, person.snoozed_until) == (None, None)
    assert (one(await chat.say("unsubscribe"))).title == "Reminders stopped"


# -- marketing -----------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("how, what", [
    ("say", "report"), ("say", "report Cardiology"), ("say", "/rounds readiness"), ("press", "cmd:report Oncology")])
async def test_physicians_cannot_see_reports(chat, how, what):
    reply = one(await (chat.say(what) if how == "say" else chat.press(what)))
    assert (reply.kind, reply.text) == (
        "error", "Sorry, `report` is only for the marketing team. Type `status` to see your own progress.")
    assert reply.table is None


@pytest.mark.parametrize("text", ["followback", "digest", "roster", "report meeting ASCO"])
async def test_physicians_cannot_use_any_admin_command(chat, store, people, text):
    command = text.split()[0]
    reply = one(await chat.say(text))
    assert (reply.kind, reply.text) == (
        "error", f"Sorry, `{command}` is only for the marketing team. Type `status` to see your own progress.")
    assert reply.table is None and reply.image is None


async def test_physicians_cannot_press_the_followback_button(chat, store, people):
    omar = people[ONCOLOGIST_EMAIL]
    reply = one(await chat.press(f"followback:{omar.id}"))
    assert reply.text == "Sorry, `followback` is only for the marketing team. Type `status` to see your own progress."
    assert (await store.people.get(omar.id)).followed_back_at is None


async def seed_progress(chat: Chat, admin_chat: Chat) -> None:
    await chat.say("profile @JaneRiveraMD")
    await chat.press("profile:photo")
    await chat.press("profile:bio")
    await chat.press("follow:done")
    await chat.press("quiz:why-show-up:2")
    await admin_chat.say("meetings add asco 2026-03-20 attendees=omar.haddad@riverside.example")
    omar = Chat(chat.coach, ONCOLOGIST_EMAIL)
    meeting_id = (await omar.say("camp"))[0].checklist.items[0].action
    await omar.press(meeting_id)


async def test_hospital_report(chat, admin_chat):
    await seed_progress(chat, admin_chat)
    reply = one(await admin_chat.say("report"))
    assert (reply.kind, reply.title) == ("report", "Readiness at Riverside University Hospital")
    assert reply.text == ("3 physicians: 67% have a profile, 33% follow @RiversideUH, 0% followed back "
                          "(self-reported), 0% finished the core lessons (in the bot). Average readiness 26/100.")
    # Jane 54 (see test_status_after_some_progress); Omar 20 of 85 → 24 (Tweet Camp is not in the score); Lena 0.
    assert reply.table == Table(
        ("Department", "Physicians", "Profile (self-reported)", "Follow us (self-reported)",
         "Followed back (self-reported)", "Core lessons (in the bot)", "Meeting ready (in the bot)", "Avg score"),
        (("Cardiology", "1", "100%", "100%", "0%", "0%", "0/0", "54"),
         ("Neurology", "1", "0%", "0%", "0%", "0%", "0/0", "0"),
         ("Oncology", "1", "100%", "0%", "0%", "0%", "0/1", "24"),
         ("Riverside University Hospital", "3", "67%", "33%", "0%", "0%", "0/1", "26")))
    assert reply.body.endswith("1 physician follows the hospital without being followed back.")
    assert [b.action for b in reply.buttons] == ["cmd:report Cardiology", "cmd:report Neurology", "cmd:report Oncology"]


async def test_reports_leave_out_people_who_left_the_roster(chat, admin_chat, store, people):
    await seed_progress(chat, admin_chat)
    await store.people.deactivate(people[ONCOLOGIST_EMAIL].id, NOW)
    reply = one(await admin_chat.say("report"))
    assert reply.text.startswith("2 physicians: 50% have a profile, 50% follow @RiversideUH")
    assert [row[0] for row in reply.table.rows] == ["Cardiology", "Neurology", "Riverside University Hospital"]
    gone = one(await admin_chat.say("report Oncology"))
    assert gone.kind == "error" and "Departments: Cardiology, Neurology." in gone.text


async def test_roster_readiness_matches_each_physicians_own(chat, admin_chat, coach, store, content):
    """The whole-roster path (counts in SQL) and a physician's own (sets) agree on every physician."""
    await seed_progress(chat, admin_chat)
    rows = await coach.roster_rows(NOW.date())
    assert len(rows) == 3
    for row in rows:
        snapshot = await store.readiness.snapshot(row.physician_id)
        assert row.progress == progress_of(snapshot, content.curriculum, content.profile_items, content.camp_phases,
                                           NOW.date())
    assert {row.progress.camp is not None for row in rows} == {True, False}


async def test_department_report(chat, admin_chat):
    await seed_progress(chat, admin_chat)
    reply = one(await admin_chat.press("cmd:report oncology"))
    assert (reply.title, reply.text) == ("Oncology: readiness by physician",
                                         "1 physician in Oncology, lowest readiness first.")
    assert reply.table == Table(("Physician", "X handle", "Score", "Stage", "Next step"),
                                (("Dr. Omar Haddad", "@OmarHaddadMD", "24", "Profile created", "Complete the profile"),))
    cardio = one(await admin_chat.say("report Cardiology"))
    assert cardio.table.rows == (("Dr. Jane Rivera", "@JaneRiveraMD", "54", "Profile created", "Complete the profile"),)
    neuro = one(await admin_chat.say("report neurology"))
    assert neuro.table.rows == (("Dr. Lena Park", "—", "0", "Getting started", "Create an X profile"),)
    unknown = one(await admin_chat.say("report Dermatology"))
    assert unknown.text == "No department called “Dermatology”. Departments: Cardiology, Neurology, Oncology."


async def test_admin_by_config_only(content, store, clock, people):
    config = Config(admins=(NEUROLOGIST_EMAIL,))
    coach = Coach(store, content, config, clock)
    lena = Chat(coach, NEUROLOGIST_EMAIL)
    assert (one(await lena.say("report"))).kind == "report"
    # Maria is an admin by her role even though this config does not list her.
    assert (one(await Chat(coach, ADMIN_EMAIL).say("report"))).kind == "report"
    assert (one(await Chat(coach, PHYSICIAN_EMAIL).say("report"))).kind == "error"


# -- home screen ------------------------------------------------------------------------------------------------

async def test_home(coach, store, people):
    jane = Incoming(platform="web", user_id=PHYSICIAN_EMAIL)
    assert [r.kind for r in await coach.home(jane)] == ["status", "profile", "meetings"]
    meeting = await add_asco(store)
    await store.meetings.set_attending(people[PHYSICIAN_EMAIL].id, meeting.id, True, NOW)
    assert [r.kind for r in await coach.home(jane)] == ["status", "profile", "camp", "meetings"]
    maria = Incoming(platform="web", user_id=ADMIN_EMAIL)
    assert [r.kind for r in await coach.home(maria)] == ["status", "profile", "meetings", "report"]


# -- everything survives a restart ---------------------------------------------------------------------------------

async def test_progress_survives_a_restart(content, config, clock, database_url, chat, store, people):
    await chat.say("profile @JaneRiveraMD")
    await chat.press("profile:photo")
    await chat.press("follow:done")
    await chat.press("quiz:why-show-up:1")
    await chat.say("snooze 3d")
    before = one(await chat.say("status"))
    await store.close()

    reopened = Store.open(database_url)
    try:
        coach = Coach(reopened, content, config, clock)
        again = Chat(coach, PHYSICIAN_EMAIL)
        after = one(await again.say("status"))
        assert after.progress == before.progress
        assert after.fields == before.fields
        # 20 + 15·1/4 + 15 + 25·1/8 = 41.875 of 85 → 49
        assert after.progress.score == 49
        assert stale(await again.press("quiz:why-show-up:2"), "lesson").text == (
            "You already answered this question. It comes back for review on Sat 14 Mar 2026.")
        assert (one(await again.say("lesson"))).title == "Handle, name and photo"
        person = await reopened.people.by_email(PHYSICIAN_EMAIL)
        assert person.snoozed_until == utc(2026, 3, 5, 14, 0)
    finally:
        await reopened.close()


async def test_followback_worklist(chat, admin_chat, store, people):
    empty = one(await admin_chat.say("followback"))
    assert (empty.kind, empty.title, empty.text) == (
        "report", "Follow-back worklist", "Nobody is waiting for a follow back from @RiversideUH.")
    await chat.say("profile @JaneRiveraMD")
    await chat.press("follow:done")
    await Chat(chat.coach, NEUROLOGIST_EMAIL).press("follow:done")  # no handle yet: cannot be followed back

    worklist = one(await admin_chat.say("follow-back"))
    assert worklist.text == "1 physician follows the hospital and waits for a follow back."
    assert worklist.table == Table(("Physician", "Department", "Network", "Profile", "Source"), (
        ("Dr. Jane Rivera", "Cardiology", "X", "[@JaneRiveraMD](https://x.com/JaneRiveraMD)", "self-reported"),))
    assert "**Self-reported** (no network has checked their follows yet)" in worklist.body
    jane = people[PHYSICIAN_EMAIL]
    assert worklist.buttons == (Button("Followed back @JaneRiveraMD", f"followback:{jane.id}"),)

    done = one(await admin_chat.press(worklist.buttons[0].action))
    assert done.replace_original is True
    assert done.text == "Nobody is waiting for a follow back from @RiversideUH."
    assert (await store.people.get(jane.id)).followed_back_at == NOW
    # 20 + 0 + 15 + 10 of 85 = 52.9 → 53; followed back is now done
    status = one(await chat.say("status"))
    assert status.progress.score == 53
    assert ("Followed back by the hospital", "✓ done") in status.fields
    assert stale(await admin_chat.press("followback:9999"), "report").text == "That physician is no longer on the roster."


async def test_meeting_report(chat, admin_chat, store, people):
    await admin_chat.say("meetings add asco 2026-03-20 attendees=Cardiology,omar.haddad@riverside.example")
    meeting = await store.meetings.by_key("asco-2026")
    for item in ("official-hashtag", "read-meeting-policies", "calendar-lift-times"):
        await chat.press(f"camp:{meeting.id}:{item}")
    reply = one(await admin_chat.say("report meeting ASCO"))
    assert (reply.kind, reply.title) == ("report", "ASCO Annual Meeting 2026: attendee readiness")
    # 3 of 48 items (two attendees × 24) = 6.25% → 6
    assert reply.text == "ASCO Annual Meeting 2026: 0 of 2 attendees finished Tweet Camp; 5% of checklist items done."
    assert reply.table == Table(("Physician", "Department", "X handle", "Tweet Camp", "Status"), (
        ("Dr. Jane Rivera", "Cardiology", "—", "3/31", "in progress"),
        ("Dr. Omar Haddad", "Oncology", "@OmarHaddadMD", "0/31", "in progress")))
    assert one(await admin_chat.say("report meeting")).text == "Say which meeting, e.g. `report meeting ASCO`."


async def test_roster_summary(admin_chat, store, people):
    await store.people.deactivate(people[NEUROLOGIST_EMAIL].id, NOW)
    reply = one(await admin_chat.say("roster"))
    assert (reply.kind, reply.title) == ("report", "Roster and delivery health")
    assert reply.text == "2 physicians on the roster in 2 departments; 0 can't be reached right now."
    assert reply.body.startswith("**2 physicians** on the roster (1 left): Cardiology 1, Oncology 1.")
    assert reply.table is None


async def test_digest_preview(chat, admin_chat):
    await seed_progress(chat, admin_chat)
    reply = one(await admin_chat.say("digest"))
    assert reply.kind == "digest"
    assert reply.ephemeral is False
    # Same numbers as the hospital report: Jane 54, Omar 24, Lena 0; no stored week yet, so no change.
    # No sync has verified anything: the verified columns are 0%.
    assert reply.table.rows == (("Cardiology", "1", "0%", "0%", "0%", "0%", "100%", "54", "—", "—", "—"),
                                ("Neurology", "1", "0%", "0%", "0%", "0%", "0%", "0", "—", "—", "—"),
                                ("Oncology", "1", "0%", "0%", "0%", "0%", "100%", "24", "—", "—", "—"),
                                ("Riverside University Hospital", "3", "0%", "0%", "0%", "0%", "67%", "26", "—", "—",
                                 "—"))
    assert "No week stored before this one yet: changes start next week." in reply.body
    assert "- Have a professional profile (self-reported): 2 (67%)" in reply.body
    assert reply.image.name == "digest-2026-W10.png"
    assert reply.image.png.startswith(b"\x89PNG")
    assert reply.buttons == (Button("Follow-back worklist", "cmd:followback"), Button("Full report", "cmd:report"))


async def test_the_meeting_day_reminder_comes_each_day_even_when_the_habits_were_ticked(coach, store, people, content):
    meeting = await add_asco(store)
    pid = people[PHYSICIAN_EMAIL].id
    await store.meetings.set_attending(pid, meeting.id, True, NOW)
    day_of = next(p for p in content.camp_phases if p.every_meeting_day)
    for item in day_of.items:
        await store.meetings.set_camp_item(pid, meeting.id, item.id, True, NOW)
    reminder = await coach.reminder(pid, "camp", {"meeting": meeting.id, "phase": day_of.id, "day": 3})
    assert reminder is not None
    assert reminder.text == ("Tweet Camp for ASCO Annual Meeting 2026 (#ASCO26): day 3 of 5, late-breakers may be "
                             f"presented today; {len(day_of.items)} habits for the day.")
    assert [i.id for i in reminder.checklist.items] == [i.id for i in day_of.items]
    ids = {i.id for i in day_of.items}
    assert {"tag-coauthors-hospital", "camelcase-captions", "ask-before-photos", "industry-symposium-disclosure"} <= ids
    before = next(p for p in content.camp_phases if p.id == "t-1")
    for item in before.items:
        await store.meetings.set_camp_item(pid, meeting.id, item.id, True, NOW)
    assert await coach.reminder(pid, "camp", {"meeting": meeting.id, "phase": "t-1"}) is None  # done: no nudge


async def test_roster_names_physicians_without_a_slack_account(admin_chat, store, people):
    """Slack said an email has no account: the roster says so once, not a dead message at a time."""
    await store.slack_directory.mark_missing(NEUROLOGIST_EMAIL.upper(), NOW)
    reply = one(await admin_chat.say("roster"))
    assert reply.text == "3 physicians on the roster in 3 departments; 1 can't be reached right now."
    [(name, why, _)] = reply.table.rows
    assert why == "no Slack account with this email" and name == people[NEUROLOGIST_EMAIL].name
    await store.slack_directory.save([DirectoryUser("UNEURO1", NEUROLOGIST_EMAIL)], NOW)  # they joined Slack
    assert one(await admin_chat.say("roster")).table is None
