"""Keeps the benchmark code from rotting: the synthetic roster, the digest and one scheduler tick
at 500 physicians, the load generator's Lua, and the results table. Never asserts on time."""
from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from bench import inproc, load, roster
from bench.report import NOTES_MARKER, write_results


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
