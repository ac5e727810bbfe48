"""The config file: defaults, the example, and one clear message naming the key for each mistake."""
from __future__ import annotations

from datetime import time
from pathlib import Path

import pytest

from bot.config import (
    DEFAULT_CONTENT_DIR,
    EXAMPLE_CONFIG,
    Config,
    DigestSchedule,
    LessonCadence,
    QuietHours,
    config_path,
    load_config,
)
from bot.yamlsrc import ContentError


def write(tmp_path: Path, text: str, name: str = "rounds.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def error_of(path: Path) -> str:
    with pytest.raises(ContentError) as raised:
        load_config(path)
    return str(raised.value)


# -- defaults and the example ------------------------------------------------------------------------------

def test_missing_optional_file_gives_the_defaults(tmp_path):
    config = load_config(tmp_path / "absent.yaml")
    assert config == Config()
    assert (config.hospital_name, config.hospital_handle, config.timezone) == (
        "Riverside University Hospital", "RiversideUH", "America/New_York")
    assert config.quiet_hours == QuietHours(time(19, 0), time(8, 0), True)
    assert config.lessons == LessonCadence((1, 3), time(8, 30))
    assert config.digest == DigestSchedule(0, time(9, 0))
    assert config.content_dir == DEFAULT_CONTENT_DIR
    assert config.source == "(defaults)"


def test_missing_required_file(tmp_path):
    path = tmp_path / "absent.yaml"
    with pytest.raises(ContentError) as raised:
        load_config(path, required=True)
    assert str(raised.value) == f"{path}: config file not found (run `rounds init` to write one)"


def test_empty_file_gives_the_defaults(tmp_path):
    path = write(tmp_path, "# nothing yet\n")
    config = load_config(path)
    assert config.admins == ()
    assert config.source == str(path)


def test_example_config_loads(tmp_path):
    config = load_config(write(tmp_path, EXAMPLE_CONFIG))
    assert config.admins == ("maria.lopez@riverside.example",)
    assert config.hospital_handle == "RiversideUH"
    assert config.quiet_hours == QuietHours(time(19, 0), time(8, 0), True)
    assert config.lessons == LessonCadence((1, 3), time(8, 30))
    assert config.max_nudges_per_day == 1
    assert config.digest == DigestSchedule(0, time(9, 0))
    assert (config.slack_marketing_channel, config.teams_marketing_channel) == ("", "")


def test_full_config(tmp_path):
    (tmp_path / "content").mkdir()
    config = load_config(write(tmp_path, """\
hospital:
  name: Lakeside Medical Center
  x_handle: "@LakesideMC"
  timezone: America/Chicago
admins: [Anna.Berg@Lakeside.example, " it@lakeside.example "]
quiet_hours: {start: 20:30, end: "7:00", weekends: false}
lessons: {weekdays: [Friday, mon, MON], time: "12:15"}
nudges: {max_per_day: 0}
digest: {weekday: thursday, time: "16:45"}
marketing: {slack_channel: C0123456789, teams_channel: "19:abc@thread.tacv2"}
content_dir: content
"""))
    assert config.hospital_name == "Lakeside Medical Center"
    assert config.hospital_handle == "LakesideMC"
    assert config.timezone == "America/Chicago"
    assert str(config.zone) == "America/Chicago"
    assert config.admins == ("anna.berg@lakeside.example", "it@lakeside.example")
    # An unquoted 20:30 is a YAML 1.1 base-60 number; it still means half past eight.
    assert config.quiet_hours == QuietHours(time(20, 30), time(7, 0), False)
    assert config.lessons == LessonCadence((0, 4), time(12, 15))
    assert config.max_nudges_per_day == 0
    assert config.digest == DigestSchedule(3, time(16, 45))
    assert config.slack_marketing_channel == "C0123456789"
    assert config.teams_marketing_channel == "19:abc@thread.tacv2"
    assert config.content_dir == (tmp_path / "content").resolve()


def test_absolute_content_dir_is_kept(tmp_path):
    config = load_config(write(tmp_path, f"content_dir: {tmp_path / 'elsewhere'}\n"))
    assert config.content_dir == tmp_path / "elsewhere"


def test_is_admin_ignores_case():
    config = Config(admins=("maria.lopez@riverside.example",))
    assert config.is_admin("Maria.Lopez@Riverside.example")
    assert not config.is_admin("jane.rivera@riverside.example")
    assert not config.is_admin(None)
    assert not config.is_admin("")


def test_config_path_precedence():
    """``--config``, else ``ROUNDS_CONFIG`` (the command line reads it, see test_cli), else ./rounds.yaml."""
    assert config_path(None) == Path("rounds.yaml")
    assert config_path(None, "/etc/rounds/prod.yaml") == Path("/etc/rounds/prod.yaml")
    assert config_path("mine.yaml", "/etc/rounds/prod.yaml") == Path("mine.yaml")


# -- one clear message naming the key ----------------------------------------------------------------------

@pytest.mark.parametrize("text, where", [
    ("hospital:\n  timezone: Mars/Base\n",
     "2: hospital.timezone: 'Mars/Base' is not a known time zone (e.g. America/Chicago)"),
    ("hospital:\n  name: X\n  timezone: ''\n",
     "3: hospital.timezone: '' is not a known time zone (e.g. America/Chicago)"),
    ("hospital:\n  x_handle: Riverside-UH\n",
     "2: hospital.x_handle: must be 1–15 letters, digits or underscores"),
    ("hospital:\n  x_handle: RiversideUniversityHospital\n",
     "2: hospital.x_handle: must be 1–15 letters, digits or underscores"),
    ("hospital:\n  name: [a, b]\n", "2: hospital.name: must be text"),
    ("hospital:\n  colour: blue\n",
     "2: hospital.colour: unknown key (expected one of: bluesky_handle, name, timezone, x_handle)"),
    ("hospital: Riverside\n", "1: hospital: must be a mapping"),
    ("admins:\n  - maria.lopez@riverside.example\n  - not-an-email\n",
     "1: admins[1]: 'not-an-email' is not an email address"),
    ("admins: maria.lopez@riverside.example\n", "1: admins: must be a list"),
    ("quiet_hours:\n  start: '25:00'\n", "2: quiet_hours.start: '25:00' is not a time of day like 19:00"),
    ("quiet_hours:\n  end: 7pm\n", "2: quiet_hours.end: '7pm' is not a time of day like 19:00"),
    ("quiet_hours:\n  weekends: sometimes\n", "2: quiet_hours.weekends: must be true or false"),
    ("lessons:\n  weekdays: [tue, funday]\n", "2: lessons.weekdays: 'funday' is not a weekday (mon, tue, … sun)"),
    ("lessons:\n  weekdays: []\n", "2: lessons.weekdays: needs at least one day"),
    ("nudges:\n  max_per_day: 11\n", "2: nudges.max_per_day: must be a whole number from 0 to 10"),
    ("nudges:\n  max_per_day: -1\n", "2: nudges.max_per_day: must be a whole number from 0 to 10"),
    ("nudges:\n  max_per_day: true\n", "2: nudges.max_per_day: must be a whole number from 0 to 10"),
    ("nudges:\n  max_per_day: 2.5\n", "2: nudges.max_per_day: must be a whole number from 0 to 10"),
    ("digest:\n  time: '9'\n", "2: digest.time: '9' is not a time of day like 19:00"),
    ("digest:\n  weekday: someday\n", "2: digest.weekday: 'someday' is not a weekday (mon, tue, … sun)"),
    ("marketing:\n  slack: C01\n",
     "2: marketing.slack: unknown key (expected one of: slack_channel, teams_channel)"),
])
def test_bad_values_name_the_key_and_line(tmp_path, text, where):
    path = write(tmp_path, text)
    assert error_of(path) == f"{path}:{where}"


def test_unknown_top_level_key(tmp_path):
    path = write(tmp_path, "hospitl:\n  name: X\n")
    message = error_of(path)
    prefix = f"{path}:1: hospitl: unknown key (expected one of: "
    assert message.startswith(prefix) and message.endswith(")")
    # Other sections may be added over time; these are always allowed.
    allowed = message[len(prefix):-1].split(", ")
    assert {"admins", "content_dir", "digest", "hospital", "lessons", "marketing", "nudges",
            "quiet_hours"} <= set(allowed)
    assert allowed == sorted(allowed)


def test_top_level_must_be_a_mapping(tmp_path):
    path = write(tmp_path, "- just\n- a list\n")
    assert error_of(path) == f"{path}: (top level): must be a mapping of keys to values"


def test_duplicate_key(tmp_path):
    path = write(tmp_path, "hospital:\n  name: A\n  name: B\n")
    assert error_of(path) == f"{path}:3: duplicate key 'name'"


def test_yaml_syntax_error(tmp_path):
    path = write(tmp_path, "hospital:\n  name: [unclosed\nadmins: []\n")
    message = error_of(path)
    assert message.startswith(f"{path}:3: YAML syntax: ")


def test_not_utf8(tmp_path):
    path = tmp_path / "rounds.yaml"
    path.write_bytes(b"hospital:\n  name: Caf\xe9\n")
    assert error_of(path).startswith(f"{path}: not UTF-8 text")
