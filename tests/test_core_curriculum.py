"""Lesson order, quiz grading and spaced review (missed → 12 days, right → 24, two right retire)."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.core import curriculum as cur
from bot.core.curriculum import ReviewState
from bot.core.models import Curriculum, Lesson, Quiz, Source, Track

NOW = datetime(2026, 3, 2, 14, 0, tzinfo=UTC)
NEW_YORK = ZoneInfo("America/New_York")


def lesson(lesson_id: str, track: str, core: bool, answer: int = 1, choices: int = 3) -> Lesson:
    return Lesson(lesson_id, track, lesson_id.title(), core, 2, "body", "takeaway",
                  Quiz("Q?", tuple(f"choice {i + 1}" for i in range(choices)), answer, "because"),
                  (Source("S", "https://example.org"),))


@pytest.fixture
def small() -> Curriculum:
    """Two tracks; core and optional lessons interleaved."""
    return Curriculum(
        tracks=(Track("basics", "Basics", 1), Track("more", "More", 2)),
        lessons=(lesson("a", "basics", True), lesson("b", "basics", False),
                 lesson("c", "more", True), lesson("d", "more", False)),
    )


# -- order -------------------------------------------------------------------------------------------

def test_core_lessons_come_first_then_teaching_order(small):
    order = []
    done: set[str] = set()
    while (nxt := cur.next_lesson(small, done)) is not None:
        order.append(nxt.id)
        done.add(nxt.id)
    assert order == ["a", "c", "b", "d"]


def test_lessons_about_networks_the_physician_does_not_use_are_skipped(small):
    from dataclasses import replace
    bluesky = replace(lesson("e", "more", False), networks=("bluesky",))
    x_only = replace(lesson("f", "more", False), networks=("x",))
    curriculum = Curriculum(small.tracks, (*small.lessons, bluesky, x_only))
    done = {"a", "b", "c", "d"}
    assert cur.next_lesson(curriculum, done, ("x",)).id == "f"
    assert cur.next_lesson(curriculum, done, ("bluesky", "linkedin")).id == "e"
    assert cur.next_lesson(curriculum, done | {"e"}, ("bluesky",)) is None
    assert cur.next_lesson(curriculum, done | {"e"}).id == "f"  # no choice given: every lesson
    assert [x.id for x in curriculum.for_networks(("linkedin",))] == ["a", "b", "c", "d"]
    item = cur.next_item(curriculum, done, {}, NOW, ("bluesky",))
    assert (item.kind, item.lesson.id) == ("lesson", "e")


@pytest.mark.parametrize("words, minutes", [(1, 1), (238, 1), (239, 2), (476, 2), (477, 3)])
def test_reading_time_is_238_words_a_minute_rounded_up(words, minutes):
    assert cur.reading_minutes(words) == minutes


def test_stored_network_choices_fall_back_to_x():
    from bot.core.models import networks_of
    assert networks_of(None) == ("x",)
    assert networks_of("") == ("x",)
    assert networks_of("bluesky,linkedin") == ("bluesky", "linkedin")
    assert networks_of("myspace") == ("x",)


def test_next_lesson_skips_what_is_done_in_any_order(small):
    assert cur.next_lesson(small, {"c"}).id == "a"
    assert cur.next_lesson(small, {"a", "c", "d"}).id == "b"
    assert cur.next_lesson(small, {"a", "b", "c", "d"}) is None


def test_real_curriculum_order(content):
    curriculum = content.curriculum
    assert [t.id for t in curriculum.tracks] == ["getting-started", "etiquette", "privacy", "conferences", "advanced",
                                                  "networks", "safety", "publishing"]
    assert len(curriculum.lessons) == 33
    assert curriculum.core_ids == {
        "why-show-up", "handle-name-photo", "twelve-word-rule", "ama-online-duties",
        "the-18-identifiers", "no-name-is-not-anonymous", "photo-forensics", "official-hashtag",
    }
    assert cur.next_lesson(curriculum, frozenset()).id == "why-show-up"
    assert cur.next_lesson(curriculum, {"why-show-up"}).id == "handle-name-photo"
    assert cur.next_lesson(curriculum, {"why-show-up", "handle-name-photo"}).id == "twelve-word-rule"
    # Once every core lesson is done, the optional ones follow in teaching order.
    assert cur.next_lesson(curriculum, curriculum.core_ids).id == "the-160-character-bio"


def test_core_progress(content, small):
    assert cur.core_progress(small, set()) == (0, 2)
    assert cur.core_progress(small, {"a", "b", "d"}) == (1, 2)
    assert cur.core_progress(small, {"a", "c", "unknown"}) == (2, 2)
    assert cur.core_progress(content.curriculum, {"why-show-up", "post-mechanics"}) == (1, 8)


# -- grading ------------------------------------------------------------------------------------------

def test_grade(small):
    b = small.lesson("b")
    assert b.quiz.answer == 1  # 0-based: the second choice
    assert cur.grade(b, 1) is True
    assert cur.grade(b, 0) is False
    assert cur.grade(b, 2) is False


@pytest.mark.parametrize("choice", [-1, 3, 99])
def test_grade_rejects_choices_out_of_range(small, choice):
    with pytest.raises(ValueError, match=f"choice {choice + 1} is not one of the 3 answers"):
        cur.grade(small.lesson("a"), choice)


def test_grade_real_lesson(content):
    why = content.curriculum.lesson("why-show-up")
    assert why.quiz.choices[why.quiz.answer] == "Number of Twitter followers"
    assert cur.grade(why, 1) is True


# -- spaced repetition ---------------------------------------------------------------------------------

def test_missed_question_comes_back_after_12_days():
    state = cur.record_answer(None, "a", False, NOW)
    assert state == ReviewState("a", attempts=1, streak=0, due_at=datetime(2026, 3, 14, 14, 0, tzinfo=UTC),
                                retired=False, last_correct=False)
    # Across the switch to daylight saving time (8 March 2026): 09:00 EST → 10:00 EDT on the 14th.
    assert state.due_at.astimezone(NEW_YORK).strftime("%a %d %b %H:%M %Z") == "Sat 14 Mar 10:00 EDT"


def test_right_answer_comes_back_after_24_days():
    state = cur.record_answer(None, "a", True, NOW)
    assert state == ReviewState("a", attempts=1, streak=1, due_at=datetime(2026, 3, 26, 14, 0, tzinfo=UTC),
                                retired=False, last_correct=True)


def test_two_right_in_a_row_retire_the_question():
    first = cur.record_answer(None, "a", True, NOW)
    second_at = first.due_at
    second = cur.record_answer(first, "a", True, second_at)
    assert second == ReviewState("a", attempts=2, streak=2, due_at=None, retired=True, last_correct=True)


def test_missed_then_right_then_right():
    missed = cur.record_answer(None, "a", False, NOW)
    right = cur.record_answer(missed, "a", True, missed.due_at)
    assert (right.attempts, right.streak, right.retired) == (2, 1, False)
    assert right.due_at == datetime(2026, 4, 7, 14, 0, tzinfo=UTC)  # 14 Mar + 24 days
    again = cur.record_answer(right, "a", True, right.due_at)
    assert (again.attempts, again.streak, again.retired, again.due_at) == (3, 2, True, None)


def test_a_miss_resets_the_streak():
    right = cur.record_answer(None, "a", True, NOW)
    missed = cur.record_answer(right, "a", False, right.due_at)
    assert (missed.attempts, missed.streak, missed.retired, missed.last_correct) == (2, 0, False, False)
    assert missed.due_at == right.due_at + timedelta(days=12)


def test_due_reviews_longest_overdue_first():
    reviews = {
        "late": ReviewState("late", 1, 0, NOW - timedelta(days=3)),
        "exactly-now": ReviewState("exactly-now", 1, 0, NOW),
        "tie-b": ReviewState("tie-b", 1, 0, NOW - timedelta(days=1)),
        "tie-a": ReviewState("tie-a", 1, 0, NOW - timedelta(days=1)),
        "future": ReviewState("future", 1, 1, NOW + timedelta(seconds=1)),
        "retired": ReviewState("retired", 2, 2, NOW - timedelta(days=9), retired=True),
        "undated": ReviewState("undated", 0, 0, None),
    }
    assert cur.due_reviews(reviews, NOW) == ["late", "tie-a", "tie-b", "exactly-now"]
    assert cur.due_reviews({}, NOW) == []


def test_next_item_prefers_a_due_review(small):
    reviews = {"a": ReviewState("a", 1, 0, NOW - timedelta(hours=1))}
    item = cur.next_item(small, {"a"}, reviews, NOW)
    assert (item.kind, item.lesson.id) == ("review", "a")
    # An hour earlier it was not due: new material comes instead.
    item = cur.next_item(small, {"a"}, reviews, NOW - timedelta(hours=2))
    assert (item.kind, item.lesson.id) == ("lesson", "c")


def test_next_item_ignores_reviews_of_lessons_no_longer_in_the_content(small):
    reviews = {"removed": ReviewState("removed", 1, 0, NOW - timedelta(days=1))}
    item = cur.next_item(small, set(), reviews, NOW)
    assert (item.kind, item.lesson.id) == ("lesson", "a")


def test_next_item_is_none_when_everything_is_done(small):
    reviews = {"a": ReviewState("a", 2, 2, None, retired=True),
               "c": ReviewState("c", 1, 1, NOW + timedelta(days=3))}
    assert cur.next_item(small, {"a", "b", "c", "d"}, reviews, NOW) is None
    item = cur.next_item(small, {"a", "b", "c", "d"}, reviews, NOW + timedelta(days=3))
    assert (item.kind, item.lesson.id) == ("review", "c")
