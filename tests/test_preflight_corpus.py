"""Precision and recall of the draft checker per category over two labelled splits.

``tests/data/preflight_corpus.yaml`` is the development split: rules are tuned on it, and its
floors sit just below what the shipped rules reach, so a rule change that loses accuracy fails.
``tests/data/preflight_heldout.yaml`` is the held-apart test split: rules are never tuned on it
(see its header). On it the checker must reach recall >= 0.95 on drafts that should be flagged
and raise a false alarm on at most 5 % of clean drafts. Run with ``pytest -s`` for the tables
(``python -m bench.preflight --accuracy`` prints the same for bench/RESULTS.md).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

import pytest
import yaml

from bot.core.preflight import CATEGORIES, DraftContext, MeetingWindow, check_draft
from bot.preflight_rules import load_preflight_rules

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT / "tests" / "data" / "preflight_corpus.yaml"
HELDOUT = ROOT / "tests" / "data" / "preflight_heldout.yaml"
HELDOUT_RECALL_FLOOR = 0.95
"""Held-apart split: share of (draft, expected category) pairs found, and of flagged drafts caught."""
HELDOUT_FALSE_ALARM_CEILING = 0.05
"""Held-apart split: share of clean drafts that get any finding at all."""

# Development split floors: each allows about one more error than the shipped rules make.
# (Drafts with "h-" ids were an earlier held-out set; their misses were seen, so they are
# development drafts now. The held-apart split is its own file.)
RECALL_FLOORS = {
    "identifier": 0.93,
    "advice": 0.93,
    "conflict": 0.93,
    "embargo": 0.85,
    "platform": 0.95,
    "tone": 0.92,
}
PRECISION_FLOORS = {
    "identifier": 0.93,
    "advice": 0.93,
    "conflict": 0.93,
    "embargo": 0.85,
    "platform": 0.95,
    "tone": 0.92,
}
OVERALL_PRECISION_FLOOR = 0.95
OVERALL_RECALL_FLOOR = 0.95
CLEAN_PASS_FLOOR = 0.95
"""Share of clean drafts that get no finding at all."""


@dataclass(frozen=True)
class Case:
    id: str
    text: str
    context: DraftContext
    expect: frozenset[str]


def load_corpus(path: Path = CORPUS) -> list[Case]:
    """The labelled drafts with their check contexts."""
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    meetings = {key: _meeting(value) for key, value in data["meetings"].items()}
    default_now = datetime.fromisoformat(data["defaults"]["now"])
    cases = []
    for item in data["drafts"]:
        context = DraftContext(
            now=datetime.fromisoformat(item["now"]) if "now" in item else default_now,
            meetings=tuple(meetings[key] for key in item.get("meetings", ())),
            has_image=bool(item.get("has_image", False)),
        )
        cases.append(Case(item["id"], item["text"], context, frozenset(item["expect"])))
    return cases


def _meeting(value: dict) -> MeetingWindow:
    lifts = value.get("embargo_lifts_at")
    return MeetingWindow(
        name=value["name"], hashtag=value["hashtag"],
        starts_on=date.fromisoformat(value["starts_on"]),
        ends_on=date.fromisoformat(value["ends_on"]),
        embargo_lifts_at=datetime.fromisoformat(lifts) if lifts else None,
    )


@dataclass
class Score:
    tp: int = 0
    fp: int = 0
    fn: int = 0

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0


Results = list[tuple[Case, frozenset[str]]]


def run_split(path: Path) -> Results:
    rules = load_preflight_rules(ROOT / "prompts")
    return [(case, check_draft(case.text, rules, case.context).categories) for case in load_corpus(path)]


@pytest.fixture(scope="module")
def results() -> Results:
    return run_split(CORPUS)


@pytest.fixture(scope="module")
def heldout() -> Results:
    return run_split(HELDOUT)


def score(results: list[tuple[Case, frozenset[str]]]) -> dict[str, Score]:
    scores = {category: Score() for category in CATEGORIES}
    for case, found in results:
        for category in CATEGORIES:
            expected, got = category in case.expect, category in found
            scores[category].tp += expected and got
            scores[category].fp += got and not expected
            scores[category].fn += expected and not got
    return scores


def table(scores: dict[str, Score]) -> str:
    lines = ["| category | support | TP | FP | FN | precision | recall |",
             "|---|---:|---:|---:|---:|---:|---:|"]
    total = Score()
    for category, s in scores.items():
        lines.append(f"| {category} | {s.tp + s.fn} | {s.tp} | {s.fp} | {s.fn} "
                     f"| {s.precision:.2f} | {s.recall:.2f} |")
        total.tp, total.fp, total.fn = total.tp + s.tp, total.fp + s.fp, total.fn + s.fn
    lines.append(f"| **overall** | {total.tp + total.fn} | {total.tp} | {total.fp} | {total.fn} "
                 f"| {total.precision:.2f} | {total.recall:.2f} |")
    return "\n".join(lines)


def draft_rates(results: Results) -> tuple[float, float]:
    """(share of flagged drafts with at least one finding, share of clean drafts with any)."""
    flagged = [found for case, found in results if case.expect]
    clean = [found for case, found in results if not case.expect]
    caught = sum(1 for found in flagged if found) / len(flagged) if flagged else 1.0
    alarms = sum(1 for found in clean if found) / len(clean) if clean else 0.0
    return caught, alarms


def disagreements(results: Results) -> list[str]:
    return [f"{case.id}: expected {sorted(case.expect)}, got {sorted(found)}"
            for case, found in results if found != case.expect]


def test_corpus_is_big_and_balanced() -> None:
    dev, test = load_corpus(CORPUS), load_corpus(HELDOUT)
    assert len(dev) + len(test) >= 250
    assert len(test) >= 80, "the held-apart split is big enough to measure 5 % false alarms"
    ids = [case.id for case in dev + test]
    assert len(set(ids)) == len(ids)
    assert not {case.text for case in dev} & {case.text for case in test}, "no draft in both splits"
    for cases in (dev, test):
        clean = sum(1 for case in cases if not case.expect)
        assert 0.35 <= clean / len(cases) <= 0.65
        for case in cases:
            assert case.expect <= set(CATEGORIES), case.id
    for category in CATEGORIES:
        assert sum(category in case.expect for case in dev) >= 5, category


def test_heldout_split_recall_and_false_alarms(heldout: Results) -> None:
    """Issue 19's bar, on drafts the rules were not tuned on."""
    scores = score(heldout)
    caught, alarms = draft_rates(heldout)
    print(f"\nHeld-apart split, {len(heldout)} drafts:\n" + table(scores))
    print(f"flagged drafts caught {caught:.3f}, clean drafts with a false alarm {alarms:.3f}")
    print("\n".join(["Disagreements:", *disagreements(heldout)]))
    total = Score(sum(s.tp for s in scores.values()), sum(s.fp for s in scores.values()),
                  sum(s.fn for s in scores.values()))
    assert total.recall >= HELDOUT_RECALL_FLOOR, f"recall {total.recall:.3f}"
    assert caught >= HELDOUT_RECALL_FLOOR, f"flagged drafts caught {caught:.3f}"
    assert alarms <= HELDOUT_FALSE_ALARM_CEILING, f"false alarms on clean drafts {alarms:.3f}"


def test_precision_and_recall_per_category(results: Results) -> None:
    scores = score(results)
    print(f"\nDevelopment split, {len(results)} drafts:\n" + table(scores))
    misses = disagreements(results)
    print("\n".join(["", "Disagreements:", *misses]) if misses else "\nNo disagreements.")
    for category, s in scores.items():
        assert s.recall >= RECALL_FLOORS[category], f"{category} recall {s.recall:.2f}"
        assert s.precision >= PRECISION_FLOORS[category], f"{category} precision {s.precision:.2f}"
    total = Score(sum(s.tp for s in scores.values()), sum(s.fp for s in scores.values()),
                  sum(s.fn for s in scores.values()))
    assert total.precision >= OVERALL_PRECISION_FLOOR, f"overall precision {total.precision:.2f}"
    assert total.recall >= OVERALL_RECALL_FLOOR, f"overall recall {total.recall:.2f}"


def test_most_clean_drafts_get_no_finding(results: Results) -> None:
    clean = [(case, found) for case, found in results if not case.expect]
    passed = sum(1 for _, found in clean if not found)
    assert passed / len(clean) >= CLEAN_PASS_FLOOR, f"{passed}/{len(clean)} clean drafts pass"
