"""Reach every Teams user: the app installed through Microsoft Graph (a local fake Graph and token
authority), the chat id read, a conversation reference stored; then a proactive message reaches
the physician through the fake Bot Connector. Who could not be reached, and why, shows in `roster`.
"""
from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime, time, timedelta
from pathlib import Path

import pytest

from bot.app import Runtime, budget_for, create_app, installer as make_installer, teams_installer, teams_transport
from bot.channels.teams.graph import (
    BLOCKED,
    NO_TEAMS_USER,
    GraphClient,
    GraphUnavailable,
)
from bot.channels.teams.install import CHAT_PENDING, LEASE, TeamsInstaller
from bot.config import DeliverySettings, load_config
from bot.delivery.scheduler import Scheduler
from bot.delivery.sender import Sender
from bot.settings import GraphSettings, Settings
from bot.store.teams_installs import FAILED, REMOVED
from conftest import ADMIN_EMAIL, NEUROLOGIST_EMAIL, ONCOLOGIST_EMAIL, PHYSICIAN_EMAIL, Chat, rounds_env
from fakes.bot_connector import FakeBotConnector
from fakes.graph import FakeGraph, GraphUser
from teams_fixtures import Server

TENANT = "tenant-1"
APP_ID = "6f1c2f0e-4a57-4a8e-9a43-0d1f3c2b7e11"
ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
async def graph() -> AsyncIterator[FakeGraph]:
    fake = FakeGraph(tenant=TENANT, client_id=APP_ID, external_id=APP_ID)
    await fake.start()
    try:
        yield fake
    finally:
        await fake.stop()


def settings_for(fake: FakeGraph, **extra: str) -> GraphSettings:
    return replace(GraphSettings.from_env({
        "MICROSOFT_APP_ID": APP_ID, "MICROSOFT_APP_PASSWORD": fake.client_secret, "MICROSOFT_APP_TENANT_ID": TENANT,
        "GRAPH_API_URL": fake.graph_url, "MICROSOFT_LOGIN_URL": fake.login_url}), **extra)


def user(fake: FakeGraph, email: str, **kwargs: bool) -> GraphUser:
    name = email.split("@")[0]
    return fake.add_user(GraphUser(id=f"AAD-{name}", upn=email, mail=email, **kwargs))


_clients: list[GraphClient] = []


@pytest.fixture(autouse=True)
async def close_clients() -> AsyncIterator[None]:
    yield
    while _clients:
        await _clients.pop().close()


def client_for(fake: FakeGraph, **kwargs) -> GraphClient:
    extra = {k: kwargs.pop(k) for k in list(kwargs) if k in GraphSettings.__dataclass_fields__}
    client = GraphClient(settings_for(fake, **extra), **kwargs)
    _clients.append(client)
    return client


def installer(runtime: Runtime, fake: FakeGraph, *, owner: str | None = None, **kwargs) -> TeamsInstaller:
    return make_installer(runtime, client_for(fake, **kwargs), owner=owner)


# -- end to end: installed through Graph, then a proactive message arrives ----------------------------------
FAST = DeliverySettings(max_attempts=3, tick_seconds=5)


async def test_graph_install_then_a_reminder_reaches_the_physician(
        server: Server, connector: FakeBotConnector, graph: FakeGraph) -> None:
    runtime = server.runtime
    runtime.config = replace(runtime.config, delivery=FAST)
    jane_user = user(graph, PHYSICIAN_EMAIL)
    user(graph, ADMIN_EMAIL)
    user(graph, ONCOLOGIST_EMAIL)
    jane = await runtime.store.people.by_email(PHYSICIAN_EMAIL)
    assert await runtime.store.conversations.addresses([jane.id]) == {}  # no conversation reference: not reachable in Teams

    summary = await installer(runtime, graph, service_url=connector.url).run()

    assert summary.installed == 3 and not summary.stopped and not summary.unreachable
    post = next(c for c in graph.posts() if jane_user.id in c.path)
    assert post.body == {"teamsApp@odata.bind": f"{graph.graph_url}appCatalogs/teamsApps/{graph.catalog_id}"}
    address = jane_user.id.lower()
    assert (await runtime.store.conversations.addresses([jane.id]))[jane.id] == {"teams": address}
    assert (await runtime.store.people.by_identity("teams", address)).id == jane.id

    # the scheduler plans Jane's first lesson to that address, the sender delivers it to the Graph chat
    transport = teams_transport(Settings.from_env(os.environ), runtime)
    assert transport is not None
    scheduler = Scheduler(runtime.store, runtime.content, runtime.config, ("teams",), runtime.coach)
    sender = Sender(runtime.store, runtime.coach, runtime.clock, {"teams": transport}, FAST,
                    budget=budget_for(runtime.store))
    connector.clear()
    assert await scheduler.tick(runtime.clock.now()) > 0
    await sender.drain_once()
    to_jane = [c for c in connector.sent() if c.conversation_id == graph.chat_id(jane_user.id)]
    assert to_jane, "the proactive message did not reach the chat Graph reported"
    assert to_jane[0].path == f"/v3/conversations/{graph.chat_id(jane_user.id)}/activities"
    assert to_jane[0].body["conversation"]["tenantID"] == TENANT  # botbuilder's spelling
    assert to_jane[0].body["from"]["id"] == f"28:{APP_ID}"
    await transport.close()

    # a second run finds nobody to install (everyone has a reference) and makes no Graph calls
    again = await installer(runtime, graph).run()
    assert again.checked == 0 and len(graph.posts()) == 3


async def test_already_installed_409_counts_as_reachable(runtime: Runtime, graph: FakeGraph) -> None:
    jane_user = user(graph, PHYSICIAN_EMAIL)
    graph.installed[jane_user.id] = "inst-existing"
    for email in (ADMIN_EMAIL, ONCOLOGIST_EMAIL, NEUROLOGIST_EMAIL):
        user(graph, email)
    summary = await installer(runtime, graph).run()
    assert summary.already == 1 and summary.installed == 3
    assert [c.status for c in graph.posts() if jane_user.id in c.path] == [409]
    jane = await runtime.store.people.by_email(PHYSICIAN_EMAIL)
    stored = await runtime.store.conversations.ref("teams", jane_user.id.lower())
    assert graph.chat_id(jane_user.id) in stored and (await runtime.store.conversations.addresses([jane.id]))[jane.id]


async def test_catalog_id_from_the_manifest_id_or_configured(runtime: Runtime, graph: FakeGraph) -> None:
    user(graph, PHYSICIAN_EMAIL)
    graph.deny("AppCatalog.Read.All")
    summary = await installer(runtime, graph).run()
    assert summary.stopped == "graph_permission_missing:AppCatalog.Read.All" and not graph.posts()
    summary = await installer(runtime, graph, catalog_app_id=graph.catalog_id).run()
    assert summary.installed == 1  # TEAMS_CATALOG_APP_ID needs no catalog permission
    summary = await installer(runtime, graph, catalog_app_id="not-in-catalog").run()  # nothing left to do
    graph.denied.clear()
    graph.external_id = "someone-else"
    summary = await installer(runtime, graph).run()
    assert "is not in the tenant's app catalog" in summary.stopped


# -- who cannot be reached, and why -------------------------------------------------------------------------
async def test_roster_says_why_each_physician_cannot_be_reached(runtime: Runtime, graph: FakeGraph,
                                                                  admin_chat: Chat) -> None:
    user(graph, ADMIN_EMAIL)
    user(graph, PHYSICIAN_EMAIL, blocked=True)
    user(graph, ONCOLOGIST_EMAIL, teams=False)  # in the directory, not enabled for Teams
    # Lena Park is not in the directory at all
    summary = await installer(runtime, graph).run()
    assert summary.installed == 1
    assert summary.unreachable == {BLOCKED: 1, NO_TEAMS_USER: 2}

    runtime.coach.teams_reach = True
    [reply] = await admin_chat.say("roster")
    rows = {row[0]: row[1] for row in reply.table.rows}
    assert rows["Dr. Jane Rivera"] == "Teams: blocked by policy (Teams app permission or setup policy)"
    assert rows["Dr. Omar Haddad"] == "Teams: no Teams user for this email"
    assert rows["Dr. Lena Park"] == "Teams: no Teams user for this email"
    assert "Maria Lopez" not in rows
    assert "1 reachable in Teams, 3 not" in reply.text
    assert "2 no Teams user for this email, 1 blocked by policy (Teams app permission or setup policy)" \
        in reply.body

    # failures that need a person are tried again only after the retry period
    posts = len(graph.posts())
    assert (await installer(runtime, graph).run()).checked == 0
    runtime.clock.advance(timedelta(hours=25))
    graph.users["AAD-jane.rivera"].blocked = False
    summary = await installer(runtime, graph).run()
    assert summary.installed == 1 and summary.checked == 3 and len(graph.posts()) == posts + 2


async def test_missing_install_permission_stops_the_run_and_shows_in_roster(
        runtime: Runtime, graph: FakeGraph, admin_chat: Chat) -> None:
    for email in (ADMIN_EMAIL, PHYSICIAN_EMAIL, ONCOLOGIST_EMAIL, NEUROLOGIST_EMAIL):
        user(graph, email)
    graph.deny("TeamsAppInstallation.ReadWriteSelfForUser.All")
    summary = await installer(runtime, graph).run()
    assert summary.stopped == "graph_permission_missing:TeamsAppInstallation.ReadWriteSelfForUser.All"  # a code
    assert len(graph.posts()) == 1  # one refusal is enough to know
    runtime.coach.teams_reach = True
    [reply] = await admin_chat.say("roster")  # said in the words of prompts/words.yaml
    reasons = sorted(row[1] for row in reply.table.rows)
    assert reasons == ["Teams: Graph permission missing: TeamsAppInstallation.ReadWriteSelfForUser.All"] + \
        ["Teams: Teams app not installed"] * 3

    graph.denied.clear()  # IT grants the permission: the next run installs for everyone, no waiting
    assert (await installer(runtime, graph).run()).installed == 4


async def test_missing_user_read_permission(runtime: Runtime, graph: FakeGraph) -> None:
    user(graph, PHYSICIAN_EMAIL)
    graph.deny("User.Read.All")
    summary = await installer(runtime, graph).run()
    assert summary.stopped == "graph_permission_missing:User.Read.All"


async def test_without_graph_credentials_roster_lists_who_has_not_installed(
        runtime: Runtime, admin_chat: Chat) -> None:
    assert teams_installer(GraphSettings.from_env({"MICROSOFT_APP_ID": APP_ID}), runtime) is None
    assert GraphSettings.from_env({"MICROSOFT_APP_ID": APP_ID}).missing() == \
        "MICROSOFT_APP_PASSWORD, MICROSOFT_APP_TENANT_ID"
    jane = await runtime.store.people.by_email(PHYSICIAN_EMAIL)
    await runtime.store.conversations.save_ref("teams", "aad-jane", "{}", jane.id, runtime.clock.now())
    runtime.coach.teams_reach = True
    [reply] = await admin_chat.say("roster")
    rows = {row[0]: row[1] for row in reply.table.rows}
    assert rows == {name: "Teams: Teams app not installed" for name in ("Maria Lopez", "Dr. Omar Haddad", "Dr. Lena Park")}
    assert "1 reachable in Teams, 3 not" in reply.text
    runtime.coach.teams_reach = False  # Teams not configured: the roster says nothing about it
    [reply] = await admin_chat.say("roster")
    assert reply.table is None and "Teams" not in reply.text


async def test_roster_says_stored_reason_codes_and_older_english_rows_as_they_were(
        runtime: Runtime, admin_chat: Chat) -> None:
    """A reason is stored as a code and said from prompts/words.yaml; a row an earlier version stored
    in English reads as it did, and counts with the code that replaced it; unknown text shows as is."""
    now = runtime.clock.now()
    jane, omar, lena = [await runtime.store.people.by_email(email)
                        for email in (PHYSICIAN_EMAIL, ONCOLOGIST_EMAIL, NEUROLOGIST_EMAIL)]
    await runtime.store.teams_installs.record(jane.id, FAILED, "no_teams_user", None, now)
    await runtime.store.teams_installs.record(omar.id, FAILED, "no Teams user for this email", None, now)
    await runtime.store.teams_installs.record(lena.id, FAILED, "409 from Graph (Conflict)", None, now)
    runtime.coach.teams_reach = True
    [reply] = await admin_chat.say("roster")
    rows = {row[0]: row[1] for row in reply.table.rows}
    assert rows == {jane.name: "Teams: no Teams user for this email", omar.name: "Teams: no Teams user for this email",
                    lena.name: "Teams: 409 from Graph (Conflict)", "Maria Lopez": "Teams: Teams app not installed"}
    assert "2 no Teams user for this email, 1 409 from Graph (Conflict), 1 Teams app not installed." in reply.body


async def test_a_physician_who_removed_the_app_is_not_reinstalled(runtime: Runtime, graph: FakeGraph) -> None:
    jane_user = user(graph, PHYSICIAN_EMAIL)
    await installer(runtime, graph).run()
    assert await runtime.store.conversations.delete_ref("teams", jane_user.id.lower())  # the uninstall event
    posts = len(graph.posts())
    assert (await installer(runtime, graph).run()).checked == 0 and len(graph.posts()) == posts
    reach = await runtime.store.teams_installs.reach()
    assert (await runtime.store.people.by_email(PHYSICIAN_EMAIL)).id in \
        {pid for pid, _, reason, _ in reach.unreached if reason == REMOVED}


# -- throttling, faults, timeouts -----------------------------------------------------------------------------
async def test_429_retry_after_and_5xx_are_honoured(runtime: Runtime, graph: FakeGraph) -> None:
    user(graph, PHYSICIAN_EMAIL)
    graph.fail_next(1, 429, "1", path_part="/installedApps")
    graph.fail_next(1, 503, path_part="/installedApps")
    summary = await installer(runtime, graph).run()
    assert summary.installed == 1 and not summary.stopped
    posts = graph.posts()
    assert [c.status for c in posts] == [429, 503, 201]
    assert posts[1].at - posts[0].at >= 0.95  # waited out Retry-After: 1
    assert posts[2].at - posts[1].at >= 0.4  # backed off after the 503


async def test_retry_after_pauses_every_caller_of_the_tenant_budget(runtime: Runtime, graph: FakeGraph) -> None:
    """Two clients (two instances on PostgreSQL, each with its own budget object over the shared table;
    on SQLite, one process's budget): a 429 to one pauses the other's Graph calls too."""
    user(graph, PHYSICIAN_EMAIL)
    store = runtime.store
    shared = budget_for(store)
    one = client_for(graph, budget=shared)
    two = client_for(graph, budget=budget_for(store) if store.engine.dialect.name == "postgresql" else shared)
    await one.find_user(PHYSICIAN_EMAIL), await two.find_user(PHYSICIAN_EMAIL)  # tokens taken
    graph.fail_next(1, 429, "1", path_part="/users")
    first = asyncio.create_task(one.find_user(PHYSICIAN_EMAIL))
    while not any(c.status == 429 for c in graph.calls):
        await asyncio.sleep(0.01)
    await asyncio.sleep(0.1)  # the 429 has paused the tenant's budget
    await two.find_user(PHYSICIAN_EMAIL)
    await first
    users = [c for c in graph.calls if c.path.startswith("/v1.0/users")][2:]
    throttled = next(c for c in users if c.status == 429)
    later = [c for c in users if c is not throttled]
    assert len(later) == 2 and all(c.at - throttled.at >= 0.9 for c in later)
    states = {state.key: state for state in await shared.state("graph:")}
    assert set(states) == {f"graph:{TENANT}"}


async def test_every_call_has_a_timeout(runtime: Runtime, graph: FakeGraph) -> None:
    user(graph, PHYSICIAN_EMAIL)
    graph.delay_next(1, 2.0, path_part="/installedApps")
    summary = await installer(runtime, graph, timeout=0.5).run()
    assert summary.installed == 1 or summary.already == 1  # the slow POST may have landed: then 409
    assert len(graph.posts()) == 2


async def test_graph_down_stops_the_run_without_blaming_the_physician(runtime: Runtime, graph: FakeGraph) -> None:
    user(graph, PHYSICIAN_EMAIL)
    graph.fail_next(20, 500, path_part="/users")
    client = client_for(graph, sleep=_no_wait)
    summary = await make_installer(runtime, client).run()
    assert summary.stopped.startswith("Graph unavailable after 5 attempts (500 from Graph)")
    assert summary.unreachable == {}
    with pytest.raises(GraphUnavailable):
        await client.find_user(PHYSICIAN_EMAIL)
    graph._failures.clear()
    assert (await make_installer(runtime, client).run()).installed == 1  # still due: picked up next run


async def _no_wait(_: float) -> None:
    await asyncio.sleep(0)


async def test_wrong_secret_stops_with_a_clear_message(runtime: Runtime, graph: FakeGraph) -> None:
    user(graph, PHYSICIAN_EMAIL)
    summary = await installer(runtime, graph, app_password="wrong").run()
    assert "refused the app's credentials (invalid_client)" in summary.stopped and not graph.posts()


# -- one instance at a time; a run that dies resumes ----------------------------------------------------------
async def test_one_installer_at_a_time_and_a_dead_one_is_taken_over(runtime: Runtime, graph: FakeGraph) -> None:
    for email in (ADMIN_EMAIL, PHYSICIAN_EMAIL, ONCOLOGIST_EMAIL, NEUROLOGIST_EMAIL):
        user(graph, email)
    installs = runtime.store.teams_installs
    now = runtime.clock.now()
    assert await installs.take_lease(LEASE, "instance-a", now, 300)  # A starts a run ... and is killed
    b = installer(runtime, graph, owner="instance-b")
    assert (await b.run()).skipped == "another instance is installing" and not graph.calls
    runtime.clock.advance(timedelta(seconds=301))  # A's lease runs out
    assert (await b.run()).installed == 4
    assert await installs.take_lease(LEASE, "instance-c", runtime.clock.now(), 300)  # B released it when done
    assert not await installs.take_lease(LEASE, "instance-d", runtime.clock.now(), 300)


async def test_a_run_that_stops_midway_resumes_without_repeating(runtime: Runtime, graph: FakeGraph) -> None:
    users = [user(graph, email) for email in (ADMIN_EMAIL, PHYSICIAN_EMAIL, ONCOLOGIST_EMAIL, NEUROLOGIST_EMAIL)]
    # Graph answers the chat lookup of the second person with 5xx until the run gives up: installed, no chat
    people = {p.email: p.id for p in await runtime.store.people.all(active_only=True)}
    order = sorted(users, key=lambda u: people[u.upn])
    client = client_for(graph, sleep=_no_wait)
    graph.fail_next(5, 502, path_part=f"/users/{order[1].id}/teamwork/installedApps/")
    first = await make_installer(runtime, client).run()
    assert first.installed == 1 and first.stopped
    second = await make_installer(runtime, client).run()
    assert second.installed == 2 and second.already == 1  # the interrupted one: 409, then its chat
    per_user = {u.id: [c.status for c in graph.posts() if u.id in c.path] for u in order}
    assert per_user == {order[0].id: [201], order[1].id: [201, 409], order[2].id: [201], order[3].id: [201]}
    assert len(await runtime.store.conversations.addresses(list(people.values()))) == 4


async def test_chat_not_reported_yet_is_tried_again_soon(runtime: Runtime, graph: FakeGraph) -> None:
    jane_user = user(graph, PHYSICIAN_EMAIL)
    graph.fail_next(1, 404, path_part=f"/users/{jane_user.id}/teamwork/installedApps/")
    summary = await installer(runtime, graph).run()
    assert summary.unreachable == {CHAT_PENDING: 1, NO_TEAMS_USER: 3}
    assert (await installer(runtime, graph).run()).checked == 0
    runtime.clock.advance(timedelta(minutes=11))
    assert (await installer(runtime, graph).run()).already == 1


# -- the command line ---------------------------------------------------------------------------------------
async def rounds(*args: str, env: dict[str, str], cwd: Path) -> tuple[int, str, str]:
    process = await asyncio.create_subprocess_exec(sys.executable, "-m", "bot", *args, cwd=cwd, env=env,
                                                   stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(process.communicate(), timeout=60)
    return process.returncode, out.decode(), err.decode()


async def test_cli_teams_install_dry_run_then_install(graph: FakeGraph, tmp_path: Path) -> None:
    roster = tmp_path / "roster.csv"
    roster.write_text("name,email,department,specialty\nDr. Jane Rivera,jane.rivera@riverside.example,Cardiology,"
                      "Cardiologist\nDr. Ghost,ghost@riverside.example,Neurology,Neurologist\n")
    user(graph, PHYSICIAN_EMAIL)
    env = rounds_env(DATABASE_URL=f"sqlite:///{tmp_path / 'r.db'}", PYTHONPATH=str(ROOT))
    assert (await rounds("db", "upgrade", env=env, cwd=tmp_path))[0] == 0
    assert (await rounds("roster", "import", str(roster), env=env, cwd=tmp_path))[0] == 0
    code, _, err = await rounds("teams", "install", env=env, cwd=tmp_path)
    assert code == 2 and "needs MICROSOFT_APP_ID, MICROSOFT_APP_PASSWORD, MICROSOFT_APP_TENANT_ID" in err
    env.update(MICROSOFT_APP_ID=APP_ID, MICROSOFT_APP_PASSWORD=graph.client_secret, MICROSOFT_APP_TENANT_ID=TENANT,
               GRAPH_API_URL=graph.graph_url, MICROSOFT_LOGIN_URL=graph.login_url)
    code, out, err = await rounds("teams", "install", "--dry-run", env=env, cwd=tmp_path)
    assert code == 0, err
    assert "would install for jane.rivera@riverside.example" in out and "1 no Teams user for this email" in out
    assert not graph.posts()
    code, out, err = await rounds("teams", "install", env=env, cwd=tmp_path)
    assert code == 0, err
    assert "1 installed" in out and "Dr. Ghost: no Teams user for this email" in out
    assert len(graph.posts()) == 1


def test_install_settings_in_the_config_file(tmp_path: Path) -> None:
    path = tmp_path / "rounds.yaml"
    path.write_text("delivery:\n  teams_install_minutes: 0\n  teams_install_retry_hours: 6\n")
    config = load_config(path)
    assert config.delivery.teams_install_minutes == 0 and config.delivery.teams_install_retry_hours == 6


# -- rounds serve runs it in the background -----------------------------------------------------------------
async def test_serve_installs_in_the_background_and_hands_back_the_lease(
        graph: FakeGraph, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from aiohttp import web

    from bot.clock import FixedClock
    from bot.config import Config, DigestSchedule
    from bot.content import load_content
    from bot.store import Store
    from conftest import ROSTER
    from teams_fixtures import clear_teams_env

    clear_teams_env(monkeypatch)
    for key, value in (("MICROSOFT_APP_ID", APP_ID), ("MICROSOFT_APP_PASSWORD", graph.client_secret),
                       ("MICROSOFT_APP_TYPE", "SingleTenant"), ("MICROSOFT_APP_TENANT_ID", TENANT),
                       ("GRAPH_API_URL", graph.graph_url), ("MICROSOFT_LOGIN_URL", graph.login_url)):
        monkeypatch.setenv(key, value)
    for entry in ROSTER:
        user(graph, entry.email)
    store = Store.open(f"sqlite:///{tmp_path / 'serve.db'}")
    await store.upgrade()
    clock = FixedClock(datetime(2026, 5, 12, 7, 0, tzinfo=UTC))  # 03:00 in New York: quiet hours
    await store.people.upsert(ROSTER, clock.now())
    config = Config(admins=(ADMIN_EMAIL,), digest=DigestSchedule(weekday=6, time=time(23, 0)))
    content = load_content(ROOT / "prompts")
    runtime = Runtime.of(config, content, store, clock)
    runner = web.AppRunner(create_app(Settings.from_env(os.environ), runtime, webchat=False, background=True))
    await runner.setup()
    try:
        assert runtime.coach.teams_reach
        for _ in range(100):
            if len(graph.posts()) == len(ROSTER) and len((await store.teams_installs.reach()).unreached) == 0:
                break
            await asyncio.sleep(0.1)
        assert [c.status for c in graph.posts()] == [201] * len(ROSTER)
    finally:
        await runner.shutdown()
        await runner.cleanup()
    reopened = Store.open(f"sqlite:///{tmp_path / 'serve.db'}")
    try:
        assert await reopened.teams_installs.take_lease(LEASE, "next-instance", clock.now(), 300)
    finally:
        await reopened.close()


async def test_a_run_killed_midway_is_resumed_by_the_next_instance(graph: FakeGraph, tmp_path: Path) -> None:
    """`rounds teams install` SIGKILLed while Graph handles its third installation: the next run (another
    instance, once the lease has run out) installs the rest, repeats nobody already done, loses nobody."""
    import signal

    from bot.clock import FixedClock
    from bot.config import Config

    emails = [f"doctor{n}@riverside.example" for n in range(1, 6)]
    roster = tmp_path / "roster.csv"
    roster.write_text("name,email,department,specialty\n" + "".join(
        f"Dr. {n},{email},Cardiology,Cardiologist\n" for n, email in enumerate(emails, 1)))
    users = [user(graph, email) for email in emails]
    database = f"sqlite:///{tmp_path / 'r.db'}"
    env = rounds_env(DATABASE_URL=database, PYTHONPATH=str(ROOT), MICROSOFT_APP_ID=APP_ID,
                     MICROSOFT_APP_PASSWORD=graph.client_secret, MICROSOFT_APP_TENANT_ID=TENANT,
                     GRAPH_API_URL=graph.graph_url, MICROSOFT_LOGIN_URL=graph.login_url)
    assert (await rounds("db", "upgrade", env=env, cwd=tmp_path))[0] == 0
    assert (await rounds("roster", "import", str(roster), env=env, cwd=tmp_path))[0] == 0
    graph.delay_next(1, 3.0, path_part=f"/users/{users[2].id}/teamwork/installedApps")
    process = await asyncio.create_subprocess_exec(sys.executable, "-m", "bot", "teams", "install", cwd=tmp_path,
                                                   env=env, stdout=asyncio.subprocess.DEVNULL,
                                                   stderr=asyncio.subprocess.DEVNULL)
    try:
        for _ in range(600):
            if any(users[2].id in c.path for c in graph.posts()):
                break
            await asyncio.sleep(0.05)
        else:
            pytest.fail("the installer never reached the third physician")
    finally:
        process.send_signal(signal.SIGKILL)
        await process.wait()
    assert process.returncode == -signal.SIGKILL
    done_before = {u.id for u in users if any(u.id in c.path and c.status == 201 for c in graph.posts())}
    assert done_before == {users[0].id, users[1].id}

    killed_at = datetime.now(UTC)
    for offset, expect_skip in ((timedelta(seconds=10), True), (timedelta(seconds=310), False)):
        runtime = Runtime.build(Config(), database, clock=FixedClock(killed_at + offset))
        try:
            summary = await installer(runtime, graph).run()
            if expect_skip:  # the dead instance's lease still holds
                assert summary.skipped == "another instance is installing"
                continue
            assert summary.installed + summary.already == 3 and not summary.stopped
            people = await runtime.store.people.all(active_only=True)
            assert len(await runtime.store.conversations.addresses([p.id for p in people])) == len(emails)
        finally:
            await runtime.store.close()
    created = {u.id: sum(1 for c in graph.posts() if u.id in c.path and c.status == 201) for u in users}
    assert created == {u.id: 1 for u in users}  # nobody installed twice
    assert all(sum(1 for c in graph.posts() if u.id in c.path) == 1 for u in (users[0], users[1], users[3], users[4]))
