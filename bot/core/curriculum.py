"""Lesson order, quiz grading and spaced review of quiz questions.

Spaced education for physicians: a missed question comes back after about 12 days, one
answered right comes back after about 24, and two right answers in a row retire it.
"""
from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Literal

from bot.core.models import Curriculum, Lesson

MISSED_INTERVAL = timedelta(days=12)
RIGHT_INTERVAL = timedelta(days=24)
RETIRE_STREAK = 2


@dataclass(frozen=True)
class ReviewState:
    """What is known about one physician and one quiz question."""

    lesson_id: str
    attempts: int = 0
    streak: int = 0
    """Right answers in a row."""
    due_at: datetime | None = None
    retired: bool = False
    last_correct: bool | None = None


@dataclass(frozen=True)
class NextItem:
    kind: Literal["lesson", "review"]
    lesson: Lesson


def grade(lesson: Lesson, choice: int) -> bool:
    """True when ``choice`` (0-based) is the lesson's right answer."""
    if not 0 <= choice < len(lesson.quiz.choices):
        raise ValueError(f"choice {choice + 1} is not one of the {len(lesson.quiz.choices)} answers")
    return choice == lesson.quiz.answer


def record_answer(state: ReviewState | None, lesson_id: str, correct: bool, now: datetime) -> ReviewState:
    """The review state after one answer given at ``now``."""
    state = state or ReviewState(lesson_id=lesson_id)
    streak = state.streak + 1 if correct else 0
    retired = streak >= RETIRE_STREAK
    due = None if retired else now + (RIGHT_INTERVAL if correct else MISSED_INTERVAL)
    return replace(state, attempts=state.attempts + 1, streak=streak, due_at=due,
                   retired=retired, last_correct=correct)


def due_reviews(reviews: Mapping[str, ReviewState], now: datetime) -> list[str]:
    """Lesson ids whose question is due again, longest overdue first."""
    due = [s for s in reviews.values() if not s.retired and s.due_at is not None and s.due_at <= now]
    return [s.lesson_id for s in sorted(due, key=lambda s: (s.due_at, s.lesson_id))]


def next_lesson(curriculum: Curriculum, done: frozenset[str] | set[str],
                networks: frozenset[str] | tuple[str, ...] | None = None) -> Lesson | None:
    """The first lesson not yet done, core lessons first, then in teaching order.

    With ``networks``, lessons about other networks are skipped (None: every lesson).
    """
    return next((lesson for lesson in curriculum.learning_order if lesson.id not in done
                 and (networks is None or lesson.applies_to(networks))), None)


def next_item(curriculum: Curriculum, done: frozenset[str] | set[str],
              reviews: Mapping[str, ReviewState], now: datetime,
              networks: frozenset[str] | tuple[str, ...] | None = None) -> NextItem | None:
    """A due review question comes before new material; None when everything is done."""
    for lesson_id in due_reviews(reviews, now):
        lesson = curriculum.lesson(lesson_id)
        if lesson is not None:
            return NextItem("review", lesson)
    lesson = next_lesson(curriculum, done, networks)
    return NextItem("lesson", lesson) if lesson else None


def core_progress(curriculum: Curriculum, done: frozenset[str] | set[str]) -> tuple[int, int]:
    """(core lessons done, core lessons in the curriculum)."""
    core = curriculum.core_ids
    return len(core & set(done)), len(core)


READING_WPM = 238
"""Average adult silent reading rate for English non-fiction (Brysbaert 2019, 190 studies)."""


def reading_minutes(words: int) -> int:
    """Honest reading time of ``words`` at 238 words a minute, rounded up (at least one)."""
    return max(1, math.ceil(words / READING_WPM))
