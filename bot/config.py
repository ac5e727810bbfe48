"""The hospital's configuration file (``rounds.yaml``); secrets come from the environment."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.core.handles import InvalidHandle, normalize_bluesky
from bot.resources import shipped_dir
from bot.words import load_words
from bot.yamlsrc import ContentError, Fields, LocatedDict, load_yaml

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
HANDLE_RE = re.compile(r"^[A-Za-z0-9_]{1,15}$")
EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
DEFAULT_CONTENT_DIR = shipped_dir("prompts")


class ConfigError(Exception):
    """A bad setting in the environment (the config file's problems are :class:`ContentError`)."""


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
class VerifySettings:
    """The daily check of physicians' X and Bluesky accounts (``verify:`` in rounds.yaml)."""

    hours: int = 24
    """How often the sync runs (0: never in the background; ``rounds verify`` still works)."""
    stale_days: int = 7
    """Facts verified longer ago than this are shown as stale."""
    x_lookups_per_15min: int = 300
    """``GET /2/users/by`` calls (100 usernames each) the app may make per 15 minutes."""
    x_follow_pages_per_15min: int = 15
    """Pages (1,000 accounts) of the hospital's followers or following list per 15 minutes, each list."""
    bluesky_per_5min: int = 3000
    """Calls to the public AppView per 5 minutes (getProfiles: 25 actors, getRelationships: 30)."""
    max_wait_seconds: int = 960
    """The longest a sync waits for a rate limit to reset; longer, it stops and resumes at the next run."""


@dataclass(frozen=True)
class Config:
    hospital_name: str = "Riverside University Hospital"
    hospital_handle: str = "RiversideUH"
    hospital_bluesky: str = ""
    """The hospital's Bluesky handle (``hospital.bluesky_handle``); empty: Bluesky is not verified."""
    verify: VerifySettings = field(default_factory=VerifySettings)
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
        return email is not None and email.lower() in self.admins

    def is_safety_contact(self, email: str | None) -> bool:
        return email is not None and email.lower() in self.safety_contacts


def config_path(cli_value: str | None, from_env: str | None = None) -> Path:
    """``--config``, else ``ROUNDS_CONFIG`` (``from_env``, read by the command line), else ``./rounds.yaml``."""
    return Path(cli_value or from_env or "rounds.yaml")


def find_config(cli_value: str | None, from_env: str | None = None) -> Config:
    """The configuration a command runs with. A file that was asked for (``--config`` or
    ``ROUNDS_CONFIG``) must exist; only the implicit ``./rounds.yaml`` may be absent (built-in defaults)."""
    asked = bool(cli_value or from_env)
    return load_config(config_path(cli_value, from_env), required=asked)


def load_config(path: Path, *, required: bool = False) -> Config:
    """Read and validate a config file; a missing optional file yields the defaults.

    Raises :class:`ContentError` naming the file, line and key of the first problem."""
    if not path.exists():
        if required:
            raise ContentError(path, None, "config file not found (run `rounds init` to write one)")
        return Config()
    data = load_yaml(path)
    if data is None:
        data = LocatedDict.empty()
    return _parse(path, data)


def _parse(path: Path, data: Any) -> Config:
    if not isinstance(data, dict):
        raise ContentError(path, None, "(top level): must be a mapping of keys to values")
    reader = Fields(path, data, "", dotted=True)
    reader.unknown_keys({"hospital", "admins", "quiet_hours", "lessons", "nudges", "digest",
                         "marketing", "safety", "delivery", "public_url", "content_dir", "verify"})
    hospital = _section(reader, "hospital", {"name", "x_handle", "bluesky_handle", "timezone"})
    name = _text(hospital, "name", Config.hospital_name)
    handle = _text(hospital, "x_handle", Config.hospital_handle).lstrip("@")
    if not HANDLE_RE.match(handle):
        raise hospital.error("x_handle", "must be 1–15 letters, digits or underscores")
    zone = _text(hospital, "timezone", Config.timezone)
    _check_zone(hospital, "timezone", zone)
    bluesky = _text(hospital, "bluesky_handle", "")
    if bluesky:
        try:
            bluesky = normalize_bluesky(bluesky)
        except InvalidHandle as exc:
            # the words a physician sees for the same mistake; the shipped ones: the content is not read yet
            raise hospital.error("bluesky_handle", load_words(shipped_dir("prompts")).of(exc.say)) from None
    verify = _section(reader, "verify", {"hours", "stale_days", "x_lookups_per_15min", "x_follow_pages_per_15min",
                                         "bluesky_per_5min", "max_wait_seconds"})

    admins = []
    for index, email in enumerate(_list(reader, "admins")):
        if not isinstance(email, str) or not EMAIL_RE.match(email.strip()):
            raise reader.error(f"admins[{index}]", f"{email!r} is not an email address")
        admins.append(email.strip().lower())

    quiet = _section(reader, "quiet_hours", {"start", "end", "weekends"})
    lessons = _section(reader, "lessons", {"weekdays", "time"})
    nudges = _section(reader, "nudges", {"max_per_day"})
    digest = _section(reader, "digest", {"weekday", "time"})
    marketing = _section(reader, "marketing", {"slack_channel", "teams_channel"})
    safety = _section(reader, "safety", {"contacts", "slack_channel", "teams_channel"})
    contacts = []
    for index, email in enumerate(_list(safety, "contacts", [])):
        if not isinstance(email, str) or not EMAIL_RE.match(email.strip()):
            raise safety.error(f"contacts[{index}]", f"{email!r} is not an email address")
        contacts.append(email.strip().lower())
    delivery = _section(reader, "delivery", {"slack", "teams", "max_attempts", "tick_seconds", "lease_seconds",
                                             "teams_install_minutes", "teams_install_retry_hours"})
    weekdays = tuple(sorted({_weekday(lessons, "weekdays", day) for day in _list(lessons, "weekdays", ["tue", "thu"])}))
    if not weekdays:
        raise lessons.error("weekdays", "needs at least one day")
    public_url = _text(reader, "public_url", "").rstrip("/")
    if public_url and not re.fullmatch(r"https?://[^\s/]+(/\S*)?", public_url):
        raise reader.error("public_url", f"{public_url!r} is not an http(s) address like https://rounds.example.org")
    content_dir = Path(_text(reader, "content_dir", str(DEFAULT_CONTENT_DIR)))
    if not content_dir.is_absolute():
        content_dir = (path.parent / content_dir).resolve()
    return Config(
        hospital_name=name,
        hospital_handle=handle,
        hospital_bluesky=bluesky,
        verify=VerifySettings(
            hours=_number(verify, "hours", 24, minimum=0, maximum=720),
            stale_days=_number(verify, "stale_days", 7, minimum=1, maximum=365),
            x_lookups_per_15min=_number(verify, "x_lookups_per_15min", 300, minimum=1, maximum=1_000_000),
            x_follow_pages_per_15min=_number(verify, "x_follow_pages_per_15min", 15, minimum=1, maximum=1_000_000),
            bluesky_per_5min=_number(verify, "bluesky_per_5min", 3000, minimum=1, maximum=1_000_000),
            max_wait_seconds=_number(verify, "max_wait_seconds", 960, minimum=0, maximum=86_400),
        ),
        timezone=zone,
        admins=tuple(admins),
        quiet_hours=QuietHours(
            start=_clock(quiet, "start", QuietHours.start),
            end=_clock(quiet, "end", QuietHours.end),
            weekends=_flag(quiet, "weekends", True),
        ),
        lessons=LessonCadence(weekdays=weekdays, time=_clock(lessons, "time", LessonCadence.time)),
        max_nudges_per_day=_number(nudges, "max_per_day", 1, minimum=0, maximum=10),
        digest=DigestSchedule(
            weekday=_weekday(digest, "weekday", _text(digest, "weekday", "mon")),
            time=_clock(digest, "time", DigestSchedule.time),
        ),
        slack_marketing_channel=_text(marketing, "slack_channel", ""),
        teams_marketing_channel=_text(marketing, "teams_channel", ""),
        safety_contacts=tuple(contacts),
        slack_safety_channel=_text(safety, "slack_channel", ""),
        teams_safety_channel=_text(safety, "teams_channel", ""),
        delivery=DeliverySettings(
            slack=_rate_limit(delivery, "slack", DeliverySettings.slack),
            teams=_rate_limit(delivery, "teams", DeliverySettings.teams),
            max_attempts=_number(delivery, "max_attempts", 6, minimum=1, maximum=20),
            tick_seconds=_number(delivery, "tick_seconds", 60, minimum=5, maximum=3600),
            lease_seconds=_number(delivery, "lease_seconds", 120, minimum=5, maximum=3600),
            teams_install_minutes=_number(delivery, "teams_install_minutes", 30, minimum=0, maximum=10080),
            teams_install_retry_hours=_number(delivery, "teams_install_retry_hours", 24, minimum=1, maximum=720),
        ),
        public_url=public_url,
        content_dir=content_dir,
        source=str(path),
    )


def _rate_limit(parent: Fields, key: str, default: RateLimit) -> RateLimit:
    section = _section(parent, key, {"per_conversation_per_second", "per_second", "per_conversation_per_hour",
                                     "methods_per_minute"})
    hourly = _number(section, "per_conversation_per_hour", default.per_conversation_per_hour or 0,
                     minimum=0, maximum=100_000)
    methods = dict(default.methods_per_minute)
    if default.methods_per_minute:
        given = _section(section, "methods_per_minute", set(methods))
        for method in methods:
            value = given.get(method)
            if value is not None:
                if not isinstance(value, (int, float)) or isinstance(value, bool) or not 0 < value <= 10_000:
                    raise given.error(method, "must be a number of calls per minute above 0 and at most 10000")
                methods[method] = float(value)
    return RateLimit(
        per_conversation_per_second=_rate(section, "per_conversation_per_second", default.per_conversation_per_second),
        per_second=_rate(section, "per_second", default.per_second),
        per_conversation_per_hour=hourly or None,
        methods_per_minute=tuple(methods.items()),
    )


def _check_zone(reader: Fields, key: str, zone: str) -> None:
    try:
        ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError):
        raise reader.error(key, f"{zone!r} is not a known time zone (e.g. America/Chicago)") from None


def _weekday(reader: Fields, key: str, value: Any) -> int:
    day = str(value).strip().lower()[:3]
    if day not in WEEKDAYS:
        raise reader.error(key, f"{value!r} is not a weekday (mon, tue, … sun)")
    return WEEKDAYS.index(day)


def _section(parent: Fields, key: str, allowed: set[str]) -> Fields:
    section = parent.section(key)
    section.unknown_keys(allowed)
    return section


def _text(fields: Fields, key: str, default: str) -> str:
    value = fields.get(key)
    if value is None:
        return default
    if not isinstance(value, (str, int)) or isinstance(value, bool):
        raise fields.error(key, "must be text")
    return str(value).strip()


def _list(fields: Fields, key: str, default: list[Any] | None = None) -> list[Any]:
    value = fields.get(key)
    if value is None:
        return list(default or [])
    if not isinstance(value, list):
        raise fields.error(key, "must be a list")
    return value


def _flag(fields: Fields, key: str, default: bool) -> bool:
    value = fields.get(key)
    if value is None:
        return default
    if not isinstance(value, bool):
        raise fields.error(key, "must be true or false")
    return value


def _number(fields: Fields, key: str, default: int, *, minimum: int, maximum: int) -> int:
    value = fields.get(key)
    if value is None:
        return default
    if not isinstance(value, int) or isinstance(value, bool) or not minimum <= value <= maximum:
        raise fields.error(key, f"must be a whole number from {minimum} to {maximum}")
    return value


def _rate(fields: Fields, key: str, default: float) -> float:
    value = fields.get(key)
    if value is None:
        return default
    if not isinstance(value, (int, float)) or isinstance(value, bool) or not 0 < value <= 1000:
        raise fields.error(key, "must be a number of messages per second above 0 and at most 1000")
    return float(value)


def _clock(fields: Fields, key: str, default: time) -> time:
    value = fields.get(key)
    if value is None:
        return default
    if isinstance(value, int) and not isinstance(value, bool):
        # YAML 1.1 reads an unquoted 19:00 as a base-60 number of minutes
        value = f"{value // 60:02d}:{value % 60:02d}"
    match = re.fullmatch(r"([01]?\d|2[0-3]):([0-5]\d)", str(value).strip())
    if not match:
        raise fields.error(key, f"{value!r} is not a time of day like 19:00")
    return time(int(match.group(1)), int(match.group(2)))


EXAMPLE_CONFIG = """\
# Social Rounds configuration. Secrets (Slack and Microsoft tokens) never go here:
# they come from environment variables (see README, "Configuration").

hospital:
  name: Riverside University Hospital
  x_handle: RiversideUH            # the hospital account physicians are asked to follow
  # bluesky_handle: riversideuh.bsky.social   # set it to verify physicians' Bluesky accounts
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

verify:                            # the daily check of physicians' X and Bluesky accounts
  hours: 24                        # how often (0: only `rounds verify`)
  stale_days: 7                    # older facts are shown as stale
  x_lookups_per_15min: 300         # X GET /2/users/by, app-only (100 usernames a call)
  x_follow_pages_per_15min: 15     # X followers/following pages (1,000 accounts each)
  bluesky_per_5min: 3000           # Bluesky public AppView calls
  max_wait_seconds: 960            # wait at most this for a rate limit; then resume at the next run
"""
