"""Benchmark: time to check one draft with the shipped rules, against a one-regex baseline.

Run from the project root: ``python -m bench.preflight`` (prints a Markdown table).
The drafts are the labelled corpus in ``tests/data/preflight_corpus.yaml``.
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


def run(n: int = 2000) -> dict[str, float]:
    """Mean and p99 seconds per draft for check_draft and the baseline, and their ratio."""
    rules = load_preflight_rules(ROOT / "prompts")
    drafts = load_drafts()
    checked = _timings(n, drafts, lambda text, ctx: check_draft(text, rules, ctx))
    baseline = _timings(n, drafts, lambda text, ctx: BASELINE.search(text))
    mean, base_mean = statistics.fmean(checked), statistics.fmean(baseline)
    return {
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
    print(_table(run()))
