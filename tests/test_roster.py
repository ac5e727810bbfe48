"""Roster import and readiness export: the pure parser, the store writes, the export and the CLI."""
from __future__ import annotations

import csv
import io
import os
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest

from bot.coach import Coach
from bot.core.models import Meeting
from bot.core.roster_csv import EXPORT_COLUMNS, RosterParse, RowError, parse_roster
from bot.roster import ImportSummary, export_roster, import_roster
from bot.roster_cli import ProgressBar, summary_line
from bot.store import Person, RosterEntry, Store
from bot.store.roster import IdentityLink
from tests.conftest import ADMIN_EMAIL, NOW, ONCOLOGIST_EMAIL, PHYSICIAN_EMAIL, ROOT, WORDS

ROSTER_DIR = Path(__file__).resolve().parent / "data" / "roster"
HEADER = "name,email,department,specialty,x_handle,platform_user_id\n"


def fixture(name: str) -> bytes:
    return (ROSTER_DIR / name).read_bytes()


def parse_text(text: str, source: str = "roster.csv") -> RosterParse:
    return parse_roster(text.encode("utf-8"), source, WORDS)


def errors_of(text: str) -> list[tuple[int, str]]:
    return [(error.line, error.message) for error in parse_text(text).errors]


def generated_roster(rows: int, *, renamed: int = 0) -> bytes:
    """A large roster; the first ``renamed`` people get a new name (an update on re-import)."""
    lines = [HEADER]
    for n in range(rows):
        name = f"Dr. Renamed {n}" if n < renamed else f"Dr. Test Person {n}"
        lines.append(f"{name},person{n}@hospital.example,Department {n % 25},Specialty {n % 40},"
                     f"@doc{n},U{n:08d}\n")
    return "".join(lines).encode("utf-8")


# -- parsing: good files ----------------------------------------------------------------------------

def test_good_file_is_normalised():
    parse = parse_roster(fixture("good.csv"), "good.csv", WORDS)
    assert parse.ok and parse.errors == ()
    assert [r.line for r in parse.records] == [2, 3, 4, 5]
    assert parse.entries == [
        RosterEntry("jane.rivera@riverside.example", "Dr. Jane Rivera", "Cardiology", "Cardiologist",
                    x_handle="DrJaneRivera"),
        RosterEntry("omar.haddad@riverside.example", "Haddad, Omar", "Oncology", "Medical Oncologist",
                    x_handle="OmarHaddadMD"),
        RosterEntry("lena.park@riverside.example", "Dr. Lena Park", "Neurology", ""),
        RosterEntry("sam.okafor@riverside.example", "Dr. Sam Okafor", "Pediatrics", "Pediatrician",
                    x_handle="SamOkaforMD"),
    ]
    assert [r.links for r in parse.records] == [
        (("slack", "U012AB3CD"),), (("teams", "29:1a2b3c4d5e6f7g8h"),), (),
        (("teams", "0f8fad5b-d9cb-469f-a165-70867728950e"),),
    ]
    assert parse.warnings == ("1 physician has no specialty (optional, but recommended)",)


def test_bom_semicolons_and_header_aliases():
    parse = parse_roster(fixture("semicolon_bom.csv"), "bom.csv", WORDS)
    assert parse.ok
    assert parse.entries == [
        RosterEntry("zoe.muller@riverside.example", "Dr. Zoë Müller", "Dermatology", "Dermatologist",
                    x_handle="ZoeMullerMD"),
        RosterEntry("jose.nunez@riverside.example", "Dr. José Núñez", "Cardiologie", "Cardiologue"),
    ]
    assert parse.records[0].links == (("slack", "W0123ABCD"),)


@pytest.mark.parametrize("header", [
    "Full name,E-mail,Dept,Specialty,X handle,Slack ID",
    "NAME,Email Address,Department,Speciality,Twitter,Slack user id",
    "physician,mail,dept,specialty,handle,slack_id",
    "Name,EMAIL,DEPARTMENT,SPECIALTY,x_handle,platform_user_id",
    "name\temail\tdepartment\tspecialty\ttwitter handle\tuser id",
])
def test_header_names_are_case_insensitive_with_aliases(header):
    delimiter = "\t" if "\t" in header else ","
    row = delimiter.join(["Dr. A", "A@H.example", "Cardiology", "Cardiologist", "@DocA", "U0ABCDEF1"])
    parse = parse_text(f"{header}\n{row}\n")
    assert parse.ok, parse.problems()
    assert parse.entries == [RosterEntry("a@h.example", "Dr. A", "Cardiology", "Cardiologist", x_handle="DocA")]
    assert parse.records[0].links == (("slack", "U0ABCDEF1"),)


def test_teams_id_column_and_first_and_last_name_columns():
    parse = parse_text("First name,Last name,Email,Department,Teams ID\n"
                       "Jane,Rivera,jane@h.example,Cardiology,29:1abcdefghijKLMNOP\n")
    assert parse.ok
    assert parse.entries[0].name == "Jane Rivera"
    assert parse.records[0].links == (("teams", "29:1abcdefghijKLMNOP"),)


def test_blank_lines_whitespace_and_excel_trailing_delimiters_are_ignored():
    text = ("name,email,department\n"
            "\n"
            "  Dr.   A  ,  a@h.example , Cardiology ,,\n"
            ",,\n"
            '"Dr. B\nthe second",b@h.example,Oncology\n'
            "Dr. C,c@h.example,Neurology\n"
            "\n\n   \n")
    parse = parse_text(text)
    assert parse.ok, parse.problems()
    assert [(r.line, r.entry.name) for r in parse.records] == [
        (3, "Dr. A"), (5, "Dr. B the second"), (7, "Dr. C")]


def test_unknown_columns_and_missing_specialty_column_are_warnings_not_errors():
    parse = parse_text("name,email,department,Pager,Office\nDr. A,a@h.example,Cardiology,123,B2\n")
    assert parse.ok
    assert parse.warnings == ("ignoring columns Pager, Office",
                              "no specialty column: specialty is optional but recommended for reports")


@pytest.mark.parametrize("cell, handle", [
    ("@DrJaneRivera", "DrJaneRivera"),
    ("DrJaneRivera", "DrJaneRivera"),
    ("https://x.com/DrJaneRivera", "DrJaneRivera"),
    ("https://twitter.com/DrJaneRivera/", "DrJaneRivera"),
    ("x.com/DrJaneRivera?s=21&t=abc", "DrJaneRivera"),
    ("www.twitter.com/DrJaneRivera#top", "DrJaneRivera"),
    ("", None),
    ("n/a", None),
    ("-", None),
])
def test_x_handles(cell, handle):
    parse = parse_text(f"name,email,department,x handle\nDr. A,a@h.example,Cardiology,{cell}\n")
    assert parse.ok, parse.problems()
    assert parse.entries[0].x_handle == handle


@pytest.mark.parametrize("cell, link", [
    ("U012AB3CD", ("slack", "U012AB3CD")),
    ("W0123ABCDEF", ("slack", "W0123ABCDEF")),
    ("29:1Xyz-abc_DEF123456", ("teams", "29:1Xyz-abc_DEF123456")),
    ("0F8FAD5B-D9CB-469F-A165-70867728950E", ("teams", "0f8fad5b-d9cb-469f-a165-70867728950e")),
    ("{0f8fad5b-d9cb-469f-a165-70867728950e}", ("teams", "0f8fad5b-d9cb-469f-a165-70867728950e")),
])
def test_platform_user_ids(cell, link):
    parse = parse_text(f"name,email,department,platform_user_id\nDr. A,a@h.example,Cardiology,{cell}\n")
    assert parse.ok, parse.problems()
    assert parse.records[0].links == (link,)


# -- parsing: malformed files -----------------------------------------------------------------------

def test_every_bad_row_is_reported_with_its_line_and_reason():
    parse = parse_roster(fixture("bad_rows.csv"), "bad_rows.csv", WORDS)
    assert not parse.ok and parse.records == ()
    assert parse.problems() == [
        "bad_rows.csv:3: email “no.at.riverside.example” has no @",
        "bad_rows.csv:4: name is empty",
        "bad_rows.csv:5: email “spa cey@riverside.example” contains a space",
        "bad_rows.csv:6: email “nodomain@” has no domain after the @ (like name@hospital.org)",
        "bad_rows.csv:7: department is empty",
        "bad_rows.csv:8: duplicate email jane.rivera@riverside.example: also on line 2",
        "bad_rows.csv:9: X handle: “ThisHandleIsWayTooLong” is 22 characters; X handles are at most 15.",
        "bad_rows.csv:10: platform user id “29:1a2b3c4d5e6f7g8h” is not a Slack user id "
        "(U… or W… with capital letters and digits)",
        "bad_rows.csv:11: name “=HYPERLINK(\"x\")” starts with “=”, which spreadsheets run as a formula",
        "bad_rows.csv:12: 7 fields but the header has 6; put quotes around values that contain the delimiter",
    ]


@pytest.mark.parametrize("email, message", [
    ("", "email is empty"),
    ("jane.rivera", "email “jane.rivera” has no @"),
    ("jane@@h.example", "email “jane@@h.example” has more than one @"),
    ("jane@", "email “jane@” has no domain after the @ (like name@hospital.org)"),
    ("jane@localhost", "email “jane@localhost” has no domain after the @ (like name@hospital.org)"),
    ("jane rivera@h.example", "email “jane rivera@h.example” contains a space"),
    ("@h.example", "email “@h.example” is not a valid email address"),
    ("jane@h..example", "email “jane@h..example” is not a valid email address"),
    ("jane@-h.example", "email “jane@-h.example” is not a valid email address"),
])
def test_bad_emails(email, message):
    assert errors_of(f"name,email,department\nDr. A,{email},Cardiology\n") == [(2, message)]


def test_emails_are_lowercased():
    assert parse_text("name,email,department\nDr. A,Jane.O'Neil+MD@H.Example,Cardiology\n").entries[0].email \
        == "jane.o'neil+md@h.example"


def test_duplicate_email_reports_both_lines_even_when_the_first_row_has_other_problems():
    text = "name,email,department\nDr. A,a@h.example,\nDr. B,b@h.example,Oncology\nDr. A2,A@H.example,Oncology\n"
    assert errors_of(text) == [(2, "department is empty"), (4, "duplicate email a@h.example: also on line 2")]


def test_duplicate_platform_ids_report_both_lines():
    text = ("name,email,department,slack id\nDr. A,a@h.example,Cardiology,U0AAAAAA1\n"
            "Dr. B,b@h.example,Oncology,U0AAAAAA1\n")
    assert errors_of(text) == [(3, "duplicate slack id U0AAAAAA1: also on line 2")]


@pytest.mark.parametrize("column, value, message", [
    ("name", "N" * 201, "name is 201 characters; at most 200 are allowed"),
    ("department", "D" * 121, "department is 121 characters; at most 120 are allowed"),
    ("specialty", "S" * 121, "specialty is 121 characters; at most 120 are allowed"),
    ("department", "+Cardiology", "department “+Cardiology” starts with “+”, which spreadsheets run as a formula"),
    ("name", "Dr.\x00A", "name contains the control character 0x00; is this really a text CSV?"),
])
def test_lengths_formulas_and_control_characters(column, value, message):
    cells = {"name": "Dr. A", "email": "a@h.example", "department": "Cardiology", "specialty": ""}
    cells[column] = value
    text = "name,email,department,specialty\n" + ",".join(cells.values()) + "\n"
    assert errors_of(text) == [(2, message)]


def test_names_at_the_limits_are_accepted():
    parse = parse_text(f"name,email,department\n{'N' * 200},a@h.example,{'D' * 120}\n")
    assert parse.ok


@pytest.mark.parametrize("cell, message", [
    ("U012", "platform user id “U012” is not a Slack user id (U… or W… with capital letters and digits) "
             "or a Teams id (29:… or an Azure AD object id GUID)"),
    ("u012ab3cd", "platform user id “u012ab3cd” is not a Slack user id (U… or W… with capital letters and "
                  "digits) or a Teams id (29:… or an Azure AD object id GUID)"),
    ("jane@h.example", "platform user id “jane@h.example” is not a Slack user id (U… or W… with capital "
                       "letters and digits) or a Teams id (29:… or an Azure AD object id GUID)"),
])
def test_bad_platform_user_ids(cell, message):
    assert errors_of(f"name,email,department,platform_user_id\nDr. A,a@h.example,Cardiology,{cell}\n") \
        == [(2, message)]


def test_slack_column_refuses_teams_ids_and_teams_column_refuses_slack_ids():
    text = ("name,email,department,slack id,teams id\n"
            "Dr. A,a@h.example,Cardiology,29:1abcdefghijk,\n"
            "Dr. B,b@h.example,Cardiology,,U012AB3CD\n")
    assert errors_of(text) == [
        (2, "platform user id “29:1abcdefghijk” is not a Slack user id (U… or W… with capital letters and digits)"),
        (3, "platform user id “U012AB3CD” is not a Teams id (29:… or an Azure AD object id GUID)"),
    ]


def test_bad_handle_message_comes_from_the_handle_rules():
    assert errors_of("name,email,department,twitter\nDr. A,a@h.example,Cardiology,@dr.a\n") == [
        (2, "X handle: “dr.a” has characters X does not allow; use letters, digits and underscores only.")]


def test_missing_required_columns():
    parse = parse_roster(fixture("missing_columns.csv"), "m.csv", WORDS)
    assert parse.problems() == ["m.csv:1: missing required columns email, department (found: Name, Contact, "
                                "Specialty; not recognised: Contact); accepted headers: email: Email, Email Address, "
                                "E-mail, Work Email; department: Department, Dept, Division"]


def test_two_columns_for_the_same_field():
    assert errors_of("Name,Email,E-mail,Department\n") == [
        (1, "columns “Email” and “E-mail” both mean email; keep one")]


def test_generic_and_specific_platform_columns_together_are_refused():
    assert errors_of("name,email,department,slack id,platform_user_id\n") == [
        (1, "use either a generic platform user id column or Slack/Teams id columns, not both")]


@pytest.mark.parametrize("data", [b"", b"   \n\n", b"\xef\xbb\xbf", b"\xef\xbb\xbf\r\n"])
def test_empty_file(data):
    parse = parse_roster(data, "e.csv", WORDS)
    assert parse.problems() == ["e.csv:1: the file is empty; expected a header row (name, email, department, …) "
                                "and one row per physician"]


def test_header_only():
    assert errors_of("name,email,department\n\n") == [(2, "the file has a header but no physicians")]


def test_not_utf8_reports_line_and_byte():
    parse = parse_roster(fixture("latin1.csv"), "latin1.csv", WORDS)
    assert parse.problems() == [
        "latin1.csv:2: not UTF-8 text: byte 0xE9 at byte offset 29 (column 8) is invalid (“é” in Windows-1252?); "
        "save the file as “CSV UTF-8” and import it again"]


def test_not_utf8_after_a_bom_counts_the_bom_bytes():
    parse = parse_roster(b"\xef\xbb\xbfname,email,department\nA,a@h.example,Caf\xe9\n", "x.csv", WORDS)
    assert parse.errors[0].line == 2
    assert "byte 0xE9 at byte offset 42 (column 18)" in parse.errors[0].message


def test_utf16_is_refused_with_a_clear_message():
    data = "name,email,department\n".encode("utf-16")
    assert parse_roster(data, "u.csv", WORDS).problems() == [
        "u.csv:1: the file is UTF-16 text; save it as “CSV UTF-8” and import it again"]


def test_an_unclosed_quote_is_pointed_out():
    text = 'name,email,department\n"Dr. A,a@h.example,Cardiology\nDr. B,b@h.example,Oncology\n'
    assert errors_of(text) == [
        (2, "email is empty"), (2, "department is empty"),
        (2, "this record runs from line 2 to line 3: is a quote left open?")]


def test_problem_list_is_capped():
    text = "name,email,department\n" + "".join(f"Dr. {n},bad{n},Cardiology\n" for n in range(60))
    lines = parse_text(text, "big.csv").problems()
    assert len(lines) == 51
    assert lines[0] == "big.csv:2: email “bad0” has no @"
    assert lines[49] == "big.csv:51: email “bad49” has no @"
    assert lines[50] == "… and 10 more"


# -- importing into the store -----------------------------------------------------------------------

async def counts(store: Store) -> tuple[int, int]:
    return await store.count("people"), await store.count("identities")


async def test_import_adds_people_and_links_platform_ids(store: Store):
    summary = await import_roster(store, parse_roster(fixture("good.csv"), "good.csv", WORDS), NOW)
    assert summary == ImportSummary(total=4, added=4, updated=0, unchanged=0, linked=3)
    assert summary_line(summary) == "imported 4 physicians: 4 added, 0 updated, 0 unchanged; 3 platform ids linked"
    jane = await store.people.by_email("jane.rivera@riverside.example")
    assert jane is not None
    assert (jane.name, jane.department, jane.specialty, jane.role, jane.x_handle, jane.active) == (
        "Dr. Jane Rivera", "Cardiology", "Cardiologist", "physician", "DrJaneRivera", True)
    assert (await store.people.by_identity("slack", "U012AB3CD")) == jane
    omar = await store.people.by_identity("teams", "29:1a2b3c4d5e6f7g8h")
    assert omar is not None and omar.email == "omar.haddad@riverside.example"
    assert await counts(store) == (4, 3)


async def test_reimport_is_idempotent(store: Store):
    parse = parse_roster(fixture("good.csv"), "good.csv", WORDS)
    await import_roster(store, parse, NOW)
    again = await import_roster(store, parse, NOW + timedelta(days=1))
    assert again == ImportSummary(total=4, added=0, updated=0, unchanged=4, linked=0)
    assert summary_line(again) == "imported 4 physicians: 0 added, 0 updated, 4 unchanged"
    assert await counts(store) == (4, 3)


async def test_reimport_updates_changed_people_and_keeps_what_the_file_leaves_blank(store: Store):
    await import_roster(store, parse_roster(fixture("good.csv"), "good.csv", WORDS), NOW)
    jane = await store.people.by_email("jane.rivera@riverside.example")
    assert jane is not None
    text = (HEADER + "Dr. Jane Rivera-Cole,jane.rivera@riverside.example,Cardiology,,,\n"
                     "Dr. Lena Park,lena.park@riverside.example,Neurology,,@LenaParkMD,\n"
                     "Dr. Sam Okafor,sam.okafor@riverside.example,Pediatrics,Pediatrician,SamOkaforMD,\n")
    summary = await import_roster(store, parse_text(text), NOW + timedelta(days=1))
    assert (summary.added, summary.updated, summary.unchanged) == (0, 2, 1)
    jane_after = await store.people.by_email("jane.rivera@riverside.example")
    assert jane_after is not None
    assert (jane_after.id, jane_after.name, jane_after.specialty, jane_after.x_handle) == (
        jane.id, "Dr. Jane Rivera-Cole", "Cardiologist", "DrJaneRivera")
    lena = await store.people.by_email("lena.park@riverside.example")
    assert lena is not None and lena.x_handle == "LenaParkMD"
    assert await counts(store) == (4, 3)


async def test_a_file_without_roles_never_changes_a_role(store: Store, people: dict[str, Person]):
    text = "name,email,department\nMaria Lopez,MARIA.LOPEZ@riverside.example,Communications\n"
    summary = await import_roster(store, parse_text(text), NOW)
    assert (summary.added, summary.updated) == (0, 1)
    maria = await store.people.by_email(ADMIN_EMAIL)
    assert maria is not None and (maria.role, maria.department) == ("admin", "Communications")


async def test_the_role_column_names_admins_and_a_blank_role_keeps_the_stored_one(store: Store,
                                                                                  people: dict[str, Person]):
    text = ("name,email,department,role\n"
            "Maria Lopez,maria.lopez@riverside.example,Communications,\n"
            "Dr. Jane Rivera,jane.rivera@riverside.example,Cardiology,Marketing manager\n"
            "Dr. New Admin,new.admin@riverside.example,Marketing,admin\n"
            "Dr. New Person,new.person@riverside.example,Radiology,-\n")
    await import_roster(store, parse_text(text), NOW)
    roles = {email: (await store.people.by_email(email)).role for email in (  # type: ignore[union-attr]
        ADMIN_EMAIL, PHYSICIAN_EMAIL, "new.admin@riverside.example", "new.person@riverside.example")}
    assert roles == {ADMIN_EMAIL: "admin", PHYSICIAN_EMAIL: "admin", "new.admin@riverside.example": "admin",
                     "new.person@riverside.example": "physician"}
    back = "name,email,department,role\nDr. Jane Rivera,jane.rivera@riverside.example,Cardiology,physician\n"
    await import_roster(store, parse_text(back), NOW)
    jane = await store.people.by_email(PHYSICIAN_EMAIL)
    assert jane is not None and jane.role == "physician"


def test_an_unknown_role_is_reported_with_its_line():
    assert errors_of("name,email,department,role\nDr. A,a@h.example,Cardiology,chief\n") == [
        (2, "role 'chief' is not physician or admin")]


async def test_a_bad_row_changes_nothing(store: Store):
    await import_roster(store, parse_roster(fixture("good.csv"), "good.csv", WORDS), NOW)
    before = await counts(store)
    text = (HEADER + "Dr. Jane Renamed,jane.rivera@riverside.example,Cardiology,,,\n"
                     "Dr. New Person,new.person@riverside.example,Oncology,,,\n"
                     "Dr. Broken,broken-at-riverside.example,Oncology,,,\n")
    parse = parse_text(text)
    assert parse.errors == (RowError(4, "email “broken-at-riverside.example” has no @"),)
    with pytest.raises(ValueError, match="refusing to import"):
        await import_roster(store, parse, NOW)
    assert await counts(store) == before
    jane = await store.people.by_email("jane.rivera@riverside.example")
    assert jane is not None and jane.name == "Dr. Jane Rivera"


async def test_a_failure_while_writing_rolls_everything_back(store: Store):
    parse = parse_roster(generated_roster(1200), "big.csv", WORDS)

    def fail_after_first_batch(done: int) -> None:
        if done >= 500:
            raise RuntimeError("disk full")

    with pytest.raises(RuntimeError, match="disk full"):
        await import_roster(store, parse, NOW, progress=fail_after_first_batch)
    assert await counts(store) == (0, 0)


async def test_dry_run_counts_and_writes_nothing(store: Store):
    parse = parse_roster(fixture("good.csv"), "good.csv", WORDS)
    dry = await import_roster(store, parse, NOW, dry_run=True)
    assert dry == ImportSummary(total=4, added=4, updated=0, unchanged=0, linked=3, dry_run=True)
    assert summary_line(dry) == ("dry run, nothing written: would import 4 physicians: would add 4, update 0, "
                              "leave 0 unchanged; link 3 platform ids")
    assert await counts(store) == (0, 0)
    await import_roster(store, parse, NOW)
    assert (await import_roster(store, parse, NOW, dry_run=True)).unchanged == 4


async def test_people_missing_from_the_file_stay_active_unless_asked(store: Store, people: dict[str, Person]):
    text = (f"name,email,department\nDr. Jane Rivera,{PHYSICIAN_EMAIL},Cardiology\n"
            f"Dr. Omar Haddad,{ONCOLOGIST_EMAIL},Oncology\n")
    kept = await import_roster(store, parse_text(text), NOW)
    assert (kept.deactivated, len(await store.people.all())) == (0, 4)

    dry = await import_roster(store, parse_text(text), NOW, dry_run=True, deactivate_missing=True)
    assert dry.deactivated == 1 and "deactivate 1" in summary_line(dry)
    assert len(await store.people.all()) == 4

    summary = await import_roster(store, parse_text(text), NOW, deactivate_missing=True)
    assert summary.deactivated == 1
    assert summary_line(summary).endswith("; 1 deactivated")
    active = {p.email for p in await store.people.all()}
    assert active == {ADMIN_EMAIL, PHYSICIAN_EMAIL, ONCOLOGIST_EMAIL}, "the admin is not a physician: kept"
    assert await store.count("people") == 4

    back = f"{text}Dr. Lena Park,lena.park@riverside.example,Neurology\n"
    returned = await import_roster(store, parse_text(back), NOW, deactivate_missing=True)
    assert (returned.added, returned.updated, returned.deactivated) == (0, 1, 0)
    assert len(await store.people.all()) == 4


async def test_identity_links_move_to_the_person_the_file_names(store: Store):
    await import_roster(store, parse_roster(fixture("good.csv"), "good.csv", WORDS), NOW)
    text = (HEADER + "Dr. Lena Park,lena.park@riverside.example,Neurology,,,U012AB3CD\n"
                     "Dr. Jane Rivera,jane.rivera@riverside.example,Cardiology,Cardiologist,,U0NEWJANE\n")
    summary = await import_roster(store, parse_text(text), NOW)
    assert (summary.updated, summary.unchanged, summary.linked) == (0, 2, 2)
    lena = await store.people.by_identity("slack", "U012AB3CD")
    jane = await store.people.by_identity("slack", "U0NEWJANE")
    assert lena is not None and lena.email == "lena.park@riverside.example"
    assert jane is not None and jane.email == "jane.rivera@riverside.example"
    assert await counts(store) == (4, 4)


async def test_store_refuses_inconsistent_input(store: Store):
    entry = RosterEntry("a@h.example", "Dr. A", "Cardiology")
    with pytest.raises(ValueError, match="twice"):
        await store.roster.apply([entry, entry], [], NOW)
    with pytest.raises(ValueError, match="not in the roster"):
        await store.roster.apply([entry], [IdentityLink("b@h.example", "slack", "U0BBBBBB1")], NOW)
    assert await counts(store) == (0, 0)


async def test_ten_thousand_rows_import_and_reimport(store: Store, tmp_path: Path):
    path = tmp_path / "big.csv"
    path.write_bytes(generated_roster(10_000))
    started = time.perf_counter()
    parse = parse_roster(path.read_bytes(), str(path), WORDS)
    first = await import_roster(store, parse, NOW)
    first_seconds = time.perf_counter() - started
    assert (first.added, first.updated, first.unchanged, first.linked) == (10_000, 0, 0, 10_000)

    started = time.perf_counter()
    again = await import_roster(store, parse_roster(path.read_bytes(), str(path), WORDS), NOW)
    again_seconds = time.perf_counter() - started
    assert (again.added, again.updated, again.unchanged, again.linked) == (0, 0, 10_000, 0)

    renamed = await import_roster(store, parse_roster(generated_roster(10_000, renamed=250), "r.csv", WORDS), NOW)
    assert (renamed.added, renamed.updated, renamed.unchanged) == (0, 250, 9_750)
    assert await counts(store) == (10_000, 10_000)
    person = await store.people.by_identity("slack", "U00000007")
    assert person is not None and (person.name, person.x_handle) == ("Dr. Renamed 7", "doc7")
    print(f"\n10k roster: import {first_seconds:.2f}s, re-import {again_seconds:.2f}s")


# -- progress bar ---------------------------------------------------------------------------------

class FakeTerminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_bar_draws_on_a_terminal_for_large_files():
    terminal = FakeTerminal()
    bar = ProgressBar(terminal, 2000, "importing", width=10)
    for done in (0, 500, 500, 1000, 2000):
        bar(done)
    bar.close()
    assert terminal.getvalue() == ("\rimporting [..........]   0% 0/2000"
                                   "\rimporting [##........]  25% 500/2000"
                                   "\rimporting [#####.....]  50% 1000/2000"
                                   "\rimporting [##########] 100% 2000/2000\n")


@pytest.mark.parametrize("stream, total", [(io.StringIO(), 5000), (FakeTerminal(), 10)])
def test_progress_bar_stays_silent_off_a_terminal_or_for_small_files(stream, total):
    bar = ProgressBar(stream, total)
    bar(total)
    bar.close()
    assert stream.getvalue() == ""


# -- export -----------------------------------------------------------------------------------------

async def seed_progress(store: Store, coach: Coach, person: Person) -> None:
    """Half the profile checklist, following the hospital, half the core lessons."""
    for item in ("photo", "bio"):
        await store.profile.set_item(person.id, item, True, NOW)
    for lesson in sorted(coach.content.curriculum.core_ids)[:4]:
        await store.progress.mark_lesson_done(person.id, lesson, NOW)
    await store.profile.set_follows_hospital(person.id, True, NOW)


async def test_export_has_one_row_per_active_physician_with_readiness(store: Store, coach: Coach,
                                                                      people: dict[str, Person]):
    omar = people[ONCOLOGIST_EMAIL]
    await seed_progress(store, coach, omar)
    await store.people.deactivate(people["lena.park@riverside.example"].id, NOW)
    out = io.StringIO(newline="")
    count = await export_roster(store, await coach.roster_rows(NOW.date()), out, WORDS)

    rows = list(csv.DictReader(io.StringIO(out.getvalue(), newline="")))
    assert count == 2 and len(rows) == 2
    assert tuple(rows[0].keys()) == EXPORT_COLUMNS
    by_email = {row["email"]: row for row in rows}
    assert set(by_email) == {PHYSICIAN_EMAIL, ONCOLOGIST_EMAIL}
    # Profile created 20 + half the profile 7.5 + follows 15 + half the core lessons 12.5 = 55 of 85.
    expected = await coach.readiness(omar.id, NOW.date())
    assert expected is not None and expected.score == 65
    assert by_email[ONCOLOGIST_EMAIL] == {
        "name": "Dr. Omar Haddad", "email": ONCOLOGIST_EMAIL, "department": "Oncology",
        "specialty": "Medical Oncologist", "x_handle": "OmarHaddadMD", "bluesky_handle": "", "linkedin_url": "",
        "score": "65", "stage": "Profile created",
        "next_step": "Complete the profile", "profile_items_done": "2", "profile_items_total": "4",
        "follows_hospital": "yes", "followed_back": "no", "core_lessons_done": "4", "core_lessons_total": "8",
        "next_meeting": "", "tweet_camp_done": "", "tweet_camp_total": "",
        # nothing verified yet: what Omar said, labelled as such
        "x_profile": "self_reported", "x_follows_hospital": "self_reported", "x_followed_back": "",
        "x_verified_at": "", "bluesky_profile": "", "bluesky_follows_hospital": "", "bluesky_followed_back": "",
        "bluesky_verified_at": "",
    }
    jane = by_email[PHYSICIAN_EMAIL]
    assert (jane["score"], jane["stage"], jane["next_step"], jane["x_handle"]) == (
        "0", "Getting started", "Create an X profile", "")


async def test_export_shows_the_next_meeting_and_its_tweet_camp(store: Store, coach: Coach,
                                                                people: dict[str, Person]):
    meeting = await store.meetings.add(Meeting(id=0, key="acc-2026", name="ACC.26", specialty="Cardiology",
                                              starts_on=NOW.date() + timedelta(days=10),
                                              ends_on=NOW.date() + timedelta(days=12), city="New Orleans",
                                              hashtag="#ACC26", embargo=""), NOW)
    jane = people[PHYSICIAN_EMAIL]
    await store.meetings.set_attending(jane.id, meeting.id, True, NOW)
    first_item = coach.content.camp_phases[0].items[0].id
    await store.meetings.set_camp_item(jane.id, meeting.id, first_item, True, NOW)
    out = io.StringIO(newline="")
    await export_roster(store, await coach.roster_rows(NOW.date()), out, WORDS)
    row = next(r for r in csv.DictReader(io.StringIO(out.getvalue())) if r["email"] == PHYSICIAN_EMAIL)
    total = sum(len(phase.items) for phase in coach.content.camp_phases)
    assert (row["next_meeting"], row["tweet_camp_done"], row["tweet_camp_total"]) == (meeting.name, "1", str(total))
    readiness = await coach.readiness(jane.id, NOW.date())
    assert readiness is not None and row["score"] == str(readiness.score)


async def test_export_reimports_as_unchanged(store: Store, coach: Coach, people: dict[str, Person]):
    out = io.StringIO(newline="")
    await export_roster(store, await coach.roster_rows(NOW.date()), out, WORDS)
    parse = parse_text(out.getvalue(), "export.csv")
    assert parse.ok, parse.problems()
    assert parse.warnings == (), "our own readiness columns are ignored quietly"
    summary = await import_roster(store, parse, NOW)
    assert (summary.total, summary.added, summary.updated, summary.unchanged) == (3, 0, 0, 3)


# -- the command line -------------------------------------------------------------------------------

def rounds(*args: str, env: dict[str, str], stdin: bytes | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "bot", *args], cwd=ROOT, env=env, input=stdin and stdin.decode(),
                          capture_output=True, text=True, timeout=120)


@pytest.fixture
def cli_env(tmp_path: Path) -> dict[str, str]:
    env = dict(os.environ, DATABASE_URL=f"sqlite:///{tmp_path}/x.db")
    env.pop("ROUNDS_CONFIG", None)
    assert rounds("db", "upgrade", env=env).returncode == 0
    return env


async def people_count(env: dict[str, str]) -> int:
    store = Store.open(env["DATABASE_URL"])
    try:
        return await store.count("people")
    finally:
        await store.close()


async def test_cli_import_then_reimport(cli_env: dict[str, str]):
    result = rounds("roster", "import", str(ROSTER_DIR / "good.csv"), env=cli_env)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "imported 4 physicians: 4 added, 0 updated, 0 unchanged; 3 platform ids linked\n"
    assert "warning: 1 physician has no specialty" in result.stderr
    again = rounds("roster", "import", str(ROSTER_DIR / "good.csv"), env=cli_env)
    assert again.stdout == "imported 4 physicians: 0 added, 0 updated, 4 unchanged\n"
    assert await people_count(cli_env) == 4


async def test_cli_rejects_a_bad_file_with_file_line_messages(cli_env: dict[str, str]):
    path = ROSTER_DIR / "bad_rows.csv"
    result = rounds("roster", "import", str(path), env=cli_env)
    assert result.returncode == 2
    lines = result.stderr.splitlines()
    assert lines[0] == f"{path}:3: email “no.at.riverside.example” has no @"
    assert f"{path}:8: duplicate email jane.rivera@riverside.example: also on line 2" in lines
    assert lines[-1] == f"rounds: {path} rejected (10 problems); nothing was imported"
    assert "Traceback" not in result.stderr and result.stdout == ""
    assert await people_count(cli_env) == 0


@pytest.mark.parametrize("name, message", [
    ("latin1.csv", ":2: not UTF-8 text: byte 0xE9"),
    ("empty.csv", ":1: the file is empty"),
    ("missing_columns.csv", ":1: missing required columns email, department"),
])
async def test_cli_rejects_malformed_files(cli_env: dict[str, str], name: str, message: str):
    result = rounds("roster", "import", str(ROSTER_DIR / name), env=cli_env)
    assert result.returncode == 2
    assert f"{ROSTER_DIR / name}{message}" in result.stderr
    assert "Traceback" not in result.stderr
    assert await people_count(cli_env) == 0


async def test_cli_dry_run_writes_nothing(cli_env: dict[str, str]):
    result = rounds("roster", "import", "--dry-run", str(ROSTER_DIR / "good.csv"), env=cli_env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("dry run, nothing written: would import 4 physicians: would add 4")
    assert await people_count(cli_env) == 0


async def test_cli_reads_standard_input_and_deactivates_missing(cli_env: dict[str, str]):
    assert rounds("roster", "import", str(ROSTER_DIR / "good.csv"), env=cli_env).returncode == 0
    text = "name,email,department\nDr. Jane Rivera,jane.rivera@riverside.example,Cardiology\n"
    result = rounds("roster", "import", "--deactivate-missing", "-", env=cli_env, stdin=text.encode())
    assert result.returncode == 0, result.stderr
    assert result.stdout == "imported 1 physician: 0 added, 0 updated, 1 unchanged; 3 deactivated\n"


async def test_cli_export_writes_csv(cli_env: dict[str, str], tmp_path: Path):
    assert rounds("roster", "import", str(ROSTER_DIR / "good.csv"), env=cli_env).returncode == 0
    out = tmp_path / "readiness.csv"
    result = rounds("roster", "export", "--out", str(out), env=cli_env)
    assert result.returncode == 0, result.stderr
    assert result.stderr.strip().endswith(f"exported 4 physicians to {out}")
    data = out.read_bytes()
    assert data.startswith(b"\xef\xbb\xbf"), "a BOM so that Excel shows accents"
    rows = list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"))))
    assert sorted(r["email"] for r in rows) == sorted(e.email for e in parse_roster(fixture("good.csv"), "g", WORDS).entries)
    assert {r["score"] for r in rows if r["x_handle"]} == {"24"}
    to_stdout = rounds("roster", "export", env=cli_env)
    assert to_stdout.returncode == 0 and to_stdout.stdout.splitlines()[0] == ",".join(EXPORT_COLUMNS)


@pytest.mark.parametrize("args, message", [
    (("roster", "import", "/nonexistent/roster.csv"), "rounds: cannot read /nonexistent/roster.csv: "),
    (("roster", "export", "--out", "/nonexistent/dir/out.csv"), "rounds: cannot write /nonexistent/dir/out.csv: "),
])
def test_cli_unreadable_and_unwritable_files(cli_env: dict[str, str], args: tuple[str, ...], message: str):
    result = rounds(*args, env=cli_env)
    assert result.returncode == 2
    assert message in result.stderr and "Traceback" not in result.stderr


def test_cli_refuses_an_unmigrated_database(tmp_path: Path):
    from conftest import old_schema

    old_schema(tmp_path / "empty.db")  # an older schema; a brand-new SQLite file would be set up instead
    env = dict(os.environ, DATABASE_URL=f"sqlite:///{tmp_path}/empty.db")
    result = rounds("roster", "import", str(ROSTER_DIR / "good.csv"), env=env)
    assert result.returncode == 2
    assert "run `rounds db upgrade` first" in result.stderr and "Traceback" not in result.stderr


# -- PostgreSQL ------------------------------------------------------------------------------------

@pytest.mark.postgres
async def test_import_reimport_and_links_on_postgresql():
    from tests.pg import fresh_database

    async with fresh_database() as url:
        store = Store.open(url)
        try:
            await store.upgrade()
            parse = parse_roster(generated_roster(1_200), "big.csv", WORDS)
            first = await import_roster(store, parse, NOW)
            assert (first.added, first.linked) == (1_200, 1_200)
            renamed = await import_roster(store, parse_roster(generated_roster(1_200, renamed=30), "r.csv", WORDS), NOW,
                                          deactivate_missing=True)
            assert (renamed.added, renamed.updated, renamed.unchanged, renamed.deactivated) == (0, 30, 1_170, 0)
            moved = await import_roster(store, parse_text(
                HEADER + "Dr. Test Person 40,person40@hospital.example,Department 15,Specialty 0,,U00000001\n"), NOW)
            assert (moved.unchanged, moved.linked) == (1, 1)
            person = await store.people.by_identity("slack", "U00000001")
            assert person is not None and person.email == "person40@hospital.example"
            assert await counts(store) == (1_200, 1_200)
        finally:
            await store.close()
