"""The library's pure rules: what keeps a story from being saved, who it is for, the countdown."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.core.library import Audience, Story, countdown_parts, problems, x_text

NOW = datetime(2026, 3, 2, 14, 0, tzinfo=UTC)


def story(**changes) -> Story:
    values = dict(key="heart-week", title="Riverside opens a heart failure clinic",
                  link="https://riverside.example/news/heart-clinic",
                  posts={"x": "Our new heart failure clinic opens today.", "bluesky": "New clinic!"},
                  audience=Audience(everyone=True), lifts_at=NOW, lift_zone="America/New_York")
    values.update(changes)
    return Story(**values)


def test_a_clean_story_has_no_problems(content):
    assert problems(story(), content.preflight, NOW) == ()


def test_a_patient_identifier_in_a_suggested_post_blocks_the_story_naming_finding_and_fix(content):
    found = problems(story(posts={"x": "Great outcome for our patient MRN 4471823 today"}), content.preflight, NOW)
    assert [(p.field, p.rule_id) for p in found] == [("posts.x", "medical-record-number")]
    said = content.words.of(found[0].say)
    assert "x post would be blocked" in said and "MRN 4471823" in said
    assert "Delete the number" in said  # the checker's own fix


def test_the_x_post_is_counted_as_x_counts_it_with_its_link(content):
    link = "https://riverside-health.org/news/" + "a" * 200  # a known TLD: X links it
    fits = story(link=link, posts={"x": "é" * 256})  # 256 + space + 23 for any link = 280
    assert x_text(fits) == "é" * 256 + " " + link
    assert problems(fits, content.preflight, NOW) == ()
    wide = problems(story(link=link, posts={"x": "心" * 129}), content.preflight, NOW)  # CJK: 258 + 1 + 23
    assert [(p.field, p.say.key, p.say.values["length"]) for p in wide] == [("posts.x", "library_x_too_long", 282)]


def test_fields_that_make_no_story(content):
    bad = story(key="Heart Week", title=" ", link="riverside.example", posts={"mastodon": "hi"},
                audience=Audience(), expires_at=NOW - timedelta(hours=1))
    assert [p.field for p in problems(bad, content.preflight, NOW)] == [
        "key", "title", "link", "expires", "audience", "posts.mastodon", "posts"]
    naive = story(lifts_at=datetime(2026, 3, 2, 9, 0))
    assert [p.say.key for p in problems(naive, content.preflight, NOW)] == ["library_naive_lift"]


def test_audience_matches_names_in_any_case_and_spacing():
    audience = Audience(departments=("Cardiology",), specialties=("Medical  Oncologist",), meetings=("asco-2026",))
    assert audience.includes("cardiology", "")
    assert audience.includes("Oncology", "medical oncologist")
    assert audience.includes("Neurology", "Neurologist", {"asco-2026"})
    assert not audience.includes("Neurology", "Neurologist", {"esc-2026"})
    assert Audience.of_rows(audience.rows()) == audience
    assert Audience(everyone=True).includes("", "")


def test_countdown_never_shows_a_lift_as_past():
    lifted = story(lifts_at=NOW + timedelta(days=2, hours=3, seconds=1))
    assert countdown_parts(lifted.countdown(NOW)) == (2, 3, 1)
    assert lifted.visible(NOW, admin=True) and not lifted.visible(NOW, admin=False)
    assert lifted.countdown(lifted.lifts_at) == timedelta(0) and lifted.live(lifted.lifts_at)
