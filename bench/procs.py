"""Processes under test: start one on a free port, wait until it answers, sample its memory, stop it.

Every process started here is tracked and stopped (SIGINT, then SIGKILL after a grace period)
by :func:`stop_all`, which the bench runs in a ``finally`` and at exit.
"""
from __future__ import annotations

import asyncio
import atexit
import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp

ROOT = Path(__file__).resolve().parents[1]
_RUNNING: list[subprocess.Popen] = []


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def memory(pid: int) -> dict[str, int]:
    """VmRSS and VmHWM (peak) of a process, in kB, from /proc."""
    values = {}
    with open(f"/proc/{pid}/status", encoding="ascii") as status:
        for line in status:
            key, _, rest = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                values[key] = int(rest.split()[0])
    return values


def reset_peak(pid: int) -> bool:
    """Reset VmHWM to the current RSS (Linux: 5 > /proc/PID/clear_refs); False where not allowed."""
    try:
        with open(f"/proc/{pid}/clear_refs", "w", encoding="ascii") as refs:
            refs.write("5")
        return True
    except OSError:
        return False


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far."""
    with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@dataclass
class Server:
    name: str
    process: subprocess.Popen
    url: str
    log_path: Path
    started_in: float = 0.0
    samples: list[tuple[float, int]] = field(default_factory=list)

    @property
    def pid(self) -> int:
        return self.process.pid

    def memory(self) -> dict[str, int]:
        return memory(self.pid)

    def cpu(self) -> float:
        return cpu_seconds(self.pid)

    def alive(self) -> bool:
        return self.process.poll() is None

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


async def start(name: str, args: list[str], env: dict[str, str], port: int, log_dir: Path, *,
                ready_path: str = "/healthz", timeout: float = 120.0) -> Server:
    """Run ``python <args>`` with ``env`` added, until ``GET ready_path`` answers 200."""
    log_dir.mkdir(parents=True, exist_ok=True)
    log_path = log_dir / f"{name}.log"
    started = time.monotonic()
    with open(log_path, "w", encoding="utf-8") as log:
        process = subprocess.Popen([sys.executable, *args], cwd=ROOT, env={**os.environ, **env}, stdout=log,
                                   stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)
    _RUNNING.append(process)
    server = Server(name, process, f"http://127.0.0.1:{port}", log_path)
    async with aiohttp.ClientSession() as session:
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"{name} exited with {process.returncode} before it was ready:\n"
                                   f"{server.log_tail()}")
            try:
                async with session.get(server.url + ready_path, timeout=aiohttp.ClientTimeout(total=2)) as r:
                    if r.status == 200:
                        break
            except (TimeoutError, aiohttp.ClientError):
                pass
            if time.monotonic() - started > timeout:
                await stop(server)
                raise RuntimeError(f"{name} was not ready within {timeout:.0f} s:\n{server.log_tail()}")
            await asyncio.sleep(0.1)
    server.started_in = time.monotonic() - started
    return server


async def stop(server: Server, grace: float = 25.0) -> int | None:
    """SIGINT (aiohttp's graceful shutdown), then SIGKILL; returns the exit code."""
    process = server.process
    if process.poll() is None:
        process.send_signal(signal.SIGINT)
        deadline = time.monotonic() + grace
        while process.poll() is None and time.monotonic() < deadline:
            await asyncio.sleep(0.1)
        if process.poll() is None:
            process.kill()
            process.wait(5)
    if process in _RUNNING:
        _RUNNING.remove(process)
    return process.returncode


def stop_all() -> None:
    """Kill whatever is still running (the bench failed or was interrupted)."""
    for process in list(_RUNNING):
        if process.poll() is None:
            process.kill()
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(5)
        _RUNNING.remove(process)


atexit.register(stop_all)


async def wait_quiet(server: Server, *, settle: float = 2.0, timeout: float = 90.0) -> float:
    """Until the process has used (almost) no CPU for ``settle`` seconds; returns the seconds waited."""
    started = time.monotonic()
    last = server.cpu()
    quiet_since = time.monotonic()
    while time.monotonic() - started < timeout:
        await asyncio.sleep(0.5)
        now_cpu = server.cpu()
        if now_cpu - last > 0.05:
            quiet_since = time.monotonic()
        last = now_cpu
        if time.monotonic() - quiet_since >= settle:
            break
    return time.monotonic() - started
