"""The X and Bluesky sync against fake X and Bluesky servers on 127.0.0.1: what it stores, how it
honours rate limits and failures (facts are never erased), and how a killed run resumes."""
from __future__ import annotations

import asyncio
import os
import signal
import sys
import time
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest

from bot.app import budget_for, presence_sync
from bot.config import Config, VerifySettings
from bot.core.presence import Profile
from bot.networks.sync import Busy
from bot.settings import NetworkSettings
from bot.store import RosterEntry, Store
from conftest import (
    ADMIN_EMAIL,
    NEUROLOGIST_EMAIL,
    NOW,
    ONCOLOGIST_EMAIL,
    PHYSICIAN_EMAIL,
    WORDS,
    rounds_env,
    run_rounds,
)
from fakes.networks import BskyActor, FakeBluesky, FakeX, XUser

HOSPITAL_X_ID = "1000"


@pytest.fixture
async def fake_x() -> AsyncIterator[FakeX]:
    fake = FakeX()
    fake.add(XUser(HOSPITAL_X_ID, "RiversideUH", "Riverside University Hospital"))
    await fake.start()
    try:
        yield fake
    finally:
        await fake.close()


@pytest.fixture
async def fake_bsky() -> AsyncIterator[FakeBluesky]:
    fake = FakeBluesky()
    await fake.start()
    try:
        yield fake
    finally:
        await fake.close()


@pytest.fixture
async def syncs() -> AsyncIterator[list]:
    """Syncs made by a test, closed after it."""
    made: list = []
    yield made
    for sync in made:
        await sync.close()


@pytest.fixture
def config() -> Config:
    return Config(admins=(ADMIN_EMAIL,), hospital_bluesky="riversideuh.bsky.social",
                  verify=VerifySettings(max_wait_seconds=5))


def _networks(fake_x: FakeX, fake_bsky: FakeBluesky, token: str = "test-bearer") -> NetworkSettings:
    return NetworkSettings(bluesky_url=fake_bsky.url, x_url=fake_x.url, x_token=token)


def _keep(syncs: list, sync):
    syncs.append(sync)
    return sync


async def _seed(store: Store, people, fake_x: FakeX, fake_bsky: FakeBluesky) -> dict[str, int]:
    """Jane: public X account with everything, follows the hospital (page 2 of its followers) and is
    followed back; Bluesky found, follows the hospital. Omar: protected X account with the default
    photo; Bluesky taken down. Lena: X suspended; Bluesky handle nobody has. Admin: X handle unknown."""
    ids = {email: person.id for email, person in people.items()}
    jane, omar, lena, admin = (ids[e] for e in (PHYSICIAN_EMAIL, ONCOLOGIST_EMAIL, NEUROLOGIST_EMAIL, ADMIN_EMAIL))
    for pid, handle in ((jane, "DrJaneRivera"), (lena, "LenaParkMD"), (admin, "NoSuchAccount")):
        assert await store.presence.claim(pid, "x", handle, NOW) is None
    for pid, handle in ((jane, "jane.bsky.social"), (omar, "omar.bsky.social"), (lena, "nobody.bsky.social")):
        assert await store.presence.claim(pid, "bluesky", handle, NOW) is None
    fake_x.add(XUser("11", "DrJaneRivera", "Interventional cardiologist at @RiversideUH", url="https://t.co/x",
                     pinned=True))
    fake_x.add(XUser("12", "OmarHaddadMD", "Oncology", photo=False, protected=True))
    fake_x.add(XUser("13", "LenaParkMD", suspended=True))
    fake_x.followers[HOSPITAL_X_ID] = [str(5000 + i) for i in range(1200)] + ["11"] + [str(9000 + i) for i in range(300)]
    fake_x.following[HOSPITAL_X_ID] = ["11", "77"]
    fake_bsky.add(BskyActor("did:plc:jane0000000000000000000", "jane.bsky.social", "Cardiology. www.rivera.example",
                            pinned=True, follows_hospital=True))
    fake_bsky.add(BskyActor("did:plc:omar0000000000000000000", "omar.bsky.social", taken_down=True))
    return dict(jane=jane, omar=omar, lena=lena, admin=admin)


async def test_sync_stores_what_both_networks_say(syncs, runtime, store, people, fake_x, fake_bsky):
    who = await _seed(store, people, fake_x, fake_bsky)
    seen = []
    sync = _keep(syncs, presence_sync(_networks(fake_x, fake_bsky), runtime, progress=lambda *a: seen.append(a)))
    runs = {r.network: r for r in await sync.run()}
    assert all(r.complete for r in runs.values()), runs
    facts = await store.presence.of()
    jane_x = facts[who["jane"]]["x"]
    assert (jane_x.profile, jane_x.account_id, jane_x.photo, jane_x.bio_names, jane_x.link, jane_x.pinned) == \
        (Profile.FOUND, "11", True, True, True, True)
    assert (jane_x.follows_hospital, jane_x.followed_back) == (True, True)
    assert jane_x.profile_verified_at == NOW == jane_x.follows_verified_at == jane_x.followed_back_verified_at
    omar_x = facts[who["omar"]]["x"]  # the roster's OmarHaddadMD
    assert (omar_x.profile, omar_x.photo, omar_x.bio_names, omar_x.follows_hospital, omar_x.followed_back) == \
        (Profile.PROTECTED, False, True, False, False)
    assert facts[who["lena"]]["x"].profile is Profile.SUSPENDED
    assert facts[who["admin"]]["x"].profile is Profile.NOT_FOUND
    jane_b = facts[who["jane"]]["bluesky"]
    assert (jane_b.profile, jane_b.account_id, jane_b.photo, jane_b.bio_names, jane_b.link, jane_b.pinned,
            jane_b.follows_hospital, jane_b.followed_back) == \
        (Profile.FOUND, "did:plc:jane0000000000000000000", True, True, True, True, True, False)
    assert facts[who["omar"]]["bluesky"].profile is Profile.SUSPENDED
    assert facts[who["lena"]]["bluesky"].profile is Profile.NOT_FOUND
    # the calls: one users/by for 4 usernames, one for the hospital, two pages of followers, one of following;
    # Bluesky: one getProfiles for 3, one getProfile for each left out (2), one getRelationships
    assert dict(fake_x.calls) == {"users/by": 2, "followers": 2, "following": 1}
    assert dict(fake_bsky.calls) == {"app.bsky.actor.getProfiles": 1, "app.bsky.actor.getProfile": 2,
                                     "app.bsky.graph.getRelationships": 1}
    assert runs["x"].calls == 5 and runs["bluesky"].calls == 4
    assert (runs["x"].found, runs["x"].not_found, runs["x"].follows_hospital, runs["x"].followed_back) == (2, 2, 1, 1)
    assert ("x", "profiles", 4, 4) in seen and ("bluesky", "follows", 3, 3) in seen
    assert await store.presence.cursor("x") is None and await store.presence.finished_at("x") == NOW


async def test_429_pauses_the_shared_budget_until_the_reset(syncs, runtime, store, people, fake_x, fake_bsky):
    await _seed(store, people, fake_x, fake_bsky)
    fake_x.fail_next("users/by", 429, count=1, reset_in=2)
    fake_bsky.limit("app.bsky.actor.getProfiles", 1, 60)  # the one call allowed says nothing remains
    budget = budget_for(store)
    sync = _keep(syncs, presence_sync(_networks(fake_x, fake_bsky), runtime, budget=budget))
    began = time.monotonic()
    runs = {r.network: r for r in await sync.run(["x"])}
    assert runs["x"].complete and time.monotonic() - began >= 1.0  # waited for X's reset, then went on
    assert fake_x.calls["users/by"] == 3  # the refused call, its retry, the hospital
    # Bluesky said ratelimit-remaining 0 with a reset a minute away: the next caller (on any instance)
    # waits, and longer than the sync may wait means stop and resume later
    runs = {r.network: r for r in await sync.run(["bluesky"])}
    assert not runs["bluesky"].complete and "rate limited on bluesky:appview" in runs["bluesky"].error
    assert await budget.paused_for("bluesky:appview") > 50


async def test_5xx_is_retried(syncs, runtime, store, people, fake_x, fake_bsky):
    who = await _seed(store, people, fake_x, fake_bsky)
    fake_bsky.fail_next("getProfiles", 503, count=2)
    runs = await _keep(syncs, presence_sync(_networks(fake_x, fake_bsky), runtime)).run(["bluesky"])
    assert runs[0].complete
    assert fake_bsky.calls["app.bsky.actor.getProfiles"] == 3
    assert (await store.presence.get(who["jane"]))["bluesky"].exists


async def test_a_failed_sync_erases_nothing_and_the_next_run_resumes(syncs, runtime, store, people, fake_x, fake_bsky, clock):
    who = await _seed(store, people, fake_x, fake_bsky)
    sync = _keep(syncs, presence_sync(_networks(fake_x, fake_bsky), runtime))
    assert all(r.complete for r in await sync.run())
    before = await store.presence.of()
    # a day later X is down for good and Bluesky answers 429 far beyond what the sync may wait
    clock.advance(timedelta(days=1))
    fake_x.fail_next("users/by", 503, count=100)
    fake_bsky.fail_next("getProfiles", 429, count=1, reset_in=3600)
    runs = {r.network: r for r in await sync.run()}
    assert not runs["x"].complete and not runs["bluesky"].complete
    after = await store.presence.of()
    for pid in before:
        for network, old in before[pid].items():
            new = after[pid][network]
            assert (new.profile, new.photo, new.bio_names, new.link, new.pinned, new.follows_hospital,
                    new.followed_back, new.profile_verified_at, new.follows_verified_at) == \
                (old.profile, old.photo, old.bio_names, old.link, old.pinned, old.follows_hospital,
                 old.followed_back, old.profile_verified_at, old.follows_verified_at)
    jane = after[who["jane"]]
    assert jane["x"].failed_at == clock.now() and "no answer" in jane["x"].failure
    assert jane["bluesky"].failed_at == clock.now() and "rate limited" in jane["bluesky"].failure
    assert (await store.presence.cursor("x"))["phase"] == "profiles"
    # stale, as the export and the checklist show it
    assert jane["x"].stale(clock.now() + timedelta(days=7), timedelta(days=7))
    # X is back: the next run resumes and brings the facts up to date
    fake_x._failures.clear()
    runs = {r.network: r for r in await sync.run(["x"])}
    assert runs["x"].complete and runs["x"].resumed
    jane_x = (await store.presence.get(who["jane"]))["x"]
    assert jane_x.failed_at is None and jane_x.profile_verified_at == clock.now()


async def test_a_follower_walk_cut_short_decides_nothing(syncs, runtime, store, people, fake_x, fake_bsky, clock):
    who = await _seed(store, people, fake_x, fake_bsky)
    sync = _keep(syncs, presence_sync(_networks(fake_x, fake_bsky), runtime))
    await sync.run(["x"])
    assert (await store.presence.get(who["jane"]))["x"].follows_hospital is True
    clock.advance(timedelta(days=1))
    fake_x.followers[HOSPITAL_X_ID].remove("11")  # Jane unfollowed; the walk breaks on page 2
    fake_x.fail_next("pagination_token", 503, count=100)
    runs = await sync.run(["x"])
    assert not runs[0].complete
    jane = (await store.presence.get(who["jane"]))["x"]
    assert jane.follows_hospital is True and jane.follows_verified_at == NOW  # as known, with when
    cursor = await store.presence.cursor("x")
    assert cursor["phase"] == "followers" and cursor["token"]
    fake_x._failures.clear()
    runs = await sync.run(["x"])
    assert runs[0].complete and runs[0].resumed
    jane = (await store.presence.get(who["jane"]))["x"]
    assert jane.follows_hospital is False and jane.follows_verified_at == clock.now()
    # first run: 2 pages; second: page 1, then page 2 failing 5 times; third: page 2 only (resumed)
    assert fake_x.calls["followers"] == 2 + 1 + 5 + 1


async def test_one_sync_at_a_time(syncs, runtime, store, people, fake_x, fake_bsky):
    await _seed(store, people, fake_x, fake_bsky)
    assert await store.presence.take_lease("verify", "otherhost:1:abc", NOW, 300)
    with pytest.raises(Busy):
        await _keep(syncs, presence_sync(_networks(fake_x, fake_bsky), runtime)).run()
    assert fake_x.total_calls == 0
    runs = await _keep(syncs, presence_sync(_networks(fake_x, fake_bsky), runtime)).run(dry_run=True)  # reads only
    assert all(r.complete for r in runs) and await store.presence.of() == {}


async def test_wrong_x_token_stops_x_only(syncs, runtime, store, people, fake_x, fake_bsky):
    await _seed(store, people, fake_x, fake_bsky)
    runs = {r.network: r for r in await _keep(syncs, presence_sync(_networks(fake_x, fake_bsky, token="wrong"), runtime)).run()}
    assert not runs["x"].complete and "401" in runs["x"].error
    assert runs["bluesky"].complete


# -- `rounds verify`, a real process ---------------------------------------------------------------------------

async def _roster_db(path: Path, physicians: int) -> Store:
    store = Store.open(f"sqlite:///{path}")
    await store.upgrade()
    entries = [RosterEntry(f"dr{i}@riverside.example", f"Dr. {i}", "Cardiology", "Cardiologist")
               for i in range(physicians)]
    await store.people.upsert(entries, NOW)
    for i, person in enumerate(await store.people.all()):
        await store.presence.claim(person.id, "bluesky", f"dr{i}.bsky.social", NOW)
    return store


def _config_file(tmp_path: Path) -> Path:
    path = tmp_path / "rounds.yaml"
    path.write_text("hospital:\n  name: Riverside University Hospital\n  x_handle: RiversideUH\n"
                    "  bluesky_handle: riversideuh.bsky.social\nverify:\n  max_wait_seconds: 5\n")
    return path


async def test_rounds_verify_killed_mid_sync_resumes(tmp_path, fake_bsky):
    physicians = 400
    db = tmp_path / "rounds.db"
    store = await _roster_db(db, physicians)
    for i in range(physicians):
        fake_bsky.add(BskyActor(f"did:plc:dr{i:021d}", f"dr{i}.bsky.social", "Cardiologist",
                                follows_hospital=i % 2 == 0, followed_back=i % 4 == 0))
    fake_bsky.delay = 0.05
    env = rounds_env(DATABASE_URL=f"sqlite:///{db}", BLUESKY_API_URL=fake_bsky.url)
    command = [sys.executable, "-m", "bot", "verify", "--network", "bluesky", "--config", str(_config_file(tmp_path))]
    process = await asyncio.create_subprocess_exec(*command, cwd=tmp_path, env=env, stdout=asyncio.subprocess.PIPE,
                                                   stderr=asyncio.subprocess.PIPE)
    deadline = time.monotonic() + 60
    while fake_bsky.calls["app.bsky.actor.getProfiles"] < 8 and time.monotonic() < deadline:
        await asyncio.sleep(0.02)
    os.kill(process.pid, signal.SIGKILL)
    await process.wait()
    assert process.returncode == -signal.SIGKILL
    cursor = await store.presence.cursor("bluesky")
    assert cursor is not None and cursor["phase"] == "profiles" and cursor["after"] > 0
    stored_before = len(await store.presence.of())
    assert 0 < stored_before < physicians
    first_calls = fake_bsky.calls["app.bsky.actor.getProfiles"]
    fake_bsky.delay = 0.0
    done = await asyncio.to_thread(run_rounds, "verify", "--network", "bluesky", "--config",
                                   str(_config_file(tmp_path)), cwd=tmp_path, env=env, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "resuming the run" in done.stderr and "bluesky profiles [" in done.stderr
    assert f"bluesky: {physicians - cursor['after']} asked" in done.stdout and "done" in done.stdout
    facts = await store.presence.of()
    assert len(facts) == physicians
    assert all(f["bluesky"].exists and f["bluesky"].bio_names for f in facts.values())
    follows = sorted(f["bluesky"].follows_hospital for f in facts.values())
    assert follows.count(True) == physicians // 2
    assert sum(f["bluesky"].followed_back for f in facts.values()) == physicians // 4
    # resumed, not restarted: only the physicians after the cursor are asked again
    assert fake_bsky.calls["app.bsky.actor.getProfiles"] - first_calls == -(-(physicians - cursor["after"]) // 25)
    assert await store.presence.cursor("bluesky") is None
    await store.close()


async def test_rounds_verify_exit_codes(tmp_path, fake_bsky):
    db = tmp_path / "rounds.db"
    store = await _roster_db(db, 3)
    await store.close()
    config = str(_config_file(tmp_path))
    env = rounds_env(DATABASE_URL=f"sqlite:///{db}", BLUESKY_API_URL=fake_bsky.url)
    env.pop("X_BEARER_TOKEN", None)
    no_token = await asyncio.to_thread(run_rounds, "verify", "--network", "x", "--config", config, cwd=tmp_path, env=env)
    assert no_token.returncode == 2 and "X_BEARER_TOKEN" in no_token.stderr
    bad = await asyncio.to_thread(run_rounds, "verify", "--network", "mastodon", "--config", config, cwd=tmp_path,
                                  env=env)
    assert bad.returncode == 2
    down = dict(env, BLUESKY_API_URL="http://127.0.0.1:9/xrpc/")
    failed = await asyncio.to_thread(run_rounds, "verify", "--config", config, cwd=tmp_path, env=down, timeout=120)
    assert failed.returncode == 1 and "incomplete" in failed.stdout
    assert "x: skipped" in failed.stderr
    dry = await asyncio.to_thread(run_rounds, "verify", "--dry-run", "--config", config, cwd=tmp_path, env=env)
    assert dry.returncode == 0 and "(dry run)" in dry.stdout and "3 asked, 0 found, 3 not found" in dry.stdout


# -- the roster: handles in, verified facts out -----------------------------------------------------------------

def test_roster_csv_carries_bluesky_and_linkedin():
    from bot.core.roster_csv import parse_roster

    data = (b"name,email,department,specialty,x_handle,bluesky_handle,linkedin_url\n"
            b"Dr. A,a@h.example,Cardiology,Cardiologist,@DocA,@DocA.bsky.social,linkedin.com/in/doc-a\n"
            b"Dr. B,b@h.example,Cardiology,Cardiologist,,did:plc:ewvi7nxzyoun6zhxrhs64oiz,\n"
            b"Dr. C,c@h.example,Cardiology,Cardiologist,,doca.bsky.social,https://example.com/doc\n"
            b"Dr. D,d@h.example,Cardiology,Cardiologist,,not a handle,\n")
    parse = parse_roster(data, "roster.csv", WORDS)
    assert parse.problems() == [
        "roster.csv:4: LinkedIn: “https://example.com/doc” is not a profile address like "
        "https://www.linkedin.com/in/jane-rivera",
        "roster.csv:4: duplicate Bluesky handle @doca.bsky.social: also on line 2",
        "roster.csv:5: Bluesky handle: “not a handle” is not a Bluesky handle; it is a domain name like "
        "jane.bsky.social.",
    ]
    good = parse_roster(b"Name,Email,Department,Bluesky,LinkedIn\nDr. A,a@h.example,Cardiology,"
                        b"https://bsky.app/profile/DocA.bsky.social,https://www.linkedin.com/in/doc-a/\n", "r.csv", WORDS)
    assert good.ok and not any("ignoring" in w for w in good.warnings)
    entry = good.entries[0]
    assert (entry.bluesky_handle, entry.linkedin_url) == ("doca.bsky.social", "https://www.linkedin.com/in/doc-a")


async def test_export_columns_say_verified_not_found_no_or_self_reported(syncs, runtime, store, people, fake_x,
                                                                         fake_bsky, coach):
    import csv
    import io

    from bot.core.roster_csv import EXPORT_COLUMNS
    from bot.roster import export_roster

    who = await _seed(store, people, fake_x, fake_bsky)
    await store.profile.set_follows_hospital(who["lena"], True, NOW)  # said, never verified: X suspended her
    await _keep(syncs, presence_sync(_networks(fake_x, fake_bsky), runtime)).run()
    out = io.StringIO(newline="")
    await export_roster(store, await coach.roster_rows(NOW.date()), out, WORDS)
    rows = {row["email"]: row for row in csv.DictReader(io.StringIO(out.getvalue(), newline=""))}
    assert tuple(next(iter(rows.values())).keys()) == EXPORT_COLUMNS
    stamp = "2026-03-02T14:00:00Z"

    def verified(email: str) -> dict[str, str]:
        return {k: v for k, v in rows[email].items() if k.startswith(("x_", "bluesky_")) and k != "x_handle"}

    assert verified(PHYSICIAN_EMAIL) == {
        "bluesky_handle": "jane.bsky.social",
        "x_profile": "verified", "x_follows_hospital": "verified", "x_followed_back": "verified",
        "x_verified_at": stamp, "bluesky_profile": "verified", "bluesky_follows_hospital": "verified",
        "bluesky_followed_back": "no", "bluesky_verified_at": stamp}
    assert verified(ONCOLOGIST_EMAIL) == {
        "bluesky_handle": "omar.bsky.social",
        "x_profile": "verified", "x_follows_hospital": "no", "x_followed_back": "no", "x_verified_at": stamp,
        "bluesky_profile": "not_found", "bluesky_follows_hospital": "no", "bluesky_followed_back": "no",
        "bluesky_verified_at": stamp}
    lena = verified(NEUROLOGIST_EMAIL)
    assert (lena["x_profile"], lena["x_follows_hospital"], lena["bluesky_profile"]) == ("not_found", "no", "not_found")
    # a new handle: its facts are gone until the next sync, and what is known is self-reported
    await store.presence.claim(who["jane"], "x", "JaneRiveraMD", NOW)
    out = io.StringIO(newline="")
    await export_roster(store, await coach.roster_rows(NOW.date()), out, WORDS)
    jane = next(r for r in csv.DictReader(io.StringIO(out.getvalue())) if r["email"] == PHYSICIAN_EMAIL)
    assert (jane["x_handle"], jane["x_profile"], jane["x_follows_hospital"], jane["x_verified_at"]) == \
        ("JaneRiveraMD", "self_reported", "", "")


# -- physicians: registering handles, a checklist that ticks itself ------------------------------------------------

async def test_physicians_register_bluesky_and_linkedin(chat, store, people):
    from conftest import Chat

    jane = people[PHYSICIAN_EMAIL]
    replies = await chat.say("profile bluesky @Jane.Bsky.Social")
    assert replies[0].kind == "profile" and "jane.bsky.social" in replies[0].text + replies[0].body
    assert (await store.people.get(jane.id)).bluesky_handle == "jane.bsky.social"
    await chat.say("profile https://www.linkedin.com/in/jane-rivera/")  # told apart by its shape
    assert (await store.people.get(jane.id)).linkedin_url == "https://www.linkedin.com/in/jane-rivera"
    await chat.say("profile rivera.bsky.social")  # changeable; a bare ….bsky.social handle is Bluesky's
    assert (await store.people.get(jane.id)).bluesky_handle == "rivera.bsky.social"
    await chat.say("profile @DrJaneRivera")  # a bare @name stays X's
    assert (await store.people.get(jane.id)).x_handle == "DrJaneRivera"
    bad = await chat.say("profile bluesky jane")
    assert bad[0].kind == "error" and "domain name" in bad[0].text + bad[0].body
    omar = Chat(chat.coach, ONCOLOGIST_EMAIL)
    taken = await omar.say("profile bluesky rivera.bsky.social")
    assert taken[0].kind == "error" and "belongs to one physician" in taken[0].body
    assert (await store.people.get(people[ONCOLOGIST_EMAIL].id)).bluesky_handle is None


async def test_the_checklist_ticks_itself_where_x_can_tell(syncs, chat, runtime, store, people, fake_x, fake_bsky,
                                                           clock):
    who = await _seed(store, people, fake_x, fake_bsky)
    fake_x.users["drjanerivera"].photo = False  # X shows the default picture
    await chat.say("profile done photo")  # Jane says she has one
    await _keep(syncs, presence_sync(_networks(fake_x, fake_bsky), runtime)).run()
    reply = (await chat.say("profile"))[0]
    items = {item.id: item for item in reply.checklist.items}
    assert items["bio"].done and "verified on X, 2 Mar" in items["bio"].label
    assert items["link"].done and items["pinned"].done
    assert items["photo"].done and "self-reported; X did not show it on 2 Mar" in items["photo"].label
    assert "the account exists and is public (verified 2 Mar)" in reply.body
    assert "you follow the hospital (verified 2 Mar)" in reply.body
    assert "@jane.bsky.social" in reply.body
    # a week and more later, without a sync since: shown as possibly out of date
    clock.advance(timedelta(days=8))
    reply = (await chat.say("profile"))[0]
    assert "may be out of date" in {i.id: i for i in reply.checklist.items}["bio"].label
    assert who["jane"]


async def test_bench_row_runs_at_a_small_roster(tmp_path, content):
    """``python -m bench --only verify`` at 300 physicians: complete, every fact stored, calls counted."""
    from bench import verify as bench_verify
    from bench.report import rows

    result = await bench_verify.measure(tmp_path, content, 300)
    assert result["complete"] and result["facts"] == 600
    assert result["calls"]["x:users/by"] == 3 + 1 and result["calls"]["bluesky:app.bsky.actor.getProfiles"] == 12
    assert result["baseline_seconds"] > 0
    assert rows({"verify": result})[-1][0].startswith("8. X and Bluesky sync of 300 physicians")
