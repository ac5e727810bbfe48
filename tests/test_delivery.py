"""Scheduler → outbox → sender against the fake Slack Web API and the fake Bot Connector:
exactly-once planning and sending, 429 and 5xx retries, dead letters, in-doubt messages, the digest."""
from __future__ import annotations

import asyncio
import os
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.app import Runtime, budget_for, slack_transport, teams_transport
from bot.clock import FixedClock
from bot.config import Config, DeliverySettings, QuietHours, RateLimit
from bot.content import load_content
from bot.core.reasons import said
from bot.delivery.scheduler import Pass, Scheduler
from bot.delivery.sender import Sender
from bot.delivery.transport import Envelope, Hold, SendResult
from bot.messages import Incoming
from bot.settings import Settings
from bot.store import RosterEntry, Store
from bot.store.outbox import NewMessage
from bot.store.schema import people
from fakes.bot_connector import FakeBotConnector
from fakes.slack_api import FakeSlackApi
from teams_fixtures import CHANNEL, JANE, MARIA, Server, channel_thread, message

ROOT = Path(__file__).resolve().parents[1]
WEDNESDAY_9AM = datetime(2026, 3, 4, 14, 0, tzinfo=UTC)  # 09:00 in New York; no lesson today
ADMIN = "maria.lopez@riverside.example"
FAST = DeliverySettings(slack=RateLimit(per_conversation_per_second=50, per_second=500),
                        teams=RateLimit(per_conversation_per_second=50, per_second=500), max_attempts=3)


class World:
    """A seeded store, the real coach, the fake Slack API and a scheduler and sender wired to it."""

    def __init__(self, runtime: Runtime, api: FakeSlackApi, physicians: int) -> None:
        self.runtime = runtime
        self.api = api
        self.physicians = physicians
        transport = slack_transport(Settings.from_env(os.environ), runtime)
        assert transport is not None
        self.transport = transport
        self.scheduler = Scheduler(runtime.store, runtime.content, runtime.config, ("slack",), runtime.coach)
        self.sender = Sender(runtime.store, runtime.coach, runtime.clock, {"slack": transport},
                             runtime.config.delivery, budget=budget_for(runtime.store))

    @property
    def clock(self) -> FixedClock:
        assert isinstance(self.runtime.clock, FixedClock)
        return self.runtime.clock

    async def round(self) -> int:
        await self.transport.sync_directory()  # users.list once a day (Maria's digest goes to her email)
        added = await self.scheduler.tick(self.clock.now())
        await self.sender.drain_once()
        return added

    def posted(self) -> list[dict]:
        """Messages that reached a conversation, with their deduplication keys."""
        return [m for messages in self.api.history.values() for m in messages]

    def sent_keys(self) -> Counter:
        """Deduplication keys of physicians' reminders that arrived, with how often each arrived."""
        keys = (m["metadata"]["event_payload"]["dedup_key"] for m in self.posted())
        return Counter(key for key in keys if not key.startswith("digest:"))


async def make_world(database_url: str, api: FakeSlackApi, monkeypatch: pytest.MonkeyPatch, *,
                     physicians: int = 5, config: Config | None = None) -> World:
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-test")
    monkeypatch.setenv("SLACK_API_URL", api.api_url)
    store = Store.open(database_url)
    await store.upgrade()
    clock = FixedClock(WEDNESDAY_9AM)
    roster = [RosterEntry(ADMIN, "Maria Lopez", "Marketing", "Marketing manager", "admin")]
    roster += [RosterEntry(f"dr{i}@riverside.example", f"Dr. Test {i:03d}", "Cardiology", "Cardiologist")
               for i in range(physicians)]
    await store.people.upsert(roster, clock.now())
    for person in await store.people.all(role="physician"):
        await store.people.link_identity("slack", f"U{person.id:05d}", person.id, clock.now())
    api.add_user("UMARIA", ADMIN, "Maria Lopez")  # found by users.lookupByEmail for her digest
    config = config or Config(admins=(ADMIN,), delivery=FAST)
    content = load_content(ROOT / "prompts")
    return World(Runtime.of(config, content, store, clock), api, physicians)


@pytest.fixture
async def world(database_url: str, api: FakeSlackApi, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[World]:
    built = await make_world(database_url, api, monkeypatch)
    try:
        yield built
    finally:
        await built.runtime.store.close()


async def test_each_reminder_is_planned_once_and_delivered_once(world: World) -> None:
    assert await world.round() == 6  # day 0 profile nudge for each physician, and this week's digest for Maria
    assert await world.round() == 0
    world.clock.advance(timedelta(hours=2))
    assert await world.round() == 0  # the daily cap of one nudge holds
    keys = world.sent_keys()
    assert len(keys) == 5 and set(keys.values()) == {1}
    assert all(key.endswith(":profile:0") for key in keys)
    first = world.posted()[0]
    assert "snooze" in first["text"] or any("snooze" in str(b) for b in first["blocks"])
    assert await world.runtime.store.outbox.counts() == {"sent": 6}


async def test_planning_runs_in_short_passes_that_together_plan_each_reminder_once(
        database_url: str, api: FakeSlackApi, monkeypatch: pytest.MonkeyPatch) -> None:
    """A pass takes no new page once its time is up (here at once: one page of 10 a pass); the passes
    after it go on where it stopped, and the digest waits for the week's snapshot, stored beside them."""
    world = await make_world(database_url, api, monkeypatch, physicians=25)
    try:
        rt = world.runtime
        snapshot_stored = asyncio.Event()
        scheduler = Scheduler(rt.store, rt.content, rt.config, ("slack",), rt.coach, page=10, pass_seconds=0.0,
                              ready=snapshot_stored.set)
        now = world.clock.now()
        passes = [await scheduler.plan_pass(now) for _ in range(4)]
        assert passes == [Pass(10, more=True), Pass(10, more=True), Pass(5, more=True), Pass(0, more=False)]
        assert not await rt.store.weekly.has_week("2026-W10")  # the digest is due; its snapshot is being stored
        await asyncio.wait_for(snapshot_stored.wait(), timeout=30)
        assert await rt.store.weekly.has_week("2026-W10")
        assert await scheduler.plan_pass(now) == Pass(1, more=False)  # the week's digest, for Maria
        assert await scheduler.plan_pass(now) == Pass(0, more=False)
        assert await scheduler.tick(now) == 0
        assert await rt.store.outbox.counts() == {"pending": 26}
        await world.sender.drain_once()
        assert len(world.sent_keys()) == 25 and set(world.sent_keys().values()) == {1}
        await scheduler.close()
    finally:
        await world.runtime.store.close()


async def test_a_tick_waits_for_the_weeks_snapshot_and_plans_the_digest_after_it(world: World) -> None:
    """``tick`` (the demo's clock, ``rounds`` commands) plans everything, the digest included, in one call."""
    assert await world.scheduler.tick(world.clock.now()) == 6
    assert await world.runtime.store.weekly.has_week("2026-W10")
    assert await world.scheduler.settle() is False  # nothing left running beside the passes


class WaitingForSome:
    """A platform whose ``waiting`` recipients must wait (Do Not Disturb, a lookup) until everyone else has
    had their message: the sender's window has to keep the platform busy meanwhile."""

    platform = "slack"

    def __init__(self, waiting: set[str], others: int) -> None:
        self.waiting = waiting
        self.others = others
        self.sent: list[str] = []
        self.everyone_else_sent = asyncio.Event()

    def pace_key(self, envelope: Envelope) -> str:
        return envelope.address

    async def prepare(self, envelope: Envelope, hold: Hold) -> Envelope:
        if envelope.address in self.waiting:
            await self.everyone_else_sent.wait()
        return envelope

    async def send(self, envelope: Envelope) -> SendResult:
        self.sent.append(envelope.address)
        if sum(1 for address in self.sent if address not in self.waiting) == self.others:
            self.everyone_else_sent.set()
        return SendResult("sent", message_id=f"ts-{len(self.sent)}")


async def test_messages_waiting_before_their_send_do_not_hold_back_the_others(
        database_url: str, api: FakeSlackApi, monkeypatch: pytest.MonkeyPatch) -> None:
    world = await make_world(database_url, api, monkeypatch, physicians=60)
    try:
        await world.scheduler.tick(world.clock.now())
        pending = (await world.runtime.store.outbox.counts())["pending"]
        waiting = {f"U{p.id:05d}" for p in await world.runtime.store.people.all(role="physician") if p.id % 2}
        transport = WaitingForSome(waiting, others=pending - len(waiting))
        sender = Sender(world.runtime.store, world.runtime.coach, world.runtime.clock, {"slack": transport},
                        FAST, budget=budget_for(world.runtime.store), batch=20)
        # A window of 20 with 30 recipients waiting would never reach the others if it refilled only
        # when half of it had gone out.
        await asyncio.wait_for(sender.drain_once(), timeout=60)
        assert len(transport.sent) == pending == len(set(transport.sent)) > 60
    finally:
        await world.runtime.store.close()


async def test_rate_limited_send_waits_for_retry_after_then_goes_once(world: World, api: FakeSlackApi) -> None:
    api.fail_next(1, status=429, retry_after="1", method="chat.postMessage")
    await world.round()
    [retrying] = await world.runtime.store.outbox.list(["pending"])
    assert retrying.attempts == 1 and retrying.last_error == "too_many_requests"
    assert retrying.next_attempt_at >= WEDNESDAY_9AM + timedelta(seconds=1)
    world.clock.advance(timedelta(seconds=30))
    await world.round()
    assert len(api.calls_to("chat.postMessage")) == 7  # six first tries (one throttled) and one retry
    assert set(world.sent_keys().values()) == {1} and len(world.sent_keys()) == 5


async def test_server_errors_back_off_then_park_the_message_as_dead(world: World, api: FakeSlackApi) -> None:
    api.fail_next(18, status=500, method="chat.postMessage")  # Slack is down: 6 messages × 3 attempts
    await world.round()
    [first] = [m for m in await world.runtime.store.outbox.list(["pending"]) if m.person_id != 1][:1]
    assert first.attempts == 1 and first.next_attempt_at >= WEDNESDAY_9AM + timedelta(seconds=1)
    for _ in range(2):
        world.clock.advance(timedelta(hours=1))
        await world.sender.drain_once()
    dead = await world.runtime.store.outbox.list(["dead"])
    assert len(dead) == 6 and {(m.attempts, m.last_error) for m in dead} == {(3, "slack_server_error:500")}
    assert len(api.calls_to("chat.postMessage")) == 18 and world.sent_keys() == Counter()

    report = (await world.runtime.coach.handle(Incoming("web", ADMIN, text="roster")))[0]
    assert "6 can't be reached" in report.text  # five physicians and the marketing manager
    assert report.table is not None and {row[1] for row in report.table.rows} == {"500 server error"}

    assert await world.runtime.store.outbox.requeue_dead(world.clock.now()) == 6
    await world.sender.drain_once()
    assert len(world.sent_keys()) == 5 and set(world.sent_keys().values()) == {1}
    report = (await world.runtime.coach.handle(Incoming("web", ADMIN, text="roster")))[0]
    assert "0 can't be reached" in report.text


async def test_a_final_slack_error_is_dead_at_once_with_the_reason(world: World, api: FakeSlackApi) -> None:
    api.channel_errors["U00002"] = "account_inactive"
    await world.round()
    [dead] = await world.runtime.store.outbox.list(["dead"])
    assert (dead.address, dead.attempts, dead.last_error) == ("U00002", 1, "account_inactive")
    assert len(api.calls_to("chat.postMessage")) == 6


async def test_a_message_in_doubt_after_a_crash_is_not_sent_twice(world: World, api: FakeSlackApi) -> None:
    """A sender claimed two messages, delivered one, then died before recording anything."""
    store = world.runtime.store
    await world.transport.sync_directory()
    await world.scheduler.tick(world.clock.now())
    lease = timedelta(seconds=world.runtime.config.delivery.lease_seconds)
    claimed = await store.outbox.claim(world.clock.now(), "instance-that-died", 2, lease)
    delivered, lost = claimed
    transport = world.sender.transports["slack"]
    reply = await world.runtime.coach.reminder(delivered.person_id, delivered.kind, delivered.spec)
    from bot.delivery.transport import Envelope
    assert (await transport.send(Envelope(delivered.id, "slack", delivered.address, reply,
                                          delivered.dedup_key))).status == "sent"

    await world.sender.drain_once()  # the other four; the two claimed ones are still leased
    assert len(world.sent_keys()) in (3, 4)  # the claimed two are the oldest: maybe the digest, maybe not
    world.clock.advance(lease + timedelta(seconds=1))
    await world.sender.drain_once()
    assert world.sent_keys()[delivered.dedup_key] == 1 and world.sent_keys()[lost.dedup_key] == 1
    assert len(world.sent_keys()) == 5
    assert await store.outbox.counts() == {"sent": 6}
    assert len(api.calls_to("conversations.history")) == 2


async def test_a_delivery_check_that_fails_waits_with_a_code_said_in_words(world: World, api: FakeSlackApi) -> None:
    """Whether a message in doubt arrived could not be learned: it waits, still in doubt, and its
    stored reason is a code the admins and ``rounds outbox`` read in words."""
    store = world.runtime.store
    await world.transport.sync_directory()
    await world.scheduler.tick(world.clock.now())
    lease = timedelta(seconds=world.runtime.config.delivery.lease_seconds)
    [lost] = await store.outbox.claim(world.clock.now(), "instance-that-died", 1, lease)
    world.clock.advance(lease + timedelta(seconds=1))
    api.fail_next(1, error="internal_error", method="conversations.history")
    await world.sender.drain_once()
    [waiting] = [m for m in await store.outbox.list(["pending"]) if m.id == lost.id]
    assert (waiting.last_error, waiting.in_doubt) == ("in_doubt:internal_error", True)
    assert said(waiting.last_error, world.runtime.content.words.say) == \
        "may have arrived; delivery check failed (internal_error); checking again"
    assert lost.dedup_key not in world.sent_keys()


async def test_snoozed_and_stopped_physicians_get_nothing(world: World) -> None:
    coach = world.runtime.coach
    await coach.handle(Incoming("web", "dr0@riverside.example", text="snooze 1w"))
    await coach.handle(Incoming("web", "dr1@riverside.example", text="stop"))
    await world.round()
    assert {k.split(":")[0] for k in world.sent_keys()} == {"4", "5", "6"}  # person ids of dr2..dr4


async def test_a_physicians_own_quiet_hours_and_lesson_time_are_honoured(world: World) -> None:
    coach = world.runtime.coach
    await coach.handle(Incoming("web", "dr0@riverside.example", text="settings quiet 08:00-12:00"))
    await coach.handle(Incoming("web", "dr1@riverside.example", text="settings lessons 10:30"))
    await world.round()  # Wednesday 09:00: dr0 is in quiet hours
    assert {k.split(":")[0] for k in world.sent_keys()} == {"3", "4", "5", "6"}
    world.clock.advance(timedelta(hours=3))
    await world.round()
    assert "2:profile:0" in world.sent_keys()
    # Thursday is a lesson day: dr1's lesson waits for 10:30, the others' come at 08:30
    world.clock.advance(timedelta(hours=21))  # Thursday 09:00
    await world.round()
    lessons = {k for k in world.sent_keys() if ":lesson:" in k}
    assert "3:lesson:2026-03-05" not in lessons and "4:lesson:2026-03-05" in lessons
    world.clock.advance(timedelta(hours=1, minutes=30))
    await world.round()
    assert "3:lesson:2026-03-05" in world.sent_keys()


async def test_a_reminder_no_longer_relevant_at_send_time_is_cancelled(world: World) -> None:
    await world.scheduler.tick(world.clock.now())
    coach = world.runtime.coach
    await coach.handle(Incoming("web", "dr0@riverside.example", text="profile @DrTest000"))
    for item in ("photo", "bio", "link", "pinned"):
        await coach.handle(Incoming("web", "dr0@riverside.example", action=f"profile:{item}"))
    await world.sender.drain_once()
    assert len(world.sent_keys()) == 4
    assert (await world.runtime.store.outbox.counts())["cancelled"] == 1
    await world.round()  # the cancelled nudge freed dr0's cap for the day: the follow nudge goes now
    assert "2:follow:0" in world.sent_keys()  # dr0 is person 2


async def plan_after(store: Store) -> dict[str, datetime | None]:
    """Each physician's next planning instant, by email (read straight from the table)."""
    async with store.engine.connect() as conn:
        rows = await conn.execute(select(people.c.email, people.c.plan_after).where(people.c.role == "physician"))
        return {email: at for email, at in rows}


async def test_a_tick_plans_only_physicians_who_are_due(world: World) -> None:
    store, coach = world.runtime.store, world.runtime.coach
    assert set((await plan_after(store)).values()) == {None}  # new physicians: plan at the next tick
    await world.round()
    thursday_8am = datetime(2026, 3, 5, 13, 0, tzinfo=UTC)  # quiet hours end in New York
    assert set((await plan_after(store)).values()) == {thursday_8am}
    assert len(await store.planning.due(world.clock.now(), 0, 100)) == 0

    # A change to what planning reads plans that physician (only) at the next tick.
    await coach.handle(Incoming("web", "dr2@riverside.example", text="profile @DrTest002"))
    due = await store.planning.due(world.clock.now(), 0, 100)
    assert [person.email for person in due] == ["dr2@riverside.example"]
    await world.round()
    assert (await plan_after(store))["dr2@riverside.example"] == thursday_8am
    assert len(world.sent_keys()) == 5  # the day's nudge was sent already

    world.clock.advance(thursday_8am - world.clock.now())
    assert await world.round() == 0  # the profile nudge of step 0 again: planned already
    assert set((await plan_after(store)).values()) == {datetime(2026, 3, 5, 13, 30, tzinfo=UTC)}
    world.clock.advance(timedelta(minutes=30))
    assert await world.round() == 5  # Thursday's lesson at 08:30
    assert sum(1 for key in world.sent_keys() if key.endswith(":lesson:2026-03-05")) == 5
    assert set((await plan_after(store)).values()) == {datetime(2026, 3, 6, 13, 0, tzinfo=UTC)}


async def test_a_change_during_planning_is_not_lost(world: World) -> None:
    """The scheduler read a physician, then they changed before it recorded when to plan them next."""
    store = world.runtime.store
    [person] = await store.planning.due(world.clock.now(), 0, 1)
    await store.profile.set_x_handle(person.id, "DrChanged", world.clock.now())  # mid-tick
    assert await store.planning.set_plan_after([(person.id, person.state_version, world.clock.now() + timedelta(days=1))]) == 0
    assert person.id in {p.id for p in await store.planning.due(world.clock.now(), 0, 100)}


async def test_new_settings_or_content_plan_everyone_again(database_url: str, api: FakeSlackApi,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    world = await make_world(database_url, api, monkeypatch)
    try:
        await world.round()
        store = world.runtime.store
        assert await store.planning.due(world.clock.now(), 0, 100) == []
        same = Scheduler(store, world.runtime.content, world.runtime.config, ("slack",), world.runtime.coach)
        await same.tick(world.clock.now())
        assert await store.planning.due(world.clock.now(), 0, 100) == []
        later_lessons = replace(world.runtime.config, lessons=replace(world.runtime.config.lessons, weekdays=(2,)))
        changed = Scheduler(store, world.runtime.content, later_lessons, ("slack",), world.runtime.coach)
        assert changed.policy != same.policy
        async with store.engine.connect() as conn:
            before = dict((await conn.execute(select(people.c.id, people.c.state_version))).all())
        await store.planning.replan_everyone()  # what the changed scheduler does first, seen from outside
        assert len(await store.planning.due(world.clock.now(), 0, 100)) == 5
        async with store.engine.connect() as conn:
            after = dict((await conn.execute(select(people.c.id, people.c.state_version))).all())
        assert all(after[pid] == before[pid] + 1 for pid in before if pid != 1)
        await changed.tick(world.clock.now())
        assert await store.planning.due(world.clock.now(), 0, 100) == []
    finally:
        await world.runtime.store.close()


async def test_weekly_digest_reaches_the_channel_and_managers_once_per_week(
        database_url: str, api: FakeSlackApi, monkeypatch: pytest.MonkeyPatch) -> None:
    config = Config(admins=(ADMIN,), delivery=FAST, slack_marketing_channel="CMARKETING",
                    quiet_hours=QuietHours(weekends=False))
    world = await make_world(database_url, api, monkeypatch, physicians=3, config=config)
    store = world.runtime.store
    admin = await store.people.by_email(ADMIN)
    await store.people.link_identity("slack", "UMARIA", admin.id, world.clock.now())
    try:
        world.clock.at = datetime(2026, 3, 9, 12, 59, tzinfo=UTC)  # Monday 08:59 EDT
        await world.round()
        assert "CMARKETING" not in api.history
        world.clock.advance(timedelta(minutes=2))
        await world.round()
        await world.round()
        [digest] = api.history["CMARKETING"]
        assert digest["metadata"]["event_payload"]["dedup_key"] == "digest:2026-W11:slack:CMARKETING"
        assert digest["text"].startswith("Weekly digest: 3 physicians")
        assert [m["metadata"]["event_payload"]["dedup_key"] for m in api.history["DMARIA"]] == [
            f"digest:2026-W11:person:{admin.id}"]

        # a restarted instance (new scheduler and sender) plans nothing new this week
        again = World(world.runtime, api, 3)
        assert await again.round() == 0
        world.clock.advance(timedelta(days=7))
        await again.round()
        assert len(api.history["CMARKETING"]) == 2
        weeks = await store.weekly.weeks(5)
        assert list(weeks) == ["2026-W11", "2026-W12"]
    finally:
        await store.close()


# -- Teams: the same sender through the fake Bot Connector ----------------------------------------------------

def teams_sender(server: Server) -> tuple[Scheduler, Sender]:
    runtime = server.runtime
    runtime.config = replace(runtime.config, delivery=FAST)
    transport = teams_transport(Settings.from_env(os.environ), runtime)
    assert transport is not None
    scheduler = Scheduler(runtime.store, runtime.content, runtime.config, ("teams",), runtime.coach)
    return scheduler, Sender(runtime.store, runtime.coach, runtime.clock, {"teams": transport}, FAST,
                             budget=budget_for(runtime.store))


async def test_teams_throttling_and_failures_through_the_sender(
        server: Server, connector: FakeBotConnector) -> None:
    await server.post(message(connector.url, JANE, "help"))  # stores Jane's conversation reference
    connector.clear()
    runtime = server.runtime
    _, sender = teams_sender(server)
    jane = await runtime.store.people.by_email("jane.rivera@riverside.example")
    now = runtime.clock.now()
    await runtime.store.outbox.add([NewMessage("jane:lesson:1", jane.id, "teams", JANE.aad_object_id, "lesson",
                                               {"lesson": "why-show-up"}, now)], now)
    connector.fail_next(1, 429, "2")
    await sender.drain_once()
    [waiting] = await runtime.store.outbox.list(["pending"])
    assert waiting.attempts == 1 and waiting.last_error == "too_many_requests"
    assert waiting.next_attempt_at >= now + timedelta(seconds=2)
    runtime.clock.advance(timedelta(minutes=1))
    await sender.drain_once()
    posts = [c for c in connector.calls if c.method == "POST"]
    assert len(posts) == 2 and (await runtime.store.outbox.counts()) == {"sent": 1}

    await runtime.store.outbox.add([NewMessage("jane:lesson:2", jane.id, "teams", JANE.aad_object_id, "lesson",
                                               {"lesson": "why-show-up"}, now)], runtime.clock.now())
    connector.fail_next(1, 403, None)
    await sender.drain_once()
    [dead] = await runtime.store.outbox.list(["dead"])
    assert dead.attempts == 1 and dead.last_error == "connector_blocked"  # a code; the roster says it in words
    assert said(dead.last_error, runtime.content.words.say) == "403 bot not installed or blocked by the user"


async def test_teams_digest_goes_to_the_marketing_channel_once(server: Server, connector: FakeBotConnector) -> None:
    await server.post(message(connector.url, MARIA, "<at>Social Rounds</at> help", where=channel_thread(),
                              mention=True))
    connector.clear()
    scheduler, sender = teams_sender(server)
    for _ in range(2):
        await scheduler.tick(server.runtime.clock.now())
        await sender.drain_once()
    to_channel = [c for c in connector.calls if c.method == "POST" and CHANNEL in c.path]
    assert len(to_channel) == 1
    assert to_channel[0].body["summary"].startswith("Weekly digest:")
