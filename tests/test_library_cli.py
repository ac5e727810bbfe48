"""``rounds library import FILE.yaml`` as a subprocess: all or nothing, every problem at ``file:line``, exit 2."""
from __future__ import annotations

from pathlib import Path

import pytest

from bot.store import Store
from conftest import NOW, rounds_env, run_rounds

GOOD = """\
stories:
  - key: heart-clinic
    title: Riverside opens a heart failure clinic
    link: https://riverside.example/news/heart-clinic
    posts:
      x: Our new heart failure clinic opens today.
    audience:
      everyone: true
    embargo_lifts: 2026-03-04 11:00
    timezone: America/New_York
  - key: stroke-award
    title: Stroke center award
    link: https://riverside.example/news/stroke-award?utm=x&y=1
    posts:
      linkedin: Our stroke team was recognised.
    audience:
      specialties: [Neurologist]
    embargo_lifts: 2026-03-01T09:00:00-05:00
    expires: 2026-04-01 00:00  # EDT by then
"""


@pytest.fixture
def database(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'rounds.db'}"
    assert run_rounds("db", "upgrade", cwd=tmp_path, env=rounds_env(DATABASE_URL=url)).returncode == 0
    return url


def import_file(tmp_path: Path, url: str, text: str):
    (tmp_path / "stories.yaml").write_text(text, encoding="utf-8")
    return run_rounds("library", "import", "stories.yaml", cwd=tmp_path, env=rounds_env(DATABASE_URL=url))


async def stories_in(url: str) -> list[str]:
    store = Store.open(url)
    try:
        return [s.key for s in await store.library.listing(NOW, admin=True)]
    finally:
        await store.close()


async def test_a_good_file_imports_every_story(tmp_path: Path, database: str):
    result = import_file(tmp_path, database, GOOD)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "imported 2 stories into the library"
    assert await stories_in(database) == ["stroke-award", "heart-clinic"]
    store = Store.open(database)
    try:
        story = await store.library.get("stroke-award", NOW, admin=True)
        assert story is not None and story.lift_zone == "America/New_York"
        assert story.link == "https://riverside.example/news/stroke-award?utm=x&y=1"
        assert story.expires_at is not None and story.expires_at.isoformat() == "2026-04-01T04:00:00+00:00"
    finally:
        await store.close()


async def test_a_patient_identifier_in_a_suggested_post_means_nothing_is_imported(tmp_path: Path, database: str):
    bad = GOOD.replace("x: Our new heart failure clinic opens today.",
                       "x: Great recovery for our patient, MRN 4471823, at the new clinic.")
    result = import_file(tmp_path, database, bad)
    assert result.returncode == 2
    first, summary = result.stderr.strip().splitlines()
    assert first.startswith("stories.yaml:6: story heart-clinic: posts.x: The suggested x post would be blocked")
    assert "MRN 4471823" in first and "Medical record numbers are a HIPAA identifier" in first
    assert "Fix:_ Delete the number." in first
    assert summary == "rounds: 1 problem in stories.yaml; nothing imported"
    assert await stories_in(database) == []


async def test_a_field_that_does_not_parse_is_reported_at_its_line_and_nothing_is_imported(
        tmp_path: Path, database: str):
    result = import_file(tmp_path, database, GOOD.replace("expires: 2026-04-01 00:00  # EDT by then", "expires: next month"))
    assert result.returncode == 2
    assert result.stderr.strip() == ("rounds: stories.yaml:19: stories[2]: expires: “next month” is not a date "
                                     "and time; write it like 2027-02-01 09:00")
    assert await stories_in(database) == []
    unknown = import_file(tmp_path, database, GOOD.replace("specialties: [Neurologist]", "meetings: [esc-2031]"))
    assert unknown.returncode == 2
    assert unknown.stderr.splitlines()[0].startswith("stories.yaml:17: story stroke-award: audience.meetings: "
                                                     "No meeting has the key “esc-2031”")
    assert await stories_in(database) == []
