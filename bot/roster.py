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
from bot.core.readiness import assess
from bot.core.reports import RosterRow
from bot.core.roster_csv import EXPORT_COLUMNS, RosterParse
from bot.store import Store
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
def export_rows(rows: Iterable[RosterRow], specialties: dict[int, str]) -> Iterator[dict[str, str | int]]:
    """One CSV record per physician: who they are and how ready they are."""
    for row in rows:
        progress, readiness = row.progress, assess(row.progress)
        camp = progress.camp
        yield {
            "name": row.name, "email": row.email, "department": row.department,
            "specialty": specialties.get(row.physician_id, ""), "x_handle": row.x_handle or "",
            "score": readiness.score,
            "stage": readiness.reached.label if readiness.reached else "Getting started",
            "next_step": readiness.next_step.todo if readiness.next_step else "",
            "profile_items_done": progress.profile_done, "profile_items_total": progress.profile_total,
            "follows_hospital": _yes_no(progress.follows_hospital),
            "followed_back": _yes_no(progress.followed_back),
            "core_lessons_done": progress.core_done, "core_lessons_total": progress.core_total,
            "next_meeting": camp.meeting_name if camp else "",
            "tweet_camp_done": camp.done if camp else "", "tweet_camp_total": camp.total if camp else "",
        }


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


async def export_roster(store: Store, roster_rows: Sequence[RosterRow], out: TextIO) -> int:
    """Write every active physician's readiness (rows from ``Coach.roster_rows``) as CSV."""
    specialties = {person.id: person.specialty for person in await store.people.all(role="physician")}
    return write_export(export_rows(roster_rows, specialties), out)
