"""The add-a-story form's answers (:data:`bot.core.forms.STORY_FORM`) as a :class:`~bot.core.library.Story`,
and the story's problems at the form's fields.

What the form alone knows is checked here (dates, time zone, who it is for); what makes a story
unsaveable anywhere (the draft checker's blocking findings, X's length, the link) is
:func:`bot.core.library.problems`, whose fields :func:`form_field` maps onto the form's inputs.
Pure: the instant and the roster's names are parameters.
"""
from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.core.forms import STORY_LIFT_DATE, STORY_LIFT_TIME, STORY_ZONE
from bot.core.library import SHARE_NETWORKS, Audience, Problem, Story
from bot.core.words import Say, say

KEY_LENGTH = 48
MEETING_PREFIX = "meeting:"
EVERYONE = frozenset({"everyone", "all", "*"})
PROBLEM_FIELDS = {"key": "title", "embargo_lifts": STORY_LIFT_DATE, "posts": "post_x", "audience.meetings": "audience",
                  **{f"posts.{network}": f"post_{network}" for network in SHARE_NETWORKS}}
"""A field of :func:`bot.core.library.problems` → the form's input that shows it."""


class StoryProblems(ValueError):
    """What keeps the form's story from being saved: the form's field → what to say there."""

    def __init__(self, problems: Iterable[tuple[str, Say]]) -> None:
        self.problems = tuple(problems)
        super().__init__(", ".join(field for field, _ in self.problems))


@dataclass(frozen=True)
class Roster:
    """The names the audience may use: the roster's departments and specialties, the meetings' keys."""

    departments: frozenset[str]
    specialties: frozenset[str]
    meetings: frozenset[str]


def form_field(problem: Problem) -> str:
    """The form's input that shows ``problem``."""
    return PROBLEM_FIELDS.get(problem.field, problem.field)


def story_key(title: str, now: datetime) -> str:
    """A key from the title (lowercase letters, digits and dashes), or one from the instant when the
    title has no Latin letter or digit."""
    slug = re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")[:KEY_LENGTH].strip("-")
    return slug or f"story-{now:%Y%m%d-%H%M}"


def parse_audience(text: str, roster: Roster) -> tuple[Audience, list[tuple[str, Say]]]:
    """``everyone``, or departments and specialties on the roster and ``meeting:<key>``, comma-separated."""
    names = [name.strip() for name in text.split(",") if name.strip()]
    if not names:
        return Audience(), [("audience", say("story_form_no_audience"))]
    if any(name.lower() in EVERYONE for name in names):
        return Audience(everyone=True), []
    folded = {d.casefold(): d for d in roster.departments}, {s.casefold(): s for s in roster.specialties}
    departments: list[str] = []
    specialties: list[str] = []
    meetings: list[str] = []
    unknown: list[str] = []
    for name in names:
        if name.lower().startswith(MEETING_PREFIX):
            key = name[len(MEETING_PREFIX):].strip().lower()
            (meetings if key in roster.meetings else unknown).append(key if key in roster.meetings else name)
            continue
        department, specialty = folded[0].get(name.casefold()), folded[1].get(name.casefold())
        if department:
            departments.append(department)
        if specialty:
            specialties.append(specialty)
        if not department and not specialty:
            unknown.append(name)
    problems: list[tuple[str, Say]] = []
    if unknown:
        problems.append(("audience", say("story_form_unknown_audience", names=", ".join(unknown),
                                         departments=", ".join(sorted(roster.departments)) or "-")))
    return Audience(False, tuple(departments), tuple(specialties), tuple(meetings)), problems


def _date(text: str) -> date | None:
    try:
        return date.fromisoformat(text)
    except ValueError:
        return None


def _time(text: str) -> time | None:
    try:
        return time.fromisoformat(text) if re.fullmatch(r"\d{1,2}:\d{2}", text) else None
    except ValueError:
        return None


def _lift(values: Mapping[str, str], zone: ZoneInfo, now: datetime) -> tuple[datetime, list[tuple[str, Say]]]:
    day_text, time_text = values.get(STORY_LIFT_DATE, "").strip(), values.get(STORY_LIFT_TIME, "").strip()
    if not day_text and not time_text:
        return now, []
    if not day_text or not time_text:
        missing = STORY_LIFT_TIME if day_text else STORY_LIFT_DATE
        return now, [(missing, say("story_form_lift_half_given"))]
    day, at = _date(day_text), _time(time_text)
    if day is None:
        return now, [(STORY_LIFT_DATE, say("story_form_not_a_date", value=day_text))]
    if at is None:
        return now, [(STORY_LIFT_TIME, say("story_form_not_a_time", value=time_text))]
    return datetime.combine(day, at, zone), []


def story_from_form(values: Mapping[str, str], *, hospital_zone: str, now: datetime, roster: Roster) -> Story:
    """The story the form describes; raises :class:`StoryProblems` with everything wrong that the form
    alone can tell (the story's own rules come after, from :func:`bot.core.library.problems`)."""
    text = {key: value.strip() for key, value in values.items()}
    problems: list[tuple[str, Say]] = []
    zone_name = text.get(STORY_ZONE) or hospital_zone
    try:
        zone = ZoneInfo(zone_name)
    except (ZoneInfoNotFoundError, ValueError):
        problems.append((STORY_ZONE, say("story_form_bad_zone", value=zone_name)))
        zone = ZoneInfo(hospital_zone)
    lifts_at, found = _lift(text, zone, now)
    problems += found
    expires_at = None
    if text.get("expires"):
        day = _date(text["expires"])
        if day is None:
            problems.append(("expires", say("story_form_not_a_date", value=text["expires"])))
        else:  # offered through the whole day, in the lift's zone
            expires_at = datetime.combine(day + timedelta(days=1), time(0, 0), zone)
    audience, found = parse_audience(text.get("audience", ""), roster)
    problems += found
    if problems:
        raise StoryProblems(problems)
    posts = {network: values.get(f"post_{network}", "").strip() for network in SHARE_NETWORKS}
    return Story(key=story_key(text.get("title", ""), now), title=text.get("title", ""), link=text.get("link", ""),
                 posts={network: post for network, post in posts.items() if post}, audience=audience,
                 lifts_at=lifts_at, lift_zone=zone.key, expires_at=expires_at, alt_text=text.get("alt_text", ""))
