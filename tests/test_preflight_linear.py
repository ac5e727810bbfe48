"""The draft checker's worst case is linear in the draft, shown by structure, not by a clock.

Every pattern the checker runs (rule patterns and conditions, the module's own, the X-length
URL and emoji patterns, the meeting mentions built at run time) has only bounded repeats and no
backreferences, so one match attempt reads a bounded window and ``finditer`` over n characters
does at most n times a constant of work. Phone numbers are looked up only inside bounded
candidate windows; overlapping findings are merged with a binary search. The timings that go
with this are in bench/preflight.py (worst case over adversarial drafts, growth with length).
"""
from __future__ import annotations

import itertools
import re
import textwrap
from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml
from twitter_text import parse_tweet
from twitter_text.config import config as twitter_config

import bot.core.preflight as preflight
from bot.core import xlength
from bot.core.preflight import DraftContext, MeetingWindow, PreflightRules, check_draft
from bot.core.regexbounds import MAX_NESTED_OUTER, Unbounded, bounds
from bot.preflight_rules import load_preflight_rules
from bot.yamlsrc import ContentError

ROOT = Path(__file__).resolve().parents[1]
NOW = datetime(2024, 3, 12, 15, 0, tzinfo=UTC)
WINDOW_LIMIT = 6000
"""No pattern may read more than this many characters in one match attempt."""


@pytest.fixture(scope="module")
def rules() -> PreflightRules:
    return load_preflight_rules(ROOT / "prompts")


def every_rule_pattern(rules: PreflightRules) -> list[tuple[str, re.Pattern[str]]]:
    found = []
    for rule in rules.rules:
        conditions = [*rule.requires, *rule.unless, *([rule.escalate_if] if rule.escalate_if else [])]
        found += [(rule.id, p) for p in rule.patterns]
        found += [(f"{rule.id} (condition)", c.pattern) for c in conditions]
    return found


def test_every_shipped_pattern_reads_a_bounded_window(rules: PreflightRules) -> None:
    patterns = every_rule_pattern(rules)
    assert len(patterns) > 100
    for name, pattern in patterns:
        window = bounds(pattern).window
        assert 0 < window <= WINDOW_LIMIT, (name, window)


def test_the_checkers_own_patterns_are_bounded() -> None:
    own = [value for value in vars(preflight).values() if isinstance(value, re.Pattern)]
    own += [xlength.X_URL, xlength._EMOJI, xlength._EMOJI_START, xlength._ENDS_URL]
    own.append(preflight._meeting_mention("American Heart Association Scientific Sessions", "#AHA24"))
    assert len(own) >= 8
    for pattern in own:
        assert bounds(pattern).window <= WINDOW_LIMIT, pattern.pattern[:80]


@pytest.mark.parametrize("source, reason", [
    ("a+", "without an upper bound"),
    (r"\w*x", "without an upper bound"),
    (r"x{3,}", "without an upper bound"),
    (r"(?:a{1,5}b){1,20}", "nested inside one that repeats up to 20"),
    (r"(a)\1", "backreference"),
])
def test_hazards_are_refused(source: str, reason: str) -> None:
    with pytest.raises(Unbounded, match=reason):
        bounds(source)


def test_windows_add_up() -> None:
    assert bounds(r"ab{1,5}c").window == 7
    assert bounds(r"(?:x|yyy){2}").window == 6
    assert bounds(r"(?<!\w)a(?=bc)").window == 4
    assert bounds(rf"(?:\.[a-z]{{1,9}}){{1,{MAX_NESTED_OUTER}}}").nesting == 2


def test_the_loader_refuses_an_unbounded_rule_pattern_at_its_line(tmp_path: Path) -> None:
    (tmp_path / "preflight.yaml").write_text(textwrap.dedent("""\
        rules:
          - id: shout
            category: tone
            severity: tip
            pattern: '(?:!+)+'
            why: Too loud.
            fix: Use one.
        """), encoding="utf-8")
    with pytest.raises(ContentError) as info:
        load_preflight_rules(tmp_path)
    assert info.value.line == 5 and "upper bound" in info.value.message


def test_the_checker_reads_at_most_the_cap(rules: PreflightRules) -> None:
    assert rules.max_chars == 4000
    tail = " Pt MRN 00482915, SSN 123-45-6789."
    report = check_draft("Teamwork wins. " * 300 + tail, rules, DraftContext(now=NOW))
    assert all(f.end <= rules.max_chars for f in report.findings)
    assert not any(f.rule_id in {"medical-record-number", "social-security-number"} for f in report.findings)


def test_adversarial_drafts_still_find_what_they_should(rules: PreflightRules) -> None:
    draft = "a." * 1500 + " Pt MRN 00482915 in room 412"
    found = {f.rule_id for f in check_draft(draft, rules, DraftContext(now=NOW)).findings}
    assert {"medical-record-number", "room-or-bed", "too-long-for-x"} <= found


def test_many_findings_merge_without_losing_any_category(rules: PreflightRules) -> None:
    draft = "Wow!!! " * 500
    report = check_draft(draft, rules, DraftContext(now=NOW))
    punct = [f for f in report.findings if f.rule_id == "excessive-punctuation"]
    assert len(punct) == 500
    spans = sorted((f.start, f.end) for f in report.findings if f.category == "tone" and f.start < f.end)
    assert all(a[1] <= b[0] for a, b in itertools.pairwise(spans)), "kept spans of a category never overlap"


def corpus_texts() -> list[str]:
    texts = []
    for name in ("preflight_corpus.yaml", "preflight_heldout.yaml"):
        data = yaml.safe_load((ROOT / "tests" / "data" / name).read_text(encoding="utf-8"))
        texts += [item["text"] for item in data["drafts"]]
    return texts


TRICKY = [
    "see https://example.com/a/b.", "(https://x.org/a_(b))", "example.com and www.nejm.org/doi/x?x=1&y=2, ok",
    "日本語 😷 https://example.com", "e.g. the end.", "1.5 mg", "👩‍⚕️👨🏽‍💻 done", "email a.b@c.com", "x" * 300,
    "http://日本.jp/path", "NEJM.org", "nejm.org/x)", "😀" * 150 + " https://a.com", "café\u0301 au lait",
    "line\r\nbreak", "#ASCO24 #1 keycap 1️⃣", "Read it: https://t.co/abc123 now",
]


@pytest.mark.parametrize("limit", [280, 300])
def test_linear_x_length_agrees_with_twitter_text(limit: int) -> None:
    """Same weighted length and overflow index as twitter-text's own parser on real drafts."""
    for text in corpus_texts() + TRICKY:
        parsed = parse_tweet(text, {**twitter_config["defaults"], "max_weighted_tweet_length": limit})
        ours, cut = xlength.x_weighted_length(text, limit)
        assert ours == parsed.weightedLength, text[:60]
        if ours > limit:
            units = 0
            for index, char in enumerate(text):
                units += 2 if ord(char) > 0xFFFF else 1
                if units > parsed.validRangeEnd:
                    assert cut == index + 1, text[:60]
                    break


def test_meeting_mentions_are_bounded_for_any_name() -> None:
    meeting = MeetingWindow("A Very Long Meeting Name With Many Words In It", "#VLM2024",
                            NOW.date(), NOW.date(), None)
    pattern = preflight._meeting_mention(meeting.name, meeting.hashtag)
    assert bounds(pattern).window < 500
