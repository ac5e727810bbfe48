"""Stories reach physicians through the outbox at their embargo lift: with a fixed clock across the lift,
nothing is visible, planned or sent one second before it, on both backends and with two instances
planning and sending at once; each targeted physician gets one suggestion, in their own allowed hours
and within the daily nudge cap; `stop` and `snooze` get nothing; "Not for me" is remembered.

The stories come in through ``rounds library import`` (a subprocess on the same database); the
physicians talk to the real coach; the platform is the fake Slack Web API on 127.0.0.1."""
from __future__ import annotations

import asyncio
import os
from collections import Counter
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest

from bot.app import Runtime, budget_for, slack_transport
from bot.config import Config
from bot.content import load_content
from bot.delivery.scheduler import Scheduler
from bot.delivery.sender import Sender
from bot.messages import Incoming
from bot.settings import Settings
from bot.store import RosterEntry, Store
from conftest import rounds_env, run_rounds
from fakes.slack_api import FakeSlackApi
from test_delivery import ADMIN, FAST, ROOT, WEDNESDAY_9AM, World

LIFT = WEDNESDAY_9AM + timedelta(hours=2)  # Wednesday 11:00 in New York
SECOND = timedelta(seconds=1)
CARDIOLOGISTS = ("dr0", "dr1", "dr2", "dr3")
STORY_FILE = """\
stories:
  - key: heart-clinic
    title: Riverside opens a heart failure clinic
    link: https://riverside.example/news/heart-clinic
    posts:
      x: "Our new heart failure clinic opens today. #HeartHealth"
      bluesky: Our new heart failure clinic opens today.
      linkedin: Proud of the team behind our new heart failure clinic.
    alt_text: The clinic's front desk
    audience:
      departments: [Cardiology]
    embargo_lifts: {lift}
    timezone: America/New_York
"""


class Twins:
    """Two instances on one database and one fixed clock, delivering to one fake Slack."""

    def __init__(self, first: World, second: World, api: FakeSlackApi, tmp_path: Path, database_url: str) -> None:
        self.first, self.second, self.api = first, second, api
        self.tmp_path, self.database_url = tmp_path, database_url

    @property
    def clock(self):
        return self.first.clock

    async def round(self) -> None:
        """Both instances plan and send at the same instant, at once."""
        now = self.clock.now()
        await asyncio.gather(self.first.scheduler.tick(now), self.second.scheduler.tick(now))
        await asyncio.gather(self.first.sender.drain_once(), self.second.sender.drain_once())

    def stories_sent(self) -> Counter:
        return Counter(key for key in self.first.sent_keys() if ":story:" in key)

    def import_stories(self, text: str) -> None:
        (self.tmp_path / "stories.yaml").write_text(text, encoding="utf-8")
        result = run_rounds("library", "import", "stories.yaml", cwd=self.tmp_path,
                            env=rounds_env(DATABASE_URL=self.database_url))
        assert result.returncode == 0, result.stderr

    async def say(self, who: str, text: str):
        return await self.first.runtime.coach.handle(Incoming("web", f"{who}@riverside.example", text=text))

    async def press(self, who: str, action: str):
        return await self.first.runtime.coach.handle(Incoming("web", f"{who}@riverside.example", action=action))


@pytest.fixture
async def twins(database_url: str, api: FakeSlackApi, monkeypatch: pytest.MonkeyPatch,
                tmp_path: Path) -> AsyncIterator[Twins]:
    built = await make_twins(database_url, api, monkeypatch, tmp_path, Config(admins=(ADMIN,), delivery=FAST,
                                                                              max_nudges_per_day=2))
    try:
        yield built
    finally:
        await built.first.runtime.store.close()
        await built.second.runtime.store.close()


async def make_twins(database_url: str, api: FakeSlackApi, monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                     config: Config) -> Twins:
    from bot.clock import FixedClock

    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-test")
    monkeypatch.setenv("SLACK_API_URL", api.api_url)
    clock = FixedClock(WEDNESDAY_9AM)
    content = load_content(ROOT / "prompts")
    worlds = []
    for _ in range(2):
        store = Store.open(database_url)
        await store.upgrade()
        worlds.append(World(Runtime.of(config, content, store, clock), api, 5))
    store = worlds[0].runtime.store
    roster = [RosterEntry(ADMIN, "Maria Lopez", "Marketing", "Marketing manager", "admin")]
    roster += [RosterEntry(f"{who}@riverside.example", f"Dr. {who}", "Cardiology", "Cardiologist")
               for who in CARDIOLOGISTS]
    roster.append(RosterEntry("dr4@riverside.example", "Dr. dr4", "Neurology", "Neurologist"))
    await store.people.upsert(roster, clock.now())
    for person in await store.people.all(role="physician"):
        await store.people.link_identity("slack", f"U{person.id:05d}", person.id, clock.now())
    api.add_user("UMARIA", ADMIN, "Maria Lopez")
    for world in worlds:  # each its own transport and sender, as two processes would have
        transport = slack_transport(Settings.from_env(os.environ), world.runtime)
        assert transport is not None
        world.transport = transport
        world.sender = Sender(world.runtime.store, world.runtime.coach, world.runtime.clock, {"slack": transport},
                              world.runtime.config.delivery, budget=budget_for(world.runtime.store))
        world.scheduler = Scheduler(world.runtime.store, world.runtime.content, world.runtime.config, ("slack",),
                                    world.runtime.coach)
    return Twins(worlds[0], worlds[1], api, tmp_path, database_url)


def ids(keys: Counter) -> set[int]:
    return {int(key.split(":")[0]) for key in keys}


async def story_rows(store: Store) -> int:
    return sum(1 for m in await store.outbox.list(["pending", "sending", "sent", "dead", "cancelled", "parked"])
               if m.kind == "story")


async def test_nothing_is_visible_planned_or_sent_one_second_before_the_lift_with_two_instances(twins: Twins):
    await twins.round()  # Wednesday 09:00: the day's first nudges go out
    twins.import_stories(STORY_FILE.format(lift="2026-03-04 11:00"))
    twins.clock.advance(LIFT - SECOND - twins.clock.now())
    await twins.round()
    assert twins.stories_sent() == Counter() and await story_rows(twins.first.runtime.store) == 0
    [listing] = await twins.say("dr0", "library")
    assert "No stories to share right now" in listing.text
    [shown] = await twins.say("dr0", "library heart-clinic")
    assert shown.kind == "error" and "heart-clinic" in shown.text
    [admin] = await twins.say("maria.lopez", "library")
    assert "embargoed: lifts in 0 d 0 h 1 min" in admin.body and "Wed 4 Mar 2026, 11:00 EST" in admin.body

    twins.clock.advance(SECOND)  # the lift
    await twins.round()
    sent = twins.stories_sent()
    people = {p.email.split("@")[0]: p.id for p in await twins.first.runtime.store.people.all(role="physician")}
    assert ids(sent) == {people[who] for who in CARDIOLOGISTS} and set(sent.values()) == {1}
    story_messages = [m for m in twins.first.posted()
                      if ":story:" in m["metadata"]["event_payload"]["dedup_key"]]
    assert all("story:shared:" in str(m["blocks"]) and "story:declined:" in str(m["blocks"]) for m in story_messages)
    assert all("Riverside opens a heart failure clinic" in str(m["blocks"]) for m in story_messages)
    [listing] = await twins.say("dr0", "library")
    assert "heart-clinic" in listing.body
    for _ in range(3):  # later rounds on both instances send nothing more
        twins.clock.advance(timedelta(minutes=10))
        await twins.round()
    assert twins.stories_sent() == sent
    state = await twins.first.runtime.store.library.state(1, people["dr0"])
    assert state.offered_at == LIFT


async def test_stopped_and_snoozed_physicians_get_no_story(twins: Twins):
    await twins.say("dr0", "snooze 1w")
    await twins.say("dr1", "stop")
    twins.import_stories(STORY_FILE.format(lift="2026-03-04 11:00"))
    twins.clock.advance(LIFT - twins.clock.now())
    for _ in range(3):
        await twins.round()
        twins.clock.advance(timedelta(days=1))
    people = {p.email.split("@")[0]: p.id for p in await twins.first.runtime.store.people.all(role="physician")}
    assert ids(twins.stories_sent()) == {people["dr2"], people["dr3"]}


async def test_not_for_me_is_remembered(twins: Twins):
    twins.import_stories(STORY_FILE.format(lift="2026-03-04 11:00"))
    twins.clock.advance(LIFT - twins.clock.now())
    await twins.round()
    [answer] = await twins.press("dr0", "story:declined:1")
    assert "won't suggest it again" in answer.text
    [listing] = await twins.say("dr0", "library")
    assert "No stories to share right now" in listing.text
    [shown] = await twins.say("dr0", "library heart-clinic")
    assert "not for you" in shown.body and not shown.buttons
    # Imported again (a fixed title), and days later: still not suggested to dr0, nor listed.
    twins.import_stories(STORY_FILE.format(lift="2026-03-04 11:00").replace("opens a", "opened a"))
    for _ in range(3):
        twins.clock.advance(timedelta(days=1))
        await twins.round()
    dr0 = (await twins.first.runtime.store.people.by_email("dr0@riverside.example")).id
    assert twins.stories_sent()[f"{dr0}:story:1:{int(LIFT.timestamp())}"] == 1
    assert (await twins.first.runtime.store.library.state(1, dr0)).declined_at is not None
    [listing] = await twins.say("dr0", "library")
    assert "No stories to share right now" in listing.text
    [thanks] = await twins.press("dr2", "story:shared:1")
    assert "Thank you for sharing" in thanks.text


async def test_a_story_is_a_nudge_under_the_daily_cap_and_waits_for_allowed_hours(
        database_url: str, api: FakeSlackApi, monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    twins = await make_twins(database_url, api, monkeypatch, tmp_path, Config(admins=(ADMIN,), delivery=FAST))
    try:
        await twins.round()  # Wednesday 09:00: each physician's one nudge of the day (the profile)
        twins.import_stories(STORY_FILE.format(lift="2026-03-04 11:00"))
        twins.clock.advance(LIFT - twins.clock.now())
        await twins.round()
        assert twins.stories_sent() == Counter()  # the cap of one a day is used
        twins.clock.advance(timedelta(hours=20, minutes=59, seconds=59))  # Thursday 07:59:59, quiet hours
        await twins.round()
        assert twins.stories_sent() == Counter()
        twins.clock.advance(SECOND)  # Thursday 08:00: quiet hours end; the story is the day's nudge
        await twins.round()
        assert len(twins.stories_sent()) == 4
        twins.clock.advance(timedelta(hours=1))
        await twins.round()  # Thursday's lesson waits for Friday: the story was today's nudge
        lessons = {key.split(":")[0] for key in twins.first.sent_keys() if ":lesson:2026-03-05" in key}
        neurologist = await twins.first.runtime.store.people.by_email("dr4@riverside.example")
        assert neurologist is not None and lessons == {str(neurologist.id)}  # no story for Neurology
    finally:
        await twins.first.runtime.store.close()
        await twins.second.runtime.store.close()


async def test_an_embargo_moved_later_after_planning_cancels_the_suggestion(twins: Twins):
    twins.import_stories(STORY_FILE.format(lift="2026-03-04 11:00"))
    twins.clock.advance(LIFT - twins.clock.now())
    now = twins.clock.now()
    await asyncio.gather(twins.first.scheduler.tick(now), twins.second.scheduler.tick(now))  # planned, not sent
    twins.import_stories(STORY_FILE.format(lift="2026-03-05 11:00"))  # a day later
    await asyncio.gather(twins.first.sender.drain_once(), twins.second.sender.drain_once())
    assert twins.stories_sent() == Counter()
    [listing] = await twins.say("dr0", "library")
    assert "No stories to share right now" in listing.text
    twins.clock.advance(timedelta(days=1) - SECOND)
    await twins.round()
    assert twins.stories_sent() == Counter()
    twins.clock.advance(SECOND)
    await twins.round()
    assert len(twins.stories_sent()) == 4 and set(twins.stories_sent().values()) == {1}
