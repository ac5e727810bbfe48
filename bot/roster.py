"""Roster import and readiness export: a parsed roster written to the store (all or nothing,
idempotently), and every active physician's readiness as CSV rows.

The CSV parsing is :mod:`bot.core.roster_csv`; ``rounds roster import|export`` is :mod:`bot.roster_cli`.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TextIO

from bot import csvsafe
from bot.core.presence import Presence, follow_fact, profile_fact
from bot.core.readiness import assess
from bot.core.reports import RosterRow
from bot.core.roster_csv import EXPORT_COLUMNS, RosterParse
from bot.core.words import Say, say
from bot.store import Person, Store
from bot.store.roster import IdentityLink, RosterChanges


@dataclass(frozen=True)
class ImportSummary:
    """What an import did (or, in a dry run, would do)."""

    total: int
    added: int
    updated: int
    unchanged: int
    deactivated: int = 0
    linked: int = 0
    dry_run: bool = False
    deactivate_missing: bool = False


# -- importing --------------------------------------------------------------------------------------
async def import_roster(store: Store, parse: RosterParse, now: datetime, dry_run: bool = False,
                        deactivate_missing: bool = False,
                        progress: Callable[[int], None] | None = None) -> ImportSummary:
    """Apply a valid parse in one transaction: add new people, update changed ones, link platform ids."""
    if not parse.ok:
        raise ValueError(f"{parse.source} has {len(parse.errors)} problems; refusing to import it")
    links = [IdentityLink(record.entry.email, platform, user_id)
             for record in parse.records for platform, user_id in record.links]
    changes: RosterChanges = await store.roster.apply(
        parse.entries, links, now, deactivate_missing=deactivate_missing, dry_run=dry_run, progress=progress)
    return ImportSummary(total=len(parse.records), added=changes.added, updated=changes.updated,
                         unchanged=changes.unchanged, deactivated=changes.deactivated, linked=changes.linked,
                         dry_run=dry_run, deactivate_missing=deactivate_missing)


# -- exporting ------------------------------------------------------------------------------------
def export_rows(rows: Iterable[RosterRow], people: dict[int, Person], words: Callable[[Say], str],
                presence: dict[int, dict[str, Presence]] | None = None) -> Iterator[dict[str, str | int]]:
    """One CSV record per physician: who they are, how ready they are (stage and next step in
    ``words``, the content's), and per network what X and Bluesky said (``verified``, ``not_found``,
    ``no``, ``self_reported`` or empty) and when."""
    presence = presence or {}
    for row in rows:
        progress, readiness = row.progress, assess(row.progress)
        camp = progress.camp
        person = people.get(row.physician_id)
        yield {
            "name": row.name, "email": row.email, "department": row.department,
            "specialty": person.specialty if person else "", "x_handle": row.x_handle or "",
            "bluesky_handle": (person.bluesky_handle or "") if person else "",
            "linkedin_url": (person.linkedin_url or "") if person else "",
            **verified_columns(presence.get(row.physician_id, {}), row.x_handle,
                               person.bluesky_handle if person else None,
                               progress.follows_hospital, progress.followed_back),
            "score": readiness.score,
            "stage": words(readiness.reached.label if readiness.reached else say("stage_getting_started")),
            "next_step": words(readiness.next_step.todo) if readiness.next_step else "",
            "profile_items_done": progress.profile_done, "profile_items_total": progress.profile_total,
            "follows_hospital": _yes_no(progress.follows_hospital),
            "followed_back": _yes_no(progress.followed_back),
            "core_lessons_done": progress.core_done, "core_lessons_total": progress.core_total,
            "next_meeting": camp.meeting_name if camp else "",
            "tweet_camp_done": camp.done if camp else "", "tweet_camp_total": camp.total if camp else "",
        }


def verified_columns(facts: dict[str, Presence], x_handle: str | None, bluesky_handle: str | None,
                     follows_said: bool, followed_back_said: bool) -> dict[str, str]:
    """The ``<network>_…`` export columns. What the physician and marketing said about following (the
    hospital's X account) is X's self-reported value; Bluesky has no self-reported follows."""
    columns: dict[str, str] = {}
    for network, handle, said_follows, said_back in (("x", x_handle, follows_said, followed_back_said),
                                                     ("bluesky", bluesky_handle, False, False)):
        fact = facts.get(network)
        columns[f"{network}_profile"] = profile_fact(fact, handle).value
        follows = follow_fact(fact.follows_hospital if fact else None, said_follows)
        back = follow_fact(fact.followed_back if fact else None, said_back)
        columns[f"{network}_follows_hospital"] = follows.value
        columns[f"{network}_followed_back"] = back.value
        at = fact.verified_at if fact else None
        columns[f"{network}_verified_at"] = at.strftime("%Y-%m-%dT%H:%M:%SZ") if at else ""
    return columns


def _yes_no(value: bool) -> str:
    return "yes" if value else "no"


def write_export(rows: Iterable[dict[str, str | int]], out: TextIO) -> int:
    """Write the readiness CSV; the number of physicians written."""
    writer = csvsafe.DictWriter(out, EXPORT_COLUMNS)
    writer.writeheader()
    count = 0
    for record in rows:
        writer.writerow(record)
        count += 1
    return count


async def export_roster(store: Store, roster_rows: Sequence[RosterRow], out: TextIO,
                        words: Callable[[Say], str]) -> int:
    """Write every active physician's readiness (rows from ``Coach.roster_rows``) as CSV."""
    people = {person.id: person for person in await store.people.all(role="physician")}
    return write_export(export_rows(roster_rows, people, words, await store.presence.of()), out)
