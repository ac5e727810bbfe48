"""The roster CSV, parsed: marketing's file of physicians in, valid entries or every problem with its line out.

Pure (bytes in, values out). Liberal in what it accepts (header aliases, BOM, comma or semicolon,
blank lines, whitespace, ``@name`` or profile URLs), strict in what it lets through (lowercased
valid emails, bare X handles, length limits of the schema, no spreadsheet formulas).
"""
from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from bot.core.handles import InvalidHandle, normalize_bluesky, normalize_handle, normalize_linkedin
from bot.core.models import RosterEntry
from bot.core.words import Say

MAX_REPORTED = 50
"""Problems listed one per line before the rest are summarised as "… and N more"."""

MAX_NAME, MAX_DEPARTMENT, MAX_SPECIALTY, MAX_EMAIL, MAX_USER_ID = 200, 120, 120, 320, 128
REQUIRED = ("name", "email", "department")

_ALIASES: dict[str, tuple[str, ...]] = {
    "name": ("name", "fullname", "physician", "physicianname", "doctor", "displayname", "employeename",
             "providername"),
    "last_first": ("lastnamefirstname", "lastfirst", "lastfirstname", "namelastfirst", "surnamefirstname",
                   "surnamegivenname", "familynamegivenname", "fullnamelastfirst"),
    "first_name": ("firstname", "givenname", "first", "preferredfirstname"),
    "last_name": ("lastname", "surname", "familyname", "last"),
    "email": ("email", "emailaddress", "mail", "workemail", "workemailaddress", "businessemail",
              "primaryemail"),
    "department": ("department", "dept", "departmentname", "deptname", "dept1", "division"),
    "specialty": ("specialty", "speciality", "specialism", "primaryspecialty", "medicalspecialty"),
    "x_handle": ("xhandle", "x", "twitter", "twitterhandle", "handle", "xtwitter", "twitterx",
                 "xaccount", "twitteraccount", "xtwitterhandle"),
    "bluesky_handle": ("blueskyhandle", "bluesky", "bsky", "blueskyaccount", "bskyhandle"),
    "linkedin_url": ("linkedinurl", "linkedin", "linkedinprofile", "linkedinprofileurl"),
    "slack_id": ("slackid", "slackuserid", "slackmemberid"),
    "teams_id": ("teamsid", "teamsuserid", "aadobjectid", "aadid", "azureadobjectid", "entraobjectid",
                 "objectid"),
    "platform_user_id": ("platformuserid", "userid", "platformid"),
    "role": ("role", "roundsrole", "botrole", "accessrole", "userrole"),
}
_FIELD_BY_KEY = {alias: name for name, aliases in _ALIASES.items() for alias in aliases}
REQUIRED_HEADERS = {
    "name": "name: Name, Full Name, Physician, or First Name + Last Name, or one “Last Name, First Name” column",
    "email": "email: Email, Email Address, E-mail, Work Email",
    "department": "department: Department, Dept, Division",
}
"""What the error for a missing required column suggests (README lists every accepted header)."""
_ROLES = {"physician": "physician", "doctor": "physician", "clinician": "physician", "provider": "physician",
          "admin": "admin", "administrator": "admin", "marketing": "admin", "marketingmanager": "admin",
          "manager": "admin"}
"""Words a roster may use in its ``role`` column, and the role each means."""
_BLANK_MARKERS = frozenset({"-", "—", "n/a", "na", "none", "null"})
"""What people type into an optional cell to say "nothing here"."""

_EMAIL = re.compile(
    r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]{1,64}"
    r"@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}")
_SLACK_ID = re.compile(r"[UW][A-Z0-9]{6,20}")
_TEAMS_ID = re.compile(r"29:[A-Za-z0-9_\-]{8,}")
_GUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_FORMULA_START = ("=", "+", "@")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
VERIFIED_COLUMNS = tuple(f"{network}_{fact}" for network in ("x", "bluesky")
                         for fact in ("profile", "follows_hospital", "followed_back", "verified_at"))
"""Per network what X or Bluesky said: verified, not_found, no, self_reported or empty; and when."""
EXPORT_COLUMNS = (
    "name", "email", "department", "specialty", "x_handle", "bluesky_handle", "linkedin_url", "score", "stage",
    "next_step", "profile_items_done", "profile_items_total", "follows_hospital", "followed_back",
    "core_lessons_done", "core_lessons_total", "next_meeting", "tweet_camp_done", "tweet_camp_total",
    *VERIFIED_COLUMNS,
)


def _header_key(cell: str) -> str:
    return re.sub(r"[^a-z0-9]", "", cell.strip().lower())


_EXPORT_ONLY = frozenset(_header_key(column) for column in EXPORT_COLUMNS) - _FIELD_BY_KEY.keys()
"""Readiness columns of our own export: ignored without a warning, so an export re-imports cleanly."""


@dataclass(frozen=True)
class RowError:
    """One problem, at the (first physical) line of the file where its record starts."""

    line: int
    message: str


@dataclass(frozen=True)
class RosterRecord:
    """One valid row: the person and the platform ids the file links to them."""

    line: int
    entry: RosterEntry
    links: tuple[tuple[str, str], ...] = ()
    """(platform, platform user id) pairs."""


@dataclass(frozen=True)
class RosterParse:
    source: str
    records: tuple[RosterRecord, ...] = ()
    errors: tuple[RowError, ...] = ()
    warnings: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def entries(self) -> list[RosterEntry]:
        return [record.entry for record in self.records]

    def problems(self, limit: int = MAX_REPORTED) -> list[str]:
        """``SOURCE:LINE: reason`` lines, at most ``limit`` of them plus "… and N more"."""
        lines = [f"{self.source}:{error.line}: {error.message}" for error in self.errors[:limit]]
        if len(self.errors) > limit:
            lines.append(f"… and {len(self.errors) - limit} more")
        return lines


def parse_roster(data: bytes, source: str, words: Callable[[Say], str]) -> RosterParse:
    """Validate a whole roster CSV; entries only when every row is valid, else every problem.

    ``words`` says a handle's problem (:class:`~bot.core.handles.InvalidHandle`) in the words of
    ``prompts/words.yaml``, the ones a physician typing a handle in chat sees too."""
    text, error = _decode(data)
    if error is not None:
        return RosterParse(source, errors=(error,))
    if not text.strip():
        return RosterParse(source, errors=(RowError(1, "the file is empty; expected a header row "
                                                       "(name, email, department, …) and one row per physician"),))
    rows = _rows(text)
    try:
        header_line, _, header = next(rows)
    except StopIteration:
        return RosterParse(source, errors=(RowError(1, "the file has no rows"),))
    except csv.Error as exc:
        return RosterParse(source, errors=(RowError(1, f"unreadable CSV: {exc}"),))
    columns, errors, warnings = _columns(header, header_line)
    if errors:
        return RosterParse(source, errors=tuple(errors), warnings=tuple(warnings))
    return _parse_body(source, rows, header_line, len(header), columns, warnings, words)


def _decode(data: bytes) -> tuple[str, RowError | None]:
    """UTF-8 with or without BOM; anything else is refused with the place of the first bad byte."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return "", RowError(1, "the file is UTF-16 text; save it as “CSV UTF-8” and import it again")
    bom = b"\xef\xbb\xbf"
    body = data[len(bom):] if data.startswith(bom) else data
    try:
        return body.decode("utf-8"), None
    except UnicodeDecodeError as exc:
        offset = exc.start + len(data) - len(body)
        line = data.count(b"\n", 0, offset) + 1
        column = offset - (data.rfind(b"\n", 0, offset) + 1) + 1
        guess = bytes([data[offset]]).decode("cp1252", errors="replace")
        return "", RowError(line, f"not UTF-8 text: byte 0x{data[offset]:02X} at byte offset {offset} "
                                  f"(column {column}) is invalid (“{guess}” in Windows-1252?); "
                                  "save the file as “CSV UTF-8” and import it again")


def _rows(text: str) -> Iterator[tuple[int, int, list[str]]]:
    """Non-blank CSV records with their first and last line; raises csv.Error on unreadable CSV."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=_delimiter(text))
    previous_end = 0
    for row in reader:
        start, previous_end = previous_end + 1, reader.line_num
        if any(cell.strip() for cell in row):
            yield start, previous_end, row


def _delimiter(text: str) -> str:
    """Comma, semicolon or tab, sniffed from the header line."""
    header = next((line for line in text.splitlines() if line.strip()), "")
    try:
        return csv.Sniffer().sniff(header, delimiters=",;\t").delimiter
    except csv.Error:
        return max(",;\t", key=header.count) if any(d in header for d in ",;\t") else ","


def _columns(header: list[str], line: int) -> tuple[dict[str, int], list[RowError], list[str]]:
    """Map canonical field → column index; report missing, duplicate and ignored columns."""
    columns: dict[str, int] = {}
    errors: list[RowError] = []
    ignored: list[str] = []
    for index, cell in enumerate(header):
        name = _FIELD_BY_KEY.get(_header_key(cell))
        if name is None:
            if cell.strip() and _header_key(cell) not in _EXPORT_ONLY:
                ignored.append(cell.strip())
        elif name in columns:
            errors.append(RowError(line, f"columns “{header[columns[name]].strip()}” and “{cell.strip()}” "
                                         f"both mean {name}; keep one"))
        else:
            columns[name] = index
    if "name" not in columns and "last_first" in columns:
        columns["name"] = -2  # “Rivera, Jane” turned around
    elif "name" not in columns and {"first_name", "last_name"} <= columns.keys():
        columns["name"] = -1  # built from first and last name
    missing = [name for name in REQUIRED if name not in columns]
    if missing:
        found = ", ".join(cell.strip() for cell in header if cell.strip()) or "nothing"
        unknown = f"; not recognised: {', '.join(ignored)}" if ignored else ""
        errors.append(RowError(line, f"missing required column{'s' if len(missing) > 1 else ''} "
                                     f"{', '.join(missing)} (found: {found}{unknown}); accepted headers: "
                                     + "; ".join(REQUIRED_HEADERS[name] for name in missing)))
    if sum(name in columns for name in ("slack_id", "teams_id", "platform_user_id")) > 1 \
            and "platform_user_id" in columns:
        errors.append(RowError(line, "use either a generic platform user id column or Slack/Teams id "
                                     "columns, not both"))
    warnings = [f"ignoring column{'s' if len(ignored) > 1 else ''} {', '.join(ignored)}"] if ignored else []
    if "specialty" not in columns:
        warnings.append("no specialty column: specialty is optional but recommended for reports")
    return columns, errors, warnings


def _parse_body(source: str, rows: Iterator[tuple[int, int, list[str]]], header_line: int, width: int,
                columns: dict[str, int], warnings: list[str], words: Callable[[Say], str]) -> RosterParse:
    records: list[RosterRecord] = []
    errors: list[RowError] = []
    emails: dict[str, int] = {}
    user_ids: dict[tuple[str, str], int] = {}
    line = header_line
    try:
        for line, end, row in rows:
            record, messages = _parse_row(line, row, columns, width, words)
            problems = [RowError(line, message) for message in messages]
            problems += _duplicates(record, emails, user_ids)
            if messages and end > line:
                problems.append(RowError(line, f"this record runs from line {line} to line {end}: "
                                               "is a quote left open?"))
            errors += problems
            if not problems:
                records.append(record)
    except csv.Error as exc:
        errors.append(RowError(line + 1, f"unreadable CSV: {exc}"))
    if not records and not errors:
        errors.append(RowError(header_line + 1, "the file has a header but no physicians"))
    no_specialty = sum(1 for record in records if not record.entry.specialty)
    if "specialty" in columns and no_specialty:
        warnings.append(f"{no_specialty} physician{'s have' if no_specialty > 1 else ' has'} no specialty "
                        "(optional, but recommended)")
    if errors:
        return RosterParse(source, errors=tuple(sorted(errors, key=lambda e: e.line)), warnings=tuple(warnings))
    return RosterParse(source, records=tuple(records), warnings=tuple(warnings))


def _parse_row(line: int, row: list[str], columns: dict[str, int], width: int,
               words: Callable[[Say], str]) -> tuple[RosterRecord, list[str]]:
    """One record as read, and every reason it cannot be stored (none when it is valid)."""
    if len(row) > width and any(cell.strip() for cell in row[width:]):
        return RosterRecord(line, RosterEntry(email="", name="")), [
            f"{len(row)} fields but the header has {width}; put quotes around values that contain the delimiter"]
    cells = {name: _cell(row, index) for name, index in columns.items() if index >= 0}
    if columns.get("name") == -1:
        cells["name"] = _squash(f"{cells.get('first_name', '')} {cells.get('last_name', '')}")
    elif columns.get("name") == -2:
        last, comma, first = cells.get("last_first", "").partition(",")
        cells["name"] = _squash(f"{first} {last}" if comma else last)
    problems: list[str] = []
    name = _text(cells.get("name", ""), "name", MAX_NAME, problems, required=True)
    email = _email(cells.get("email", ""), problems)
    department = _text(cells.get("department", ""), "department", MAX_DEPARTMENT, problems, required=True)
    specialty = _text(cells.get("specialty", ""), "specialty", MAX_SPECIALTY, problems, required=False)
    handle = _handle(cells.get("x_handle", ""), problems, words)
    role = _role(cells.get("role", ""), problems)
    links = _links(cells, problems)
    entry = RosterEntry(email=email, name=name, department=department, specialty=specialty, role=role,
                        x_handle=handle, bluesky_handle=_bluesky(cells.get("bluesky_handle", ""), problems, words),
                        linkedin_url=_linkedin(cells.get("linkedin_url", ""), problems, words))
    return RosterRecord(line, entry, links), problems


def _cell(row: list[str], index: int) -> str:
    return _squash(row[index]) if index < len(row) else ""


def _squash(value: str) -> str:
    """Trim and collapse runs of whitespace (tabs, line breaks, double spaces) to one space."""
    return " ".join(value.split())


def _optional(value: str) -> str:
    return "" if value.lower() in _BLANK_MARKERS else value


def _text(value: str, what: str, limit: int, problems: list[str], *, required: bool) -> str:
    if not value:
        if required:
            problems.append(f"{what} is empty")
        return ""
    if len(value) > limit:
        problems.append(f"{what} is {len(value)} characters; at most {limit} are allowed")
    elif control := _CONTROL.search(value):
        problems.append(f"{what} contains the control character 0x{ord(control.group()):02X}; "
                        "is this really a text CSV?")
    elif value.startswith(_FORMULA_START):
        problems.append(f"{what} “{value[:40]}” starts with “{value[0]}”, which spreadsheets run as a formula")
    return value


def _email(value: str, problems: list[str]) -> str:
    email = value.lower()
    if not email:
        problems.append("email is empty")
    elif " " in email:
        problems.append(f"email “{value}” contains a space")
    elif "@" not in email:
        problems.append(f"email “{value}” has no @")
    elif email.count("@") > 1:
        problems.append(f"email “{value}” has more than one @")
    elif email.endswith("@") or "." not in email.split("@")[1]:
        problems.append(f"email “{value}” has no domain after the @ (like name@hospital.org)")
    elif len(email) > MAX_EMAIL or not _EMAIL.fullmatch(email):
        problems.append(f"email “{value}” is not a valid email address")
    return email


def _handle(value: str, problems: list[str], words: Callable[[Say], str]) -> str | None:
    value = _optional(value)
    if not value:
        return None
    if "://" in value or value.lower().startswith(("x.com/", "twitter.com/", "www.")):
        value = re.split(r"[?#]", value, maxsplit=1)[0]
    try:
        return normalize_handle(value)
    except InvalidHandle as exc:
        problems.append(f"X handle: {words(exc.say)}")
        return None


def _bluesky(value: str, problems: list[str], words: Callable[[Say], str]) -> str | None:
    value = _optional(value)
    if not value:
        return None
    try:
        return normalize_bluesky(value)
    except InvalidHandle as exc:
        problems.append(f"Bluesky handle: {words(exc.say)}")
        return None


def _linkedin(value: str, problems: list[str], words: Callable[[Say], str]) -> str | None:
    """A LinkedIn profile address, as ``https://www.linkedin.com/in/<name>``."""
    value = _optional(value)
    if not value:
        return None
    try:
        return normalize_linkedin(value)
    except InvalidHandle as exc:
        problems.append(f"LinkedIn: {words(exc.say)}")
        return None


def _role(value: str, problems: list[str]) -> str | None:
    """The role a cell asks for, or None when it is blank (new people are physicians, others keep theirs)."""
    value = _optional(value)
    if not value:
        return None
    role = _ROLES.get(_header_key(value))
    if role is None:
        problems.append(f"role {value!r} is not physician or admin")
    return role


def _links(cells: dict[str, str], problems: list[str]) -> tuple[tuple[str, str], ...]:
    links: list[tuple[str, str]] = []
    for column, allowed in (("slack_id", ("slack",)), ("teams_id", ("teams",)),
                            ("platform_user_id", ("slack", "teams"))):
        value = _optional(cells.get(column, ""))
        if not value:
            continue
        link = _platform_id(value)
        if link is None or link[0] not in allowed or len(value) > MAX_USER_ID:
            problems.append(_bad_id_message(value, allowed))
        else:
            links.append(link)
    return tuple(links)


def _platform_id(value: str) -> tuple[str, str] | None:
    """("slack", "U…") or ("teams", "29:…" or a lowercase GUID); None when it is neither."""
    if _SLACK_ID.fullmatch(value):
        return "slack", value
    if _TEAMS_ID.fullmatch(value):
        return "teams", value
    if _GUID.fullmatch(value.lower().strip("{}")):
        return "teams", value.lower().strip("{}")
    return None


def _bad_id_message(value: str, allowed: tuple[str, ...]) -> str:
    shapes = {"slack": "a Slack user id (U… or W… with capital letters and digits)",
              "teams": "a Teams id (29:… or an Azure AD object id GUID)"}
    return f"platform user id “{value[:60]}” is not {' or '.join(shapes[p] for p in allowed)}"


def _duplicates(record: RosterRecord, emails: dict[str, int],
                user_ids: dict[tuple[str, str], int]) -> list[RowError]:
    """Emails and platform ids must each appear once in the file; name both lines when not."""
    problems: list[RowError] = []
    email = record.entry.email
    if email in emails:
        problems.append(RowError(record.line, f"duplicate email {email}: also on line {emails[email]}"))
    elif _EMAIL.fullmatch(email):
        emails[email] = record.line
    for link in record.links:
        if link in user_ids:
            problems.append(RowError(record.line, f"duplicate {link[0]} id {link[1]}: also on line {user_ids[link]}"))
        else:
            user_ids[link] = record.line
    for network, label, handle in (("x", "X", record.entry.x_handle),
                                   ("bluesky", "Bluesky", record.entry.bluesky_handle)):
        if handle:  # a handle belongs to one physician
            key = (network, handle.lower())
            if key in user_ids:
                problems.append(RowError(record.line, f"duplicate {label} handle @{handle}: also on line "
                                                      f"{user_ids[key]}"))
            else:
                user_ids[key] = record.line
    return problems
