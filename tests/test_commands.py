"""The command grammar: words in, a Command or a helpful error out."""
from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.core.commands import (
    ALIASES,
    MAX_SNOOZE,
    SPEC_BY_NAME,
    SPECS,
    BadArguments,
    Command,
    Unknown,
    closest,
    meeting_form_arguments,
    parse,
    parse_meeting_request,
    parse_snooze,
)
from bot.core.models import Meeting

NEW_YORK = ZoneInfo("America/New_York")
FRIDAY_9AM_EST = datetime(2026, 3, 6, 14, 0, tzinfo=UTC)
"""Two days before the switch to daylight saving time (Sun 8 March 2026, 02:00 local)."""


def embargo(content) -> str:
    """The embargo rules of an ad hoc meeting that gives none (prompts/words.yaml)."""
    return content.words.say("meeting_default_embargo")


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


# -- parse ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("text", ["", "   ", None, "/rounds", "/rounds   ", "<@U0BOT>"])
def test_nothing_typed_means_help(text):
    assert parse(text) == Command("help", (), "")


@pytest.mark.parametrize("text, expected", [
    ("lesson", Command("lesson", (), "")),
    ("/rounds lesson", Command("lesson", (), "")),
    ("<@U0BOT> status", Command("status", (), "")),
    ("@SocialRounds status", Command("status", (), "")),
    ("STATUS!", Command("status", (), "")),
    ("Status.", Command("status", (), "")),
    ("progress", Command("status", (), "")),
    ("score", Command("status", (), "")),
    ("hi", Command("help", (), "")),
    ("help snooze", Command("help", ("snooze",), "snooze")),
    ("next", Command("lesson", (), "")),
    ("review", Command("quiz", (), "")),
    ("pause 1w", Command("snooze", ("1w",), "1w")),
    ("snooze until 2026-12-01", Command("snooze", ("until", "2026-12-01"), "until 2026-12-01")),
    ("unsubscribe", Command("stop", (), "")),
    ("resume", Command("start", (), "")),
    ("profile @DrJaneRivera", Command("profile", ("@DrJaneRivera",), "@DrJaneRivera")),
    ("handle DrJane", Command("profile", ("DrJane",), "DrJane")),
    ("join ASCO 2026", Command("meetings", ("join", "ASCO", "2026"), "join ASCO 2026")),
    ("leave", Command("meetings", ("leave",), "leave")),
    ("meetings add asco 2027-05-28 city=Chicago",
     Command("meetings", ("add", "asco", "2027-05-28", "city=Chicago"), "add asco 2027-05-28 city=Chicago")),
    ("check Great talk  by @DrLee", Command("check", ("Great", "talk", "by", "@DrLee"), "Great talk  by @DrLee")),
    ("report Cardiology", Command("report", ("Cardiology",), "Cardiology")),
    ("readiness", Command("report", (), "")),
    ("tweetcamp", Command("camp", (), "")),
])
def test_parse(text, expected):
    assert parse(text) == expected


@pytest.mark.parametrize("text, suggestion", [
    ("lesosn", "lesson"),
    ("staus", "status"),
    ("reprot please", "report"),
    ("snoze 1w", "snooze"),
    ("quizz", "quiz"),
    ("helo", "help"),
    ("meetigns", "meetings"),
    ("folow done", "follow"),
    ("unsubscrib", "stop"),  # the closest alias, mapped to its command
    ("xyzzy", None),
    ("what is my score", None),
])
def test_unknown_words_get_the_closest_command(text, suggestion):
    assert parse(text) == Unknown(text, suggestion)


def test_closest_only_suggests_real_commands():
    for word in ("lesosn", "staus", "unsubscrib", "tweetcam", "conferencs"):
        assert closest(word) in SPEC_BY_NAME


def test_admin_commands():
    admin = {s.name for s in SPECS if s.admin}
    assert {"meetings add", "report"} <= admin
    assert not admin & {"help", "lesson", "quiz", "profile", "follow", "video", "meetings", "camp", "status",
                        "check", "snooze", "stop", "start"}
    assert set(ALIASES.values()) <= set(SPEC_BY_NAME)


# -- snooze -----------------------------------------------------------------------------------------

@pytest.mark.parametrize("text, resume", [
    ("", utc(2026, 3, 7, 14, 0)),          # default: one day
    ("1d", utc(2026, 3, 7, 14, 0)),
    ("1 day", utc(2026, 3, 7, 14, 0)),
    ("12h", utc(2026, 3, 7, 2, 0)),
    ("1 hour", utc(2026, 3, 6, 15, 0)),
    ("72h", utc(2026, 3, 9, 14, 0)),       # 72 real hours: 10:00 EDT on Monday, across the switch
    ("90d", utc(2026, 6, 4, 13, 0)),  # 09:00 EDT: calendar days keep the local time
    ("999h", utc(2026, 4, 17, 5, 0)),      # at most three digits
])
def test_snooze_lengths(text, resume):
    assert parse_snooze(text, FRIDAY_9AM_EST, NEW_YORK) == resume


@pytest.mark.parametrize("text, resume", [
    ("1w", utc(2026, 1, 12, 14, 0)),
    ("2 weeks", utc(2026, 1, 19, 14, 0)),
    ("3 days", utc(2026, 1, 8, 14, 0)),
    ("3D", utc(2026, 1, 8, 14, 0)),
])
def test_snooze_in_days_and_weeks_outside_dst_changes(text, resume):
    assert parse_snooze(text, utc(2026, 1, 5, 14, 0), NEW_YORK) == resume


@pytest.mark.parametrize("day, resume", [
    # Midnight in New York is 05:00 UTC in winter and 04:00 UTC in summer.
    ("2026-03-07", utc(2026, 3, 7, 5, 0)),
    ("2026-03-08", utc(2026, 3, 8, 5, 0)),   # the switch happens at 02:00, after midnight EST
    ("2026-03-09", utc(2026, 3, 9, 4, 0)),   # first full day of EDT
    ("2026-06-04", utc(2026, 6, 4, 4, 0)),   # 89 days 14 hours: within the limit
])
def test_snooze_until_a_date_resumes_at_local_midnight(day, resume):
    assert parse_snooze(f"until {day}", FRIDAY_9AM_EST, NEW_YORK) == resume


def test_snooze_until_across_the_autumn_change():
    now = utc(2026, 10, 30, 13, 0)  # Fri 09:00 EDT; back to EST on Sun 1 Nov 2026 at 02:00
    assert parse_snooze("until 2026-11-01", now, NEW_YORK) == utc(2026, 11, 1, 4, 0)
    assert parse_snooze("until 2026-11-02", now, NEW_YORK) == utc(2026, 11, 2, 5, 0)


def test_snooze_until_uses_the_readers_zone():
    assert parse_snooze("until 2026-03-07", FRIDAY_9AM_EST, ZoneInfo("America/Los_Angeles")) == utc(2026, 3, 7, 8, 0)
    assert parse_snooze("until 2026-03-07", FRIDAY_9AM_EST, ZoneInfo("UTC")) == utc(2026, 3, 7, 0, 0)


@pytest.mark.parametrize("text, message", [
    ("forever", "“forever” is not a snooze length; try 1d, 3d, 1w, 2w or until 2026-12-01."),
    ("1000d", "“1000d” is not a snooze length; try 1d, 3d, 1w, 2w or until 2026-12-01."),
    ("-1d", "“-1d” is not a snooze length; try 1d, 3d, 1w, 2w or until 2026-12-01."),
    ("0d", "Snooze for at least one hour, or use `stop` to stop reminders."),
    ("91d", "The longest snooze is 90 days; use `stop` to stop reminders altogether."),
    ("13w", "The longest snooze is 90 days; use `stop` to stop reminders altogether."),
    ("2160h", "“2160h” is not a snooze length; try 1d, 3d, 1w, 2w or until 2026-12-01."),
    ("until 2026-06-05", "The longest snooze is 90 days; use `stop` to stop reminders altogether."),
    ("until tomorrow", "“tomorrow” is not a date; write it like 2026-12-01."),
    ("until", "“(nothing)” is not a date; write it like 2026-12-01."),
    ("until 2026-02-30", "“2026-02-30” is not a date; write it like 2026-12-01."),
    ("until 2026-03-06", "That date has already passed; pick a day in the future."),
    ("until 2025-12-31", "That date has already passed; pick a day in the future."),
])
def test_bad_snooze(content, text, message):
    with pytest.raises(BadArguments) as raised:
        parse_snooze(text, FRIDAY_9AM_EST, NEW_YORK)
    assert content.words.of(raised.value.say) == message


def test_max_snooze_is_90_days():
    assert timedelta(days=90) == MAX_SNOOZE


# -- meetings add ---------------------------------------------------------------------------------------

def test_meeting_from_the_catalog(content):
    asco = content.catalog_meeting("asco")
    request = parse_meeting_request("asco 2027-05-28 city=Chicago attendees=Oncology", content.catalog, NEW_YORK,
                                    embargo(content))
    assert request.meeting == Meeting(
        id=0, key="asco-2027", name="ASCO Annual Meeting 2027", specialty="Oncology",
        starts_on=date(2027, 5, 28), ends_on=date(2027, 6, 1), city="Chicago", hashtag="#ASCO27",
        embargo=asco.embargo)
    assert request.attendees == ("Oncology",)


def test_catalog_key_is_case_insensitive_and_four_digit_years_work(content):
    request = parse_meeting_request("DDW 2027-05-02", content.catalog, NEW_YORK, embargo(content))
    assert (request.meeting.key, request.meeting.name, request.meeting.hashtag) == (
        "ddw-2027", "Digestive Disease Week (DDW) 2027", "#DDW2027")
    assert request.meeting.ends_on == date(2027, 5, 5)  # 4 days
    assert request.meeting.city == ""
    assert request.attendees == ()


def test_catalog_meeting_with_overrides(content):
    request = parse_meeting_request(
        'acc start=2027-04-02 end=2027-04-05 name="ACC.27 Scientific Session" hashtag=ACC2027 '
        'attendees="jane.rivera@riverside.example, Cardiology ,"', content.catalog, NEW_YORK, embargo(content))
    m = request.meeting
    assert (m.key, m.name, m.hashtag, m.starts_on, m.ends_on, m.specialty) == (
        "acc-2027", "ACC.27 Scientific Session", "#ACC2027", date(2027, 4, 2), date(2027, 4, 5), "Cardiology")
    assert request.attendees == ("jane.rivera@riverside.example", "Cardiology")


def test_ad_hoc_meeting(content):
    request = parse_meeting_request('name="Heart Summit" start=2027-03-04 end=2027-03-06 hashtag=#HS27 '
                                    'specialty=Cardiology city=Boston', content.catalog, NEW_YORK, embargo(content))
    assert request.meeting == Meeting(
        id=0, key="heart-summit-2027", name="Heart Summit", specialty="Cardiology",
        starts_on=date(2027, 3, 4), ends_on=date(2027, 3, 6), city="Boston", hashtag="#HS27",
        embargo="Check the meeting's embargo policy before posting results.")


def test_ad_hoc_meeting_defaults_to_one_day(content):
    request = parse_meeting_request("name=Retreat start=2027-01-15", content.catalog, NEW_YORK, embargo(content))
    assert (request.meeting.starts_on, request.meeting.ends_on, request.meeting.hashtag) == (
        date(2027, 1, 15), date(2027, 1, 15), "")


USAGE = ("Write it like `meetings add asco 2027-05-28 city=Chicago attendees=Oncology`, or "
         "`meetings add name=\"Heart Summit 2027\" start=2027-03-04 end=2027-03-06 hashtag=#HS27`.")


@pytest.mark.parametrize("text, message", [
    ("", "The meeting needs a start date. " + USAGE),
    ("asco", "The meeting needs a start date. " + USAGE),
    ('asco 2027-05-28 city="Chicago', "A quote is not closed. " + USAGE),
    ("asco 2027-05-28 room=5", "I don't know the field “room” (fields: attendees, city, embargo, embargo_lifts, "
                               "end, hashtag, name, specialty, start). " + USAGE),
    ("asco 2027-05-28 embargo_lifts=soon",
     "embargo_lifts “soon” is not a date and time; write it like 2027-05-30T07:00."),
    ("asco 2027-13-01", "start “2027-13-01” is not a date; write it like 2027-05-28."),
    ("asco 2027-05-28 end=soon", "end “soon” is not a date; write it like 2027-05-28."),
    ("asco 2027-05-28 end=2027-05-27", "The meeting ends before it starts; check the dates."),
    ("start=2027-05-28", "The meeting needs a name (or a catalog key). " + USAGE),
    ("asco 2027-05-28 hashtag=#1abc", "“#1abc” is not a hashtag; use letters and digits, like #ASCO27."),
    ("asco 2027-05-28 hashtag=#A", "“#A” is not a hashtag; use letters and digits, like #ASCO27."),
])
def test_bad_meeting_requests(content, text, message):
    with pytest.raises(BadArguments) as raised:
        parse_meeting_request(text, content.catalog, NEW_YORK, embargo(content))
    assert content.words.of(raised.value.say) == message


def test_unknown_catalog_key_lists_the_catalog(content):
    with pytest.raises(BadArguments) as raised:
        parse_meeting_request("ascoo 2027-05-28", content.catalog, NEW_YORK, embargo(content))
    keys = ", ".join(sorted(m.key for m in content.catalog))
    assert content.words.of(raised.value.say) == f"“ascoo” is not in the meeting catalog ({keys}). " + USAGE
    assert "asco, ash, astro" in keys


@pytest.mark.parametrize("value, zone, lifts", [
    # Hospital time is used when no offset is given: CDT and EDT in May, EST in January.
    ("2027-05-30T07:00", "America/Chicago", datetime(2027, 5, 30, 12, 0, tzinfo=UTC)),
    ("2027-05-30 07:00", "America/New_York", datetime(2027, 5, 30, 11, 0, tzinfo=UTC)),
    ("2027-01-15T07:00", "America/New_York", datetime(2027, 1, 15, 12, 0, tzinfo=UTC)),
    ("2027-05-30T07:00-05:00", "America/New_York", datetime(2027, 5, 30, 12, 0, tzinfo=UTC)),
])
def test_embargo_lift_time(content, value, zone, lifts):
    request = parse_meeting_request(f'asco 2027-05-28 embargo_lifts="{value}"', content.catalog, ZoneInfo(zone),
                                    embargo(content))
    assert request.meeting.embargo_lifts_at == lifts


def test_no_embargo_lift_time_by_default(content):
    request = parse_meeting_request("asco 2027-05-28", content.catalog, NEW_YORK, embargo(content))
    assert request.meeting.embargo_lifts_at is None


def test_form_values_become_quoted_meeting_arguments(content):
    values = {"name": "St. Mary's \"Heart\" Summit", "start": "2027-03-04", "end": "", "city": " New Orleans ",
              "hashtag": "#HS27", "embargo": "Late-breaking trials: embargoed until presented.\nPosters: $free=ok",
              "embargo_lifts_date": "2027-03-05", "embargo_lifts_time": "07:30",
              "attendees": "Cardiology, omar.haddad@riverside.example", "unrelated": "ignored"}
    arguments = meeting_form_arguments(values)
    assert arguments.startswith("name='St. Mary'\"'\"'s \"Heart\" Summit' start=2027-03-04 city='New Orleans' ")
    request = parse_meeting_request(arguments, content.catalog, NEW_YORK, embargo(content))
    meeting = request.meeting
    assert (meeting.name, meeting.starts_on, meeting.ends_on, meeting.city, meeting.hashtag) == (
        'St. Mary\'s "Heart" Summit', date(2027, 3, 4), date(2027, 3, 4), "New Orleans", "#HS27")
    assert meeting.embargo == "Late-breaking trials: embargoed until presented.\nPosters: $free=ok"
    assert meeting.embargo_lifts_at == utc(2027, 3, 5, 12, 30)  # 07:30 EST, hospital time
    assert request.attendees == ("Cardiology", "omar.haddad@riverside.example")
    assert meeting_form_arguments({"name": "", "start": "  "}) == ""


@pytest.mark.parametrize("values", [{"embargo_lifts_date": "2027-03-05"}, {"embargo_lifts_time": "07:30"}])
def test_form_embargo_lift_needs_a_date_and_a_time(content, values):
    with pytest.raises(BadArguments) as raised:
        meeting_form_arguments({"name": "Retreat", "start": "2027-03-04", **values})
    assert "both the date and the time the embargo lifts" in content.words.of(raised.value.say)


def test_snooze_in_days_keeps_the_local_wall_clock_across_dst() -> None:
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from bot.core.commands import parse_snooze
    ny = ZoneInfo("America/New_York")
    now = datetime(2026, 3, 2, 14, 0, tzinfo=UTC)  # Mon 09:00 EST
    resume = parse_snooze("1w", now, ny)
    assert resume.astimezone(ny).strftime("%a %d %b %H:%M %Z") == "Mon 09 Mar 09:00 EDT"
    assert parse_snooze("3h", now, ny) == datetime(2026, 3, 2, 17, 0, tzinfo=UTC)


def test_a_bare_handle_registers_it_and_stat_means_status() -> None:
    from bot.core.commands import Command, parse
    assert parse("@DrJaneRivera") == Command("profile", ("@DrJaneRivera",), "@DrJaneRivera")
    assert parse("@SocialRounds status").name == "status"
    assert parse("stat").name == "status"


def test_settings_parse_to_store_values() -> None:
    from bot.core.commands import BadArguments, parse_settings
    assert parse_settings("quiet 21:00-6:30") == {"quiet_start": "21:00", "quiet_end": "06:30"}
    assert parse_settings("quiet default") == {"quiet_start": None, "quiet_end": None}
    assert parse_settings("weekends on") == {"weekends_off": False}
    assert parse_settings("weekends off") == {"weekends_off": True}
    assert parse_settings("lessons 7:05") == {"lesson_time": "07:05"}
    assert parse_settings("timezone Europe/Paris") == {"timezone": "Europe/Paris"}
    for bad in ("quiet 9pm-7am", "weekends maybe", "lessons 24:00", "timezone Mars/Base", "volume loud", "quiet"):
        with pytest.raises(BadArguments):
            parse_settings(bad)
