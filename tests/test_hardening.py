"""What an attacker, a flaky network and a careless click could do: each now has an answer."""
from __future__ import annotations

import csv
import io
import logging
import re
import socket
import time
import urllib.error
import urllib.request
from pathlib import Path

import aiohttp
import pytest

from bot import csvsafe, logsafety
from bot.channels.charts import LINK_LIFETIME_SECONDS, _signature, chart_url
from bot.delivery.scheduler import Scheduler
from bot.messages import Image
from bot.roster import write_export
from bot.store import Store
from conftest import WORDS, RoundsServer, free_port, rounds_env, run_rounds
from fakes.slack_api import FakeSlackApi
from slack_fixtures import (
    JANE,
    SIGNING_SECRET,
    SLACK_ENV_KEYS,
    TEAMS_ENV_KEYS,
    SlackServer,
    seeded_runtime,
    slack_env,
    start_server,
)
from teams_fixtures import JANE as TEAMS_JANE, message

ROOT = Path(__file__).resolve().parents[1]


# -- CSV ----------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("cell", ["=HYPERLINK(\"https://evil.example\",\"x\")", "-2+3+cmd|' /C calc'!A0", "+1",
                                  "@SUM(A1)", "\tx", "\rx"])
def test_csv_cells_that_start_a_formula_are_text(cell: str) -> None:
    out = io.StringIO()
    write_export([{"name": cell, "email": "a@b.example", "score": 5}], out)
    [row] = list(csv.DictReader(io.StringIO(out.getvalue())))
    assert row["name"] == "'" + cell and row["score"] == "5"


def test_every_csv_the_product_writes_goes_through_csvsafe() -> None:
    writers = [str(p.relative_to(ROOT)) for p in (ROOT / "bot").rglob("*.py")
               if p.name != "csvsafe.py" and re.search(r"csv\.(writer|DictWriter)\(", p.read_text())]
    assert writers == []
    assert csvsafe.safe_cell(-3) == -3 and csvsafe.safe_cell("Dr. Ada") == "Dr. Ada"


def test_roster_export_neutralises_what_the_roster_brought(tmp_path: Path) -> None:
    env = rounds_env(DATABASE_URL=f"sqlite:///{tmp_path / 'r.db'}")
    assert run_rounds("db", "upgrade", cwd=tmp_path, env=env).returncode == 0
    (tmp_path / "roster.csv").write_text("name,email,department,specialty\n"
                                         "-2+3+cmd|' /C calc'!A0,evil@riverside.example,-Cardiology,-x\n")
    imported = run_rounds("roster", "import", "roster.csv", cwd=tmp_path, env=env)
    assert imported.returncode == 0, imported.stderr
    exported = run_rounds("roster", "export", cwd=tmp_path, env=env)
    assert exported.returncode == 0, exported.stderr
    [row] = list(csv.DictReader(io.StringIO(exported.stdout)))
    assert row["name"].startswith("'-2+3") and row["department"] == "'-Cardiology"
    assert not any(value.startswith(csvsafe.FORMULA_STARTS) for value in row.values())


# -- logging --------------------------------------------------------------------------------------------------
def test_library_records_below_warning_are_dropped_and_the_rest_bounded() -> None:
    keep = logsafety.NoBodies()
    record = logging.LogRecord("slack_bolt.RequestVerification", logging.INFO, __file__, 1,
                               "Invalid request signature detected (body: %s)", ("secret draft",), None)
    assert not keep.filter(record)
    ours = logging.LogRecord("bot.coach", logging.DEBUG, __file__, 1, "turn person=%s", (5,), None)
    assert keep.filter(ours)
    try:
        raise ValueError("a draft quoted in an error " + "x" * 500)
    except ValueError as exc:
        loud = logging.LogRecord("botbuilder.core", logging.ERROR, __file__, 1, "failed: %s " + "y" * 500,
                                 (exc,), (ValueError, exc, exc.__traceback__))
    assert keep.filter(loud)
    assert len(loud.getMessage()) <= logsafety.LIBRARY_MESSAGE_CHARS + 1
    assert loud.exc_info is None and loud.exc_text.endswith("\nValueError")  # frames and type, not the message
    access = logging.LogRecord("aiohttp.access", logging.INFO, __file__, 1, 'GET /?token=%s HTTP/1.1', ("abc",), None)
    assert keep.filter(access) and "abc" not in access.getMessage()


def test_a_bad_log_level_is_a_usage_error(tmp_path: Path) -> None:
    result = run_rounds("content", "check", cwd=tmp_path, env=rounds_env(ROUNDS_LOG_LEVEL="LOUD"))
    assert result.returncode == 2 and "ROUNDS_LOG_LEVEL must be one of DEBUG, INFO, WARNING, ERROR" in result.stderr


# -- the local chat in serve ------------------------------------------------------------------------------
def _get(url: str, headers: dict[str, str] | None = None) -> int:
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


def test_serve_webchat_needs_the_token_printed_at_start_up(tmp_path: Path) -> None:
    env = rounds_env(DATABASE_URL=f"sqlite:///{tmp_path / 'w.db'}")
    assert run_rounds("db", "upgrade", cwd=tmp_path, env=env).returncode == 0
    with RoundsServer("serve", "--webchat", cwd=tmp_path, env=env) as server:
        server.wait_healthy()
        output = server.output()
        token = re.search(r"\?token=([\w-]+)", output).group(1)
        assert "WARNING rounds: the local chat is on (--webchat)" in output
        assert _get(f"{server.url}/chat/api/personas") == 401
        assert _get(f"{server.url}/chat/api/personas", {"Authorization": "Bearer wrong"}) == 401
        assert _get(f"{server.url}/") == 401
        assert _get(f"{server.url}/chat/api/personas", {"Authorization": f"Bearer {token}"}) == 200
        opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor())
        with opener.open(f"{server.url}/?token={token}", timeout=10) as page:  # redirected to / with a cookie
            assert page.status == 200 and page.url == f"{server.url}/"
        with opener.open(f"{server.url}/chat/api/personas", timeout=10) as personas:
            assert personas.status == 200
        assert server.stop() == 0
    assert token not in server.output().split("token=", 1)[1].split("\n", 1)[1]


# -- database outage --------------------------------------------------------------------------------------
def _closed_port() -> int:
    return free_port()


def test_serve_names_the_database_when_it_is_unreachable(tmp_path: Path) -> None:
    port = _closed_port()
    env = rounds_env(DATABASE_URL=f"postgresql://postgres@127.0.0.1:{port}/rounds")
    result = run_rounds("serve", "--host", "127.0.0.1", "--port", str(free_port()), cwd=tmp_path, env=env)
    assert result.returncode == 1
    assert "rounds: cannot reach the database" in result.stderr and "cannot listen" not in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("broken", ["sqlite", "postgresql"])
async def test_readyz_says_database_unavailable_and_keeps_the_detail_in_the_log(
        tmp_path: Path, broken: str, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch) -> None:
    for key in SLACK_ENV_KEYS + TEAMS_ENV_KEYS:
        monkeypatch.delenv(key, raising=False)
    runtime = await seeded_runtime(tmp_path)
    await runtime.store.close()
    port = _closed_port()
    runtime.store = Store.open(f"sqlite:///{tmp_path}/missing/dir/x.db" if broken == "sqlite"
                               else f"postgresql://postgres@127.0.0.1:{port}/secretdb")
    runner, url = await start_server(runtime)
    try:
        async with aiohttp.ClientSession() as session, session.get(f"{url}/readyz") as response:
            assert response.status == 503
            assert await response.json() == {"status": "unavailable", "reason": "database unavailable"}
        assert any("database unavailable" in r.getMessage() for r in caplog.records)
    finally:
        await runner.cleanup()


@pytest.mark.parametrize("broken", ["sqlite", "postgresql"])
async def test_during_a_database_outage_slack_gets_its_ack_and_the_apology(
        tmp_path: Path, broken: str, slack_api: FakeSlackApi, monkeypatch: pytest.MonkeyPatch) -> None:
    slack_env(monkeypatch, slack_api)
    runtime = await seeded_runtime(tmp_path)
    await runtime.store.close()
    runtime.store = Store.open(f"sqlite:///{tmp_path}/missing/dir/x.db" if broken == "sqlite"
                               else f"postgresql://postgres@127.0.0.1:{_closed_port()}/rounds")
    runtime.coach.store = runtime.store
    runner, url = await start_server(runtime)
    try:
        async with aiohttp.ClientSession() as session:
            slack = SlackServer(url, runtime, slack_api, session)
            started = time.monotonic()
            status, _, _ = await slack.command(JANE, "status")
            assert status == 200 and time.monotonic() - started < 3
            [answer] = await slack_api.wait_for("response_url")
            assert "Sorry, something went wrong" in str(answer.args)
            status, _ = await slack.dm(JANE, "status")
            assert status == 200
            posted = await slack_api.wait_for("chat.postMessage")
            assert "Sorry, something went wrong" in str(posted[0].args)
    finally:
        await runner.cleanup()


# -- chart links ------------------------------------------------------------------------------------------
async def test_chart_links_expire_and_impossible_weeks_are_not_found(
        tmp_path: Path, slack_api: FakeSlackApi, monkeypatch: pytest.MonkeyPatch) -> None:
    slack_env(monkeypatch, slack_api)
    runtime = await seeded_runtime(tmp_path)
    from dataclasses import replace
    runtime.config = replace(runtime.config, public_url="https://rounds.example")
    runner, url = await start_server(runtime)

    def local(link: str) -> str:
        return url + link.removeprefix("https://rounds.example")

    try:
        async with aiohttp.ClientSession() as session:
            fresh = chart_url("https://rounds.example", SIGNING_SECRET, Image(b"", "a", "digest-2026-W20.png"))
            old = chart_url("https://rounds.example", SIGNING_SECRET, Image(b"", "a", "digest-2026-W20.png"),
                            now=time.time() - LINK_LIFETIME_SECONDS - 60)
            expires = str(int(time.time()) + 3600)
            w99 = f"/charts/digest-2026-W99.png?sig={_signature(SIGNING_SECRET, 'digest-2026-W99.png', expires)}" \
                  f"&exp={expires}"
            async with session.get(local(fresh)) as response:
                assert response.status == 200
            async with session.get(local(old)) as response:
                assert response.status == 410
            async with session.get(url + w99) as response:
                assert response.status == 404
            async with session.get(local(fresh).replace("&exp=", "&exp=9")) as response:
                assert response.status == 404
    finally:
        await runner.cleanup()
        await runtime.store.close()


# -- Teams: a black-holed service URL ---------------------------------------------------------------------
async def test_a_black_holed_service_url_does_not_hold_the_request(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for key in SLACK_ENV_KEYS + TEAMS_ENV_KEYS:
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("ROUNDS_TEAMS_ANONYMOUS", "1")
    hole = socket.socket()
    hole.bind(("127.0.0.1", 0))
    hole.listen(100)  # accepts connections, never answers
    runtime = await seeded_runtime(tmp_path)
    runner, url = await start_server(runtime)
    try:
        activity = message(f"http://127.0.0.1:{hole.getsockname()[1]}/", TEAMS_JANE, "help")
        started = time.monotonic()
        async with aiohttp.ClientSession() as session, session.post(f"{url}/api/messages", json=activity) as response:
            assert response.status == 200
        assert time.monotonic() - started < 20
    finally:
        await runner.cleanup()
        await runtime.store.close()
        hole.close()


# -- two instances with different platforms ---------------------------------------------------------------
async def test_instances_with_different_platforms_do_not_replan_everyone_each_tick(
        runtime, caplog: pytest.LogCaptureFixture) -> None:
    slack_only = Scheduler(runtime.store, runtime.content, runtime.config, ("slack",), runtime.coach)
    both = Scheduler(runtime.store, runtime.content, runtime.config, ("slack", "teams"), runtime.coach)
    now = runtime.clock.now()
    caplog.set_level(logging.INFO)
    for _ in range(5):
        await slack_only.tick(now)
        await both.tick(now)
    replans = [r for r in caplog.records if "planning all" in r.getMessage()]
    assert len(replans) == 2  # each platform set once
    changed = Scheduler(runtime.store, runtime.content, runtime.config, ("teams",), runtime.coach)
    await changed.tick(now)
    assert len([r for r in caplog.records if "planning all" in r.getMessage()]) == 3


# -- one X handle, one physician --------------------------------------------------------------------------
async def test_an_x_handle_belongs_to_one_physician_and_marketing_sees_the_refused_claim(
        chat, admin_chat, store, people) -> None:
    [refused] = await chat.say("profile @omarhaddadmd")  # Dr. Omar Haddad holds @OmarHaddadMD
    assert refused.kind == "error" and "already registered to another physician" in refused.text
    assert "Omar" not in refused.body  # who holds it is not the asker's business
    jane = await store.people.by_email("jane.rivera@riverside.example")
    assert jane.x_handle is None
    [worklist] = await admin_chat.say("followback")
    assert "Dr. Jane Rivera asked for **@omarhaddadmd**, which Dr. Omar Haddad holds" in worklist.body
    saved = await chat.say("profile @JaneRiveraMD")
    assert saved[0].kind != "error"
    [worklist] = await admin_chat.say("followback")
    assert "asked for" not in worklist.body


def test_a_roster_cannot_give_one_handle_to_two_physicians() -> None:
    from bot.core.roster_csv import parse_roster
    parse = parse_roster(b"name,email,department,specialty,x_handle\n"
                         b"Dr. A,a@h.example,Cardiology,Cardiologist,DrShared\n"
                         b"Dr. B,b@h.example,Cardiology,Cardiologist,drshared\n", "r.csv", WORDS)
    assert not parse.ok
    assert any("duplicate X handle @drshared: also on line 2" in p for p in parse.problems())
