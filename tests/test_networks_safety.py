"""Network-aware lessons, the private harassment desk and the learning transcript, through the coach
and a real store on both backends."""
from __future__ import annotations

import logging
from datetime import timedelta

import pytest
from sqlalchemy import select

from bot.coach import Coach
from bot.config import Config
from bot.store.schema import safety_cases
from conftest import ADMIN_EMAIL, NEUROLOGIST_EMAIL, ONCOLOGIST_EMAIL, PHYSICIAN_EMAIL, Chat

LINK = "https://x.com/troll/status/1234567890"


def one(replies):
    assert len(replies) == 1, replies
    return replies[0]


async def finish_lessons(chat: Chat, count: int) -> list[str]:
    """Take ``count`` new lessons in order, answering each; the lesson ids taken."""
    taken = []
    for _ in range(count):
        reply = one(await chat.say("lesson"))
        assert reply.kind == "lesson", reply
        action = reply.buttons[0].action
        taken.append(action.split(":")[1])
        await chat.press(action)
    return taken


# -- networks ----------------------------------------------------------------------------------------------

async def test_networks_default_to_x_and_a_choice_is_saved(chat, store, people, content):
    shown = one(await chat.say("networks"))
    assert shown.kind == "networks"
    assert shown.text.startswith("I coach you on X (the default)")
    assert [b.action for b in shown.buttons] == ["networks:x", "networks:bluesky", "networks:linkedin",
                                                 "networks:threads"]
    saved = one(await chat.say("networks Bluesky, linkedin"))
    assert saved.text.startswith("Saved. I coach you on Bluesky, LinkedIn;")
    assert (await store.people.get(people[PHYSICIAN_EMAIL].id)).networks == "bluesky,linkedin"
    toggled = one(await chat.press("networks:threads"))
    assert toggled.replace_original and "Bluesky, LinkedIn, Threads" in toggled.text
    assert one(await chat.say("networks default")).text.startswith("Saved. I coach you on X (the default)")
    assert (await store.people.get(people[PHYSICIAN_EMAIL].id)).networks is None


async def test_an_unknown_network_is_refused_and_nothing_changes(chat, store, people):
    await chat.say("networks bluesky")
    reply = one(await chat.say("networks myspace"))
    assert reply.kind == "error"
    assert "“myspace” is not a network I coach on" in reply.text
    assert (await store.people.get(people[PHYSICIAN_EMAIL].id)).networks == "bluesky"


async def test_lessons_for_networks_the_physician_does_not_use_are_skipped(chat, content):
    curriculum = content.curriculum
    x_only = {lesson.id for lesson in curriculum.lessons if lesson.networks == ("x",)}
    bluesky = {lesson.id for lesson in curriculum.lessons if "bluesky" in lesson.networks}
    assert x_only and bluesky
    await chat.say("networks bluesky")
    mine = curriculum.for_networks(("bluesky",))
    first = one(await chat.say("lesson"))
    assert first.text.startswith(f"Lesson 1 of {len(mine)}: ")
    taken = await finish_lessons(chat, len(mine))
    assert not set(taken) & x_only
    assert bluesky <= set(taken)
    done = one(await chat.say("lesson"))
    assert done.text == f"You have completed all {len(mine)} lessons. Review questions will come back when they are due."


async def test_by_default_lessons_about_other_networks_are_skipped(chat, content):
    default = content.curriculum.for_networks(("x",))
    taken = await finish_lessons(chat, len(default))
    assert not {"bluesky-basics", "linkedin-basics", "threads-basics"} & set(taken)
    assert {"checkmarks-today", "post-mechanics"} <= set(taken)


# -- the harassment desk -------------------------------------------------------------------------------------

@pytest.fixture
def config() -> Config:
    return Config(admins=(ADMIN_EMAIL,), safety_contacts=(NEUROLOGIST_EMAIL,), slack_safety_channel="C0SAFETY")


async def test_harassment_alone_gives_the_guidance_at_once(chat, store):
    reply = one(await chat.say("harassment"))
    assert reply.kind == "safety"
    assert reply.title == "Online abuse: what to do now"
    assert "**Don't engage.**" in reply.body and "**Document first:**" in reply.body
    assert "`harassment https://x.com/someone/status/123 doxxing urgent`" in reply.body
    assert await store.safety.cases() == []


async def test_a_report_gets_a_reference_and_reaches_only_the_configured_recipients(chat, coach, store, people,
                                                                                   caplog):
    caplog.set_level(logging.INFO)
    reply = one(await chat.say(f"report harassment {LINK} doxxing urgent"))
    [case] = await store.safety.cases()
    assert (case.link, case.kind, case.urgency, case.status, case.person_id) == (
        LINK, "doxxing", "urgent", "open", people[PHYSICIAN_EMAIL].id)
    assert case.reference.startswith("SR-") and len(case.reference) == 8
    assert reply.title == f"Report {case.reference} sent privately"
    assert "**Don't engage.**" in reply.body  # the guidance comes with the reference
    assert "I stored only the link, the kind and the urgency." in reply.body
    pending = await store.outbox.list(["pending"])
    assert sorted((m.platform, m.address, m.kind, m.spec) for m in pending) == [
        ("slack", "C0SAFETY", "safety_case", {"case": case.id}),
        ("web", NEUROLOGIST_EMAIL, "safety_case", {"case": case.id}),
    ]
    alert = await coach.broadcast("safety_case", {"case": case.id})
    assert alert.title == f"URGENT: Harassment report {case.reference}"
    assert f"Link: {LINK}" in alert.body and "Dr. Jane Rivera" in alert.text
    assert [b.action for b in alert.buttons] == [f"safety:handled:{case.id}"]
    assert LINK not in caplog.text  # logs carry ids only


async def test_a_report_with_the_posts_words_is_refused_and_nothing_is_stored(chat, store):
    reply = one(await chat.say(f"harassment {LINK} he says he knows where I live"))
    assert reply.kind == "error"
    assert reply.text.startswith("I keep only a link, the kind of abuse and how urgent it is")
    assert await store.safety.cases() == []
    assert await store.outbox.list(["pending"]) == []
    assert one(await chat.say("harassment doxxing urgent")).text.startswith("I need the link")


async def test_the_stored_case_holds_no_more_than_the_link(chat, store):
    await chat.say(f"harassment {LINK} threat")
    async with store.engine.connect() as conn:
        row = (await conn.execute(select(safety_cases))).one()._mapping
    assert set(row) == {"id", "reference", "person_id", "link", "kind", "urgency", "status", "created_at",
                        "handled_at", "handled_by"}
    assert (row["link"], row["kind"], row["urgency"]) == (LINK, "threat", "normal")


async def test_a_threat_puts_the_police_first(chat):
    reply = one(await chat.say(f"harassment {LINK} threat urgent"))
    assert reply.body.startswith("**If you are threatened with violence, call the police")


async def test_the_safety_contact_lists_and_marks_a_case_handled_and_the_reporter_is_told(chat, coach, store,
                                                                                        people, clock):
    await chat.say(f"harassment {LINK} pile-on")
    [case] = await store.safety.cases()
    contact = Chat(coach, NEUROLOGIST_EMAIL)
    listed = one(await contact.say("harassment cases"))
    assert listed.table.rows[0][:4] == (case.reference, "Dr. Jane Rivera", "pile-on", "normal")
    clock.advance(timedelta(hours=2))
    handled = one(await contact.press(f"safety:handled:{case.id}"))
    assert handled.replace_original and handled.text == f"Marked handled: {case.reference} (Dr. Jane Rivera, pile-on)."
    closed = await store.safety.by_id(case.id)
    assert (closed.status, closed.handled_by, closed.handled_at) == ("handled", people[NEUROLOGIST_EMAIL].id, clock.now())
    told = [m for m in await store.outbox.list(["pending"]) if m.kind == "safety_handled"]
    assert [(m.platform, m.address) for m in told] == [("web", PHYSICIAN_EMAIL)]
    note = await coach.broadcast("safety_handled", {"case": case.id})
    assert note.text == f"Your report {case.reference} has been marked handled by the hospital's safety team."
    again = one(await contact.say(f"harassment handled {case.reference.lower()}"))
    assert again.text.startswith("Already marked handled")
    assert one(await contact.say("harassment cases")).text == "0 open harassment reports."


@pytest.mark.parametrize("who", [PHYSICIAN_EMAIL, ONCOLOGIST_EMAIL, ADMIN_EMAIL])
async def test_nobody_else_sees_or_handles_cases(coach, store, who):
    await Chat(coach, PHYSICIAN_EMAIL).say(f"harassment {LINK}")
    [case] = await store.safety.cases()
    other = Chat(coach, who)
    assert one(await other.say("harassment cases")).kind == "error"
    assert one(await other.press(f"safety:handled:{case.id}")).kind == "error"
    assert one(await other.say(f"harassment handled {case.reference}")).kind == "error"
    assert (await store.safety.by_id(case.id)).status == "open"


async def test_without_safety_contacts_the_marketing_managers_receive_and_handle(store, content, clock, people):
    coach = Coach(store, content, Config(admins=(ADMIN_EMAIL,)), clock)
    await Chat(coach, PHYSICIAN_EMAIL).say(f"harassment {LINK} impersonation")
    [case] = await store.safety.cases()
    assert [(m.platform, m.address) for m in await store.outbox.list(["pending"])] == [("web", ADMIN_EMAIL)]
    assert one(await Chat(coach, ADMIN_EMAIL).press(f"safety:handled:{case.id}")).text.startswith("Marked handled")


async def test_with_nobody_to_tell_the_physician_is_told_to_call(store, content, clock, people):
    coach = Coach(store, content, Config(safety_contacts=("nobody@riverside.example",)), clock)
    reply = one(await Chat(coach, PHYSICIAN_EMAIL).say(f"harassment {LINK}"))
    assert "nobody has been alerted" in reply.body
    assert len(await store.safety.cases()) == 1


async def test_a_slack_report_reaches_contacts_by_their_slack_identity(coach, store, people):
    await store.people.link_identity("slack", "U0LENA", people[NEUROLOGIST_EMAIL].id, people[NEUROLOGIST_EMAIL].created_at)
    await store.people.link_identity("slack", "U0JANE", people[PHYSICIAN_EMAIL].id, people[PHYSICIAN_EMAIL].created_at)
    await Chat(coach, "U0JANE", platform="slack").say(f"harassment {LINK}")
    assert sorted((m.platform, m.address) for m in await store.outbox.list(["pending"])) == [
        ("slack", "C0SAFETY"), ("slack", "U0LENA")]


# -- transcript --------------------------------------------------------------------------------------------

async def test_transcript_lists_completed_lessons_with_dates_and_reading_time(chat, clock, content):
    empty = one(await chat.say("transcript"))
    assert empty.text == "No lessons completed yet. Type `lesson` to start." and empty.table is None
    taken = await finish_lessons(chat, 1)
    clock.advance(timedelta(hours=1))
    taken += await finish_lessons(chat, 1)
    clock.advance(timedelta(days=3))
    taken += await finish_lessons(chat, 1)
    reply = one(await chat.say("transcript"))
    lessons = [content.curriculum.lesson(lesson_id) for lesson_id in taken]
    minutes = sum(lesson.minutes for lesson in lessons)
    assert reply.text == f"You completed 3 lessons, about {minutes} minutes of reading."
    assert reply.table.headers == ("Lesson", "Track", "Completed", "Reading time")
    assert [row[0] for row in reply.table.rows] == [lesson.title for lesson in lessons]
    assert [row[2] for row in reply.table.rows] == ["2026-03-02", "2026-03-02", "2026-03-05"]  # New York dates
    assert reply.table.rows[0][3] == f"{lessons[0].minutes} min"
    assert "not an accredited CME provider" in reply.body
