"""``python -m bench [--quick] [--only NAME ...]``: measure the product against baselines run alongside.

Measurements (names for ``--only``): ``slack``, ``teams``, ``memory`` (the product server and the
bare baselines under the same wrk load), ``digest``, ``tick`` (in-process, 5k → 50k), ``fanout``
(20,000 reminders to the rate-limited fake Slack) and ``preflight`` (bench/preflight.py).
Writes ``bench/RESULTS.md`` (kept text below the notes marker survives) and the raw numbers to
``bench/out/results-<time>.json``. ``--quick``: a 5,000-physician roster and shorter runs.
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
from bench.report import write_results

HERE = Path(__file__).resolve().parent
OUT = HERE / "out"
NAMES = ("slack", "teams", "memory", "digest", "tick", "fanout", "preflight")


def _plan(quick: bool) -> dict[str, Any]:
    if quick:
        return dict(size=5000, tick_sizes=(1000, 2500, 5000), fanout=2000, teams_linked=1000,
                    serve=serve.Plan(warmup_s=2, run_s=5, runs=1, slack_users=500, slack_run_s=2,
                                     teams_users=500, fanout_rate=100.0, drain_timeout_s=60))
    return dict(size=50_000, tick_sizes=(5000, 10_000, 20_000, 50_000), fanout=20_000, teams_linked=5000,
                serve=serve.Plan())


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


async def run(selected: set[str], quick: bool) -> dict[str, Any]:
    plan = _plan(quick)
    size = plan["size"]
    OUT.mkdir(exist_ok=True)
    content = inproc.content()
    results: dict[str, Any] = dict(quick=quick, size=size, selected=sorted(selected), machine=machine(),
                                   started_at=datetime.now(UTC).isoformat(timespec="seconds"))
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
        results["preflight"] = preflight.run(500 if quick else 2000)

    if selected & {"digest", "tick"}:
        main_db = await pinned_db(size)
        if "digest" in selected:
            _log(f"digest: build_digest for {size} physicians")
            results["digest"] = _subprocess_json(["-m", "bench.inproc", "digest", str(main_db), pinned.isoformat()])
            _log(f"  {results['digest']['seconds']:.2f} s, peak +{results['digest']['peak_increase_mb']:.0f} MB")
        if "tick" in selected:
            ticks = {}
            for n in plan["tick_sizes"]:
                db = main_db if n == size else await pinned_db(n)
                _log(f"tick: one scheduler tick for {n} physicians")
                ticks[str(n)] = _subprocess_json(["-m", "bench.inproc", "tick", str(db), pinned.isoformat()])
                _log(f"  cold {ticks[str(n)]['cold_seconds']:.2f} s ({ticks[str(n)]['planned']} planned), "
                     f"steady {ticks[str(n)]['steady_seconds']:.2f} s")
                if db != main_db:
                    db.unlink(missing_ok=True)
            results["tick"] = ticks

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
            _log("servers: product (rounds serve), then bare Bolt, then bare echo bot")
            results["servers"] = await serve.measure_servers(
                serve_db, OUT, plan["serve"], slack_on=bool(selected & {"slack", "memory"}),
                teams_on=bool(selected & {"teams", "memory"}))
        if "fanout" in selected:
            fanout_db = OUT / "fanout.db"
            shutil.copyfile(base, fanout_db)
            results["fanout_db"] = await inproc.plan_outbox(fanout_db, now, keep_pending=plan["fanout"])
            _log(f"fanout: {results['fanout_db']['pending']} reminders at {plan['serve'].fanout_rate:.0f}/s allowed")
            results["fanout"] = await serve.measure_fanout(fanout_db, OUT, plan["serve"])
            _log(f"  {results['fanout']['fraction_of_allowed']:.2f} of the allowed rate, "
                 f"lost {results['fanout']['lost']}, duplicated {results['fanout']['duplicated']}")
    results["finished_at"] = datetime.now(UTC).isoformat(timespec="seconds")
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="5,000 physicians and short runs (about 3 minutes)")
    parser.add_argument("--only", action="append", metavar="NAME",
                        help=f"run only these measurements (repeat or comma-separate): {', '.join(NAMES)}")
    parser.add_argument("--no-write", action="store_true", help="do not rewrite bench/RESULTS.md")
    args = parser.parse_args(argv)
    selected = {name.strip() for value in (args.only or [",".join(NAMES)]) for name in value.split(",") if name.strip()}
    unknown = selected - set(NAMES)
    if unknown:
        parser.error(f"unknown measurement(s) {', '.join(sorted(unknown))}; choose from {', '.join(NAMES)}")
    started = time.monotonic()
    try:
        results = asyncio.run(run(selected, args.quick))
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
