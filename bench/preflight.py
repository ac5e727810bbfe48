"""Benchmark: time to check one draft with the shipped rules, against a one-regex baseline.

Run from the project root: ``python -m bench.preflight`` (prints Markdown tables).
The drafts are the labelled corpus in ``tests/data/preflight_corpus.yaml``. The adversarial part
times drafts built to make a backtracking checker slow (long runs of ``a.a.a.``, digits and
dashes, hashtags, shouting, patient shorthand) at several lengths up to the 4,000-character cap:
its worst case and how time grows with length (linear: 4x the length, about 4x the time).
``--accuracy`` prints precision and recall per category on both labelled splits.
"""
from __future__ import annotations

import re
import statistics
import time
from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path

import yaml

from bot.core.preflight import DraftContext, MeetingWindow, check_draft
from bot.preflight_rules import load_preflight_rules

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT / "tests" / "data" / "preflight_corpus.yaml"
BASELINE = re.compile(r"\b[\w.%+-]+@[\w-]+(?:\.[\w-]+)*\.[A-Za-z]{2,}\b")
"""One compiled pattern (the e-mail rule) searched once per draft: the cheapest real check."""


def load_drafts(path: Path = CORPUS) -> list[tuple[str, DraftContext]]:
    """Every corpus draft with the context it is checked in."""
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    meetings = {
        key: MeetingWindow(
            name=m["name"], hashtag=m["hashtag"],
            starts_on=date.fromisoformat(m["starts_on"]), ends_on=date.fromisoformat(m["ends_on"]),
            embargo_lifts_at=datetime.fromisoformat(m["embargo_lifts_at"]) if m.get("embargo_lifts_at") else None,
        )
        for key, m in data["meetings"].items()
    }
    default_now = datetime.fromisoformat(data["defaults"]["now"])
    return [
        (item["text"], DraftContext(
            now=datetime.fromisoformat(item["now"]) if "now" in item else default_now,
            meetings=tuple(meetings[key] for key in item.get("meetings", ())),
            has_image=bool(item.get("has_image", False)),
        ))
        for item in data["drafts"]
    ]


def _timings(n: int, drafts: list[tuple[str, DraftContext]],
             call: Callable[[str, DraftContext], object]) -> list[float]:
    for text, context in drafts:  # warm caches (regex, lru_cache) before measuring
        call(text, context)
    out = []
    for i in range(n):
        text, context = drafts[i % len(drafts)]
        start = time.perf_counter()
        call(text, context)
        out.append(time.perf_counter() - start)
    return out


def _p99(samples: list[float]) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]


def run(n: int = 2000, repeats: int = 5) -> dict[str, float]:
    """Mean and p99 seconds per draft for check_draft and the baseline, and their ratio; the
    adversarial drafts best of ``repeats``."""
    rules = load_preflight_rules(ROOT / "prompts")
    drafts = load_drafts()
    checked = _timings(n, drafts, lambda text, ctx: check_draft(text, rules, ctx))
    baseline = _timings(n, drafts, lambda text, ctx: BASELINE.search(text))
    mean, base_mean = statistics.fmean(checked), statistics.fmean(baseline)
    worst = adversarial(repeats)
    return {
        "adversarial_worst_s": float(worst["worst_s"]),  # type: ignore[arg-type]
        "adversarial_worst_draft": worst["worst_draft"],  # type: ignore[dict-item]
        "adversarial_growth": float(worst["worst_growth"]),  # type: ignore[arg-type]
        "adversarial_length_ratio": float(worst["length_ratio"]),  # type: ignore[arg-type]
        "drafts": float(len(drafts)),
        "checks": float(n),
        "rules": float(len(rules.rules)),
        "mean_s": mean,
        "p99_s": _p99(checked),
        "max_s": max(checked),
        "baseline_mean_s": base_mean,
        "baseline_p99_s": _p99(baseline),
        "ratio_mean": mean / base_mean if base_mean else float("inf"),
    }


ADVERSARIAL_UNITS: dict[str, str] = {
    "domain-like run (a.a.a.)": "a.",
    "www-like run": "www.a.",
    "digits and dots": "1.",
    "digits and dashes": "1-",
    "digits and spaces": "1 ",
    "dash run": "a-",
    "letters": "a",
    "spaces": " ",
    "words": "word ",
    "capital words": "ABC ",
    "hashtags": "#a",
    "mentions": "@a ",
    "emoji and dots": "😀.",
    "exclamations": "Wow!!! ",
    "patient shorthand": "Pt 92M 3/4 ",
    "patient phrases": "my patient ",
    "ages in words": "ninety-one ",
    "numbers next to a chart": "chart 4481920 ",
}
LENGTHS = (1000, 2000, 4000)


def adversarial(repeats: int = 5) -> dict[str, object]:
    """Best-of-``repeats`` seconds per adversarial draft and length; worst case and growth."""
    rules = load_preflight_rules(ROOT / "prompts")
    context = DraftContext(now=datetime(2024, 3, 12, 15, 0))
    rows: dict[str, dict[int, float]] = {}
    for name, unit in ADVERSARIAL_UNITS.items():
        rows[name] = {}
        for length in LENGTHS:
            text = (unit * (length // len(unit) + 1))[:length]
            best = float("inf")
            for _ in range(repeats):
                start = time.perf_counter()
                check_draft(text, rules, context)
                best = min(best, time.perf_counter() - start)
            rows[name][length] = best
    top = LENGTHS[-1]
    worst = max(rows, key=lambda name: rows[name][top])
    growth = {name: times[top] / times[LENGTHS[0]] for name, times in rows.items()}
    return {
        "rows": rows,
        "worst_draft": worst,
        "worst_s": rows[worst][top],
        "worst_growth": max(growth.values()),
        "worst_growth_draft": max(growth, key=growth.__getitem__),
        "length_ratio": top / LENGTHS[0],
    }


def _adversarial_table(result: dict[str, object], typical_s: float) -> str:
    rows: dict[str, dict[int, float]] = result["rows"]  # type: ignore[assignment]
    ms = 1000.0
    lines = ["| adversarial draft | " + " | ".join(f"{n:,} chars (ms)" for n in LENGTHS)
             + f" | time ratio {LENGTHS[-1] // LENGTHS[0]}x length |",
             "|---|" + "---:|" * (len(LENGTHS) + 1)]
    for name, times in rows.items():
        lines.append(f"| {name} | " + " | ".join(f"{times[n] * ms:.1f}" for n in LENGTHS)
                     + f" | {times[LENGTHS[-1]] / times[LENGTHS[0]]:.1f} |")
    lines += ["", f"Worst case at {LENGTHS[-1]:,} characters: {result['worst_s'] * ms:.1f} ms "
              f"({result['worst_draft']}), {result['worst_s'] / typical_s:.0f}x a typical corpus draft "
              f"({typical_s * ms:.2f} ms, same run). Largest time ratio for {result['length_ratio']:.0f}x the "
              f"length: {result['worst_growth']:.1f} ({result['worst_growth_draft']}); linear is "
              f"{result['length_ratio']:.0f}."]
    return "\n".join(lines)


def accuracy() -> str:
    """Precision and recall per category on the development and held-apart splits."""
    from tests.test_preflight_corpus import CORPUS, HELDOUT, draft_rates, run_split, score, table

    out = []
    for label, path in (("Development split (rules tuned on it)", CORPUS),
                        ("Held-apart split (rules not tuned on it)", HELDOUT)):
        results = run_split(path)
        caught, alarms = draft_rates(results)
        flagged = sum(1 for case, _ in results if case.expect)
        out += [f"{label}: {len(results)} drafts, {flagged} to flag, {len(results) - flagged} clean", "",
                table(score(results)), "",
                f"Flagged drafts caught: {caught:.3f}; clean drafts with a false alarm: {alarms:.3f}", ""]
    return "\n".join(out)


def _table(result: dict[str, float]) -> str:
    ms = 1000.0
    return "\n".join([
        f"Pre-flight check over {int(result['drafts'])} corpus drafts, {int(result['checks'])} checks, "
        f"{int(result['rules'])} rules",
        "",
        "| measure | mean (ms) | p99 (ms) |",
        "|---|---:|---:|",
        f"| check_draft | {result['mean_s'] * ms:.3f} | {result['p99_s'] * ms:.3f} |",
        f"| baseline: one re.search | {result['baseline_mean_s'] * ms:.4f} | {result['baseline_p99_s'] * ms:.4f} |",
        "",
        f"check_draft / baseline (mean): {result['ratio_mean']:.0f}x; slowest check {result['max_s'] * ms:.2f} ms",
    ])


if __name__ == "__main__":
    import sys

    if "--accuracy" in sys.argv:
        print(accuracy())
    else:
        typical = run()
        print(_table(typical))
        print()
        print(_adversarial_table(adversarial(), typical["mean_s"]))
