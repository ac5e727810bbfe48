"""The Markdown table of a bench run: measurement, product, baseline, ratio, goal, pass/miss."""
from __future__ import annotations

import math
from pathlib import Path
from typing import Any

NOTES_MARKER = "<!-- notes below this line are kept by python -m bench -->"


def _median(rows: list[dict[str, float]], key: str) -> float:
    values = sorted(r[key] for r in rows)
    return values[len(values) // 2] if values else 0.0


def _load(rows: list[dict[str, float]]) -> str:
    return (f"{_median(rows, 'rps'):,.0f}/s (p50 {_median(rows, 'p50_ms'):.1f} ms, "
            f"p99 {_median(rows, 'p99_ms'):.1f} ms)")


def _verdict(ok: bool | None) -> str:
    return "—" if ok is None else ("**pass**" if ok else "**miss**")


def rows(results: dict[str, Any]) -> list[tuple[str, str, str, str, str, str]]:
    out: list[tuple[str, str, str, str, str, str]] = []
    servers = results.get("servers", {})
    if servers.get("slack_product") and servers.get("slack_bare"):
        product, bare = servers["slack_product"], servers["slack_bare"]
        ratio = _median(product, "rps") / _median(bare, "rps")
        grade = "pass (goal ≥ 0.8 met)" if ratio >= 0.8 else ("pass (≥ 0.6; goal 0.8 not yet)" if ratio >= 0.6
                                                               else "miss")
        out.append(("1. Slack `/rounds status` acks through the full app", _load(product),
                    f"bare Bolt AsyncApp: {_load(bare)}", f"{ratio:.2f}", "≥ 0.6 now, ≥ 0.8 goal",
                    f"**{grade}**"))
        answers = _median(product, "answers_per_s")
        out.append(("1b. …answered (response_url + App Home) per second, sustained", f"{answers:,.0f}/s",
                    "bare Bolt acks (it answers nothing)", f"{answers / _median(bare, 'rps'):.2f}", "—",
                    "info"))
    if servers.get("teams_product") and servers.get("teams_bare"):
        product, bare = servers["teams_product"], servers["teams_bare"]
        ratio = _median(product, "rps") / _median(bare, "rps")
        out.append(("2. Teams message activity (`status`) through the full bot", _load(product),
                    f"BotBuilder echo bot: {_load(bare)}", f"{ratio:.2f}", "—", "info"))
    digest = results.get("digest")
    if digest:
        out.append((f"3. Weekly digest for {digest['physicians']:,} physicians (`Coach.build_digest`)",
                    f"{digest['seconds']:.2f} s, peak memory +{digest['peak_increase_mb']:.0f} MB "
                    f"(RSS {digest['peak_mb']:.0f} MB)",
                    f"read every `people` row: {digest['baseline_seconds']:.3f} s",
                    f"{digest['seconds'] / digest['baseline_seconds']:.0f}×", "< 0.5 s",
                    _verdict(digest["seconds"] < 0.5)))
    ticks = results.get("tick")
    if ticks:
        sizes = sorted(ticks, key=int)
        big = ticks[sizes[-1]]
        out.append((f"4. Scheduler tick for {int(sizes[-1]):,} physicians, first of the day "
                    f"({big['planned']:,} planned)",
                    f"{big['cold_seconds']:.2f} s; the event loop waited at most "
                    f"{1000 * big['cold_stall_seconds']:.0f} ms",
                    f"read every `people` row: {big['baseline_seconds']:.3f} s",
                    f"{big['cold_seconds'] / big['baseline_seconds']:.0f}×", "< 0.5 s",
                    _verdict(big["cold_seconds"] < 0.5)))
        out.append(("4b. …every later tick (nothing due)", f"{big['steady_seconds']:.3f} s, "
                    f"peak memory +{big['peak_increase_mb']:.0f} MB",
                    f"{big['baseline_seconds']:.3f} s", f"{big['steady_seconds'] / big['baseline_seconds']:.2f}×",
                    "< 0.5 s", _verdict(big["steady_seconds"] < 0.5)))
        out.append(("4c. …a tick with everyone due but nothing new (the day turning in their zone)",
                    f"{big['recheck_seconds']:.2f} s; loop waited at most {1000 * big['recheck_stall_seconds']:.0f} ms",
                    f"{big['baseline_seconds']:.3f} s", f"{big['recheck_seconds'] / big['baseline_seconds']:.0f}×",
                    "< 0.5 s", _verdict(big["recheck_seconds"] < 0.5)))
        small, large = ticks[sizes[0]], big
        growth = ", ".join(f"{int(n) / 1000:g}k: {ticks[n]['cold_seconds']:.2f}/{ticks[n]['steady_seconds']:.3f} s"
                           for n in sizes)
        exponent = (math.log(large["cold_seconds"] / small["cold_seconds"]) /
                    math.log(int(sizes[-1]) / int(sizes[0]))) if len(sizes) > 1 else float("nan")
        out.append(("4d. …growth, first/later tick", growth, "—",
                    f"first tick ∝ n^{exponent:.2f}", "linear or better", _verdict(exponent <= 1.15)))
    fanout = results.get("fanout")
    if fanout:
        ok = fanout["fraction_of_allowed"] >= 0.95 and fanout["lost"] == 0 and fanout["duplicated"] == 0
        where = (f" by {fanout['instances']} instances on PostgreSQL (shared budgets)"
                 if fanout.get("instances") else "")
        out.append((f"5. Fan-out of {fanout['expected']:,} reminders to the rate-limited fake Slack{where}",
                    f"{fanout['achieved_rate']:.1f}/s over {fanout['seconds']:.0f} s; lost {fanout['lost']}, "
                    f"duplicated {fanout['duplicated']}, 429s {fanout['refused_429']}",
                    f"allowed {fanout['allowed_rate']:.0f}/s (1/s per channel)",
                    f"{fanout['fraction_of_allowed']:.2f}", "≥ 0.95, lost 0, duplicated 0", _verdict(ok)))
    if "product_idle_rss_mb" in servers:
        peak = servers.get("product_peak_mb", 0.0)
        bare = [f"{name} {servers[key]:.0f}/{servers.get(key.replace('idle_rss', 'peak'), 0):.0f} MB"
                for name, key in (("bare Bolt", "bare_bolt_idle_rss_mb"), ("echo bot", "bare_teams_idle_rss_mb"))
                if key in servers]
        ref = servers.get("bare_bolt_peak_mb") or servers.get("bare_teams_peak_mb")
        out.append(("6. `rounds serve` resident memory, idle / peak under load",
                    f"{servers['product_idle_rss_mb']:.0f} / {peak:.0f} MB",
                    "idle/peak: " + ", ".join(bare) if bare else "—",
                    f"{peak / ref:.1f}×" if ref else "—", "< 200 MB", _verdict(peak < 200)))
    pre = results.get("preflight")
    if pre:
        out.append((f"7. Draft pre-flight check ({int(pre['rules'])} rules, bench/preflight.py)",
                    f"{pre['mean_s'] * 1000:.3f} ms mean, p99 {pre['p99_s'] * 1000:.3f} ms",
                    f"one `re.search`: {pre['baseline_mean_s'] * 1000:.4f} ms", f"{pre['ratio_mean']:.0f}×", "—",
                    "info"))
        if "adversarial_worst_s" in pre:
            growth = pre["adversarial_growth"]
            length_ratio = pre["adversarial_length_ratio"]
            out.append(("7b. …worst case over adversarial drafts at the 4,000-character cap",
                        f"{pre['adversarial_worst_s'] * 1000:.0f} ms ({pre['adversarial_worst_draft']}); "
                        f"{length_ratio:.0f}× the length → at most {growth:.1f}× the time",
                        f"typical corpus draft: {pre['mean_s'] * 1000:.2f} ms",
                        f"{pre['adversarial_worst_s'] / pre['mean_s']:.0f}×",
                        f"time grows ≈ linearly (≤ {2 * length_ratio:.0f}× for {length_ratio:.0f}× the length)",
                        _verdict(growth <= 2 * length_ratio)))
    return out


def table(results: dict[str, Any]) -> str:
    m = results["machine"]
    lines = [
        "# Benchmark results",
        "",
        f"- Date: {results['started_at'].replace('T', ' ')} (UTC), {results.get('bench_seconds', 0) / 60:.1f} minutes"
        f" for `python -m bench{' --quick' if results['quick'] else ''}`",
        f"- Machine: {m['nproc']} cores (`nproc`), {m['cpu']}, {m['memory_gib']} GiB, Python {m['python']}, "
        f"{m['platform']}",
        f"- Roster: {results['size']:,} physicians in 40 departments with varied progress "
        f"({_rows(results)} rows); digest and tick instants pinned to {results['pinned_instant']} "
        f"(a Tuesday: lesson day, digest due)",
        "",
        "| measurement | product | baseline (same run) | ratio | goal | result |",
        "|---|---|---|---|---|---|",
    ]
    lines += ["| " + " | ".join(row) + " |" for row in rows(results)]
    lines += ["", "Raw numbers of this run: `bench/out/results-*.json` (not committed). How each number is "
              "made: `bench/__main__.py` and the modules it names."]
    return "\n".join(lines)


def _rows(results: dict[str, Any]) -> str:
    rosters = results.get("rosters", {})
    for stats in rosters.values():
        if stats["physicians"] == results["size"]:
            return f"{stats['rows']:,}"
    return "?"


def write_results(results: dict[str, Any], path: Path | None) -> str:
    text = table(results)
    if path is not None:
        kept = ""
        if path.exists():
            old = path.read_text(encoding="utf-8")
            if NOTES_MARKER in old:
                kept = old.split(NOTES_MARKER, 1)[1]
        path.write_text(text + "\n\n" + NOTES_MARKER + (kept if kept else "\n"), encoding="utf-8")
    return text
