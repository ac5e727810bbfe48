"""The store on SQLite: schema versions, people, progress, meetings, and survival across restarts."""
from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy.exc import StatementError

from bot.core.curriculum import ReviewState
from bot.core.models import Meeting
from bot.core.snapshot import CampCount, Enrollment, PersonSnapshot, RosterCounts
from bot.store import NotMigrated, RosterEntry, Store, database_url
from bot.store.migrate import head_revision
from conftest import ADMIN_EMAIL, NEUROLOGIST_EMAIL, NOW, ONCOLOGIST_EMAIL, PHYSICIAN_EMAIL, ROSTER

LATER = NOW + timedelta(hours=3)


def asco(key: str = "asco-2026", starts: date = date(2026, 3, 20), ends: date = date(2026, 3, 24)) -> Meeting:
    return Meeting(0, key, "ASCO Annual Meeting 2026", "Oncology", starts, ends, "Chicago", "#ASCO26",
                   "Embargoed until presented.")


# -- schema -------------------------------------------------------------------------------------------------

def test_database_url_picks_async_drivers():
    assert database_url("sqlite:///rounds.db") == "sqlite+aiosqlite:///rounds.db"
    assert database_url("sqlite:////var/lib/rounds.db") == "sqlite+aiosqlite:////var/lib/rounds.db"
    assert database_url("postgresql://u:p@db/rounds") == "postgresql+asyncpg://u:p@db/rounds"
    assert database_url("postgres://u:p@db/rounds") == "postgresql+asyncpg://u:p@db/rounds"
    assert database_url("sqlite+aiosqlite:///x.db") == "sqlite+aiosqlite:///x.db"


async def test_fresh_database_is_not_migrated_until_upgraded(database_url):
    store = Store.open(database_url)
    try:
        with pytest.raises(NotMigrated) as raised:
            await store.check_migrated()
        assert str(raised.value) == "the database has no Social Rounds schema; run `rounds db upgrade` first"
        assert await store.upgrade() == (None, head_revision())
        await store.check_migrated()
        # Upgrading a current database changes nothing.
        assert await store.upgrade() == (head_revision(), head_revision())
        assert await store.ping() is True
    finally:
        await store.close()


async def test_migrations_build_the_schema_the_code_describes(store):
    """Alembic's autogenerate compare finds nothing between the migrated database and schema.py."""
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    from bot.store.schema import metadata

    def differences(connection):
        context = MigrationContext.configure(connection, opts={"compare_type": False})
        return [diff for diff in compare_metadata(context, metadata) if diff[0] != "remove_table"]

    async with store.engine.connect() as conn:
        assert await conn.run_sync(differences) == []  # alembic's own version table is the only extra


# -- people --------------------------------------------------------------------------------------------------

async def test_upsert_people_adds_then_updates_by_email(store):
    assert await store.people.upsert(ROSTER, NOW) == (4, 0)
    assert await store.count("people") == 4
    changed = [RosterEntry(PHYSICIAN_EMAIL.upper(), "Dr. Jane Rivera-Smith", "Cardiology", "Interventional cardiologist"),
               RosterEntry(ONCOLOGIST_EMAIL, "Dr. Omar Haddad", "Oncology", "Medical Oncologist"),
               RosterEntry("New.Person@Riverside.example", "Dr. New Person", "Radiology", "Radiologist")]
    assert await store.people.upsert(changed, LATER) == (1, 2)
    jane = await store.people.by_email(PHYSICIAN_EMAIL)
    assert (jane.name, jane.specialty, jane.department, jane.role) == (
        "Dr. Jane Rivera-Smith", "Interventional cardiologist", "Cardiology", "physician")
    # A roster without a handle keeps the handle the physician registered.
    assert (await store.people.by_email(ONCOLOGIST_EMAIL)).x_handle == "OmarHaddadMD"
    new = await store.people.by_email("NEW.PERSON@riverside.example")
    assert new.email == "new.person@riverside.example"
    assert new.active is True and new.x_handle is None and new.timezone is None


async def test_person_fields(store, people):
    maria = people[ADMIN_EMAIL]
    assert (maria.role, maria.is_admin, maria.first_name) == ("admin", True, "Maria")
    jane = people[PHYSICIAN_EMAIL]
    assert (jane.role, jane.is_admin, jane.first_name) == ("physician", False, "Jane")
    assert (jane.follows_hospital_at, jane.snoozed_until, jane.stopped_at) == (None, None, None)
    assert await store.people.get(jane.id) == jane
    assert await store.people.get(9999) is None
    assert await store.people.by_email("nobody@riverside.example") is None


async def test_people_are_listed_by_department_then_name(store, people):
    everyone = await store.people.all()
    assert [p.email for p in everyone] == [PHYSICIAN_EMAIL, ADMIN_EMAIL, NEUROLOGIST_EMAIL, ONCOLOGIST_EMAIL]
    assert [p.email for p in await store.people.all(role="admin")] == [ADMIN_EMAIL]
    await store.people.deactivate(people[NEUROLOGIST_EMAIL].id, NOW)
    assert NEUROLOGIST_EMAIL not in [p.email for p in await store.people.all()]
    assert NEUROLOGIST_EMAIL in [p.email for p in await store.people.all(active_only=False)]


async def state_version(store, person_id):
    from sqlalchemy import select

    from bot.store.schema import people as people_table
    async with store.engine.connect() as conn:
        return (await conn.execute(select(people_table.c.state_version, people_table.c.updated_at)
                                   .where(people_table.c.id == person_id))).one()


async def test_reminder_preferences(store, people):
    jane = people[PHYSICIAN_EMAIL]
    snooze = datetime(2026, 3, 9, 14, 0, tzinfo=UTC)
    await store.preferences.snooze(jane.id, snooze, NOW)
    await store.preferences.set_timezone(jane.id, "America/Chicago", NOW)
    after = await store.people.get(jane.id)
    assert (after.snoozed_until, after.timezone, after.stopped_at) == (snooze, "America/Chicago", None)
    assert after.snoozed_until.tzinfo is UTC
    await store.preferences.stop(jane.id, LATER)
    assert (await store.people.get(jane.id)).stopped_at == LATER
    await store.preferences.start(jane.id, LATER)
    after = await store.people.get(jane.id)
    assert (after.stopped_at, after.snoozed_until) == (None, None)


async def test_settings_command_changes(store, people):
    jane = people[PHYSICIAN_EMAIL]
    await store.preferences.change(jane.id, {"quiet_start": "21:00", "quiet_end": "07:00"}, NOW)
    await store.preferences.change(jane.id, {"weekends_off": True, "lesson_time": "07:30"}, NOW)
    after = await store.people.get(jane.id)
    assert (after.quiet_start, after.quiet_end, after.weekends_off, after.lesson_time) == ("21:00", "07:00", True, "07:30")
    await store.preferences.change(jane.id, {"quiet_start": None, "quiet_end": None, "weekends_off": None}, NOW)
    after = await store.people.get(jane.id)
    assert (after.quiet_start, after.quiet_end, after.weekends_off, after.lesson_time) == (None, None, None, "07:30")
    with pytest.raises(ValueError, match=r"cannot change \['email', 'role'\]"):
        await store.preferences.change(jane.id, {"email": "x@y.z", "role": "admin"}, NOW)  # type: ignore[typeddict-unknown-key]


async def test_networks_are_stored_comma_separated_and_none_means_the_default(store, people):
    jane = people[PHYSICIAN_EMAIL]
    await store.preferences.set_networks(jane.id, ["x", "bluesky"], NOW)
    assert (await store.people.get(jane.id)).networks == "x,bluesky"
    await store.preferences.set_networks(jane.id, [], NOW)
    assert (await store.people.get(jane.id)).networks is None


async def test_profile_milestones_and_handle(store, people):
    jane = people[PHYSICIAN_EMAIL]
    await store.profile.set_follows_hospital(jane.id, True, NOW)
    await store.profile.set_video_posted(jane.id, True, NOW)
    await store.profile.set_followed_back(jane.id, LATER)
    await store.profile.set_x_handle(jane.id, "JaneRiveraMD", NOW)
    after = await store.people.get(jane.id)
    assert (after.follows_hospital_at, after.video_posted_at, after.followed_back_at, after.x_handle) == (
        NOW, NOW, LATER, "JaneRiveraMD")
    await store.profile.set_follows_hospital(jane.id, False, LATER)
    await store.profile.set_video_posted(jane.id, False, LATER)
    await store.profile.set_x_handle(jane.id, None, LATER)
    after = await store.people.get(jane.id)
    assert (after.follows_hospital_at, after.video_posted_at, after.followed_back_at, after.x_handle) == (
        None, None, LATER, None)


async def test_deactivated_people_are_left_out(store, people):
    lena = people[NEUROLOGIST_EMAIL]
    await store.people.deactivate(lena.id, LATER)
    assert (await store.people.get(lena.id)).active is False
    assert NEUROLOGIST_EMAIL not in [p.email for p in await store.people.all()]
    assert NEUROLOGIST_EMAIL not in [p.email for p in await store.people.managers([NEUROLOGIST_EMAIL])]


async def test_every_typed_change_plans_the_physician_again(store, people):
    """Each setter bumps the state version (the scheduler plans them at the next tick) and the update time."""
    jane = people[PHYSICIAN_EMAIL]
    changes = [
        lambda at: store.preferences.snooze(jane.id, LATER, at),
        lambda at: store.preferences.stop(jane.id, at),
        lambda at: store.preferences.start(jane.id, at),
        lambda at: store.preferences.set_timezone(jane.id, "Europe/Lisbon", at),
        lambda at: store.preferences.set_networks(jane.id, ["bluesky"], at),
        lambda at: store.preferences.change(jane.id, {"lesson_time": "06:00"}, at),
        lambda at: store.profile.set_follows_hospital(jane.id, True, at),
        lambda at: store.profile.set_followed_back(jane.id, at),
        lambda at: store.profile.set_video_posted(jane.id, True, at),
        lambda at: store.profile.set_x_handle(jane.id, "JaneR", at),
        lambda at: store.people.deactivate(jane.id, at),
    ]
    for minutes, change in enumerate(changes, start=1):
        before, _ = await state_version(store, jane.id)
        at = NOW + timedelta(minutes=minutes)
        await change(at)
        assert await state_version(store, jane.id) == (before + 1, at)


async def test_naive_datetimes_are_refused(store, people):
    with pytest.raises(StatementError, match="naive datetime given to the store"):
        await store.preferences.snooze(people[PHYSICIAN_EMAIL].id, datetime(2026, 3, 9, 9, 0), NOW)


async def test_instants_in_other_zones_are_stored_as_utc(store, people):
    from zoneinfo import ZoneInfo
    local = datetime(2026, 3, 9, 10, 0, tzinfo=ZoneInfo("America/New_York"))  # EDT
    await store.preferences.snooze(people[PHYSICIAN_EMAIL].id, local, NOW)
    stored = (await store.people.get(people[PHYSICIAN_EMAIL].id)).snoozed_until
    assert stored == datetime(2026, 3, 9, 14, 0, tzinfo=UTC)
    assert stored.tzinfo is UTC


async def test_identities(store, people):
    jane, omar = people[PHYSICIAN_EMAIL], people[ONCOLOGIST_EMAIL]
    assert await store.people.by_identity("slack", "U01JANE") is None
    await store.people.link_identity("slack", "U01JANE", jane.id, NOW)
    await store.people.link_identity("teams", "29:jane", jane.id, NOW)
    assert (await store.people.by_identity("slack", "U01JANE")).id == jane.id
    assert (await store.people.by_identity("teams", "29:jane")).id == jane.id
    assert await store.people.by_identity("teams", "U01JANE") is None
    # Re-linking the same platform account moves it.
    await store.people.link_identity("slack", "U01JANE", omar.id, LATER)
    assert (await store.people.by_identity("slack", "U01JANE")).id == omar.id
    assert await store.count("identities") == 2


# -- progress ------------------------------------------------------------------------------------------------

async def test_profile_items_and_lessons(store, people):
    pid = people[PHYSICIAN_EMAIL].id
    await store.profile.set_item(pid, "photo", True, NOW)
    await store.profile.set_item(pid, "bio", True, NOW)
    await store.profile.set_item(pid, "photo", True, NOW)  # twice: still once
    assert await store.profile.items_done(pid) == {"photo", "bio"}
    await store.profile.set_item(pid, "bio", False, NOW)
    await store.profile.set_item(pid, "link", False, NOW)  # never done: nothing happens
    assert await store.profile.items_done(pid) == {"photo"}

    assert await store.progress.mark_lesson_done(pid, "why-show-up", NOW) is True
    assert await store.progress.mark_lesson_done(pid, "why-show-up", LATER) is False
    assert await store.progress.lessons_done(pid) == {"why-show-up"}
    assert await store.progress.lessons_done(people[ONCOLOGIST_EMAIL].id) == frozenset()


async def test_reviews_round_trip(store, people):
    pid = people[PHYSICIAN_EMAIL].id
    assert await store.progress.reviews(pid) == {}
    missed = ReviewState("why-show-up", 1, 0, NOW + timedelta(days=12), False, False)
    await store.progress.save_review(pid, missed, NOW)
    assert await store.progress.reviews(pid) == {"why-show-up": missed}
    retired = ReviewState("why-show-up", 3, 2, None, True, True)
    await store.progress.save_review(pid, retired, LATER)
    other = ReviewState("handle-name-photo", 1, 1, NOW + timedelta(days=24), False, True)
    await store.progress.save_review(pid, other, LATER)
    assert await store.progress.reviews(pid) == {"why-show-up": retired, "handle-name-photo": other}
    assert await store.progress.reviews(people[ONCOLOGIST_EMAIL].id) == {}


# -- meetings -------------------------------------------------------------------------------------------------

async def test_meetings(store, people):
    added = await store.meetings.add(asco(), NOW)
    assert added.id > 0
    assert added == Meeting(added.id, *[getattr(asco(), f) for f in Meeting.__dataclass_fields__ if f != "id"])
    early = await store.meetings.add(asco("acc-2026", date(2026, 3, 5), date(2026, 3, 7)), NOW)
    assert await store.meetings.by_key("asco-2026") == added
    assert await store.meetings.by_key("nope") is None
    assert [m.key for m in await store.meetings.all()] == ["acc-2026", "asco-2026"]
    assert [m.key for m in await store.meetings.all(ending_on_or_after=date(2026, 3, 7))] == ["acc-2026", "asco-2026"]
    assert [m.key for m in await store.meetings.all(ending_on_or_after=date(2026, 3, 8))] == ["asco-2026"]

    pid = people[ONCOLOGIST_EMAIL].id
    assert await store.meetings.set_attending(pid, added.id, True, NOW) is True
    assert await store.meetings.set_attending(pid, added.id, True, NOW) is False
    assert await store.meetings.set_attending(pid, early.id, True, NOW) is True
    assert await store.meetings.attending(pid) == {added.id, early.id}
    assert await store.meetings.set_attending(pid, early.id, False, NOW) is True
    assert await store.meetings.set_attending(pid, early.id, False, NOW) is False
    assert await store.meetings.attending(pid) == {added.id}

    await store.meetings.set_camp_item(pid, added.id, "official-hashtag", True, NOW)
    await store.meetings.set_camp_item(pid, added.id, "recap-thread", True, NOW)
    await store.meetings.set_camp_item(pid, added.id, "recap-thread", False, NOW)
    assert await store.meetings.camp_done(pid, added.id) == {"official-hashtag"}
    assert await store.meetings.camp_done(pid, early.id) == frozenset()


# -- snapshots ---------------------------------------------------------------------------------------------------

async def test_snapshot(store, people):
    omar = people[ONCOLOGIST_EMAIL]
    meeting = await store.meetings.add(asco(), NOW)
    await store.profile.set_follows_hospital(omar.id, True, NOW)
    await store.profile.set_video_posted(omar.id, True, NOW)
    await store.profile.set_item(omar.id, "photo", True, NOW)
    await store.progress.mark_lesson_done(omar.id, "why-show-up", NOW)
    await store.meetings.set_attending(omar.id, meeting.id, True, NOW)
    await store.meetings.set_camp_item(omar.id, meeting.id, "official-hashtag", True, NOW)
    assert await store.readiness.snapshot(omar.id) == PersonSnapshot(
        person_id=omar.id, name="Dr. Omar Haddad", email=ONCOLOGIST_EMAIL, department="Oncology",
        x_handle="OmarHaddadMD", follows_hospital=True, followed_back=False, video_posted=True,
        profile_done=frozenset({"photo"}), lessons_done=frozenset({"why-show-up"}),
        enrollments=(Enrollment(meeting, frozenset({"official-hashtag"})),))
    assert await store.readiness.snapshot(9999) is None


async def test_attendee_snapshots_cover_active_physicians_registered(store, people):
    meeting = await store.meetings.add(asco(), NOW)
    for person in people.values():
        await store.meetings.set_attending(person.id, meeting.id, True, NOW)
    await store.people.deactivate(people[NEUROLOGIST_EMAIL].id, NOW)
    await store.progress.mark_lesson_done(people[PHYSICIAN_EMAIL].id, "why-show-up", NOW)
    await store.progress.mark_lesson_done(people[ONCOLOGIST_EMAIL].id, "official-hashtag", NOW)
    assert await store.readiness.attendee_snapshots(meeting.id + 1) == []
    snapshots = await store.readiness.attendee_snapshots(meeting.id)
    assert [(s.email, s.lessons_done) for s in snapshots] == [
        (PHYSICIAN_EMAIL, frozenset({"why-show-up"})), (ONCOLOGIST_EMAIL, frozenset({"official-hashtag"}))]


async def test_roster_counts_count_known_items_and_current_meetings(store, people):
    omar, jane = people[ONCOLOGIST_EMAIL], people[PHYSICIAN_EMAIL]
    await store.people.deactivate(people[NEUROLOGIST_EMAIL].id, NOW)
    current = await store.meetings.add(asco(), NOW)
    ended = await store.meetings.add(asco("old", date(2025, 6, 1), date(2025, 6, 3)), NOW)
    await store.profile.set_follows_hospital(omar.id, True, NOW)
    await store.profile.set_video_posted(omar.id, True, NOW)
    for item in ("photo", "bio", "retired-item"):
        await store.profile.set_item(omar.id, item, True, NOW)
    for lesson in ("why-show-up", "optional-lesson", "gone-lesson"):
        await store.progress.mark_lesson_done(omar.id, lesson, NOW)
    for meeting in (current, ended):
        await store.meetings.set_attending(omar.id, meeting.id, True, NOW)
        await store.meetings.set_camp_item(omar.id, meeting.id, "official-hashtag", True, NOW)
        await store.meetings.set_camp_item(omar.id, meeting.id, "gone-item", True, NOW)

    counts = await store.readiness.roster_counts(NOW.date(), {"why-show-up", "other-core"}, ["photo", "bio", "banner"],
                                       ["official-hashtag", "recap-thread"])
    assert [c.email for c in counts] == [jane.email, omar.email]  # by department, then name; inactive left out
    assert counts[0] == RosterCounts(jane.id, jane.name, jane.email, jane.department, jane.x_handle,
                                     follows_hospital=False, followed_back=False, video_posted=False,
                                     profile_done=0, core_done=0, enrollments=())
    assert counts[1] == RosterCounts(omar.id, omar.name, omar.email, omar.department, "OmarHaddadMD",
                                     follows_hospital=True, followed_back=False, video_posted=True,
                                     profile_done=2, core_done=1, enrollments=(CampCount(current, 1),))


async def test_planning_inputs_for_dense_and_sparse_pages(store, people):
    """A page of ids close together is read as a range, a spread-out one by id: the same answers."""
    roster = [RosterEntry(f"dr{i}@riverside.example", f"Dr. Extra {i}", "Cardiology") for i in range(6)]
    await store.people.upsert(roster, NOW)
    ids = sorted([p.id for p in await store.people.all(role="physician")])
    meeting = await store.meetings.add(asco(), NOW)
    for pid in ids:
        await store.progress.mark_lesson_done(pid, "why-show-up", NOW)
        await store.profile.set_item(pid, "photo", True, NOW)
        await store.people.link_identity("slack", f"U{pid}", pid, NOW)
    await store.progress.mark_lesson_done(ids[-1], "official-hashtag", NOW)
    await store.meetings.set_attending(ids[-1], meeting.id, True, NOW)
    await store.progress.save_review(ids[0], ReviewState("why-show-up", 1, 0, NOW - timedelta(hours=1)), NOW)
    await store.progress.save_review(ids[-1], ReviewState("why-show-up", 1, 1, NOW + timedelta(days=3)), NOW)

    dense = await store.planning.inputs(ids, NOW, ["photo", "bio"])
    sparse = await store.planning.inputs([ids[0], ids[-1]], NOW, ["photo", "bio"])
    for pid in (ids[0], ids[-1]):
        for name in ("profile_done", "lessons_done", "reviews_due", "next_review_at", "meetings", "addresses"):
            assert getattr(dense, name).get(pid) == getattr(sparse, name).get(pid), (name, pid)
    assert dense.profile_done[ids[0]] == 1
    assert dense.lessons_done[ids[-1]] == {"why-show-up", "official-hashtag"}
    assert dense.reviews_due[ids[0]] == [("why-show-up", 1)]
    assert dense.next_review_at == {ids[-1]: NOW + timedelta(days=3)}
    assert dense.meetings[ids[-1]] == [meeting] and ids[0] not in dense.meetings
    assert dense.addresses[ids[0]] == {"slack": f"U{ids[0]}"}


# -- events, settings, conversation references ---------------------------------------------------------------

async def test_claim_event_once(store):
    assert await store.events.claim("slack:Ev01", NOW) is True
    assert await store.events.claim("slack:Ev01", LATER) is False
    assert await store.events.claim("slack:Ev02", LATER) is True
    assert await store.events.forget_before(NOW + timedelta(hours=1)) == 1
    assert await store.events.claim("slack:Ev01", LATER) is True


async def test_settings(store):
    assert await store.settings.get("demo.clock_offset_seconds") is None
    await store.settings.set("demo.clock_offset_seconds", "86400.0")
    await store.settings.set("demo.clock_offset_seconds", "90000.0")
    assert await store.settings.get("demo.clock_offset_seconds") == "90000.0"


async def test_conversation_refs(store, people):
    pid = people[PHYSICIAN_EMAIL].id
    assert await store.conversations.ref("teams", "29:jane") is None
    before, _ = await state_version(store, pid)
    assert await store.conversations.save_ref("teams", "29:jane", '{"v": 1}', pid, NOW) is True
    assert (await state_version(store, pid))[0] == before + 1, "a new reference plans the physician again"
    assert await store.conversations.save_ref("teams", "29:jane", '{"v": 2}', pid, LATER) is True
    assert (await state_version(store, pid))[0] == before + 2
    assert await store.conversations.ref("teams", "29:jane") == '{"v": 2}'
    planned = await state_version(store, pid)
    assert await store.conversations.save_ref("teams", "29:jane", '{"v": 2}', pid, LATER + timedelta(hours=1)) is False
    assert await state_version(store, pid) == planned, "an unchanged reference is not written nor planned again"
    assert await store.conversations.save_ref("teams", "29:jane", '{"v": 2}', None, LATER) is True, "another person"
    assert await state_version(store, pid) == planned
    assert await store.conversations.delete_ref("teams", "29:jane") is True
    assert await store.conversations.delete_ref("teams", "29:jane") is False


# -- everything survives a restart ----------------------------------------------------------------------------

async def test_state_survives_closing_and_reopening_the_file(database_url, tmp_path):
    first = Store.open(database_url)
    await first.upgrade()
    await first.people.upsert(ROSTER, NOW)
    jane = await first.people.by_email(PHYSICIAN_EMAIL)
    snooze = datetime(2026, 3, 9, 14, 0, tzinfo=UTC)
    await first.profile.set_x_handle(jane.id, "JaneRiveraMD", NOW)
    await first.profile.set_follows_hospital(jane.id, True, NOW)
    await first.preferences.snooze(jane.id, snooze, NOW)
    await first.preferences.set_timezone(jane.id, "America/Chicago", NOW)
    await first.people.link_identity("slack", "U01JANE", jane.id, NOW)
    await first.profile.set_item(jane.id, "photo", True, NOW)
    await first.progress.mark_lesson_done(jane.id, "why-show-up", NOW)
    review = ReviewState("why-show-up", 1, 0, NOW + timedelta(days=12), False, False)
    await first.progress.save_review(jane.id, review, NOW)
    meeting = await first.meetings.add(asco(), NOW)
    await first.meetings.set_attending(jane.id, meeting.id, True, NOW)
    await first.meetings.set_camp_item(jane.id, meeting.id, "official-hashtag", True, NOW)
    await first.events.claim("slack:Ev01", NOW)
    await first.settings.set("demo.clock_offset_seconds", "3600.0")
    before = await first.readiness.snapshot(jane.id)
    await first.close()

    assert database_url.startswith("postgresql") or (tmp_path / "rounds.db").exists()
    second = Store.open(database_url)
    try:
        await second.check_migrated()
        again = await second.people.by_email(PHYSICIAN_EMAIL)
        assert again.id == jane.id
        assert (again.x_handle, again.follows_hospital_at, again.snoozed_until, again.timezone) == (
            "JaneRiveraMD", NOW, snooze, "America/Chicago")
        assert (await second.people.by_identity("slack", "U01JANE")).id == jane.id
        assert await second.profile.items_done(jane.id) == {"photo"}
        assert await second.progress.lessons_done(jane.id) == {"why-show-up"}
        assert await second.progress.reviews(jane.id) == {"why-show-up": review}
        assert await second.meetings.all() == [meeting]
        assert await second.meetings.attending(jane.id) == {meeting.id}
        assert await second.meetings.camp_done(jane.id, meeting.id) == {"official-hashtag"}
        assert await second.events.claim("slack:Ev01", LATER) is False
        assert await second.settings.get("demo.clock_offset_seconds") == "3600.0"
        assert await second.readiness.snapshot(jane.id) == before
        assert await second.count("people") == 4
    finally:
        await second.close()


def test_the_schema_a_server_checks_for_is_the_newest_migration() -> None:
    from bot.store.migrate import SCHEMA

    assert head_revision() == SCHEMA, "a new migration moves bot.store.migrate.SCHEMA too"
