"""``python -m bench [--quick] [--backend sqlite|postgres|both] [--only NAME ...]``: measure the product
against baselines run alongside, on SQLite and on PostgreSQL.

Measurements (names for ``--only``): ``slack``, ``teams``, ``memory`` (the product server and the
bare baselines under the same wrk load: one instance on SQLite, two instances on one PostgreSQL
database behind one round-robin load generator), ``digest``, ``tick`` (in-process, at the roster
size), ``fanout`` (20,000 reminders to the rate-limited fake Slack, two instances on PostgreSQL)
``preflight`` (bench/preflight.py) and ``verify`` (the X and Bluesky sync against the fake networks,
bench/verify.py). ``growth`` is a separate step, never part of the default
set: the PostgreSQL rows at 5,000, 50,000 and 200,000 physicians, fitted as n^k.
PostgreSQL runs use scratch databases on ``ROUNDS_BENCH_POSTGRES_URL``'s server (default
127.0.0.1:5432), created for the run and dropped after (bench/pgcopy.py).
Writes ``bench/RESULTS.md`` (kept text below the notes marker survives; the growth section is
rewritten only by a growth run) and the raw numbers to ``bench/out/results-<time>.json``.
``--quick``: a 5,000-physician roster and shorter runs.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import shutil
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench import inproc, procs, roster, serve
from bench.pgcopy import postgres_copy
from bench.report import write_results

HERE = Path(__file__).resolve().parent
OUT = HERE / "out"
NAMES = ("slack", "teams", "memory", "digest", "tick", "fanout", "preflight", "verify")
SEPARATE = ("growth",)
"""Measurements run only when named with ``--only``."""
BACKENDS = ("sqlite", "postgres")
INSTANCES = {"sqlite": 1, "postgres": 2}
"""``rounds serve`` instances per backend for the server rows (SQLite is the one-instance default)."""
GROWTH_SIZES = (5000, 50_000, 200_000)
GROWTH_SIZES_QUICK = (1000, 2000, 5000)


def _plan(quick: bool) -> dict[str, Any]:
    if quick:
        return dict(size=5000, fanout=2000, teams_linked=1000, growth_sizes=GROWTH_SIZES_QUICK,
                    serve=serve.Plan(warmup_s=1, run_s=3, runs=1, slack_users=500, slack_run_s=2,
                                     teams_users=500, fanout_rate=100.0, drain_timeout_s=60, per_turn_echo=False),
                    growth_serve=serve.Plan(warmup_s=1, run_s=2, runs=1, slack_users=300, slack_run_s=2,
                                            teams_users=300, drain_timeout_s=60))
    return dict(size=50_000, fanout=20_000, teams_linked=5000, growth_sizes=GROWTH_SIZES, serve=serve.Plan(),
                growth_serve=serve.Plan(warmup_s=2, run_s=5, runs=1, slack_run_s=3, drain_timeout_s=120))


def backends_of(choice: str) -> tuple[str, ...]:
    """``--backend``: one of BACKENDS or ``both``."""
    if choice == "both":
        return BACKENDS
    if choice not in BACKENDS:
        raise ValueError(f"unknown backend {choice!r}; choose sqlite, postgres or both")
    return (choice,)


def machine() -> dict[str, Any]:
    model = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory_kb = 0
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                memory_kb = int(line.split()[1])
    except OSError:
        pass
    return dict(nproc=os.cpu_count(), cpu=model, memory_gib=round(memory_kb / 1024 / 1024, 1),
                python=platform.python_version(), platform=platform.platform())


def _subprocess_json(args: list[str]) -> dict[str, Any]:
    import subprocess

    done = subprocess.run([sys.executable, *args], cwd=HERE.parent, capture_output=True, text=True, timeout=900)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def _log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


async def run(selected: set[str], quick: bool, backends: tuple[str, ...] = BACKENDS) -> dict[str, Any]:
    plan = _plan(quick)
    size = plan["size"]
    OUT.mkdir(exist_ok=True)
    content = inproc.content()
    results: dict[str, Any] = dict(quick=quick, size=size, selected=sorted(selected), machine=machine(),
                                   backends=list(backends), load_average=[os.getloadavg()],
                                   started_at=datetime.now(UTC).isoformat(timespec="seconds"))
    per_backend: dict[str, dict[str, Any]] = results.setdefault("by_backend", {b: {} for b in backends})
    pinned = inproc.pinned_instant()
    results["pinned_instant"] = pinned.isoformat()

    async def pinned_db(n: int) -> Path:
        path = OUT / f"roster-{n}-pinned.db"
        stats = await roster.create(path, content, n, pinned, teams_linked=min(n, plan["teams_linked"]))
        results.setdefault("rosters", {})[f"pinned-{n}"] = stats.__dict__
        _log(f"roster of {n} physicians ({stats.rows} rows) in {stats.seconds:.1f} s")
        return path

    if "preflight" in selected:
        from bench import preflight

        _log("preflight: check_draft against one regex")
        results["preflight"] = preflight.run(300, repeats=3) if quick else preflight.run(2000)

    if "verify" in selected:
        from bench import verify

        _log(f"verify: X and Bluesky sync of {size} physicians against the fake networks")
        results["verify"] = await verify.measure(OUT, content, size)
        _log(f"  {results['verify']['seconds']:.1f} s (bare requests {results['verify']['baseline_seconds']:.1f} s), "
             f"{results['verify']['x_calls_per_physician']:.3f} X and "
             f"{results['verify']['bluesky_calls_per_physician']:.3f} Bluesky calls per physician")

    if selected & {"digest", "tick"}:
        main_db = await pinned_db(size)
        for backend in backends:
            async with _database(backend, main_db) as db:
                per_backend[backend].update(_inproc(selected, db, size, pinned, backend))
        main_db.unlink(missing_ok=True)

    if selected & {"slack", "teams", "memory", "fanout"}:
        now = datetime.now(UTC)
        base = OUT / f"roster-{size}-now.db"
        stats = await roster.create(base, content, size, now, teams_linked=plan["teams_linked"])
        results.setdefault("rosters", {})[f"now-{size}"] = stats.__dict__
        _log(f"roster of {size} physicians for the servers in {stats.seconds:.1f} s")
        if selected & {"slack", "teams", "memory"}:
            serve_db = OUT / "serve.db"
            shutil.copyfile(base, serve_db)
            results["serve_db"] = await inproc.plan_outbox(serve_db, now, keep_pending=None)
            for backend in backends:
                copy = OUT / f"serve-{backend}.db"
                shutil.copyfile(serve_db, copy)
                instances = INSTANCES[backend]
                _log(f"servers on {backend} ({instances} instance(s) each): product (rounds serve), then bare Bolt, "
                     "bare Bolt answering, the echo bot keeping its client" +
                     (", the echo bot building one per turn" if plan["serve"].per_turn_echo else ""))
                async with _database(backend, copy) as db:
                    per_backend[backend]["servers"] = await serve.measure_servers(
                        copy, OUT, plan["serve"], slack_on=bool(selected & {"slack", "memory"}),
                        teams_on=bool(selected & {"teams", "memory"}),
                        database_url=db if isinstance(db, str) else None, instances=instances)
                _log("  " + _servers_line(per_backend[backend]["servers"]))
        if "fanout" in selected and "postgres" in backends:
            fanout_db = OUT / "fanout.db"
            shutil.copyfile(base, fanout_db)
            results["fanout_db"] = await inproc.plan_outbox(fanout_db, now, keep_pending=plan["fanout"],
                                                             platforms=("slack",))
            _log(f"fanout: {results['fanout_db']['pending']} reminders at {plan['serve'].fanout_rate:.0f}/s allowed")
            results["fanout"] = await serve.measure_fanout(fanout_db, OUT, plan["serve"])
            _log(f"  {results['fanout']['fraction_of_allowed']:.2f} of the allowed rate, "
                 f"lost {results['fanout']['lost']}, duplicated {results['fanout']['duplicated']}")

    if "growth" in selected:
        results["growth"] = await _growth(plan, content, pinned, results)
    results["load_average"].append(os.getloadavg())
    results["finished_at"] = datetime.now(UTC).isoformat(timespec="seconds")
    return results


def _servers_line(servers: dict[str, Any]) -> str:
    parts = []
    for key in ("slack_product", "slack_bare", "slack_bare_answering", "teams_product", "teams_bare_kept",
                "teams_bare"):
        if servers.get(key):
            parts.append(f"{key} {max(r['rps'] for r in servers[key]):,.0f}/s")
    parts.append(f"peak {servers.get('product_peak_mb', 0):.0f} MB per instance")
    return ", ".join(parts)


def _database(backend: str, sqlite_db: Path) -> Any:
    """The SQLite file itself, or a scratch PostgreSQL copy of it (its URL), as an async context."""
    if backend == "postgres":
        return postgres_copy(sqlite_db)
    return _Same(sqlite_db)


class _Same:
    def __init__(self, value: Path) -> None:
        self.value = value

    async def __aenter__(self) -> Path:
        return self.value

    async def __aexit__(self, *exc: object) -> None:
        return None


def _inproc(selected: set[str], db: inproc.Database, n: int, pinned: datetime, backend: str) -> dict[str, Any]:
    """Digest, then ticks, on one database (in a fresh interpreter each); the ticks change it."""
    out: dict[str, Any] = {}
    target = str(db)
    if "digest" in selected:
        _log(f"digest on {backend}: build_digest for {n} physicians")
        out["digest"] = _subprocess_json(["-m", "bench.inproc", "digest", target, pinned.isoformat()])
        _log(f"  {out['digest']['seconds']:.2f} s, peak +{out['digest']['peak_increase_mb']:.0f} MB")
    if "tick" in selected:
        _log(f"tick on {backend}: scheduler ticks for {n} physicians")
        tick = _subprocess_json(["-m", "bench.inproc", "tick", target, pinned.isoformat()])
        out["tick"] = {str(n): tick}
        _log(f"  first: longest pass {tick['cold_seconds']:.2f} s of {tick['cold_passes']}, all {tick['planned']} "
             f"planned in {tick['cold_total_seconds']:.2f} s, loop wait {1000 * tick['cold_stall_seconds']:.0f} ms; "
             f"steady {tick['steady_seconds']:.3f} s; everyone due: longest pass {tick['recheck_seconds']:.2f} s of "
             f"{tick['recheck_passes']}, all in {tick['recheck_total_seconds']:.2f} s, "
             f"loop wait {1000 * tick['recheck_stall_seconds']:.0f} ms")
    return out


async def _growth(plan: dict[str, Any], content: Any, pinned: datetime, results: dict[str, Any]) -> dict[str, Any]:
    """PostgreSQL at each growth size: digest and ticks in-process, then two product instances under
    Slack and Teams load (no baselines: growth compares the product with itself)."""
    growth: dict[str, Any] = dict(backend="postgres", instances=INSTANCES["postgres"], sizes={},
                                  started_at=datetime.now(UTC).isoformat(timespec="seconds"),
                                  load_average=[os.getloadavg()])
    work = OUT / "growth"  # its own databases, wrk script and server logs: it may overlap another run
    work.mkdir(parents=True, exist_ok=True)
    for n in plan["growth_sizes"]:
        path = work / f"growth-{n}.db"
        stats = await roster.create(path, content, n, pinned, teams_linked=min(n, plan["teams_linked"]))
        _log(f"growth: roster of {n} physicians ({stats.rows} rows) in {stats.seconds:.1f} s")
        row: dict[str, Any] = dict(rows=stats.rows, roster_seconds=stats.seconds)
        copied = time.monotonic()
        async with postgres_copy(path) as url:
            row["copy_seconds"] = time.monotonic() - copied
            _log(f"  copied into PostgreSQL in {row['copy_seconds']:.1f} s")
            inproc_rows = _inproc({"digest", "tick"}, url, n, pinned, "postgres")
            row["digest"], row["tick"] = inproc_rows["digest"], inproc_rows["tick"][str(n)]
        now = datetime.now(UTC)
        row["serve_db"] = await inproc.plan_outbox(path, now, keep_pending=None)
        async with postgres_copy(path) as url:
            row["servers"] = await serve.measure_servers(path, work, plan["growth_serve"], slack_on=True, teams_on=True,
                                                         database_url=url, instances=INSTANCES["postgres"],
                                                         baselines=False)
        _log("  " + _servers_line(row["servers"]))
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        growth["sizes"][str(n)] = row
        # what is measured so far survives an interrupted run (the 200,000 step takes the longest)
        (OUT / "growth-partial.json").write_text(json.dumps(growth, indent=2, default=str), encoding="utf-8")
    growth["load_average"].append(os.getloadavg())
    return growth


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true",
                        help="5,000 physicians and short runs (under 5 minutes on 2 cores, both backends)")
    parser.add_argument("--backend", default="both", choices=(*BACKENDS, "both"),
                        help="the database the rows run on (default: both, in the same table)")
    parser.add_argument("--only", action="append", metavar="NAME",
                        help=f"run only these measurements (repeat or comma-separate): {', '.join(NAMES + SEPARATE)}")
    parser.add_argument("--no-write", action="store_true", help="do not rewrite bench/RESULTS.md")
    args = parser.parse_args(argv)
    selected = {name.strip() for value in (args.only or [",".join(NAMES)]) for name in value.split(",") if name.strip()}
    unknown = selected - set(NAMES + SEPARATE)
    if unknown:
        parser.error(f"unknown measurement(s) {', '.join(sorted(unknown))}; choose from {', '.join(NAMES + SEPARATE)}")
    backends = backends_of(args.backend)
    if "growth" in selected and "postgres" not in backends:
        parser.error("growth runs on PostgreSQL: use --backend postgres or both")
    started = time.monotonic()
    try:
        results = asyncio.run(run(selected, args.quick, backends))
    finally:
        procs.stop_all()
    results["bench_seconds"] = time.monotonic() - started
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    raw = OUT / f"results-{stamp}.json"
    raw.write_text(json.dumps(results, indent=2, default=str), encoding="utf-8")
    table = write_results(results, None if args.no_write else HERE / "RESULTS.md")
    print(table)
    print(f"\nraw numbers: {raw.relative_to(HERE.parent)}" +
          ("" if args.no_write else "; table: bench/RESULTS.md"))
    for leftover in OUT.glob("*.db*"):
        leftover.unlink(missing_ok=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
