"""The hospital's configuration file (``rounds.yaml``); secrets come from the environment."""
from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from datetime import time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.resources import shipped_dir
from bot.yamlsrc import ContentError, LocatedDict, load_yaml

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
HANDLE_RE = re.compile(r"^[A-Za-z0-9_]{1,15}$")
EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
DEFAULT_CONTENT_DIR = shipped_dir("prompts")


class ConfigError(Exception):
    """A bad configuration value; the message names the key."""


@dataclass(frozen=True)
class QuietHours:
    start: time = time(19, 0)
    end: time = time(8, 0)
    weekends: bool = True
    """True: no nudges on Saturday and Sunday."""


@dataclass(frozen=True)
class LessonCadence:
    weekdays: tuple[int, ...] = (1, 3)
    """0 = Monday; default Tuesday and Thursday."""
    time: time = time(8, 30)


@dataclass(frozen=True)
class DigestSchedule:
    weekday: int = 0
    time: time = time(9, 0)


@dataclass(frozen=True)
class RateLimit:
    per_conversation_per_second: float
    per_second: float
    """Across all conversations of the platform (workspace or tenant)."""
    per_conversation_per_hour: int | None = None
    methods_per_minute: tuple[tuple[str, float], ...] = ()
    """Budgets of the platform's other methods (Slack's tiers), per minute, shared by every instance."""

    def method_per_minute(self, method: str, default: float) -> float:
        return dict(self.methods_per_minute).get(method, default)


SLACK_METHODS_PER_MINUTE = (
    # Slack's published tiers (docs/rate-limits.md): Tier 2 is 20+/min, Tier 3 50+/min, Tier 4 100+/min.
    ("users.list", 20.0), ("dnd.teamInfo", 20.0), ("users.lookupByEmail", 50.0),
    ("conversations.open", 50.0), ("conversations.history", 50.0), ("views.publish", 100.0),
)


@dataclass(frozen=True)
class DeliverySettings:
    slack: RateLimit = RateLimit(per_conversation_per_second=1.0, per_second=20.0,
                                 methods_per_minute=SLACK_METHODS_PER_MINUTE)
    teams: RateLimit = RateLimit(per_conversation_per_second=7.0, per_second=50.0, per_conversation_per_hour=1800)
    max_attempts: int = 6
    tick_seconds: int = 60
    lease_seconds: int = 120
    """How long a claimed message stays with its sender; after that another instance may take it."""
    teams_install_minutes: int = 30
    """How often the Teams app is installed through Graph for physicians who lack it (0: never)."""
    teams_install_retry_hours: int = 24
    """When an installation failed for a reason that needs a person (no Teams user, a policy), try again after."""


@dataclass(frozen=True)
class Config:
    hospital_name: str = "Riverside University Hospital"
    hospital_handle: str = "RiversideUH"
    timezone: str = "America/New_York"
    admins: tuple[str, ...] = ()
    quiet_hours: QuietHours = field(default_factory=QuietHours)
    lessons: LessonCadence = field(default_factory=LessonCadence)
    max_nudges_per_day: int = 1
    digest: DigestSchedule = field(default_factory=DigestSchedule)
    slack_marketing_channel: str = ""
    teams_marketing_channel: str = ""
    safety_contacts: tuple[str, ...] = ()
    """Emails of who receives and handles harassment reports (none: the marketing managers)."""
    slack_safety_channel: str = ""
    teams_safety_channel: str = ""
    delivery: DeliverySettings = field(default_factory=DeliverySettings)
    public_url: str = ""
    """Where Slack can reach this server (e.g. https://rounds.example.org), for digest chart images."""
    content_dir: Path = DEFAULT_CONTENT_DIR
    source: str = "(defaults)"

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def is_admin(self, email: str | None) -> bool:
        return bool(email) and email.lower() in self.admins

    def is_safety_contact(self, email: str | None) -> bool:
        return bool(email) and email.lower() in self.safety_contacts


def config_path(cli_value: str | None) -> Path:
    """``--config``, else ``ROUNDS_CONFIG``, else ``./rounds.yaml``."""
    return Path(cli_value or os.environ.get("ROUNDS_CONFIG") or "rounds.yaml")


def find_config(cli_value: str | None) -> Config:
    """The configuration a command runs with. A file that was asked for (``--config`` or
    ``ROUNDS_CONFIG``) must exist; only the implicit ``./rounds.yaml`` may be absent (built-in defaults)."""
    asked = bool(cli_value or os.environ.get("ROUNDS_CONFIG"))
    return load_config(config_path(cli_value), required=asked)


def load_config(path: Path, *, required: bool = False) -> Config:
    """Read and validate a config file; a missing optional file yields the defaults."""
    if not path.exists():
        if required:
            raise ConfigError(f"{path}: config file not found (run `rounds init` to write one)")
        return Config()
    try:
        data = load_yaml(path)
    except ContentError as exc:
        raise ConfigError(str(exc)) from None
    if data is None:
        data = LocatedDict()
    return _parse(path, data)


def _parse(path: Path, data: Any) -> Config:
    reader = _Reader(path, data)
    reader.only({"hospital", "admins", "quiet_hours", "lessons", "nudges", "digest",
                 "marketing", "safety", "delivery", "public_url", "content_dir"})
    hospital = reader.section("hospital", {"name", "x_handle", "timezone"})
    name = hospital.text("name", Config.hospital_name)
    handle = hospital.text("x_handle", Config.hospital_handle).lstrip("@")
    if not HANDLE_RE.match(handle):
        hospital.fail("x_handle", "must be 1–15 letters, digits or underscores")
    zone = hospital.text("timezone", Config.timezone)
    _check_zone(hospital, "timezone", zone)

    admins = []
    for index, email in enumerate(reader.list("admins")):
        if not isinstance(email, str) or not EMAIL_RE.match(email.strip()):
            reader.fail(f"admins[{index}]", f"{email!r} is not an email address")
        admins.append(email.strip().lower())

    quiet = reader.section("quiet_hours", {"start", "end", "weekends"})
    lessons = reader.section("lessons", {"weekdays", "time"})
    nudges = reader.section("nudges", {"max_per_day"})
    digest = reader.section("digest", {"weekday", "time"})
    marketing = reader.section("marketing", {"slack_channel", "teams_channel"})
    safety = reader.section("safety", {"contacts", "slack_channel", "teams_channel"})
    contacts = []
    for index, email in enumerate(safety.list("contacts", [])):
        if not isinstance(email, str) or not EMAIL_RE.match(email.strip()):
            safety.fail(f"contacts[{index}]", f"{email!r} is not an email address")
        contacts.append(email.strip().lower())
    delivery = reader.section("delivery", {"slack", "teams", "max_attempts", "tick_seconds", "lease_seconds",
                                           "teams_install_minutes", "teams_install_retry_hours"})
    weekdays = tuple(sorted({_weekday(lessons, "weekdays", day) for day in lessons.list("weekdays", ["tue", "thu"])}))
    if not weekdays:
        lessons.fail("weekdays", "needs at least one day")
    public_url = reader.text("public_url", "").rstrip("/")
    if public_url and not re.fullmatch(r"https?://[^\s/]+(/\S*)?", public_url):
        reader.fail("public_url", f"{public_url!r} is not an http(s) address like https://rounds.example.org")
    content_dir = Path(reader.text("content_dir", str(DEFAULT_CONTENT_DIR)))
    if not content_dir.is_absolute():
        content_dir = (path.parent / content_dir).resolve()
    return Config(
        hospital_name=name,
        hospital_handle=handle,
        timezone=zone,
        admins=tuple(admins),
        quiet_hours=QuietHours(
            start=quiet.clock("start", QuietHours.start),
            end=quiet.clock("end", QuietHours.end),
            weekends=quiet.flag("weekends", True),
        ),
        lessons=LessonCadence(weekdays=weekdays, time=lessons.clock("time", LessonCadence.time)),
        max_nudges_per_day=nudges.number("max_per_day", 1, minimum=0, maximum=10),
        digest=DigestSchedule(
            weekday=_weekday(digest, "weekday", digest.text("weekday", "mon")),
            time=digest.clock("time", DigestSchedule.time),
        ),
        slack_marketing_channel=marketing.text("slack_channel", ""),
        teams_marketing_channel=marketing.text("teams_channel", ""),
        safety_contacts=tuple(contacts),
        slack_safety_channel=safety.text("slack_channel", ""),
        teams_safety_channel=safety.text("teams_channel", ""),
        delivery=DeliverySettings(
            slack=_rate_limit(delivery, "slack", DeliverySettings.slack),
            teams=_rate_limit(delivery, "teams", DeliverySettings.teams),
            max_attempts=delivery.number("max_attempts", 6, minimum=1, maximum=20),
            tick_seconds=delivery.number("tick_seconds", 60, minimum=5, maximum=3600),
            lease_seconds=delivery.number("lease_seconds", 120, minimum=5, maximum=3600),
            teams_install_minutes=delivery.number("teams_install_minutes", 30, minimum=0, maximum=10080),
            teams_install_retry_hours=delivery.number("teams_install_retry_hours", 24, minimum=1, maximum=720),
        ),
        public_url=public_url,
        content_dir=content_dir,
        source=str(path),
    )


def _rate_limit(parent: "_Reader", key: str, default: RateLimit) -> RateLimit:
    section = parent.section(key, {"per_conversation_per_second", "per_second", "per_conversation_per_hour",
                                   "methods_per_minute"})
    hourly = section.number("per_conversation_per_hour", default.per_conversation_per_hour or 0,
                            minimum=0, maximum=100_000)
    methods = dict(default.methods_per_minute)
    if default.methods_per_minute:
        given = section.section("methods_per_minute", set(methods))
        for method in methods:
            value = given.data.get(method)
            if value is not None:
                if not isinstance(value, (int, float)) or isinstance(value, bool) or not 0 < value <= 10_000:
                    given.fail(method, "must be a number of calls per minute above 0 and at most 10000")
                methods[method] = float(value)
    return RateLimit(
        per_conversation_per_second=section.rate("per_conversation_per_second", default.per_conversation_per_second),
        per_second=section.rate("per_second", default.per_second),
        per_conversation_per_hour=hourly or None,
        methods_per_minute=tuple(methods.items()),
    )


def _check_zone(reader: "_Reader", key: str, zone: str) -> None:
    try:
        ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError):
        reader.fail(key, f"{zone!r} is not a known time zone (e.g. America/Chicago)")


def _weekday(reader: "_Reader", key: str, value: Any) -> int:
    day = str(value).strip().lower()[:3]
    if day not in WEEKDAYS:
        reader.fail(key, f"{value!r} is not a weekday (mon, tue, … sun)")
    return WEEKDAYS.index(day)


class _Reader:
    """Reads one mapping of the config, naming ``section.key`` in every error."""

    def __init__(self, path: Path, data: Any, prefix: str = "") -> None:
        self.path = path
        self.prefix = prefix
        if not isinstance(data, dict):
            self.fail("", "must be a mapping of keys to values")
        self.data = data

    def fail(self, key: str, message: str) -> None:
        name = f"{self.prefix}{key}".rstrip(".") or "(top level)"
        line = self.data.line_of(key) if isinstance(getattr(self, "data", None), LocatedDict) else None
        where = f"{self.path}:{line}" if line else str(self.path)
        raise ConfigError(f"{where}: {name}: {message}")

    def only(self, allowed: set[str]) -> None:
        for key in self.data:
            if key not in allowed:
                self.fail(str(key), f"unknown key (expected one of: {', '.join(sorted(allowed))})")

    def section(self, key: str, allowed: set[str]) -> "_Reader":
        value = self.data.get(key)
        if value is None:
            value = LocatedDict()
        elif not isinstance(value, dict):
            self.fail(key, "must be a mapping")
        reader = _Reader(self.path, value, f"{self.prefix}{key}.")
        reader.only(allowed)
        return reader

    def text(self, key: str, default: str) -> str:
        value = self.data.get(key)
        if value is None:
            return default
        if not isinstance(value, (str, int)) or isinstance(value, bool):
            self.fail(key, "must be text")
        return str(value).strip()

    def list(self, key: str, default: list[Any] | None = None) -> list[Any]:
        value = self.data.get(key)
        if value is None:
            return list(default or [])
        if not isinstance(value, list):
            self.fail(key, "must be a list")
        return value

    def flag(self, key: str, default: bool) -> bool:
        value = self.data.get(key)
        if value is None:
            return default
        if not isinstance(value, bool):
            self.fail(key, "must be true or false")
        return value

    def number(self, key: str, default: int, *, minimum: int, maximum: int) -> int:
        value = self.data.get(key)
        if value is None:
            return default
        if not isinstance(value, int) or isinstance(value, bool) or not minimum <= value <= maximum:
            self.fail(key, f"must be a whole number from {minimum} to {maximum}")
        return value

    def rate(self, key: str, default: float) -> float:
        value = self.data.get(key)
        if value is None:
            return default
        if not isinstance(value, (int, float)) or isinstance(value, bool) or not 0 < value <= 1000:
            self.fail(key, "must be a number of messages per second above 0 and at most 1000")
        return float(value)

    def clock(self, key: str, default: time) -> time:
        value = self.data.get(key)
        if value is None:
            return default
        if isinstance(value, int) and not isinstance(value, bool):
            # YAML 1.1 reads an unquoted 19:00 as a base-60 number of minutes
            value = f"{value // 60:02d}:{value % 60:02d}"
        match = re.fullmatch(r"([01]?\d|2[0-3]):([0-5]\d)", str(value).strip())
        if not match:
            self.fail(key, f"{value!r} is not a time of day like 19:00")
        return time(int(match.group(1)), int(match.group(2)))


EXAMPLE_CONFIG = """\
# Social Rounds configuration. Secrets (Slack and Microsoft tokens) never go here:
# they come from environment variables (see README, "Configuration").

hospital:
  name: Riverside University Hospital
  x_handle: RiversideUH            # the hospital account physicians are asked to follow
  timezone: America/New_York       # default for physicians whose platform gives no zone

admins:                            # marketing managers: reports, roster, meetings, digest
  - maria.lopez@riverside.example

quiet_hours:                       # in each physician's own time zone
  start: "19:00"
  end: "08:00"
  weekends: true                   # no nudges on Saturday and Sunday

lessons:
  weekdays: [tue, thu]             # lesson drip: two lessons a week
  time: "08:30"                    # physician's local time

nudges:
  max_per_day: 1                   # besides meeting countdowns

digest:
  weekday: mon
  time: "09:00"                    # hospital time zone

# public_url: https://rounds.example.org   # lets Slack show the digest's chart image

marketing:
  slack_channel: ""                # e.g. C0123456789, where the weekly digest is posted
  teams_channel: ""                # Teams channel conversation id (19:…@thread.tacv2)

safety:                            # private harassment reports (`harassment`) go only here
  contacts: []                     # emails of who handles them; empty: the marketing managers
  slack_channel: ""                # optional private channel for reports, e.g. C0SAFETY01
  teams_channel: ""                # optional Teams channel conversation id

delivery:                          # platform rate limits the sender stays under
  slack:
    per_conversation_per_second: 1
    per_second: 20                 # across the workspace
    methods_per_minute:            # Slack's tiers, per app per workspace (shared by every instance)
      users.list: 20               # Tier 2: the roster's emails resolved in bulk, daily
      users.lookupByEmail: 50      # Tier 3: only for the few users.list did not find
      conversations.open: 50       # Tier 3: } checking whether a message in doubt arrived
      conversations.history: 50    # Tier 3: }
      dnd.teamInfo: 20             # Tier 2: Do Not Disturb, 50 users a call
      views.publish: 100           # Tier 4
  teams:
    per_conversation_per_second: 7
    per_conversation_per_hour: 1800
    per_second: 50
  max_attempts: 6                  # then the message is parked as dead (see `rounds outbox`)
  tick_seconds: 60                 # how often the scheduler looks for due reminders
  lease_seconds: 120               # a sender that dies mid-send hands its messages on after this
  teams_install_minutes: 30        # install the Teams app through Graph for physicians who lack it (0: off)
  teams_install_retry_hours: 24    # try again after "no Teams user" or a blocking policy
"""
