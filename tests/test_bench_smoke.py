"""Keeps the benchmark code from rotting: the synthetic roster, the digest and one scheduler tick
at 500 physicians, the load generator's Lua and its round-robin over two instances, the bare
baselines (the echo bot keeping its client, bare Bolt answering), the n^k fit, and the results
tables. Never asserts on time."""
from __future__ import annotations

import asyncio
import json
import math
import shutil
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web

import bench.__main__ as bench_main
from bench import bare_bolt, bare_teams, inproc, load, roster, serve
from bench.fakes import FakeConnector, FakeSlack
from bench.report import (
    NOTES_MARKER,
    fit_power,
    growth_table,
    main as report_main,
    size_at,
    split_sections,
    table,
    write_results,
)


async def test_roster_digest_and_tick_at_500(tmp_path: Path) -> None:
    now = inproc.pinned_instant(datetime(2026, 5, 14, 12, 0, tzinfo=UTC))
    assert now.weekday() == 1 and now.hour == 14
    db = tmp_path / "roster.db"
    stats = await roster.create(db, inproc.content(), 500, now, teams_linked=50)
    assert stats.physicians == 500 and stats.rows > 500

    digest = await inproc.measure_digest(db, now, repeat=1)
    assert 450 <= digest["physicians"] <= 500, "about 1% of the roster is inactive"
    assert digest["departments"] == len(roster.DEPARTMENTS)
    assert digest["seconds"] > 0 and digest["baseline_seconds"] > 0 and digest["peak_mb"] > 0

    tick = await inproc.measure_tick(db, now)
    assert tick["planned"] > 400, "quiet hours are off: nearly everyone has something due"
    assert tick["planned_again"] == 0, "a second tick at the same instant plans nothing new"

    planned = await inproc.plan_outbox(db, now, keep_pending=100)
    assert planned["pending"] == 100


def test_identity_patterns_round_trip() -> None:
    assert roster.index_of_slack_user(roster.slack_user(1234)) == 1234
    assert roster.index_of_email(roster.email(42)) == 42
    assert roster.index_of_email("someone@else.example") is None


def test_lua_script_carries_signed_requests() -> None:
    requests = load.slack_commands("secret", range(3, 5), "http://127.0.0.1:1/response")
    script = load.lua_script("/slack/events", requests, limit=10)
    assert script.count("X-Slack-Signature") == 2 and "wrk.thread:stop()" in script
    body = requests[0].body
    stamp = requests[0].headers["X-Slack-Request-Timestamp"]
    assert requests[0].headers["X-Slack-Signature"] == load.slack_signature("secret", stamp, body)
    activity = json.loads(load.teams_messages("http://127.0.0.1:1/", range(7, 8))[0].body)
    assert activity["from"]["aadObjectId"] == roster.aad_id(7)


def test_results_table_keeps_the_notes(tmp_path: Path) -> None:
    results = {
        "quick": True, "size": 500, "started_at": "2026-05-12T14:00:00+00:00", "bench_seconds": 60,
        "pinned_instant": "2026-05-12T14:00:00+00:00",
        "machine": {"nproc": 2, "cpu": "test", "memory_gib": 1, "python": "3.11", "platform": "linux"},
        "digest": {"physicians": 500, "seconds": 0.1, "baseline_seconds": 0.01, "peak_increase_mb": 1,
                   "peak_mb": 90},
    }
    path = tmp_path / "RESULTS.md"
    path.write_text("old table\n" + NOTES_MARKER + "\nhand-written notes\n", encoding="utf-8")
    table = write_results(results, path)
    assert "| 3. Weekly digest for 500 physicians" in table and "**pass**" in table
    text = path.read_text(encoding="utf-8")
    assert "old table" not in text and text.endswith("hand-written notes\n")


def test_power_fit_recovers_the_exponent_and_the_size_at_a_goal() -> None:
    points = [(n, 2e-5 * n ** 1.2) for n in (5000, 50_000, 200_000)]
    k, c = fit_power(points)
    assert abs(k - 1.2) < 1e-9 and abs(c - 2e-5) < 1e-12
    assert abs(size_at(2e-5 * 80_000 ** 1.2, k, c) - 80_000) < 1e-3
    assert fit_power([(1000, 5.0), (8000, 5.0)])[0] == 0.0 and size_at(1.0, 0.0, 5.0) == math.inf
    with pytest.raises(ValueError):
        fit_power([(1000, 1.0)])
    with pytest.raises(ValueError):
        fit_power([(1000, 0.0), (2000, 0.0)])


def test_round_robin_spreads_threads_over_instances() -> None:
    assert load.round_robin(2, 2) == [0, 1]
    assert load.round_robin(4, 2) == [0, 1, 0, 1]
    assert load.round_robin(1, 1) == [0]
    with pytest.raises(ValueError):
        load.round_robin(1, 2)
    requests = load.teams_messages("http://127.0.0.1:1/", range(3, 7))
    script = load.lua_script("/api/messages", requests, urls=["http://127.0.0.1:8001", "http://127.0.0.1:8002"])
    assert '{ "127.0.0.1", "8001" }, { "127.0.0.1", "8002" }' in script and "thread.addr" in script
    assert "setup" not in load.lua_script("/api/messages", requests, urls=["http://127.0.0.1:8001"])


async def _counting_server(hits: Counter, name: str) -> tuple[web.AppRunner, str]:
    async def handle(request: web.Request) -> web.Response:
        await request.read()
        hits[name] += 1
        return web.Response(text="ok")

    app = web.Application()
    app.router.add_post("/api/messages", handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    return runner, f"http://127.0.0.1:{runner.addresses[0][1]}"


@pytest.mark.skipif(shutil.which("wrk") is None, reason="wrk is not installed")
async def test_one_wrk_loads_two_instances_round_robin(tmp_path: Path) -> None:
    hits: Counter = Counter()
    runners = [await _counting_server(hits, name) for name in ("a", "b")]
    try:
        result = await load.run_wrk([url for _, url in runners], "/api/messages",
                                    load.teams_messages("http://127.0.0.1:1/", range(3, 13)),
                                    seconds=1, connections=4, work_dir=tmp_path)
    finally:
        for runner, _ in runners:
            await runner.cleanup()
    assert result.errors == 0 and result.requests > 0
    assert hits["a"] > 0 and hits["b"] > 0, hits
    assert sum(hits.values()) >= result.requests
    with pytest.raises(ValueError):
        await load.run_wrk([url for _, url in runners], "/api/messages", [], seconds=1, connections=3,
                           work_dir=tmp_path)


async def _serve(app: web.Application) -> tuple[web.AppRunner, str]:
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    return runner, f"http://127.0.0.1:{runner.addresses[0][1]}"


async def test_echo_bot_keeping_its_client_builds_one_for_many_turns() -> None:
    connector = await FakeConnector().start()
    runner, url = await _serve(bare_teams.create_app(keep_client=True))
    try:
        async with aiohttp.ClientSession() as session:
            for request in load.teams_messages(connector.url, range(3, 6)):
                async with session.post(url + "/api/messages", data=request.body, headers=request.headers) as r:
                    assert r.status in (200, 201), await r.text()
    finally:
        await runner.cleanup()
        await connector.close()
    assert connector.calls["send"] == 3


async def test_keeping_authentication_hands_out_one_client() -> None:
    from botframework.connector.auth import ClaimsIdentity

    authentication = bare_teams.KeepingAuthentication()
    identity = ClaimsIdentity({}, True)
    first = await authentication.create_connector_factory(identity).create("http://127.0.0.1:1/", None)
    again = await authentication.create_connector_factory(identity).create("http://127.0.0.1:1/", None)
    other = await authentication.create_connector_factory(identity).create("http://127.0.0.1:2/", None)
    assert first is again and other is not first


async def test_bare_bolt_answers_through_response_url(monkeypatch: pytest.MonkeyPatch) -> None:
    slack = await FakeSlack().start()
    monkeypatch.setenv("SLACK_BOT_TOKEN", serve.BOT_TOKEN)
    monkeypatch.setenv("SLACK_SIGNING_SECRET", serve.SIGNING_SECRET)
    monkeypatch.setenv("SLACK_API_URL", slack.api_url)
    runner, url = await _serve(bare_bolt.create_app(answer=True))
    try:
        async with aiohttp.ClientSession() as session:
            for request in load.slack_commands(serve.SIGNING_SECRET, range(3, 5), slack.url + "/response"):
                async with session.post(url + "/slack/events", data=request.body, headers=request.headers) as r:
                    assert r.status == 200 and await r.text() == "ok"
        for _ in range(100):
            if slack.calls["response_url"] == 2:
                break
            await asyncio.sleep(0.05)
    finally:
        await runner.cleanup()
        await slack.close()
    assert slack.calls["response_url"] == 2


def test_backend_choice() -> None:
    assert bench_main.backends_of("both") == ("sqlite", "postgres")
    assert bench_main.backends_of("postgres") == ("postgres",)
    with pytest.raises(ValueError):
        bench_main.backends_of("mysql")


def _runs(rps: float, **extra: float) -> list[dict[str, float]]:
    return [dict(rps=rps, p50_ms=10.0, p99_ms=20.0, **extra)]


def _backend(instances: int, *, ack: float, answers: float, teams: float, peak: float) -> dict[str, Any]:
    return {"servers": {
        "instances": instances, "slack_product": _runs(ack, answers_per_s=answers), "slack_bare": _runs(1000.0),
        "slack_bare_answering": _runs(900.0, answers_per_s=400.0), "teams_product": _runs(teams),
        "teams_bare_kept": _runs(600.0), "teams_bare": _runs(150.0), "product_idle_rss_mb": 110.0,
        "product_peak_mb": peak, "bare_bolt_idle_rss_mb": 40.0, "bare_bolt_peak_mb": 45.0}}


def test_results_table_puts_both_backends_side_by_side() -> None:
    results = {
        "quick": True, "size": 500, "started_at": "2026-05-12T14:00:00+00:00", "bench_seconds": 60,
        "pinned_instant": "2026-05-12T14:00:00+00:00", "load_average": [(3.0, 2.0, 1.0), (4.0, 3.0, 2.0)],
        "machine": {"nproc": 2, "cpu": "test", "memory_gib": 1, "python": "3.11", "platform": "linux"},
        "by_backend": {"sqlite": _backend(1, ack=950.0, answers=250.0, teams=320.0, peak=140.0),
                       "postgres": _backend(2, ack=800.0, answers=150.0, teams=250.0, peak=160.0)},
    }
    lines = [line for line in table(results).splitlines() if line.startswith("| ")]
    acks = [line for line in lines if line.startswith("| 1. Slack")]
    assert len(acks) == 2 and "SQLite, 1 instance |" in acks[0] and "PostgreSQL, 2 instances |" in acks[1]
    assert "0.95 | ≥ 0.9 | **pass**" in acks[0] and "0.80 | ≥ 0.9 | **miss**" in acks[1]
    answered = [line for line in lines if line.startswith("| 1b.")]
    assert "0.62 | ≥ 0.5 | **pass**" in answered[0] and "0.38 | ≥ 0.5 | **miss**" in answered[1]
    teams = [line for line in lines if line.startswith("| 2. Teams")]
    assert "keeping its connector client" in teams[0] and "0.53 | ≥ 0.5 | **pass**" in teams[0]
    memory = [line for line in lines if line.startswith("| 6.")]
    assert "≤ 150 MB | **pass**" in memory[0] and "≤ 150 MB | **miss**" in memory[1]
    assert "load average (1/5/15 min) 3.0/2.0/1.0 → 4.0/3.0/2.0" in table(results)


def _growth_results() -> dict[str, Any]:
    sizes = {}
    for n in (5000, 50_000, 200_000):
        tick = dict(baseline_seconds=6e-6 * n, cold_seconds=2e-5 * n, cold_stall_seconds=0.03,
                    steady_seconds=0.01, recheck_seconds=1.5e-5 * n, recheck_stall_seconds=0.02, planned=n)
        sizes[str(n)] = dict(rows=18 * n, digest=dict(seconds=1e-5 * n, peak_increase_mb=n / 1000),
                             tick=tick, servers=dict(instances=2, slack_product=_runs(900.0, answers_per_s=200.0),
                                                     teams_product=_runs(300.0), product_idle_rss_mb=100 + n / 5000,
                                                     product_peak_mb=120 + n / 5000))
    return dict(sizes=sizes, instances=2, started_at="2026-05-12T14:00:00+00:00", load_average=[(1.0, 1.0, 1.0)])


def test_growth_table_fits_every_row_and_says_what_one_instance_holds(tmp_path: Path) -> None:
    text = growth_table(_growth_results())
    assert "**Partial:**" in growth_table(dict(_growth_results(), note="**Partial:** stopped at 50,000."))
    first_tick = next(line for line in text.splitlines() if line.startswith("| 4. tick, first of the day"))
    assert "n^1.00" in first_tick and "about 50,000 physicians" in first_tick
    steady = next(line for line in text.splitlines() if line.startswith("| 4b."))
    assert "n^0.00" in steady and "beyond 2,000,000" in steady

    path = tmp_path / "RESULTS.md"
    path.write_text("old table\n" + NOTES_MARKER + "\nhand-written notes\n", encoding="utf-8")
    base = {"quick": False, "size": 500, "started_at": "2026-05-12T14:00:00+00:00",
            "pinned_instant": "2026-05-12T14:00:00+00:00",
            "machine": {"nproc": 2, "cpu": "test", "memory_gib": 1, "python": "3.11", "platform": "linux"}}
    write_results(dict(base, growth=_growth_results()), path)
    text = path.read_text(encoding="utf-8")
    assert text.startswith("old table") and "## Growth on PostgreSQL" in text and text.endswith("hand-written notes\n")
    write_results(dict(base, digest={"physicians": 500, "seconds": 0.1, "baseline_seconds": 0.01,
                                     "peak_increase_mb": 1, "peak_mb": 90}), path)
    main, growth, notes = split_sections(path.read_text(encoding="utf-8"))
    assert "| 3. Weekly digest" in main and "old table" not in main
    assert "## Growth on PostgreSQL" in growth and notes == "\nhand-written notes\n"


def test_results_are_rewritten_from_raw_numbers(tmp_path: Path) -> None:
    path = tmp_path / "RESULTS.md"
    path.write_text("old table\n" + NOTES_MARKER + "\nnotes\n", encoding="utf-8")
    growth = tmp_path / "growth-partial.json"
    growth.write_text(json.dumps(_growth_results()), encoding="utf-8")
    assert report_main([str(growth), "--results", str(path)]) == 0
    main, section, notes = split_sections(path.read_text(encoding="utf-8"))
    assert main == "old table" and "| 4. tick, first of the day |" in section and notes == "\nnotes\n"
