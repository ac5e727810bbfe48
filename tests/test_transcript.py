"""`rounds transcript export`: the CSV a CME office asks for, on both backends and through the CLI."""
from __future__ import annotations

import csv
import io
import os
import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path

from bot.csvsafe import safe_cell as csv_cell
from bot.store import RosterEntry, Store
from bot.transcript import TRANSCRIPT_COLUMNS, write_transcripts
from conftest import NOW, ONCOLOGIST_EMAIL, PHYSICIAN_EMAIL

ROOT = Path(__file__).parents[1]


async def test_every_completed_lesson_is_a_row_with_utc_time_and_reading_minutes(store, content, people):
    jane, omar = people[PHYSICIAN_EMAIL].id, people[ONCOLOGIST_EMAIL].id
    await store.progress.mark_lesson_done(jane, "why-show-up", NOW)
    await store.progress.mark_lesson_done(jane, "twelve-word-rule", NOW + timedelta(days=2))
    await store.progress.mark_lesson_done(omar, "the-18-identifiers", NOW + timedelta(days=1))
    out = io.StringIO(newline="")
    assert await write_transcripts(store, content, out) == 3
    rows = list(csv.DictReader(io.StringIO(out.getvalue())))
    assert tuple(rows[0]) == TRANSCRIPT_COLUMNS
    assert [(r["email"], r["lesson_id"], r["completed_at_utc"]) for r in rows] == [
        (PHYSICIAN_EMAIL, "why-show-up", "2026-03-02T14:00:00Z"),
        (PHYSICIAN_EMAIL, "twelve-word-rule", "2026-03-04T14:00:00Z"),
        (ONCOLOGIST_EMAIL, "the-18-identifiers", "2026-03-03T14:00:00Z"),
    ]  # by email, then date
    by_lesson = {r["lesson_id"]: r for r in rows}
    why = content.curriculum.lesson("why-show-up")
    assert by_lesson["why-show-up"]["lesson_title"] == why.title
    assert by_lesson["why-show-up"]["track"] == "Getting started and your profile"
    assert by_lesson["why-show-up"]["reading_minutes"] == str(why.minutes)
    since = io.StringIO(newline="")
    assert await write_transcripts(store, content, since, date(2026, 3, 3)) == 2


async def test_spreadsheet_formulas_in_names_are_neutralised(store, content, people):
    await store.people.upsert([RosterEntry("evil@riverside.example", "=HYPERLINK(\"http://x\")", "+Cardiology")], NOW)
    evil = await store.people.by_email("evil@riverside.example")
    await store.progress.mark_lesson_done(evil.id, "why-show-up", NOW)
    out = io.StringIO(newline="")
    await write_transcripts(store, content, out)
    row = next(r for r in csv.DictReader(io.StringIO(out.getvalue())) if r["email"] == "evil@riverside.example")
    assert row["name"] == "'=HYPERLINK(\"http://x\")" and row["department"] == "'+Cardiology"
    assert csv_cell("-1") == "'-1" and csv_cell("Dr. Lee") == "Dr. Lee" and csv_cell(3) == 3


def rounds(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "bot", *args], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=120)


async def test_cli_transcript_export(tmp_path: Path):
    env = dict(os.environ, DATABASE_URL=f"sqlite:///{tmp_path}/x.db")
    env.pop("ROUNDS_CONFIG", None)
    assert rounds("db", "upgrade", env=env).returncode == 0
    store = Store.open(env["DATABASE_URL"])
    try:
        await store.people.upsert([RosterEntry(PHYSICIAN_EMAIL, "Dr. Jane Rivera", "Cardiology")], NOW)
        jane = await store.people.by_email(PHYSICIAN_EMAIL)
        await store.progress.mark_lesson_done(jane.id, "why-show-up", NOW)
    finally:
        await store.close()
    out = tmp_path / "transcripts.csv"
    result = rounds("transcript", "export", "--out", str(out), env=env)
    assert result.returncode == 0, result.stderr
    assert result.stderr.strip().endswith(f"exported 1 completed lesson to {out}")
    data = out.read_bytes()
    assert data.startswith(b"\xef\xbb\xbf")
    [row] = list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"))))
    assert (row["email"], row["lesson_id"]) == (PHYSICIAN_EMAIL, "why-show-up")
    to_stdout = rounds("transcript", "export", "--since", "2026-04-01", env=env)
    assert to_stdout.returncode == 0 and to_stdout.stdout.splitlines() == [",".join(TRANSCRIPT_COLUMNS)]
    bad = rounds("transcript", "export", "--since", "April", env=env)
    assert bad.returncode == 2 and "--since 'April' is not a date" in bad.stderr
