"""What became of the stories: the weekly digest's "stories this week" (offered, tapped a share button,
said they shared, declined), never an embargoed story; and the per-story and per-department report."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from bot.coach import Coach
from bot.coach.story_admin import stories_of_week
from bot.core.library import Audience, Story, StoryTally
from conftest import NEUROLOGIST_EMAIL, NOW, ONCOLOGIST_EMAIL, PHYSICIAN_EMAIL


def story(key: str, lifts_at, title: str) -> Story:
    return Story(key=key, title=title, link=f"https://news.riverside.example/{key}",
                 posts={"x": "Read about our team."}, audience=Audience(everyone=True), lifts_at=lifts_at,
                 lift_zone="America/New_York")


async def _offered(coach: Coach, people) -> tuple[Story, Story, Story]:
    store = coach.store
    week, old, embargoed = await store.library.save([
        story("heart-week", NOW - timedelta(hours=3), "Heart week"),
        story("old-news", NOW - timedelta(days=9), "Old news"),
        story("secret", NOW + timedelta(hours=1), "Embargoed news")], NOW - timedelta(days=10))
    jane, omar, lena = (people[e].id for e in (PHYSICIAN_EMAIL, ONCOLOGIST_EMAIL, NEUROLOGIST_EMAIL))
    for person in (jane, omar, lena):
        await store.library.mark(week.id, person, "offered", NOW)
    await store.library.mark(week.id, jane, "tapped", NOW)
    await store.library.mark(week.id, jane, "shared", NOW)
    await store.library.mark(week.id, omar, "declined", NOW)
    await store.library.mark(old.id, lena, "offered", NOW - timedelta(days=9))
    return week, old, embargoed


async def test_the_digest_has_the_stories_of_the_week(coach: Coach, people) -> None:
    await _offered(coach, people)
    digest = await coach.marketing.digest_reply(NOW)
    assert "**Stories this week**" in digest.body
    assert "- Heart week: 3 · 1 · 1 · 1" in digest.body
    assert "Old news" not in digest.body, "lifted another week"
    assert "Embargoed news" not in digest.body, "nothing embargoed, even to marketing's channel"


async def test_the_week_of_stories_runs_from_monday_midnight_to_the_next_in_the_hospitals_zone(store, people) -> None:
    """2026-W10 in New York: from Monday 2 March 00:00 EST (05:00 UTC) up to, not including, Monday 9 March
    00:00 EDT (04:00 UTC; the clocks went forward on the Sunday); a story lifting later than ``now`` is not
    in it yet. Stories in lift order, each with its tally (zero when nobody was offered it)."""
    micro = timedelta(microseconds=1)
    start, end = datetime(2026, 3, 2, 5, 0, tzinfo=UTC), datetime(2026, 3, 9, 4, 0, tzinfo=UTC)
    saved = {s.key: s for s in await store.library.save([
        story("sunday-night", start - micro, "Sunday night"), story("last", end - micro, "Last"),
        story("monday", start, "Monday"), story("next-monday", end, "Next Monday")], start - timedelta(days=1))}
    await store.library.mark(saved["last"].id, people[PHYSICIAN_EMAIL].id, "offered", end)
    zone = ZoneInfo("America/New_York")

    async def week(now: datetime) -> list[tuple[str, int]]:
        return [(s.key, t.offered) for s, t in await stories_of_week(store, zone, "2026-W10", now)]

    assert await week(end + timedelta(days=1)) == [("monday", 0), ("last", 1)]
    assert await week(end - micro) == [("monday", 0), ("last", 1)], "a lift at now is in"
    assert await week(end - 2 * micro) == [("monday", 0)], "embargoed until its lift"
    assert await week(start - micro) == []
    [(monday, tally)] = await stories_of_week(store, zone, "2026-W10", start)
    assert monday == saved["monday"] and tally == StoryTally(monday.id)


async def test_no_story_no_section(coach: Coach, people) -> None:
    assert "Stories this week" not in (await coach.marketing.digest_reply(NOW)).body


async def test_library_report_per_story_and_per_department(coach: Coach, people) -> None:
    from bot.messages import Incoming
    from conftest import ADMIN_EMAIL
    await _offered(coach, people)
    [report] = await coach.handle(Incoming(platform="web", user_id=ADMIN_EMAIL, text="library report"))
    assert report.kind == "report" and report.table is not None
    rows = {row[0]: row[1:] for row in report.table.rows}
    assert rows["Heart week"] == ("3", "1 (33%)", "1 (33%)", "1 (33%)")
    assert rows["Old news"] == ("1", "0 (0%)", "0 (0%)", "0 (0%)")
    assert "Embargoed news" not in rows
    [cardiology] = await coach.handle(Incoming(platform="web", user_id=ADMIN_EMAIL, text="library report cardiology"))
    assert cardiology.table is not None and cardiology.table.rows == (("Heart week", "1", "1 (100%)", "1 (100%)", "0 (0%)"),)
    [refused] = await coach.handle(Incoming(platform="web", user_id=PHYSICIAN_EMAIL, text="library report"))
    assert refused.kind == "error" and refused.table is None
