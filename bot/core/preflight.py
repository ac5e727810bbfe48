"""Draft-post pre-flight checker: pure rules over one draft, no I/O, time as a parameter.

A physician pastes a draft; :func:`check_draft` returns findings (block / warn / tip), each
with the exact span of the draft, why it matters and a suggested fix, plus a verdict and the
length as X counts it. Rules are data (``prompts/preflight.yaml``, compiled by
``bot.preflight_rules``); this module only runs them. Drafts are never stored or logged here.
"""
from __future__ import annotations

import re
from bisect import bisect_left, insort
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from functools import cached_property, lru_cache
from string import Formatter
from typing import Literal

import phonenumbers
from phonenumbers import Leniency, PhoneNumberMatcher, PhoneNumberType

Severity = Literal["block", "warn", "tip"]
Category = Literal["identifier", "advice", "conflict", "embargo", "platform", "tone"]
Verdict = Literal["blocked", "review", "ready"]

SEVERITIES: tuple[Severity, ...] = ("block", "warn", "tip")
CATEGORIES: tuple[Category, ...] = (
    "identifier", "advice", "conflict", "embargo", "platform", "tone",
)
X_DEFAULT_LIMIT = 280
"""Weighted length limit of a standard (non-Premium) post on X, twitter-text v3."""
MAX_DRAFT_CHARS = 4000
"""Default cap on what the checker reads: more than a LinkedIn post (3,000), about 14 X posts."""


# --------------------------------------------------------------------------- data types


@dataclass(frozen=True)
class Condition:
    """A pattern that must (or must not) occur anywhere, or within ``within`` characters."""

    pattern: re.Pattern[str]
    within: int | None = None
    """Characters either side of the hit; ``None`` means anywhere in the draft."""

    def holds(self, text: str, start: int, end: int) -> bool:
        if self.within is None:
            return self.pattern.search(text) is not None
        lo = max(0, start - self.within)
        hi = min(len(text), end + self.within)
        return self.pattern.search(text, lo, hi) is not None


@dataclass(frozen=True)
class Rule:
    """One compiled rule: what to look for, when it applies, and what to tell the author."""

    id: str
    category: Category
    severity: Severity
    why: str
    fix: str
    detector: str = "pattern"
    patterns: tuple[re.Pattern[str], ...] = ()
    requires: tuple[Condition, ...] = ()
    """All of these must hold for a hit to count."""
    unless: tuple[Condition, ...] = ()
    """A hit is dropped when any of these holds."""
    escalate_if: Condition | None = None
    escalate_to: Severity | None = None
    image: bool | None = None
    """``True``: only when an image is attached; ``False``: only without; ``None``: always."""
    params: tuple[tuple[str, int | str], ...] = ()

    def param(self, name: str) -> int | str:
        """The value of a detector parameter (defaults filled in by the loader)."""
        for key, value in self.params:
            if key == name:
                return value
        return DETECTORS[self.detector].params[name]


@dataclass(frozen=True)
class PreflightRules:
    """All compiled rules plus the word lists they were built from."""

    rules: tuple[Rule, ...]
    x_limit: int = X_DEFAULT_LIMIT
    max_chars: int = MAX_DRAFT_CHARS
    """The checker reads at most this many characters of a draft (callers refuse longer ones)."""
    word_lists: tuple[tuple[str, tuple[str, ...]], ...] = ()
    replies: tuple[tuple[str, str], ...] = ()
    """Words of the check's own replies (``replies`` in the rules file)."""

    def rule(self, rule_id: str) -> Rule | None:
        return next((r for r in self.rules if r.id == rule_id), None)


@dataclass(frozen=True)
class MeetingWindow:
    """A registered meeting as the checker needs it."""

    name: str
    hashtag: str
    starts_on: date
    ends_on: date
    embargo_lifts_at: datetime | None
    """When late-breaking results may be shared; naive values are taken as UTC."""


@dataclass(frozen=True)
class DraftContext:
    now: datetime
    meetings: tuple[MeetingWindow, ...] = ()
    has_image: bool = False


@dataclass(frozen=True)
class Finding:
    rule_id: str
    category: Category
    severity: Severity
    start: int
    end: int
    """``text[start:end]`` is the span; equal for findings about the draft as a whole."""
    excerpt: str
    why: str
    fix: str


@dataclass(frozen=True)
class PreflightReport:
    findings: tuple[Finding, ...]
    weighted_length: int
    verdict: Verdict
    weighted_limit: int = X_DEFAULT_LIMIT

    def count(self, severity: Severity) -> int:
        return sum(1 for f in self.findings if f.severity == severity)

    @property
    def categories(self) -> frozenset[str]:
        return frozenset(f.category for f in self.findings)


# --------------------------------------------------------------------------- detectors


@dataclass(frozen=True)
class DetectorSpec:
    """What a detector needs from its rule: pattern count, parameters, template fields."""

    min_patterns: int
    max_patterns: int | None
    params: dict[str, int | str] = field(default_factory=dict)
    fields: frozenset[str] = frozenset({"excerpt"})
    doc: str = ""


_MEETING_FIELDS = frozenset({"excerpt", "meeting", "hashtag", "lifts_at"})

DETECTORS: dict[str, DetectorSpec] = {
    "pattern": DetectorSpec(1, None, doc="every match of any pattern (named group 'span' narrows it)"),
    "phone": DetectorSpec(0, 0, {"region": "US", "skip_toll_free": 1},
                          doc="phone and fax numbers found by the phonenumbers library"),
    "x_length": DetectorSpec(0, 0, fields=frozenset({"excerpt", "length", "limit"}),
                             doc="the part of the draft past X's weighted limit"),
    "hashtag_count": DetectorSpec(0, 0, {"max": 3}, frozenset({"excerpt", "count", "max"}),
                                  doc="hashtags after the first 'max'"),
    "all_caps": DetectorSpec(0, 0, {"min_words": 3, "min_letters": 14},
                             doc="runs of shouted (all-capital) words"),
    "draft": DetectorSpec(0, 0, doc="one finding about the whole draft (use with image/requires)"),
    "old_birth_year": DetectorSpec(1, None, {"max_age": 89},
                                   doc="a birth year (named group 'year') implying an age over max_age"),
    "late_disclosure": DetectorSpec(2, 2, {"fold": 200, "hashtags_before": 3},
                                    doc="patterns[0] a product, patterns[1] a disclosure found only late"),
    "meeting_embargo": DetectorSpec(1, None, fields=_MEETING_FIELDS,
                                    doc="result language (patterns) about a meeting before its embargo lifts"),
    "meeting_hashtag_missing": DetectorSpec(1, None, fields=_MEETING_FIELDS,
                                            doc="conference talk (patterns) during a meeting without its hashtag"),
    "meeting_hashtag_variant": DetectorSpec(0, 0, fields=_MEETING_FIELDS,
                                            doc="a hashtag that looks like a meeting's but is not the official one"),
}

Hit = tuple[int, int, dict[str, str]]
"""start, end, template values for the rule's why/fix."""


class _Draft:
    """One draft under check, with lazily computed shared facts."""

    def __init__(self, text: str, context: DraftContext, x_limit: int) -> None:
        self.text = text
        self.context = context
        self.x_limit = x_limit

    @cached_property
    def hashtags(self) -> list[re.Match[str]]:
        return list(_HASHTAG.finditer(self.text))

    @cached_property
    def x_parse(self) -> tuple[int, int]:
        """(weighted length, index of the first character past the limit)."""
        return x_weighted_length(self.text, self.x_limit)

    @cached_property
    def today(self) -> date:
        return self.context.now.date()


# Every repeat in the checker's patterns is bounded, so a match attempt reads a bounded window
# and a whole check stays linear in the draft (tests/test_preflight_linear.py checks this).
_HASHTAG = re.compile(r"(?<![\w&])#(\w{0,100}[^\W\d_]\w{0,100})")
_TOKEN = re.compile(r"(?<![#@\w])[^\W\d_][^\W\d_'’]{0,60}(?:['’][^\W\d_]{1,30})?")
_CAPS_GAP = re.compile(r"[\s,.!?:;'’\"-]{0,40}")
_PHONE_CANDIDATE = re.compile(r"(?<!\d)[+(]?\d[\d\s().\-/]{5,30}\d(?!\d)")
"""Where a phone number may be: the phonenumbers matcher then reads only this window."""
_PHONE_CONTEXT = 3


def _pattern_hits(rule: Rule, draft: _Draft) -> Iterator[Hit]:
    for pattern in rule.patterns:
        for match in pattern.finditer(draft.text):
            start, end = _span_of(match)
            if end > start:
                yield start, end, {}


def _span_of(match: re.Match[str]) -> tuple[int, int]:
    if "span" in match.re.groupindex and match.group("span") is not None:
        return match.span("span")
    return match.span()


def _phone_hits(rule: Rule, draft: _Draft) -> Iterator[Hit]:
    text = draft.text
    if sum(ch.isdigit() for ch in text) < 7:
        return
    skip_toll_free = bool(rule.param("skip_toll_free"))
    region = str(rule.param("region"))
    for candidate in _PHONE_CANDIDATE.finditer(text):
        lo = max(0, candidate.start() - _PHONE_CONTEXT)
        window = text[lo:candidate.end() + _PHONE_CONTEXT]
        for match in PhoneNumberMatcher(window, region, leniency=Leniency.VALID):
            if skip_toll_free and phonenumbers.number_type(match.number) in _PUBLIC_LINES:
                continue
            yield lo + match.start, lo + match.end, {}


_PUBLIC_LINES = frozenset({PhoneNumberType.TOLL_FREE, PhoneNumberType.SHARED_COST})


def _x_length_hits(rule: Rule, draft: _Draft) -> Iterator[Hit]:
    length, cut = draft.x_parse
    if length > draft.x_limit:
        yield cut, len(draft.text), {"length": str(length), "limit": str(draft.x_limit)}


def _hashtag_count_hits(rule: Rule, draft: _Draft) -> Iterator[Hit]:
    most = int(rule.param("max"))
    tags = draft.hashtags
    if len(tags) > most:
        yield tags[most].start(), tags[-1].end(), {"count": str(len(tags)), "max": str(most)}


def _all_caps_hits(rule: Rule, draft: _Draft) -> Iterator[Hit]:
    min_words, min_letters = int(rule.param("min_words")), int(rule.param("min_letters"))
    text = draft.text
    run: list[re.Match[str]] = []

    def flush() -> Iterator[Hit]:
        shouted = [m for m in run if len(m.group()) > 1]
        letters = sum(len(m.group()) for m in shouted)
        if len(shouted) >= min_words and letters >= min_letters:
            yield run[0].start(), run[-1].end(), {}

    for token in _TOKEN.finditer(text):
        word = token.group()
        upper = word.isupper()
        joined = bool(run) and _CAPS_GAP.fullmatch(text, run[-1].end(), token.start()) is not None
        if upper and (joined or not run):
            run.append(token)
            continue
        yield from flush()
        run = [token] if upper else []
    yield from flush()


def _draft_hits(rule: Rule, draft: _Draft) -> Iterator[Hit]:
    yield 0, 0, {}


def _old_birth_year_hits(rule: Rule, draft: _Draft) -> Iterator[Hit]:
    max_age = int(rule.param("max_age"))
    for pattern in rule.patterns:
        for match in pattern.finditer(draft.text):
            year = match.groupdict().get("year")
            if year and year.isdigit() and draft.today.year - int(year) > max_age:
                start, end = _span_of(match)
                yield start, end, {}


def _late_disclosure_hits(rule: Rule, draft: _Draft) -> Iterator[Hit]:
    product, disclosure = rule.patterns
    text = draft.text
    if product.search(text) is None:
        return
    first = disclosure.search(text)
    if first is None:
        return
    tags_before = sum(1 for tag in draft.hashtags if tag.start() < first.start())
    if first.start() > int(rule.param("fold")) or tags_before >= int(rule.param("hashtags_before")):
        yield first.start(), first.end(), {}


def _meeting_values(meeting: MeetingWindow) -> dict[str, str]:
    lifts = meeting.embargo_lifts_at
    return {
        "meeting": meeting.name,
        "hashtag": meeting.hashtag,
        "lifts_at": _format_instant(lifts) if lifts else "",
    }


def _format_instant(moment: datetime) -> str:
    zone = moment.tzname() or "UTC"
    return f"{moment:%a %d %b %Y, %H:%M} {zone}"


def _as_utc(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


@lru_cache(maxsize=256)
def _meeting_mention(name: str, hashtag: str) -> re.Pattern[str]:
    """Matches the meeting's hashtag, its name, or its tag stem ('ASCO', 'ASCO 2024')."""
    parts = [re.escape(hashtag.strip())]
    words = name.split()
    if words:
        parts.append(r"\b" + r"\s{1,5}".join(re.escape(w) for w in words) + r"\b")
    stem = _tag_stem(hashtag)
    if len(stem) >= 3:
        parts.append(r"(?<![\w])#?" + re.escape(stem) + r"(?:\s?'?(?:19|20)?\d{2})?\b")
    return re.compile("|".join(parts), re.IGNORECASE)


def _tag_stem(hashtag: str) -> str:
    return re.sub(r"[\d_]+$", "", hashtag.strip().lstrip("#")).lower()


def _meeting_embargo_hits(rule: Rule, draft: _Draft) -> Iterator[Hit]:
    now = _as_utc(draft.context.now)
    for meeting in draft.context.meetings:
        lifts = meeting.embargo_lifts_at
        if lifts is None or now >= _as_utc(lifts):
            continue
        if _meeting_mention(meeting.name, meeting.hashtag).search(draft.text) is None:
            continue
        for start, end, _ in _pattern_hits(rule, draft):
            yield start, end, _meeting_values(meeting)


def _in_progress(meeting: MeetingWindow, today: date) -> bool:
    return meeting.starts_on <= today <= meeting.ends_on


def _meeting_hashtag_missing_hits(rule: Rule, draft: _Draft) -> Iterator[Hit]:
    tags = {m.group(1).lower() for m in draft.hashtags}
    stems = {_tag_stem(t) for t in tags}
    for meeting in draft.context.meetings:
        official = meeting.hashtag.strip().lstrip("#").lower()
        if not _in_progress(meeting, draft.today) or official in tags:
            continue
        if _tag_stem(official) in stems:
            continue  # a near-miss tag is there: the variant rule says which to use
        mention = _meeting_mention(meeting.name, meeting.hashtag)
        talk = any(p.search(draft.text) for p in rule.patterns)
        if talk or mention.search(draft.text):
            end = len(draft.text.rstrip())
            yield end, end, _meeting_values(meeting)


def _meeting_hashtag_variant_hits(rule: Rule, draft: _Draft) -> Iterator[Hit]:
    for meeting in draft.context.meetings:
        official = meeting.hashtag.strip().lstrip("#").lower()
        stem = _tag_stem(official)
        for tag in draft.hashtags:
            written = tag.group(1).lower()
            if written != official and _tag_stem(written) == stem and len(stem) >= 3:
                yield tag.start(), tag.end(), _meeting_values(meeting)


_DETECTOR_FUNCS: dict[str, Callable[[Rule, _Draft], Iterator[Hit]]] = {
    "pattern": _pattern_hits,
    "phone": _phone_hits,
    "x_length": _x_length_hits,
    "hashtag_count": _hashtag_count_hits,
    "all_caps": _all_caps_hits,
    "draft": _draft_hits,
    "old_birth_year": _old_birth_year_hits,
    "late_disclosure": _late_disclosure_hits,
    "meeting_embargo": _meeting_embargo_hits,
    "meeting_hashtag_missing": _meeting_hashtag_missing_hits,
    "meeting_hashtag_variant": _meeting_hashtag_variant_hits,
}


# --------------------------------------------------------------------------- X length


def x_weighted_length(text: str, limit: int = X_DEFAULT_LIMIT) -> tuple[int, int]:
    """Weighted length as X counts it (twitter-text v3) and the index where ``limit`` is passed.

    Most characters weigh 1, CJK and other wide scripts and emoji 2, every URL 23. The second
    value is ``len(text)`` when the draft fits. Linear in the text (see ``bot.core.xlength``).
    """
    from bot.core import xlength  # on the first draft: its emoji table costs a server ~15 MB

    return xlength.x_weighted_length(text, limit)


# --------------------------------------------------------------------------- checking

_SEVERITY_RANK = {severity: rank for rank, severity in enumerate(SEVERITIES)}


def check_draft(text: str, rules: PreflightRules, context: DraftContext) -> PreflightReport:
    """Run every rule over ``text``; findings sorted by severity, then position.

    Reads at most ``rules.max_chars`` characters; every rule is linear in what it reads.
    """
    text = text[:rules.max_chars]
    draft = _Draft(text, context, rules.x_limit)
    found: list[tuple[int, Finding]] = []
    if text.strip():
        for order, rule in enumerate(rules.rules):
            found.extend((order, finding) for finding in _apply(rule, draft))
    findings = _merge(found)
    length, _ = draft.x_parse
    return PreflightReport(findings, length, _verdict(findings), rules.x_limit)


def _apply(rule: Rule, draft: _Draft) -> Iterator[Finding]:
    text = draft.text
    if rule.image is not None and rule.image != draft.context.has_image:
        return
    if not _global_conditions_hold(rule, text):
        return
    for start, end, values in _DETECTOR_FUNCS[rule.detector](rule, draft):
        if not all(c.holds(text, start, end) for c in rule.requires if c.within is not None):
            continue
        if any(c.holds(text, start, end) for c in rule.unless if c.within is not None):
            continue
        severity = rule.severity
        if (rule.escalate_if is not None and rule.escalate_to is not None
                and rule.escalate_if.holds(text, start, end)):
            severity = rule.escalate_to
        excerpt = text[start:end]
        values = {"excerpt": excerpt, **values}
        yield Finding(rule.id, rule.category, severity, start, end, excerpt,
                      render(rule.why, values), render(rule.fix, values))


def _global_conditions_hold(rule: Rule, text: str) -> bool:
    if not all(c.holds(text, 0, 0) for c in rule.requires if c.within is None):
        return False
    return not any(c.holds(text, 0, 0) for c in rule.unless if c.within is None)


def render(template: str, values: dict[str, str]) -> str:
    """Fill ``{field}`` placeholders of a why/fix text; ``{{`` and ``}}`` are literal braces."""
    return template.format_map(values) if "{" in template else template


def template_fields(template: str) -> set[str]:
    """Field names used by a why/fix template (raises ValueError on a malformed template)."""
    return {name for _, name, _, _ in Formatter().parse(template) if name is not None}


def _merge(found: list[tuple[int, Finding]]) -> tuple[Finding, ...]:
    """Drop a finding that overlaps a stronger one of the same category (or repeats one).

    Kept spans of one category never overlap, so one binary search per finding decides.
    """
    def priority(item: tuple[int, Finding]) -> tuple[int, int, int, int]:
        order, f = item
        return _SEVERITY_RANK[f.severity], -(f.end - f.start), order, f.start

    spans: dict[str, list[tuple[int, int]]] = {}
    points: set[tuple[str, int]] = set()
    kept: list[tuple[int, Finding]] = []
    for order, finding in sorted(found, key=priority):
        if finding.start == finding.end:
            key = (finding.rule_id, finding.start)
            if key in points:
                continue
            points.add(key)
        else:
            taken = spans.setdefault(finding.category, [])
            before = bisect_left(taken, (finding.end, -1))
            if before and taken[before - 1][1] > finding.start:
                continue
            insort(taken, (finding.start, finding.end))
        kept.append((order, finding))
    kept.sort(key=lambda item: (_SEVERITY_RANK[item[1].severity], item[1].start, item[1].end, item[0]))
    return tuple(f for _, f in kept)


def _verdict(findings: tuple[Finding, ...]) -> Verdict:
    severities = {f.severity for f in findings}
    if "block" in severities:
        return "blocked"
    if "warn" in severities:
        return "review"
    return "ready"
