"""The command grammar shared by every platform: words in, a Command (or a helpful error) out.

Pure: imports nothing of the project outside ``bot.core``."""
from __future__ import annotations

import difflib
import re
import shlex
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.core.forms import CATALOG_FIELD, EMBARGO_LIFT_DATE, EMBARGO_LIFT_TIME
from bot.core.models import CatalogMeeting, Meeting, PreferenceChange
from bot.core.words import Say, say

Effect = Literal["shows", "changes_with_arguments", "changes"]
"""What a command does to stored state: ``shows`` never changes anything, whatever its arguments;
``changes_with_arguments`` only shows when typed bare (``follow`` shows, ``follow done`` changes);
``changes`` may change something (the platforms refresh what they show after it)."""


@dataclass(frozen=True)
class CommandSpec:
    """Everything about a command the platforms and the coach read: one place, no re-parsing."""

    name: str
    usage: str
    summary: Say
    """What it does, in ``prompts/words.yaml``."""
    example: str
    effect: Effect
    admin: bool = False
    aliases: tuple[str, ...] = ()
    """Other words people type for it (``hi`` for ``help``)."""


SPECS: tuple[CommandSpec, ...] = (
    CommandSpec("help", "help [command]", say("command_help"), "help snooze", "shows",
                aliases=("hi", "hello", "menu", "?", "commands")),
    CommandSpec("lesson", "lesson", say("command_lesson"), "lesson", "shows",
                aliases=("lessons", "learn", "next")),
    CommandSpec("quiz", "quiz", say("command_quiz"), "quiz", "shows", aliases=("review",)),
    CommandSpec("profile", "profile [@handle]", say("command_profile"), "profile @DrJaneRivera",
                "changes_with_arguments", aliases=("handle",)),
    CommandSpec("follow", "follow [done|undo]", say("command_follow"), "follow done",
                "changes_with_arguments"),
    CommandSpec("video", "video [done|undo]", say("command_video"), "video done",
                "changes_with_arguments"),
    CommandSpec("meetings", "meetings [join|leave <meeting>]", say("command_meetings"),
                "meetings join ASCO", "changes_with_arguments", aliases=("meeting", "conferences", "join", "leave")),
    CommandSpec("meetings add", "meetings add <catalog key> <start YYYY-MM-DD> [city=…] [attendees=…]",
                say("command_meetings_add"),
                "meetings add asco 2027-05-28 city=Chicago attendees=Oncology", "changes", admin=True),
    CommandSpec("camp", "camp [meeting]", say("command_camp"), "camp", "shows",
                aliases=("tweetcamp", "checklist")),
    CommandSpec("status", "status", say("command_status"), "status", "shows",
                aliases=("me", "stat", "stats", "progress", "score")),
    CommandSpec("check", "check <draft post>", say("command_check"),
                "check Great talk by @DrLee at #ASCO27!", "shows"),
    CommandSpec("networks", "networks [x] [bluesky] [linkedin] [threads] | default",
                say("command_networks"), "networks x bluesky", "changes",
                aliases=("network", "platforms")),
    CommandSpec("harassment", "harassment [<link> <harassment|doxxing|pile-on|threat|impersonation|other> [urgent]]",
                say("command_harassment"),
                "harassment https://x.com/someone/status/123 doxxing urgent", "changes",
                aliases=("safety", "harassed", "abuse", "doxxed", "trolls")),
    CommandSpec("transcript", "transcript", say("command_transcript"), "transcript",
                "changes", aliases=("cme", "completed", "history")),
    CommandSpec("library", "library [story | add | report [department]]", say("command_library"),
                "library heart-week", "shows", aliases=("stories",)),
    CommandSpec("settings", "settings [quiet 21:00-07:00 | weekends on|off | lessons 07:30 | timezone <zone>]",
                say("command_settings"), "settings quiet 20:00-07:30",
                "changes_with_arguments", aliases=("preferences", "quiet", "timezone")),
    CommandSpec("snooze", "snooze <1d|3d|1w|2w|until YYYY-MM-DD>", say("command_snooze"), "snooze 1w", "changes",
                aliases=("pause",)),
    CommandSpec("stop", "stop", say("command_stop"), "stop", "changes",
                aliases=("unsubscribe",)),
    CommandSpec("start", "start", say("command_start"), "start", "changes", aliases=("resume",)),
    CommandSpec("report", "report [department | meeting <name>]",
                say("command_report"), "report Cardiology", "shows",
                admin=True, aliases=("reports", "readiness")),
    CommandSpec("followback", "followback", say("command_followback"),
                "followback", "shows", admin=True, aliases=("follow-back", "followbacks")),
    CommandSpec("digest", "digest", say("command_digest"), "digest", "shows", admin=True,
                aliases=("weekly",)),
    CommandSpec("roster", "roster", say("command_roster"), "roster", "shows", admin=True,
                aliases=("team",)),
)
SPEC_BY_NAME = {spec.name: spec for spec in SPECS if " " not in spec.name}
ALIASES = {alias: spec.name for spec in SPECS for alias in spec.aliases}
MAX_SNOOZE = timedelta(days=90)


@dataclass(frozen=True)
class Command:
    name: str
    args: tuple[str, ...]
    rest: str
    """Everything after the command word, as typed (for drafts and meeting names)."""


@dataclass(frozen=True)
class Unknown:
    text: str
    suggestion: str | None


def parse(text: str) -> Command | Unknown:
    """Turn typed words into a Command; a leading ``/rounds`` or ``@mention`` is ignored."""
    cleaned = re.sub(r"^\s*(/rounds\b|<@[^>]+>)\s*", "", text or "").strip()
    if re.fullmatch(r"@\w{1,15}", cleaned):
        return Command("profile", (cleaned,), cleaned)  # a bare @handle registers it
    cleaned = re.sub(r"^@\w+\s+", "", cleaned)  # a leading @BotName mention
    if not cleaned:
        return Command("help", (), "")
    word, rest = re.match(r"(\S+)\s*(.*)", cleaned, re.DOTALL).groups()  # type: ignore[union-attr]
    word = word.lower().rstrip(":,.!")
    rest = rest.strip()
    if word in ("join", "leave"):
        rest = f"{word} {rest}".strip()
    if word == "report" and re.match(r"(harassment|abuse|doxx?ing)\b", rest, re.IGNORECASE):
        word, rest = "harassment", re.sub(r"^\S+\s*", "", rest)  # "report harassment …" is not the admin report
    name = ALIASES.get(word, word)
    if name not in SPEC_BY_NAME:
        return Unknown(cleaned, closest(word))
    return Command(name, tuple(rest.split()), rest)


def closest(word: str) -> str | None:
    candidates = list(SPEC_BY_NAME) + list(ALIASES)
    match = difflib.get_close_matches(word.lower(), candidates, n=1, cutoff=0.6)
    return ALIASES.get(match[0], match[0]) if match else None


def changes_state(command: Command | Unknown) -> bool:
    """Whether running ``command`` may change stored state (an unknown command changes nothing)."""
    if isinstance(command, Unknown):
        return False
    effect = SPEC_BY_NAME[command.name].effect
    return effect == "changes" or (effect == "changes_with_arguments" and bool(command.rest.strip()))


class BadArguments(ValueError):
    """The command is known but its arguments are not; :attr:`say` names the words that say how to
    fix them (``prompts/words.yaml``)."""

    def __init__(self, key: str, /, **values: object) -> None:
        super().__init__(key)
        self.say = Say(key, values)
        self.field: str | None = None
        """The form field the error is about (:meth:`at`), where a form shows it; None: the whole command."""

    def at(self, field: str) -> BadArguments:
        """The same error, about one field of a form (``bot.core.forms``)."""
        self.field = field
        return self


_DURATION = re.compile(r"^(\d{1,3})\s*(h|hours?|d|days?|w|wks?|weeks?)$")


def parse_snooze(args: str, now: datetime, zone: ZoneInfo) -> datetime:
    """``1d``, ``3 days``, ``1w``, ``until 2026-12-01`` → the instant reminders resume (UTC)."""
    text = args.strip().lower() or "1d"
    if text.startswith("until"):
        when = text.removeprefix("until").strip()
        try:
            day = date.fromisoformat(when)
        except ValueError:
            raise BadArguments("snooze_not_a_date", value=when or "(nothing)") from None
        resume = datetime.combine(day, time(0, 0), zone)
        if resume <= now:
            raise BadArguments("snooze_date_passed")
    else:
        match = _DURATION.match(text)
        if not match:
            raise BadArguments("snooze_not_a_length", value=args.strip())
        amount, unit = int(match.group(1)), match.group(2)[0]
        if amount == 0:
            raise BadArguments("snooze_zero")
        if unit == "h":
            resume = now + timedelta(hours=amount)
        else:  # calendar days in the physician's zone: "1w" at 09:00 resumes at 09:00, across DST too
            local = now.astimezone(zone)
            days = amount * (7 if unit == "w" else 1)
            resume = datetime.combine(local.date() + timedelta(days=days), local.time(), zone).astimezone(ZoneInfo("UTC"))
    if resume - now > MAX_SNOOZE:
        raise BadArguments("snooze_too_long")
    return resume


@dataclass(frozen=True)
class MeetingRequest:
    meeting: Meeting
    attendees: tuple[str, ...]
    """Emails and department names to register."""


_MEETING_KEYS = {"name", "start", "end", "city", "hashtag", "embargo", "embargo_lifts", "attendees", "specialty"}


def parse_meeting_request(text: str, catalog: tuple[CatalogMeeting, ...], zone: ZoneInfo,
                          default_embargo: str) -> MeetingRequest:
    """``<catalog key> <start>`` and/or ``key=value`` pairs (quote values with spaces); ``default_embargo``:
    the embargo rules of a meeting that is not in the catalog and gives none."""
    usage = say("meetings_add_usage")
    try:
        words = shlex.split(text)
    except ValueError:
        raise BadArguments("meeting_quote_not_closed", usage=usage) from None
    fields: dict[str, str] = {}
    positional = []
    for word in words:
        key, eq, value = word.partition("=")
        if eq:
            if key.lower() not in _MEETING_KEYS:
                raise BadArguments("meeting_unknown_field", field=key, fields=", ".join(sorted(_MEETING_KEYS)),
                                   usage=usage)
            fields[key.lower()] = value.strip()
        else:
            positional.append(word)
    by_key = {m.key: m for m in catalog}
    base = by_key.get(positional[0].lower()) if positional else None
    if positional and base is None and "start" not in fields and len(positional) <= 2:
        known = ", ".join(sorted(by_key))
        raise BadArguments("meeting_not_in_catalog", key=positional[0], known=known, usage=usage).at(CATALOG_FIELD)
    rest = positional[1:] if base else positional
    if rest and "start" not in fields:
        fields["start"] = rest[0]
    if "start" not in fields:
        raise BadArguments("meeting_needs_start", usage=usage).at("start")
    start = _date(fields["start"], "start")
    if base is None and not fields.get("name"):
        raise BadArguments("meeting_needs_name", usage=usage).at("name")
    end = _date(fields["end"], "end") if fields.get("end") else start + timedelta(days=(base.days if base else 1) - 1)
    if end < start:
        raise BadArguments("meeting_ends_before_start").at("end")
    name = fields.get("name") or f"{base.name} {start.year}"  # type: ignore[union-attr]
    hashtag = fields.get("hashtag") or (base.hashtag_for(start.year) if base else "")
    if hashtag and not re.fullmatch(r"#?[A-Za-z][A-Za-z0-9_]{1,60}", hashtag):
        raise BadArguments("meeting_bad_hashtag", hashtag=hashtag).at("hashtag")
    stem = base.key if base else name.lower()
    stem = stem if stem.endswith(str(start.year)) else f"{stem} {start.year}"
    key = re.sub(r"[^a-z0-9]+", "-", stem.lower()).strip("-")
    meeting = Meeting(
        id=0, key=key, name=name, specialty=fields.get("specialty") or (base.specialty if base else ""),
        starts_on=start, ends_on=end, city=fields.get("city", ""),
        hashtag=("#" + hashtag.lstrip("#")) if hashtag else "",
        embargo=fields.get("embargo") or (base.embargo if base else default_embargo))
    if fields.get("embargo_lifts"):
        meeting = replace(meeting, embargo_lifts_at=_instant(fields["embargo_lifts"], zone))
    attendees = tuple(a.strip() for a in fields.get("attendees", "").split(",") if a.strip())
    return MeetingRequest(meeting, attendees)


MEETING_FORM_KEYS = ("name", "start", "end", "city", "hashtag", "embargo", "embargo_lifts", "attendees")


def meeting_form_arguments(values: Mapping[str, str]) -> str:
    """An add-a-meeting form's values as the arguments of ``meetings add``: ``[catalog key] key=value …``,
    values quoted.

    The embargo lift comes as a date and a time field; together they are ``embargo_lifts``.
    """
    answers = {key: (value or "").strip() for key, value in values.items()}
    lift_date, lift_time = answers.pop(EMBARGO_LIFT_DATE, ""), answers.pop(EMBARGO_LIFT_TIME, "")
    if lift_date and lift_time:
        answers["embargo_lifts"] = f"{lift_date}T{lift_time}"
    elif lift_date or lift_time:
        raise BadArguments("meeting_embargo_half_given").at(EMBARGO_LIFT_TIME if lift_date else EMBARGO_LIFT_DATE)
    words = [shlex.quote(answers[CATALOG_FIELD])] if answers.get(CATALOG_FIELD) else []
    words += [f"{key}={shlex.quote(answers[key])}" for key in MEETING_FORM_KEYS if answers.get(key)]
    return " ".join(words)


def _instant(value: str, zone: ZoneInfo) -> datetime:
    """``2027-05-30T07:00`` (hospital time) or with an explicit offset → an aware UTC instant."""
    try:
        moment = datetime.fromisoformat(value.replace(" ", "T"))
    except ValueError:
        raise BadArguments("meeting_embargo_not_a_moment", value=value).at(EMBARGO_LIFT_DATE) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=zone)
    return moment.astimezone(ZoneInfo("UTC"))


def _date(value: str, field_name: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise BadArguments("meeting_not_a_date", field=field_name, value=value).at(field_name) from None


_CLOCK = re.compile(r"([01]?\d|2[0-3]):([0-5]\d)")


def parse_settings(args: str) -> PreferenceChange:
    """``quiet 21:00-07:00``, ``weekends off``, ``lessons 07:30``, ``timezone Europe/London`` → store values.

    ``default`` gives None: the hospital's setting applies again.
    """
    words = args.split()
    if len(words) != 2:
        raise BadArguments("settings_usage")
    what, value = words[0].lower(), words[1]
    default = value.lower() == "default"
    if what == "quiet":
        if default:
            return {"quiet_start": None, "quiet_end": None}
        start, _, end = value.partition("-")
        if not (_CLOCK.fullmatch(start) and _CLOCK.fullmatch(end)):
            raise BadArguments("settings_not_a_range", value=value)
        return {"quiet_start": _hhmm(start), "quiet_end": _hhmm(end)}
    if what == "weekends":
        choice = value.lower()
        if choice not in ("on", "off", "default"):
            raise BadArguments("settings_weekends")
        return {"weekends_off": None if default else choice == "off"}
    if what in ("lessons", "lesson"):
        if default:
            return {"lesson_time": None}
        if not _CLOCK.fullmatch(value):
            raise BadArguments("settings_not_a_time", value=value)
        return {"lesson_time": _hhmm(value)}
    if what in ("timezone", "zone", "tz"):
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise BadArguments("settings_not_a_zone", value=value) from None
        return {"timezone": value}
    raise BadArguments("settings_usage")


def _hhmm(value: str) -> str:
    hours, minutes = value.split(":")
    return f"{int(hours):02d}:{minutes}"


SAFETY_KINDS: dict[str, str] = {
    "harassment": "harassment", "harassed": "harassment", "abuse": "harassment", "sexual": "harassment",
    "doxxing": "doxxing", "doxing": "doxxing", "doxxed": "doxxing", "dox": "doxxing",
    "pile-on": "pile-on", "pileon": "pile-on", "mob": "pile-on",
    "threat": "threat", "threats": "threat", "threatened": "threat",
    "impersonation": "impersonation", "impersonated": "impersonation", "fake": "impersonation",
    "other": "other",
}
"""What kind of incident a report names, by the words people use; the value is what is stored."""
SAFETY_URGENCY: dict[str, str] = {"urgent": "urgent", "asap": "urgent", "now": "urgent", "emergency": "urgent",
                                  "normal": "normal", "routine": "normal"}
_LINK = re.compile(r"https?://[^\s<>\"]{3,500}")


@dataclass(frozen=True)
class SafetyReport:
    link: str
    kind: str
    urgency: str


def parse_safety_report(text: str) -> SafetyReport:
    """``<link> [kind] [urgent]`` → a report. Any other words are refused rather than stored: a report
    keeps the link, never the words of the posts (or of the person reporting them)."""
    usage = say("harassment_usage")
    link, kind, urgency = "", "", ""
    for word in text.split():
        cleaned = word.strip("<>").rstrip(".,;")
        lowered = cleaned.lower()
        if _LINK.fullmatch(cleaned) and not link:
            link = cleaned
        elif lowered in SAFETY_KINDS and not kind:
            kind = SAFETY_KINDS[lowered]
        elif lowered in SAFETY_URGENCY and not urgency:
            urgency = SAFETY_URGENCY[lowered]
        elif lowered in ("not", "is", "it's", "very"):
            continue  # "not urgent", "it's urgent"
        else:
            raise BadArguments("harassment_words_refused", usage=usage)
    if not link:
        raise BadArguments("harassment_needs_link", usage=usage)
    if " not " in f" {text.lower()} " and urgency == "urgent":
        urgency = "normal"
    return SafetyReport(link=link, kind=kind or "harassment", urgency=urgency or "normal")


def parse_networks(args: str) -> tuple[str, ...]:
    """``x bluesky`` (or ``x, Bluesky``) → known network ids in the order given; ``default`` → ()."""
    from bot.core.models import NETWORKS
    words = [w.strip(",").lower() for w in args.replace(",", " ").split() if w.strip(",")]
    if words == ["default"]:
        return ()
    aliases = {"twitter": "x", "bsky": "bluesky", "instagram": "threads"}
    chosen = []
    for word in words:
        network = aliases.get(word, word)
        if network not in NETWORKS:
            raise BadArguments("networks_unknown", network=word, networks=", ".join(NETWORKS))
        if network not in chosen:
            chosen.append(network)
    return tuple(chosen)
