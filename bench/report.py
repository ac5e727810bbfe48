"""The Markdown tables of a bench run: measurement, database, product, baseline, ratio, goal, pass/miss;
and the growth table (PostgreSQL at several roster sizes, each row fitted as n^k)."""
from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

NOTES_MARKER = "<!-- notes below this line are kept by python -m bench -->"
GROWTH_MARKER = "<!-- growth below this line is written by python -m bench --only growth -->"
LABELS = {"sqlite": "SQLite", "postgres": "PostgreSQL"}

Row = tuple[str, str, str, str, str, str, str]

SLACK_ACK_GOAL = 0.9
SLACK_ANSWER_GOAL = 0.5
TEAMS_GOAL = 0.5
DIGEST_GOAL_S = 0.5
TICK_GOAL_S = 1.0
TICK_TARGET_S = 0.5
LOOP_WAIT_GOAL_S = 0.050
STEADY_TICK_GOAL_S = 0.5
FANOUT_GOAL = 0.95
RSS_GOAL_MB = 150.0


def fit_power(points: Iterable[tuple[float, float]]) -> tuple[float, float]:
    """Least-squares fit of ``value = c · n^k`` on log-log axes; returns ``(k, c)``.

    Needs two or more sizes with positive values; raises ValueError otherwise."""
    pairs = [(math.log(n), math.log(v)) for n, v in points if n > 0 and v > 0]
    if len({x for x, _ in pairs}) < 2:
        raise ValueError("a power fit needs positive values at two or more sizes")
    mean_x = sum(x for x, _ in pairs) / len(pairs)
    mean_y = sum(y for _, y in pairs) / len(pairs)
    k = (sum((x - mean_x) * (y - mean_y) for x, y in pairs) /
         sum((x - mean_x) ** 2 for x, _ in pairs))
    return k, math.exp(mean_y - k * mean_x)


def size_at(limit: float, k: float, c: float) -> float:
    """The ``n`` at which ``c · n^k`` reaches ``limit`` (infinite when the value does not grow)."""
    if k <= 0:
        return math.inf
    return (limit / c) ** (1 / k)


def _median(rows: list[dict[str, float]], key: str) -> float:
    values = sorted(r[key] for r in rows)
    return values[len(values) // 2] if values else 0.0


def _load(rows: list[dict[str, float]]) -> str:
    return (f"{_median(rows, 'rps'):,.0f}/s (p50 {_median(rows, 'p50_ms'):.1f} ms, "
            f"p99 {_median(rows, 'p99_ms'):.1f} ms)")


def _verdict(ok: bool | None) -> str:
    return "—" if ok is None else ("**pass**" if ok else "**miss**")


def _ratio_row(label: str, db: str, product: str, baseline: str, ratio: float, goal: float) -> Row:
    return (label, db, product, baseline, f"{ratio:.2f}", f"≥ {goal:g}", _verdict(ratio >= goal))


def _slack(data: dict[str, Any], db: str) -> list[Row]:
    servers, out = data.get("servers", {}), []
    product, bare = servers.get("slack_product"), servers.get("slack_bare")
    if product and bare:
        out.append(_ratio_row("1. Slack `/rounds status` acks through the full app", db, _load(product),
                              f"bare Bolt AsyncApp: {_load(bare)}",
                              _median(product, "rps") / _median(bare, "rps"), SLACK_ACK_GOAL))
    answering = servers.get("slack_bare_answering")
    if product and answering:
        mine, theirs = _median(product, "answers_per_s"), _median(answering, "answers_per_s")
        out.append(_ratio_row("1b. …answered commands per second (`response_url` + App Home), sustained", db,
                              f"{mine:,.0f}/s", f"bare Bolt answering through `response_url`: {theirs:,.0f}/s",
                              mine / theirs if theirs else 0.0, SLACK_ANSWER_GOAL))
    return out


def _teams(data: dict[str, Any], db: str) -> list[Row]:
    servers, out = data.get("servers", {}), []
    product, kept, per_turn = servers.get("teams_product"), servers.get("teams_bare_kept"), servers.get("teams_bare")
    if product and kept:
        out.append(_ratio_row("2. Teams message activity (`status`) through the full bot", db, _load(product),
                              f"echo bot keeping its connector client: {_load(kept)}",
                              _median(product, "rps") / _median(kept, "rps"), TEAMS_GOAL))
    if product and per_turn:
        out.append(("2b. …against the SDK sample's echo bot (a connector client per turn)", db, _load(product),
                    f"echo bot, client per turn: {_load(per_turn)}",
                    f"{_median(product, 'rps') / _median(per_turn, 'rps'):.2f}", "—", "info"))
    return out


def _digest(data: dict[str, Any], db: str) -> list[Row]:
    digest = data.get("digest")
    if not digest:
        return []
    return [(f"3. Weekly digest for {digest['physicians']:,} physicians (`Coach.build_digest`)", db,
             f"{digest['seconds']:.2f} s, peak memory +{digest['peak_increase_mb']:.0f} MB "
             f"(RSS {digest['peak_mb']:.0f} MB)",
             f"read every `people` row: {digest['baseline_seconds']:.3f} s",
             f"{digest['seconds'] / digest['baseline_seconds']:.1f}×", f"< {DIGEST_GOAL_S:g} s",
             _verdict(digest["seconds"] < DIGEST_GOAL_S))]


def _ticks(data: dict[str, Any], db: str) -> list[Row]:
    ticks = data.get("tick")
    if not ticks:
        return []
    n = max(ticks, key=int)
    big = ticks[n]
    base = big["baseline_seconds"]
    goal = f"≤ {TICK_GOAL_S:g} s (target {TICK_TARGET_S:g} s), loop waits ≤ {1000 * LOOP_WAIT_GOAL_S:.0f} ms"

    def heavy(seconds: float, stall: float) -> str:
        ok = seconds <= TICK_GOAL_S and stall <= LOOP_WAIT_GOAL_S
        return "**pass**" if ok else ("**miss** (time)" if stall <= LOOP_WAIT_GOAL_S else
                                      "**miss**" if seconds > TICK_GOAL_S else "**miss** (loop wait)")

    def whole(kind: str) -> str:
        """The passes and the time until everyone due was planned (older results have no passes)."""
        if f"{kind}_passes" not in big:
            return ""
        return f" ({big[f'{kind}_passes']} passes; everyone due planned in {big[f'{kind}_total_seconds']:.2f} s)"

    return [
        (f"4. Scheduler tick for {int(n):,} physicians, first of the day ({big['planned']:,} planned)", db,
         f"longest pass {big['cold_seconds']:.2f} s{whole('cold')}; "
         f"the event loop waited at most {1000 * big['cold_stall_seconds']:.0f} ms",
         f"read every `people` row: {base:.3f} s", f"{big['cold_seconds'] / base:.0f}×", goal,
         heavy(big["cold_seconds"], big["cold_stall_seconds"])),
        ("4b. …every later tick (nothing due)", db,
         f"{big['steady_seconds']:.3f} s, peak memory +{big['peak_increase_mb']:.0f} MB", f"{base:.3f} s",
         f"{big['steady_seconds'] / base:.2f}×", f"< {STEADY_TICK_GOAL_S:g} s",
         _verdict(big["steady_seconds"] < STEADY_TICK_GOAL_S)),
        ("4c. …a tick with everyone due but nothing new (the day turning in their zone)", db,
         f"longest pass {big['recheck_seconds']:.2f} s{whole('recheck')}; "
         f"loop waited at most {1000 * big['recheck_stall_seconds']:.0f} ms",
         f"{base:.3f} s", f"{big['recheck_seconds'] / base:.0f}×", goal,
         heavy(big["recheck_seconds"], big["recheck_stall_seconds"])),
    ]


def _fanout(fanout: dict[str, Any] | None) -> list[Row]:
    if not fanout:
        return []
    ok = fanout["fraction_of_allowed"] >= FANOUT_GOAL and fanout["lost"] == 0 and fanout["duplicated"] == 0
    instances = fanout.get("instances", 1)
    return [(f"5. Fan-out of {fanout['expected']:,} reminders to the rate-limited fake Slack (shared budgets)",
             f"PostgreSQL, {instances} instance{'s' if instances > 1 else ''}",
             f"{fanout['achieved_rate']:.1f}/s over {fanout['seconds']:.0f} s; lost {fanout['lost']}, "
             f"duplicated {fanout['duplicated']}, 429s {fanout['refused_429']}" + _fanout_costs(fanout),
             f"allowed {fanout['allowed_rate']:.0f}/s (1/s per channel)",
             f"{fanout['fraction_of_allowed']:.2f}", f"≥ {FANOUT_GOAL:g}, lost 0, duplicated 0", _verdict(ok))]


def _memory(data: dict[str, Any], db: str) -> list[Row]:
    servers = data.get("servers", {})
    if "product_idle_rss_mb" not in servers:
        return []
    peak = servers.get("product_peak_mb", 0.0)
    bare = [f"{name} {servers[key]:.0f}/{servers.get(key.replace('idle_rss', 'peak'), 0):.0f} MB"
            for name, key in (("bare Bolt", "bare_bolt_idle_rss_mb"), ("echo bot", "bare_teams_idle_rss_mb"))
            if key in servers]
    ref = servers.get("bare_bolt_peak_mb") or servers.get("bare_teams_peak_mb")
    return [("6. `rounds serve` resident memory per instance, idle / peak under load", db,
             f"{servers['product_idle_rss_mb']:.0f} / {peak:.0f} MB",
             "idle/peak: " + ", ".join(bare) if bare else "—",
             f"{peak / ref:.1f}×" if ref else "—", f"≤ {RSS_GOAL_MB:.0f} MB", _verdict(peak <= RSS_GOAL_MB))]


def _preflight(pre: dict[str, Any] | None) -> list[Row]:
    if not pre:
        return []
    out: list[Row] = [(f"7. Draft pre-flight check ({int(pre['rules'])} rules, bench/preflight.py)", "—",
                       f"{pre['mean_s'] * 1000:.3f} ms mean, p99 {pre['p99_s'] * 1000:.3f} ms",
                       f"one `re.search`: {pre['baseline_mean_s'] * 1000:.4f} ms", f"{pre['ratio_mean']:.0f}×",
                       "—", "info")]
    if "adversarial_worst_s" in pre:
        growth = pre["adversarial_growth"]
        length_ratio = pre["adversarial_length_ratio"]
        out.append(("7b. …worst case over adversarial drafts at the 4,000-character cap", "—",
                    f"{pre['adversarial_worst_s'] * 1000:.0f} ms ({pre['adversarial_worst_draft']}); "
                    f"{length_ratio:.0f}× the length → at most {growth:.1f}× the time",
                    f"typical corpus draft: {pre['mean_s'] * 1000:.2f} ms",
                    f"{pre['adversarial_worst_s'] / pre['mean_s']:.0f}×",
                    f"time grows ≈ linearly (≤ {2 * length_ratio:.0f}× for {length_ratio:.0f}× the length)",
                    _verdict(growth <= 2 * length_ratio)))
    return out


def _verify(ver: dict[str, Any] | None) -> list[Row]:
    if not ver:
        return []
    limits = ver["at_published_limits_s"]
    x_min = (limits["x_profiles_s"] + limits["x_follow_pages_s"]) / 60
    return [(f"8. X and Bluesky sync of {ver['physicians']:,} physicians against the fakes (`rounds verify`)",
             "SQLite",
             f"{ver['seconds']:.1f} s; API calls per physician: X {ver['x_calls_per_physician']:.3f}, "
             f"Bluesky {ver['bluesky_calls_per_physician']:.3f} ({ver['x_calls']:,} + {ver['bluesky_calls']:,})",
             f"the same requests, bare aiohttp, nothing stored: {ver['baseline_seconds']:.1f} s",
             f"{ver['ratio']:.1f}×",
             f"within a day's limits (at them: X {x_min:.0f} min, Bluesky {limits['bluesky_s'] / 60:.1f} min)",
             _verdict(ver["complete"] and x_min < 24 * 60 and limits["bluesky_s"] < 24 * 3600))]


def by_backend(results: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Each backend's rows; a run from before ``--backend`` existed holds SQLite's at the top level."""
    if "by_backend" in results:
        return results["by_backend"]
    return {"sqlite": {k: results[k] for k in ("digest", "tick", "servers") if k in results}}


def database_label(backend: str, data: dict[str, Any], *, servers: bool) -> str:
    label = LABELS.get(backend, backend)
    instances = data.get("servers", {}).get("instances", 1)
    return f"{label}, {instances} instance{'s' if instances > 1 else ''}" if servers else label


def rows(results: dict[str, Any]) -> list[Row]:
    backends = by_backend(results)
    out: list[Row] = []
    per_backend: list[tuple[Callable[[dict[str, Any], str], list[Row]], bool]] = [
        (_slack, True), (_teams, True), (_digest, False), (_ticks, False)]
    for build, servers in per_backend:
        for backend, data in backends.items():
            out += build(data, database_label(backend, data, servers=servers))
    out += _fanout(results.get("fanout"))
    for backend, data in backends.items():
        out += _memory(data, database_label(backend, data, servers=True))
    out += _preflight(results.get("preflight"))
    out += _verify(results.get("verify"))
    return out


def _load_average(results: dict[str, Any]) -> str:
    loads = results.get("load_average") or []
    if not loads:
        return ""
    return ("; load average (1/5/15 min) " +
            " → ".join("/".join(f"{v:.1f}" for v in one) for one in loads) + " at start → end")


def table(results: dict[str, Any]) -> str:
    m = results["machine"]
    names = ", ".join(LABELS.get(b, b) for b in by_backend(results))
    lines = [
        "# Benchmark results",
        "",
        f"- Date: {results['started_at'].replace('T', ' ')} (UTC), {results.get('bench_seconds', 0) / 60:.1f} minutes"
        f" for `python -m bench{' --quick' if results['quick'] else ''}`{_load_average(results)}",
        f"- Machine: {m['nproc']} cores (`nproc`), {m['cpu']}, {m['memory_gib']} GiB, Python {m['python']}, "
        f"{m['platform']}",
        f"- Databases: {names} (PostgreSQL: a scratch database on the local server, dropped after)",
        f"- Roster: {results['size']:,} physicians in 40 departments with varied progress "
        f"({_rows(results)} rows); digest and tick instants pinned to {results['pinned_instant']} "
        f"(a Tuesday: lesson day, digest due)",
        "",
        "| measurement | database | product | baseline (same run) | ratio | goal | result |",
        "|---|---|---|---|---|---|---|",
    ]
    lines += ["| " + " | ".join(row) + " |" for row in rows(results)]
    lines += ["", "Raw numbers of this run: `bench/out/results-*.json` (not committed). How each number is "
              "made: `bench/__main__.py` and the modules it names."]
    return "\n".join(lines)


GrowthRow = tuple[str, Callable[[dict[str, Any]], float | None], str, float | None]
"""(label, value at one size, unit, goal limit for the capacity column)."""


def _server(key: str, field: str) -> Callable[[dict[str, Any]], float | None]:
    def value(row: dict[str, Any]) -> float | None:
        runs = row.get("servers", {}).get(key)
        return _median(runs, field) if runs else None
    return value


GROWTH_ROWS: tuple[GrowthRow, ...] = (
    ("read every `people` row (the baseline)", lambda r: r["tick"]["baseline_seconds"], "s", None),
    ("3. weekly digest", lambda r: r["digest"]["seconds"], "s", DIGEST_GOAL_S),
    ("3. …digest's peak memory increase", lambda r: r["digest"]["peak_increase_mb"], "MB", None),
    ("4. tick, first of the day", lambda r: r["tick"]["cold_seconds"], "s", TICK_GOAL_S),
    ("4. …its longest event-loop wait", lambda r: 1000 * r["tick"]["cold_stall_seconds"], "ms",
     1000 * LOOP_WAIT_GOAL_S),
    ("4b. later tick (nothing due)", lambda r: r["tick"]["steady_seconds"], "s", STEADY_TICK_GOAL_S),
    ("4c. tick, everyone due, nothing new", lambda r: r["tick"]["recheck_seconds"], "s", TICK_GOAL_S),
    ("1. Slack acks (2 instances)", _server("slack_product", "rps"), "/s", None),
    ("1b. Slack answered commands (2 instances)", _server("slack_product", "answers_per_s"), "/s", None),
    ("2. Teams `status` (2 instances)", _server("teams_product", "rps"), "/s", None),
    ("6. RSS per instance, idle", lambda r: r.get("servers", {}).get("product_idle_rss_mb"), "MB", None),
    ("6. RSS per instance, peak under load", lambda r: r.get("servers", {}).get("product_peak_mb"), "MB",
     RSS_GOAL_MB),
)


def _fmt(value: float | None, unit: str) -> str:
    if value is None:
        return "—"
    if unit == "s":
        return f"{value:.3f} s" if value < 1 else f"{value:.2f} s"
    return f"{value:,.0f} {unit}" if unit != "/s" else f"{value:,.0f}/s"


def growth_table(growth: dict[str, Any]) -> str:
    sizes = sorted(growth["sizes"], key=int)
    data = [growth["sizes"][n] for n in sizes]
    lines = [
        "## Growth on PostgreSQL (`python -m bench --only growth`)",
        "",
        f"Measured {growth.get('started_at', '?').replace('T', ' ')} UTC{_load_average(growth)}. Each size is its "
        f"own roster copied into a scratch PostgreSQL database; servers are {growth.get('instances', 2)} "
        "`rounds serve` instances behind one round-robin load generator (the product alone: growth compares "
        "it with itself). *k* is the least-squares slope of log(value) over log(n); *holds up to* is where "
        "that fit reaches the row's goal." + (f" {growth['note']}" if growth.get("note") else ""),
        "",
        "| row | " + " | ".join(f"{int(n):,}" for n in sizes) + " | fit n^k | goal | holds up to (by the fit) |",
        "|---|" + "---:|" * len(sizes) + "---|---|---|",
    ]
    lines.append("| roster rows (physicians and their history) | " +
                 " | ".join(f"{d['rows']:,}" for d in data) + " | — | — | — |")
    for label, get, unit, limit in GROWTH_ROWS:
        values: list[float | None] = []
        for d in data:
            try:
                values.append(get(d))
            except (KeyError, TypeError):
                values.append(None)
        points = [(int(n), v) for n, v in zip(sizes, values, strict=True) if v is not None]
        try:
            k, c = fit_power(points)
            fit = f"n^{k:.2f}"
            holds = "—" if limit is None else _capacity(size_at(limit, k, c), points, limit)
        except ValueError:
            fit, holds = "—", "—"
        goal = "—" if limit is None else f"≤ {_fmt(limit, unit)}"
        lines.append(f"| {label} | " + " | ".join(_fmt(v, unit) for v in values) + f" | {fit} | {goal} | {holds} |")
    return "\n".join(lines)


def _capacity(n: float, points: list[tuple[int, float]], limit: float) -> str:
    largest = max(points)[0]
    if all(v > limit for _, v in points):
        return "below the smallest size (miss at every size)"
    if math.isinf(n) or n > 10 * largest:
        return f"beyond {10 * largest:,} (10× the largest measured)"
    return f"about {round(n, -3):,.0f} physicians"


def _rows(results: dict[str, Any]) -> str:
    rosters = results.get("rosters", {})
    for stats in rosters.values():
        if stats["physicians"] == results["size"]:
            return f"{stats['rows']:,}"
    return "?"


def split_sections(text: str) -> tuple[str, str, str]:
    """(main table, growth section, notes) of a RESULTS.md; missing parts are empty."""
    main, _, notes = text.partition(NOTES_MARKER)
    main, _, growth = main.partition(GROWTH_MARKER)
    return main.strip(), growth.strip(), notes


def write_results(results: dict[str, Any], path: Path | None) -> str:
    """Rewrite ``path``'s main table when the run measured any of its rows and its growth section when
    it measured growth; the notes below NOTES_MARKER are kept. Returns what this run printed."""
    new_main = table(results) if rows(results) else ""
    new_growth = growth_table(results["growth"]) if results.get("growth", {}).get("sizes") else ""
    if path is not None:
        old_main, old_growth, notes = split_sections(path.read_text(encoding="utf-8")) if path.exists() else ("", "", "")
        main, growth = new_main or old_main, new_growth or old_growth
        parts = [main, "", GROWTH_MARKER, "", growth, ""] if growth else [main, ""]
        path.write_text("\n".join(parts) + "\n" + NOTES_MARKER + (notes if notes else "\n"), encoding="utf-8")
    return "\n\n".join(part for part in (new_main, new_growth) if part)


def _fanout_costs(fanout: dict[str, Any]) -> str:
    """CPU and database cost per send, and how busy each instance was (the machine's share it got)."""
    if "cpu_ms_per_send" not in fanout:
        return ""
    busy = "/".join(f"{b:.2f}" for b in fanout["cpu_busy_per_instance"])
    return (f"; {fanout['cpu_ms_per_send']:.1f} ms CPU and {fanout['transactions_per_send']:.1f} PostgreSQL "
            f"transactions per send (instances busy {busy} of a core; load average "
            f"{fanout['load_average'][0]:.1f})")


def main(argv: list[str] | None = None) -> int:
    """``python -m bench.report RAW.json [...]``: rewrite bench/RESULTS.md from the raw numbers of earlier
    runs (``bench/out/results-*.json``; a growth run's ``growth-partial.json`` fills the growth section)."""
    import argparse
    import json

    parser = argparse.ArgumentParser(prog="python -m bench.report", description=main.__doc__)
    parser.add_argument("raw", nargs="+", type=Path)
    parser.add_argument("--results", type=Path, default=Path(__file__).resolve().parent / "RESULTS.md")
    args = parser.parse_args(argv)
    path = args.results
    for raw in args.raw:
        results = json.loads(raw.read_text(encoding="utf-8"))
        if "machine" not in results and "sizes" in results:
            results = {"growth": results}
        print(write_results(results, path))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
