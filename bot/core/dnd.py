"""Slack Do Not Disturb: whether a reminder may go to a physician now, wait, or is not worth sending.

Pure. Slack tells a user's DND schedule as the next (or current) window, ``next_dnd_start_ts`` to
``next_dnd_end_ts`` (``dnd.teamInfo``, ``dnd_updated_user``), and a snooze the user turned on by
hand as ``snooze_endtime``. A reminder that falls into either waits until it ends; one that would
have waited past its staleness by then is dropped instead (the planner plans a fresh one later).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

MAX_AGE = timedelta(hours=6)
"""A stored status older than this is looked up again (``dnd_updated_user`` events keep it current
in between)."""
STALE_AFTER = timedelta(hours=12)
"""A reminder is stale this long after it was due: held by DND past that, it is dropped, not sent."""


@dataclass(frozen=True)
class DndStatus:
    """One Slack user's Do Not Disturb as last learned."""

    user_id: str
    dnd_start: datetime | None
    """Start of the next (or current) scheduled DND window; None when DND is off."""
    dnd_end: datetime | None
    snooze_end: datetime | None
    """Until when the user snoozed notifications by hand; None when not snoozed."""
    checked_at: datetime


@dataclass(frozen=True)
class Decision:
    action: Literal["send", "lookup", "hold", "drop"]
    until: datetime | None = None
    """``hold``: when DND ends; ``drop``: when it would have ended."""


def _instant(value: Any) -> datetime | None:
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        return None
    return datetime.fromtimestamp(seconds, UTC) if seconds > 1 else None


def from_slack(user_id: str, info: dict[str, Any], now: datetime) -> DndStatus:
    """A status from one user's entry of ``dnd.teamInfo`` (or a ``dnd_updated_user`` event's ``dnd_status``)."""
    enabled = bool(info.get("dnd_enabled"))
    start, end = _instant(info.get("next_dnd_start_ts")), _instant(info.get("next_dnd_end_ts"))
    snoozed = bool(info.get("snooze_enabled"))
    return DndStatus(user_id, start if enabled and end else None, end if enabled and start else None,
                     _instant(info.get("snooze_endtime")) if snoozed else None, now)


def quiet_until(status: DndStatus, now: datetime) -> datetime | None:
    """When the user's DND or snooze that is on at ``now`` ends; None when neither is on."""
    ends = []
    if status.dnd_start is not None and status.dnd_end is not None and status.dnd_start <= now < status.dnd_end:
        ends.append(status.dnd_end)
    if status.snooze_end is not None and now < status.snooze_end:
        ends.append(status.snooze_end)
    return max(ends) if ends else None


def decide(status: DndStatus | None, now: datetime, due_at: datetime, *,
           max_age: timedelta = MAX_AGE, stale_after: timedelta = STALE_AFTER) -> Decision:
    """Send now, look the status up first, hold until DND ends, or drop (stale by the time it ends)."""
    if status is None or now - status.checked_at > max_age:
        return Decision("lookup")
    until = quiet_until(status, now)
    if until is None:
        return Decision("send")
    if until > due_at + stale_after:
        return Decision("drop", until)
    return Decision("hold", until)
