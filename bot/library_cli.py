"""``rounds library import FILE.yaml``: stories for the content library from a YAML file, all or nothing.

Every problem is reported at ``file:line`` (a field that does not parse, a suggested post the draft
checker would block, an X post too long as X counts it, a meeting that does not exist); when there is
any, nothing is imported and the exit code is 2.

The file::

    stories:
      - key: heart-clinic                      # what `library heart-clinic` names it by
        title: Riverside opens a heart failure clinic
        link: https://riverside.example/news/heart-clinic
        posts:                                 # at least one of x, bluesky, linkedin
          x: Our new heart failure clinic opens today.
          linkedin: Proud of the team behind our new clinic.
        alt_text: The clinic's front desk     # optional
        audience:                              # any of these; everyone: true for all physicians
          departments: [Cardiology]
          specialties: [Cardiologist]
          meetings: [acc-2027]                 # attendees of these meetings (by key)
        embargo_lifts: 2027-02-01 09:00        # in `timezone` unless it carries an offset
        timezone: America/New_York             # default: the hospital's
        expires: 2027-03-01 09:00              # optional, same time zone
"""
from __future__ import annotations

import asyncio
import sys
from datetime import date, datetime, time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.config import Config
from bot.core.library import SHARE_NETWORKS, Audience, Problem, Story
from bot.yamlsrc import ContentError, Fields, load_yaml

EXIT_OK, EXIT_USAGE = 0, 2
STORY_KEYS = {"key", "title", "link", "posts", "alt_text", "audience", "embargo_lifts", "timezone", "expires"}
AUDIENCE_KEYS = {"everyone", "departments", "specialties", "meetings"}


class Parsed:
    """The stories of a file, and where each of their fields was written (for ``file:line`` problems)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.stories: list[Story] = []
        self.lines: dict[str, dict[str, int | None]] = {}

    def where(self, key: str, problem: Problem) -> ContentError:
        lines = self.lines.get(key, {})
        line = lines.get(problem.field) or lines.get(problem.field.split(".")[0]) or lines.get("")
        return ContentError(self.path, line, f"story {key}: {problem.field}")


def parse_stories(path: Path, zone: ZoneInfo) -> Parsed:
    """Read the file; a field that does not parse raises :class:`ContentError` at its line."""
    doc = Fields(path, load_yaml(path), "library file")
    doc.unknown_keys({"stories"})
    parsed = Parsed(path)
    entries = doc.list("stories")
    if not entries:
        raise doc.error("stories", "lists no story")
    for index, entry in enumerate(entries):
        line = entries.line_of(index) if hasattr(entries, "line_of") else None
        fields = Fields(path, entry, f"stories[{index + 1}]", line)
        fields.unknown_keys(STORY_KEYS)
        key = fields.str("key", max_len=64).lower()
        if key in parsed.lines:
            raise fields.error("key", f"story {key!r} is already in this file")
        posts_fields = fields.section("posts")
        posts_fields.unknown_keys(set(SHARE_NETWORKS))
        posts = {n: posts_fields.str(n, required=False) for n in SHARE_NETWORKS if posts_fields.get(n) is not None}
        audience_fields = fields.section("audience")
        audience_fields.unknown_keys(AUDIENCE_KEYS)
        audience = Audience(everyone=audience_fields.bool("everyone"),
                            departments=_names(audience_fields, "departments"),
                            specialties=_names(audience_fields, "specialties"),
                            meetings=tuple(name.lower() for name in _names(audience_fields, "meetings")))
        zone_name = fields.str("timezone", required=False, default=zone.key)
        try:
            story_zone = ZoneInfo(zone_name)
        except (ZoneInfoNotFoundError, ValueError):
            raise fields.error("timezone", f"“{zone_name}” is not a time zone; use a name like America/New_York") \
                from None
        lifts_at = _instant(fields, "embargo_lifts", story_zone, required=True)
        assert lifts_at is not None
        parsed.stories.append(Story(
            key=key, title=fields.str("title", max_len=200), link=fields.str("link", max_len=500), posts=posts,
            audience=audience, lifts_at=lifts_at, lift_zone=story_zone.key,
            expires_at=_instant(fields, "expires", story_zone, required=False),
            alt_text=fields.str("alt_text", required=False, max_len=1000)))
        lines: dict[str, int | None] = {"": fields.line}
        lines.update({name: fields.line_of(name) for name in STORY_KEYS})
        lines.update({f"posts.{n}": posts_fields.line_of(n) for n in SHARE_NETWORKS})
        lines.update({f"audience.{n}": audience_fields.line_of(n) for n in AUDIENCE_KEYS})
        lines["expires"] = fields.line_of("expires") or fields.line_of("embargo_lifts")
        parsed.lines[key] = lines
    return parsed


def _names(fields: Fields, key: str) -> tuple[str, ...]:
    values = fields.list(key, required=False)
    names = []
    for value in values:
        if not isinstance(value, str) or not value.strip():
            raise fields.error(key, "must be a list of names")
        names.append(value.strip())
    return tuple(names)


def _instant(fields: Fields, key: str, zone: ZoneInfo, *, required: bool) -> datetime | None:
    """A date and time from the file: in ``zone`` unless it carries its own offset."""
    value: Any = fields.get(key)
    if value is None:
        if required:
            raise ContentError(fields.path, fields.line, f"{fields.what}: missing {key!r}")
        return None
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, date):
        moment = datetime.combine(value, time(0, 0))
    else:
        try:
            moment = datetime.fromisoformat(str(value).strip())
        except ValueError:
            raise fields.error(key, f"“{value}” is not a date and time; write it like 2027-02-01 09:00") from None
    return moment.replace(tzinfo=zone) if moment.tzinfo is None else moment


def cli_import(path_name: str, config: Config, database_url: str) -> int:
    """Parse, check every story (nothing saved when any has a problem), save; print what was done."""
    from bot.app import Runtime

    path = Path(path_name)
    parsed = parse_stories(path, config.zone)
    runtime = Runtime.build(config, database_url)

    async def run() -> tuple[list[Story], dict[str, tuple[Problem, ...]]]:
        try:
            await runtime.store.check_migrated()
            return await runtime.coach.library.save(parsed.stories)
        finally:
            await runtime.store.close()

    saved, found = asyncio.run(run())
    if found:
        words = runtime.content.words
        count = 0
        for key, problems in found.items():
            for problem in problems:
                count += 1
                print(f"{parsed.where(key, problem)}: {words.of(problem.say)}", file=sys.stderr)
        print(f"rounds: {count} problem{'s' if count != 1 else ''} in {path}; nothing imported", file=sys.stderr)
        return EXIT_USAGE
    now = runtime.clock.now()
    embargoed = sum(1 for story in saved if not story.lifted(now))
    print(f"imported {len(saved)} stor{'ies' if len(saved) != 1 else 'y'} into the library"
          + (f"; {embargoed} embargoed until their lift" if embargoed else ""))
    return EXIT_OK
