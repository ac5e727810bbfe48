"""Unit tests of the draft-post checker: rules, spans, embargo, X length, verdicts, loader."""
from __future__ import annotations

import logging
import textwrap
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from bot.coach.draftcheck import preflight_reply
from bot.content import Content
from bot.core.preflight import (
    CATEGORIES,
    DraftContext,
    Finding,
    MeetingWindow,
    PreflightReport,
    PreflightRules,
    check_draft,
    x_weighted_length,
)
from bot.preflight_rules import load_preflight_rules, words_regex
from bot.yamlsrc import ContentError

PROMPTS = Path(__file__).resolve().parents[1] / "prompts"
NOW = datetime(2024, 3, 12, 15, 0, tzinfo=UTC)
ASCO = MeetingWindow(
    name="ASCO Annual Meeting", hashtag="#ASCO24",
    starts_on=date(2024, 5, 31), ends_on=date(2024, 6, 4),
    embargo_lifts_at=datetime(2024, 6, 2, 12, 0, tzinfo=UTC),
)


@pytest.fixture(scope="module")
def rules() -> PreflightRules:
    return load_preflight_rules(PROMPTS)


def check(text: str, rules: PreflightRules, **context: object) -> PreflightReport:
    ctx = DraftContext(now=context.pop("now", NOW), **context)  # type: ignore[arg-type]
    return check_draft(text, rules, ctx)


def only(report: PreflightReport, rule_id: str) -> Finding:
    matches = [f for f in report.findings if f.rule_id == rule_id]
    assert len(matches) == 1, [(f.rule_id, f.excerpt) for f in report.findings]
    return matches[0]


def ids(report: PreflightReport) -> set[str]:
    return {f.rule_id for f in report.findings}


# --------------------------------------------------------------------------- shipped rules


def test_shipped_rules_cover_every_category(rules: PreflightRules) -> None:
    assert {rule.category for rule in rules.rules} == set(CATEGORIES)
    assert rules.x_limit == 280
    lists = dict(rules.word_lists)
    assert len(lists["brands"]) >= 300
    assert "Ozempic" in lists["brands"]


def test_clean_draft_is_ready(rules: PreflightRules) -> None:
    report = check("Shared decision-making isn't a form. It's a conversation. #MedTwitter", rules)
    assert report.findings == ()
    assert report.verdict == "ready"
    assert report.weighted_length == 69


def test_empty_draft_has_no_findings(rules: PreflightRules) -> None:
    report = check("   ", rules)
    assert report.findings == () and report.verdict == "ready"


# --------------------------------------------------------------------------- identifiers


def test_medical_record_number_span_is_exact(rules: PreflightRules) -> None:
    text = "Pt MRN 00482915 refused dialysis again."
    finding = only(check(text, rules), "medical-record-number")
    assert (finding.start, finding.end, finding.excerpt) == (3, 15, "MRN 00482915")
    assert finding.severity == "block" and finding.category == "identifier"
    assert text[finding.start:finding.end] == finding.excerpt


def test_bare_number_next_to_patient_but_not_a_pmid(rules: PreflightRules) -> None:
    assert "record-number-near-patient" in ids(check("my patient's chart 4481920 is wrong", rules))
    assert check("PMID 34567890: patients did better", rules).findings == ()


def test_phone_number_found_by_phonenumbers(rules: PreflightRules) -> None:
    text = "His daughter asked us to call her at 212-555-0187 tonight."
    finding = only(check(text, rules), "phone-number")
    assert finding.excerpt == "212-555-0187"
    assert finding.severity == "block"  # a relative's number


def test_public_lines_are_not_flagged(rules: PreflightRules) -> None:
    assert check("Free screenings Saturday. Book at (617) 555-0134.", rules).findings == ()
    assert check("Struggling? The 1-800-273-8255 line is open all night.", rules).findings == ()


def test_email_escalates_with_a_relative(rules: PreflightRules) -> None:
    plain = only(check("Questions about the course: ana.lee@example.org", rules), "email-address")
    assert plain.severity == "warn"
    family = only(check("Email her daughter at karen.w1962@gmail.com", rules), "email-address")
    assert family.severity == "block" and family.excerpt == "karen.w1962@gmail.com"


@pytest.mark.parametrize("text, excerpt", [
    ("My 94-year-old patient walked out today!", "94-year-old"),
    ("92M with new AF, would you anticoagulate?", "92M"),
    ("A centenarian in clinic", "centenarian"),
    ("She turned 101 this week", "turned 101"),
])
def test_ages_over_89(rules: PreflightRules, text: str, excerpt: str) -> None:
    assert only(check(text, rules), "age-over-89").excerpt == excerpt


def test_temperature_and_own_family_are_not_ages(rules: PreflightRules) -> None:
    assert "age-over-89" not in ids(check("Spiked a fever to 99F overnight, feeling fine", rules))
    assert check("Happy 90th birthday to my dad!", rules).findings == ()


def test_birth_year_depends_on_now(rules: PreflightRules) -> None:
    text = "Born in 1935 and still farming."
    assert "birth-year-over-89" in ids(check(text, rules, now=datetime(2026, 1, 1, tzinfo=UTC)))
    assert "birth-year-over-89" not in ids(check(text, rules, now=datetime(2020, 1, 1, tzinfo=UTC)))


def test_date_of_care_escalates_with_a_patient(rules: PreflightRules) -> None:
    warn = only(check("Admitted on 3/14 with DKA.", rules), "date-of-care")
    assert (warn.excerpt, warn.severity) == ("3/14", "warn")
    block = check("Admitted a 23yo on 3/14 with DKA.", rules)
    assert [(f.excerpt, f.severity) for f in block.findings if f.excerpt == "3/14"] == [("3/14", "block")]


def test_conference_dates_and_fractions_are_not_dates_of_care(rules: PreflightRules) -> None:
    assert check("ASCO runs May 31 to June 4 in Chicago.", rules).findings == ()
    assert check("3/4 patients responded to the new regimen.", rules).findings == ()


def test_patient_name_span_is_the_name(rules: PreflightRules) -> None:
    text = "My patient Deshawn finished chemo this week."
    finding = only(check(text, rules), "name-of-patient")
    assert finding.excerpt == "Deshawn" and text[finding.start:finding.end] == "Deshawn"
    assert check("Patient Safety Week starts Monday.", rules).findings == ()


def test_title_and_name_with_clinical_context(rules: PreflightRules) -> None:
    finding = only(check("Mr. Henderson came in with a subdural.", rules), "name-with-title")
    assert finding.excerpt == "Mr. Henderson" and finding.severity == "warn"
    colleague = "Shoutout to Ms. Johnson, our unit clerk, who retires Friday from the ICU."
    assert check(colleague, rules).findings == ()


def test_room_bed_and_conference_rooms(rules: PreflightRules) -> None:
    assert only(check("Ran the code in room 412 this morning.", rules), "room-or-bed").excerpt == "room 412"
    assert check("Room 210 at the convention center is packed.", rules).findings == ()
    assert check("OR 0.85 (95% CI 0.70 to 1.02) is not a win.", rules).findings == ()


def test_ip_address_and_ssn(rules: PreflightRules) -> None:
    report = check("Camera 10.24.8.113 shows SSN 123-45-6789 on the card.", rules)
    assert {f.excerpt for f in report.findings} == {"10.24.8.113", "SSN 123-45-6789"}
    assert report.verdict == "blocked"


def test_time_with_patient_and_clinical_detail(rules: PreflightRules) -> None:
    finding = only(check("Last night a 16yo came in after an overdose.", rules), "time-and-patient")
    assert finding.excerpt == "Last night"
    assert check("Today's reminder from the ICU: ask families what matters.", rules).findings == ()


def test_photo_hint_and_image_checklist(rules: PreflightRules) -> None:
    assert only(check("Photo attached: our whiteboard", rules), "photo-hint").excerpt == "Photo attached"
    report = check("Interesting CT finding, what's your diagnosis?", rules, has_image=True)
    assert {"image-in-clinical-post", "image-alt-text"} <= ids(report)


# --------------------------------------------------------------------------- advice


def test_directive_to_a_person_is_blocked(rules: PreflightRules) -> None:
    report = check("@mike you should stop the lisinopril if the cough is bad.", rules)
    finding = only(report, "advice-directive")
    assert finding.excerpt == "you should stop" and finding.severity == "block"
    assert report.verdict == "blocked"


def test_teaching_colleagues_is_not_advice(rules: PreflightRules) -> None:
    text = "In your patients on apixaban you should stop it 48 h before high-bleeding-risk surgery."
    assert not any(f.category == "advice" for f in check(text, rules).findings)


def test_dose_diagnosis_solicitation_and_reassurance(rules: PreflightRules) -> None:
    assert "advice-dose" in ids(check("Try 600 mg ibuprofen, you'll feel better", rules))
    assert "advice-diagnosis" in ids(check("Sounds like you have plantar fasciitis.", rules))
    assert only(check("DM me your labs!", rules), "advice-asks-for-phi").excerpt == "DM me your labs"
    reassure = only(check("Honestly it's probably nothing.", rules), "advice-reassurance")
    assert reassure.severity == "warn"


# --------------------------------------------------------------------------- conflicts


def test_brand_without_and_with_disclosure(rules: PreflightRules) -> None:
    finding = only(check("Loving what I see with Ozempic in clinic.", rules), "brand-without-disclosure")
    assert finding.excerpt == "Ozempic" and finding.category == "conflict"
    assert check("Disclosure: I consult for Novo Nordisk. Ozempic data thread.", rules).findings == ()
    assert check("Tirzepatide and semaglutide both work.", rules).findings == ()


def test_superlative_next_to_brand_and_weak_tag(rules: PreflightRules) -> None:
    report = check("Entresto is a miracle. #partner", rules)
    assert {"brand-without-disclosure", "promotional-superlative", "weak-disclosure-tag"} <= ids(report)


def test_disclosure_behind_hashtags(rules: PreflightRules) -> None:
    text = "Keytruda data look good. #a #b #c #d Disclosure: advisory board, Merck."
    finding = only(check(text, rules), "disclosure-too-late")
    assert finding.excerpt == "Disclosure"


def test_maker_thanked(rules: PreflightRules) -> None:
    assert "maker-thanked-without-disclosure" in ids(check("Thanks @pfizer for dinner!", rules))


# --------------------------------------------------------------------------- embargo


LEAK = "Just saw the #ASCO24 plenary slides: OS HR 0.68, met its primary endpoint!"


def test_results_before_embargo_lift_are_blocked(rules: PreflightRules) -> None:
    before = ASCO.embargo_lifts_at - timedelta(minutes=1)  # type: ignore[operator]
    report = check(LEAK, rules, now=before, meetings=(ASCO,))
    findings = [f for f in report.findings if f.rule_id == "meeting-embargo"]
    assert findings and all(f.severity == "block" for f in findings)
    assert findings[0].excerpt == "OS"
    assert "ASCO Annual Meeting" in findings[0].why and "Sun 02 Jun 2024, 12:00 UTC" in findings[0].why
    assert report.verdict == "blocked"


def test_results_after_embargo_lift_are_fine(rules: PreflightRules) -> None:
    report = check(LEAK, rules, now=ASCO.embargo_lifts_at, meetings=(ASCO,))
    assert report.findings == ()


def test_embargo_needs_the_meeting_and_handles_naive_times(rules: PreflightRules) -> None:
    before = datetime(2024, 6, 1, 9, 0)  # naive: taken as UTC
    other = "Our own trial: OS HR 0.68."
    assert check(other, rules, now=before, meetings=(ASCO,)).findings == ()
    naive = MeetingWindow("ASCO Annual Meeting", "#ASCO24", ASCO.starts_on, ASCO.ends_on,
                          datetime(2024, 6, 2, 12, 0))
    assert "meeting-embargo" in ids(check("ASCO plenary: OS HR 0.68", rules,
                                          now=before.replace(tzinfo=UTC), meetings=(naive,)))


def test_embargo_language(rules: PreflightRules) -> None:
    assert "embargo-language" in ids(check("Sneak peek at our topline data!", rules))
    assert check("Reminder: the embargo lifts at 5 pm ET. Don't post before then.", rules).findings == ()


# --------------------------------------------------------------------------- platform


def test_x_weighted_length_ascii_url_cjk_emoji() -> None:
    assert x_weighted_length("a" * 280) == (280, 280)
    assert x_weighted_length("see https://example.com/a/very/long/path/indeed ok")[0] == 4 + 23 + 3
    assert x_weighted_length("日本語")[0] == 6
    assert x_weighted_length("ok 👍")[0] == 5
    assert x_weighted_length("") == (0, 0)


def test_too_long_span_is_the_overflow(rules: PreflightRules) -> None:
    text = "a" * 280 + " overflow"
    finding = only(check(text, rules), "too-long-for-x")
    assert finding.start == 280 and finding.excerpt == " overflow"
    assert "289" in finding.why and "280" in finding.why


def test_cjk_counts_double(rules: PreflightRules) -> None:
    text = "心" * 141
    report = check(text, rules)
    assert report.weighted_length == 282
    assert only(report, "too-long-for-x").start == 140


def test_url_counts_23(rules: PreflightRules) -> None:
    text = "x" * 250 + " https://example.org/" + "p" * 60
    report = check(text, rules)
    assert report.weighted_length == 274 and "too-long-for-x" not in ids(report)


def test_meeting_hashtag_missing_and_variant(rules: PreflightRules) -> None:
    during = datetime(2024, 6, 1, 15, 0, tzinfo=UTC)
    missing = check("Great plenary session this morning.", rules, now=during, meetings=(ASCO,))
    finding = only(missing, "meeting-hashtag-missing")
    assert finding.severity == "tip" and "#ASCO24" in finding.fix and finding.excerpt == ""
    variant = check("Loved the keynote at #ASCO2024!", rules, now=during, meetings=(ASCO,))
    assert only(variant, "meeting-hashtag-variant").excerpt == "#ASCO2024"
    assert "meeting-hashtag-missing" not in ids(variant)
    before = check("Great plenary session this morning.", rules, meetings=(ASCO,))
    assert before.findings == ()


def test_image_tips(rules: PreflightRules) -> None:
    lounge = check("Our new resident lounge is open!", rules, has_image=True)
    assert ids(lounge) == {"image-alt-text"} and lounge.verdict == "ready"
    slide = check("Key slide from the #ASCO24 session.", rules, has_image=True)
    assert "slide-photo-credit" in ids(slide)
    credited = check("Key slide by @DrLee from the #ASCO24 session.", rules, has_image=True)
    assert "slide-photo-credit" not in ids(credited)


def test_hashtags_and_leading_mention(rules: PreflightRules) -> None:
    report = check("@NEJM out now #a #b #c #d #e", rules)
    assert only(report, "too-many-hashtags").excerpt == "#d #e"
    # Since 2016 a post that starts with @handle reaches all followers: no rule says otherwise.
    assert rules.rule("starts-with-mention") is None
    assert check("@NEJM just published our trial on early mobility. Link in bio.", rules).findings == ()


def test_over_89_fix_uses_the_single_safe_harbor_category(rules: PreflightRules) -> None:
    finding = only(check("My 94-year-old patient walked out today!", rules), "age-over-89")
    assert '"90 or older"' in finding.fix
    assert "over 90" not in finding.fix and "90s" not in finding.fix
    birth = rules.rule("birth-year-over-89")
    assert birth is not None and '"90 or older"' in birth.fix and "over 90" not in birth.fix


# --------------------------------------------------------------------------- tone


def test_all_caps_but_not_acronyms(rules: PreflightRules) -> None:
    finding = only(check("I AM SO TIRED OF THIS. Really.", rules), "all-caps")
    assert finding.excerpt == "I AM SO TIRED OF THIS"
    assert check("STEMI in the ED, LBBB on ECG, cath lab activated for PCI.", rules).findings == ()


def test_slang_profanity_insult_punctuation(rules: PreflightRules) -> None:
    assert only(check("Another frequent flyer tonight.", rules), "derogatory-slang").excerpt == "frequent flyer"
    assert "profanity" in ids(check("What a shitty night.", rules))
    assert "insult-at-account" in ids(check("@quackdoc you are an idiot", rules))
    assert "insult-at-account" not in ids(check("That was a stupid mistake on my part.", rules))
    assert only(check("Can't believe this!!!!", rules), "excessive-punctuation").excerpt == "!!!!"


# --------------------------------------------------------------------------- report shape


def test_findings_sorted_by_severity_then_position(rules: PreflightRules) -> None:
    text = "Another frequent flyer!!! Pt MRN 00482915. Ozempic works."
    report = check(text, rules)
    order = [(f.severity, f.start) for f in report.findings]
    rank = {"block": 0, "warn": 1, "tip": 2}
    assert order == sorted(order, key=lambda item: (rank[item[0]], item[1]))
    assert report.findings[0].rule_id == "medical-record-number"
    assert report.verdict == "blocked"


def test_overlapping_findings_of_one_category_are_merged(rules: PreflightRules) -> None:
    report = check("Patient chart number 2125550187 in the record", rules)
    identifiers = [f for f in report.findings if f.category == "identifier"]
    assert len(identifiers) == 1
    assert identifiers[0].severity == "block"


def test_review_verdict(rules: PreflightRules) -> None:
    assert check("Loving Ozempic results.", rules).verdict == "review"


def test_checking_logs_nothing(rules: PreflightRules, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.DEBUG):
        check("Pt MRN 00482915, call 212-555-0187", rules)
    assert caplog.records == []


# --------------------------------------------------------------------------- reply


def test_reply_quotes_spans_and_summarises(rules: PreflightRules, content: Content) -> None:
    draft = "Pt MRN 00482915 refused dialysis. Ozempic works!!!"
    reply = preflight_reply(check(draft, rules), draft, content.words)
    assert reply.kind == "check"
    assert reply.text.startswith("Don't post this yet: 1 to fix, 1 to review, 1 tip.")
    assert "Length on X:" in reply.text
    assert "“MRN 00482915”" in reply.body and "“Ozempic”" in reply.body
    assert reply.body.index("**Fix before posting (1)**") < reply.body.index("**Review before posting (1)**")
    assert "_Fix:_" in reply.body
    assert ("Verdict", "Blocked") in reply.fields
    assert "not stored" in reply.footer


def test_reply_for_clean_and_empty_drafts(rules: PreflightRules, content: Content) -> None:
    clean = preflight_reply(check("Teamwork wins.", rules), "Teamwork wins.", content.words)
    assert clean.text == "Ready to post: no issues found. Length on X: 14/280."
    empty = preflight_reply(check("", rules), "", content.words)
    assert "Paste the draft" in empty.text


def test_reply_truncates_long_excerpts(rules: PreflightRules, content: Content) -> None:
    draft = "word " * 100
    reply = preflight_reply(check(draft, rules), draft, content.words)
    assert "…" in reply.body


# --------------------------------------------------------------------------- loader errors


MINIMAL = """\
rules:
  - id: shout
    category: tone
    severity: tip
    pattern: '!{2,10}'
    why: Too loud.
    fix: Use one.
"""


def write(tmp_path: Path, rules_yaml: str, lists: dict[str, str] | None = None) -> Path:
    (tmp_path / "preflight.yaml").write_text(textwrap.dedent(rules_yaml), encoding="utf-8")
    for name, body in (lists or {}).items():
        folder = tmp_path / "preflight"
        folder.mkdir(exist_ok=True)
        (folder / f"{name}.yaml").write_text(textwrap.dedent(body), encoding="utf-8")
    return tmp_path


def load_error(tmp_path: Path, rules_yaml: str, lists: dict[str, str] | None = None) -> ContentError:
    with pytest.raises(ContentError) as info:
        load_preflight_rules(write(tmp_path, rules_yaml, lists))
    return info.value


def test_minimal_fixture_loads(tmp_path: Path) -> None:
    rules = load_preflight_rules(write(tmp_path, MINIMAL))
    report = check_draft("Wow!!", rules, DraftContext(now=NOW))
    assert [f.excerpt for f in report.findings] == ["!!"]


def test_bad_regex_reports_its_line(tmp_path: Path) -> None:
    error = load_error(tmp_path, MINIMAL.replace("'!{2,10}'", "'(unclosed'"))
    assert error.path.endswith("preflight.yaml") and error.line == 5
    assert "bad regular expression" in error.message


def test_bad_regex_in_a_list_item_reports_its_line(tmp_path: Path) -> None:
    text = MINIMAL.replace("    pattern: '!{2,10}'\n", "    patterns:\n      - 'ok'\n      - '[z-a]'\n")
    error = load_error(tmp_path, text)
    assert error.line == 7


@pytest.mark.parametrize("old, new, line, words", [
    ("severity: tip", "severity: urgent", 4, "not one of"),
    ("category: tone", "category: vibes", 3, "not one of"),
    ("    why: Too loud.\n", "", 2, "missing 'why'"),
    ("id: shout", "id: Shout It", 2, "lowercase"),
    ("'!{2,10}'", "'{nowhere}'", 5, "unknown placeholder {nowhere}"),
    ("why: Too loud.", "why: Too {volume}.", 6, "unknown placeholder {volume}"),
    ("    fix: Use one.\n", "    fix: Use one.\n    colour: red\n", 8, "unknown key"),
])
def test_invalid_rule_fields(tmp_path: Path, old: str, new: str, line: int, words: str) -> None:
    error = load_error(tmp_path, MINIMAL.replace(old, new))
    assert error.line == line, error
    assert words in error.message


def test_duplicate_rule_id(tmp_path: Path) -> None:
    body = MINIMAL + MINIMAL.split("rules:\n", 1)[1]
    error = load_error(tmp_path, body)
    assert error.line == 8 and "used twice (first at line 2)" in error.message


def test_detector_checks(tmp_path: Path) -> None:
    error = load_error(tmp_path, MINIMAL.replace("    pattern: '!{2,10}'\n", "    detector: psychic\n"))
    assert error.line == 5 and "not one of" in error.message
    error = load_error(tmp_path, MINIMAL.replace("    pattern: '!{2,10}'\n", "    detector: x_length\n    pattern: 'x'\n"))
    assert error.line == 6 and "takes exactly 0 pattern" in error.message


def test_term_errors(tmp_path: Path) -> None:
    cyclic = "terms:\n  a: '{b}'\n  b: 'x|{a}'\n" + MINIMAL
    assert "cycle" in load_error(tmp_path, cyclic).message
    broken = "terms:\n  ok: 'fine'\n  bad:\n    - 'fine'\n    - '(oops'\n" + MINIMAL
    error = load_error(tmp_path, broken)
    assert error.line == 5 and "terms: bad" in error.message


def test_word_list_errors(tmp_path: Path) -> None:
    lists = {"brands": "words:\n  - Ozempic\n  - Keytruda\n  - ozempic\n"}
    error = load_error(tmp_path, MINIMAL, lists)
    assert error.path.endswith("brands.yaml") and error.line == 4 and "repeats line 2" in error.message


def test_word_lists_match_whole_words_any_case(tmp_path: Path) -> None:
    lists = {"brands": "words: [Ozempic, FreeStyle Libre, Z-Pak]\n"}
    text = MINIMAL.replace("'!{2,10}'", "'{brands}'")
    rules = load_preflight_rules(write(tmp_path, text, lists))
    report = check_draft("OZEMPIC, freestyle  libre, z-pak, Ozempics", rules, DraftContext(now=NOW))
    assert [f.excerpt for f in report.findings] == ["OZEMPIC", "freestyle  libre", "z-pak"]
    assert words_regex(("ab", "abc")).count("(?:") >= 1


def test_yaml_syntax_error_has_line(tmp_path: Path) -> None:
    error = load_error(tmp_path, MINIMAL + "  - id: [unclosed\n")
    assert error.line is not None and "YAML syntax" in error.message


def test_cap_and_too_long_reply_come_from_the_rules_file(rules: PreflightRules, content: Content) -> None:
    from bot.coach.draftcheck import too_long_reply

    assert rules.max_chars == 4000
    reply = too_long_reply(rules, 40_000, content.words)
    assert reply.kind == "check" and reply.title == "Draft check: too long to check"
    assert "40,000 characters" in reply.text and "4,000" in reply.text and "not checked" not in reply.title
    assert "Nothing was checked or stored" in reply.text
    assert ("Verdict", "Not checked") in reply.fields


@pytest.mark.parametrize("extra, words", [
    ("settings:\n  max_draft_chars: 100\n", "max_draft_chars"),
    ("replies:\n  too_long_title: 'Hm'\n  too_long: 'Too long by {lots}'\n", "unknown placeholder {lots}"),
    ("replies:\n  too_short: 'x'\n", "unknown key"),
])
def test_settings_and_replies_are_validated(tmp_path: Path, extra: str, words: str) -> None:
    error = load_error(tmp_path, extra + MINIMAL)
    assert words in error.message and error.line is not None
