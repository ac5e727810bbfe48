"""Readiness scoring, stage order and next step; the snapshot → progress translation.

Every expected score is worked out by hand from the weights in ``bot/core/readiness.py``:
profile created 20, profile complete 15, follows hospital 15, followed back 10,
core lessons 25, Tweet Camp 15 (only when a meeting is registered), video +5 bonus.
"""
from __future__ import annotations

from datetime import date

import pytest

from bot.core.models import Meeting
from bot.core.readiness import (
    MARKETING_STAGES,
    VIDEO_BONUS,
    WEIGHTS,
    CampProgress,
    PhysicianProgress,
    Stage,
    StageStatus,
    assess,
)
from bot.core.snapshot import Enrollment, PersonSnapshot, next_enrollment, progress_of


def progress(**overrides: object) -> PhysicianProgress:
    values: dict[str, object] = dict(has_handle=False, profile_done=0, profile_total=4, follows_hospital=False,
                                     followed_back=False, core_done=0, core_total=8, camp=None, video_posted=False)
    values.update(overrides)
    return PhysicianProgress(**values)  # type: ignore[arg-type]


EVERYTHING = dict(has_handle=True, profile_done=4, follows_hospital=True, followed_back=True, core_done=8)


# -- stage order and weights ----------------------------------------------------------------------

def test_stages_are_in_the_documented_order():
    assert [s.value for s in Stage] == [
        "profile_created", "profile_complete", "follows_hospital", "followed_back",
        "core_lessons", "tweet_camp", "video",
    ]
    assert [s.stage for s in assess(progress()).stages] == list(Stage)


def test_weights_add_up_to_85_scaled_to_100_with_video_as_a_bonus():
    # Tweet Camp is measured per meeting, not in the score (README "Numbers").
    assert sum(WEIGHTS.values()) == 85
    assert Stage.TWEET_CAMP not in WEIGHTS
    assert Stage.VIDEO not in WEIGHTS
    assert VIDEO_BONUS == 5
    assert {Stage.FOLLOWED_BACK} == MARKETING_STAGES


def test_labels(content):
    """Each stage's words, reached and as a thing to do, are in prompts/words.yaml."""
    assert content.words.of(Stage.PROFILE_CREATED.label) == "Profile created"
    assert content.words.of(Stage.FOLLOWED_BACK.label) == "Followed back by the hospital"
    assert content.words.of(Stage.TWEET_CAMP.label) == "Tweet Camp done"
    assert content.words.of(Stage.VIDEO.label) == "Video posted"
    assert content.words.of(Stage.PROFILE_CREATED.todo) == "Create an X profile"
    assert content.words.of(Stage.FOLLOWED_BACK.todo) == "Follow back (marketing)"
    assert all(content.words.of(stage.label) and content.words.of(stage.todo) for stage in Stage)


# -- scores -----------------------------------------------------------------------------------------

def test_nothing_done_scores_zero_and_points_at_the_profile():
    r = assess(progress())
    assert r.score == 0
    assert r.reached is None
    assert r.next_step is Stage.PROFILE_CREATED
    assert r.status(Stage.TWEET_CAMP).applicable is False


def test_handle_only_without_meeting():
    # 20 of a possible 85 (no meeting registered) = 23.5 → 24
    r = assess(progress(has_handle=True))
    assert r.score == 24
    assert r.reached is Stage.PROFILE_CREATED
    assert r.next_step is Stage.PROFILE_COMPLETE


def test_partial_progress_without_meeting():
    # 20 + 15·2/4 + 15 + 0 + 25·4/8 = 55 of 85 = 64.7 → 65
    r = assess(progress(has_handle=True, profile_done=2, follows_hospital=True, core_done=4))
    assert r.score == 65
    assert r.status(Stage.PROFILE_COMPLETE).fraction == 0.5
    assert r.status(Stage.CORE_LESSONS).fraction == 0.5
    assert r.reached is Stage.PROFILE_CREATED  # profile complete is only half done
    assert r.next_step is Stage.PROFILE_COMPLETE


def test_partial_progress_with_meeting():
    # 55/85 = 64.7 → 65: Tweet Camp shows as a stage but is not in the score
    camp = CampProgress("ASCO Annual Meeting 2026", 6, 24)
    r = assess(progress(has_handle=True, profile_done=2, follows_hospital=True, core_done=4, camp=camp))
    assert r.score == 65
    assert r.status(Stage.TWEET_CAMP).applicable is True
    assert r.status(Stage.TWEET_CAMP).fraction == 0.25


def test_video_adds_the_bonus():
    # 55/85 = 64.7 → 65, + 5
    r = assess(progress(has_handle=True, profile_done=2, follows_hospital=True, core_done=4, video_posted=True))
    assert r.score == 70


def test_video_alone_is_worth_the_bonus_but_reaches_no_stage():
    r = assess(progress(video_posted=True))
    assert r.score == 5
    assert r.reached is None
    assert r.status(Stage.VIDEO).done is True
    assert r.next_step is Stage.PROFILE_CREATED


def test_everything_but_video():
    camp = CampProgress("ACC 2026", 24, 24)
    r = assess(progress(**EVERYTHING, camp=camp))
    assert r.score == 100
    assert r.reached is Stage.TWEET_CAMP
    assert r.next_step is Stage.VIDEO


def test_everything_with_video_is_capped_at_100():
    r = assess(progress(**EVERYTHING, camp=CampProgress("ACC 2026", 24, 24), video_posted=True))
    assert r.score == 100
    assert r.reached is Stage.VIDEO
    assert r.next_step is None


def test_everything_without_a_meeting_skips_tweet_camp():
    r = assess(progress(**EVERYTHING))
    assert r.score == 100
    assert r.reached is Stage.CORE_LESSONS
    assert r.next_step is Stage.VIDEO


def test_registering_for_a_meeting_makes_tweet_camp_the_next_step_without_moving_the_score():
    # Without camp: 85/85. With an untouched camp: still 85/85 (an invitation is nobody's progress).
    r = assess(progress(**EVERYTHING, camp=CampProgress("ESC Congress 2026", 0, 24)))
    assert r.score == 100
    assert r.reached is Stage.CORE_LESSONS
    assert r.next_step is Stage.TWEET_CAMP


def test_followed_back_is_marketings_step_and_never_the_next_step():
    # 20 + 15 + 15 + 0 + 25 = 75 of 85 = 88.2 → 88
    r = assess(progress(has_handle=True, profile_done=4, follows_hospital=True, core_done=8))
    assert r.score == 88
    assert r.reached is Stage.FOLLOWS_HOSPITAL  # stops at the stage marketing has not done
    assert r.next_step is Stage.VIDEO
    assert r.status(Stage.CORE_LESSONS).done is True


def test_followed_back_without_following():
    # 20 + 0 + 0 + 10 + 0 = 30 of 85 = 35.3 → 35
    r = assess(progress(has_handle=True, followed_back=True))
    assert r.score == 35
    assert r.next_step is Stage.PROFILE_COMPLETE


def test_profile_items_do_not_count_without_a_handle():
    r = assess(progress(profile_done=4))
    assert r.status(Stage.PROFILE_COMPLETE).fraction == 0.0
    assert r.score == 0


def test_fractions_are_clamped_and_empty_totals_count_as_done():
    r = assess(progress(has_handle=True, profile_done=9, core_done=12))
    assert r.status(Stage.PROFILE_COMPLETE).fraction == 1.0
    assert r.status(Stage.CORE_LESSONS).fraction == 1.0
    empty = assess(progress(has_handle=True, profile_total=0, core_total=0, camp=CampProgress("X", 0, 0)))
    assert empty.status(Stage.PROFILE_COMPLETE).done
    assert empty.status(Stage.CORE_LESSONS).done
    assert empty.status(Stage.TWEET_CAMP).done
    # 20 + 15 + 0 + 0 + 25 = 60 of 85 = 70.6 → 71
    assert empty.score == 71


def test_one_core_lesson_of_eight():
    # 25·1/8 = 3.125 of 85 = 3.7 → 4
    assert assess(progress(core_done=1)).score == 4
    # 20 + 25·1/8 = 23.125 of 85 = 27.2 → 27
    assert assess(progress(has_handle=True, core_done=1)).score == 27


def test_not_applicable_stage_is_never_done():
    status = StageStatus(Stage.TWEET_CAMP, 1.0, applicable=False)
    assert status.done is False


# -- snapshot → progress ------------------------------------------------------------------------------

def meeting(mid: int, starts: date, ends: date, name: str = "M") -> Meeting:
    return Meeting(mid, f"m-{mid}", name, "Cardiology", starts, ends, "Boston", "#M", "none")


def test_next_enrollment_picks_the_soonest_meeting_not_yet_ended():
    today = date(2026, 3, 10)
    past = Enrollment(meeting(1, date(2026, 3, 1), date(2026, 3, 9)), frozenset())
    running = Enrollment(meeting(2, date(2026, 3, 8), date(2026, 3, 10)), frozenset())
    later = Enrollment(meeting(3, date(2026, 4, 1), date(2026, 4, 3)), frozenset())
    assert next_enrollment((later, past, running), today) is running
    assert next_enrollment((later, past), today) is later
    assert next_enrollment((past,), today) is None
    assert next_enrollment((), today) is None


def test_next_enrollment_breaks_ties_by_meeting_id():
    a = Enrollment(meeting(7, date(2026, 5, 1), date(2026, 5, 2)), frozenset())
    b = Enrollment(meeting(4, date(2026, 5, 1), date(2026, 5, 3)), frozenset())
    assert next_enrollment((a, b), date(2026, 4, 1)) is b


def test_progress_of_counts_only_known_items(content):
    upcoming = meeting(5, date(2026, 3, 20), date(2026, 3, 24), "ASCO Annual Meeting 2026")
    snapshot = PersonSnapshot(
        person_id=1, name="Dr. Jane Rivera", email="jane@x.example", department="Cardiology", x_handle="JaneRiveraMD",
        follows_hospital=True, followed_back=False, video_posted=False,
        profile_done=frozenset({"photo", "bio", "retired-item"}),
        lessons_done=frozenset({"why-show-up", "the-160-character-bio", "gone-lesson"}),
        enrollments=(Enrollment(upcoming, frozenset({"official-hashtag", "recap-thread", "not-an-item"})),),
    )
    p = progress_of(snapshot, content.curriculum, content.profile_items, content.camp_phases, date(2026, 3, 2))
    assert p == PhysicianProgress(
        has_handle=True, profile_done=2, profile_total=4, follows_hospital=True, followed_back=False,
        core_done=1, core_total=8, camp=CampProgress("ASCO Annual Meeting 2026", 2, 31), video_posted=False)
    # 20 + 15·2/4 + 15 + 0 + 25·1/8 = 45.625 of 85 = 53.7 → 54 (Tweet Camp is not in the score)
    assert assess(p).score == 54
    # The day after the meeting ended, the camp no longer applies, and the score stays
    after = progress_of(snapshot, content.curriculum, content.profile_items, content.camp_phases, date(2026, 3, 25))
    assert after.camp is None
    assert assess(after).score == 54


@pytest.mark.parametrize("handle, expected", [(None, False), ("A", True)])
def test_progress_of_handle(content, handle, expected):
    snapshot = PersonSnapshot(1, "N", "e@x.example", "D", handle, False, False, False, frozenset(), frozenset(), ())
    p = progress_of(snapshot, content.curriculum, content.profile_items, content.camp_phases, date(2026, 1, 1))
    assert p.has_handle is expected
    assert p.camp is None
