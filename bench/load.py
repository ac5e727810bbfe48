"""The load generator: ``wrk`` (a fixed set of connections) driven by a generated Lua script.

The script cycles through request bodies prepared here: signed Slack slash commands (the
signature is computed in Python with the run's timestamp; Bolt accepts it for five minutes, far
longer than one run) or Teams activities. Its ``done`` hook prints the totals and the latency
percentiles as one JSON line, so nothing depends on wrk's human-readable report.

Several instances behind one load generator: wrk runs one thread per instance and the script's
``setup`` hook points thread *k* at instance *k mod n* (round-robin), each thread with its share of
the connections and starting at its own place in the requests.
"""
from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

from bench import roster

MARK = "BENCH-JSON "
DONE = """
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format('%s{"requests":%d,"duration_us":%d,"connect":%d,"read":%d,"write":%d,' ..
    '"status":%d,"timeout":%d,"p50_us":%d,"p90_us":%d,"p99_us":%d,"mean_us":%f,"max_us":%d}\\n',
    '""" + MARK + """', summary.requests, summary.duration, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.mean, latency.max))
end
"""


@dataclass(frozen=True)
class Request:
    body: str
    headers: dict[str, str]


@dataclass(frozen=True)
class LoadResult:
    requests: int
    seconds: float
    errors: int
    """Connection errors, timeouts and non-2xx answers."""
    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float

    @property
    def rps(self) -> float:
        return (self.requests - self.errors) / self.seconds if self.seconds else 0.0

    def as_dict(self) -> dict[str, float]:
        return dict(requests=self.requests, seconds=self.seconds, errors=self.errors, rps=self.rps,
                    p50_ms=self.p50_ms, p90_ms=self.p90_ms, p99_ms=self.p99_ms, max_ms=self.max_ms)


def ensure_wrk() -> str:
    """The wrk binary; installs Debian's package when it is missing (the bench runs as root)."""
    found = shutil.which("wrk")
    if found:
        return found
    print("bench: installing wrk (apt-get install -y wrk)", flush=True)
    subprocess.run(["apt-get", "update", "-qq"], check=False, stdout=subprocess.DEVNULL)
    subprocess.run(["apt-get", "install", "-y", "-qq", "wrk"], check=True, stdout=subprocess.DEVNULL,
                   env={"DEBIAN_FRONTEND": "noninteractive", "PATH": "/usr/sbin:/usr/bin:/sbin:/bin"})
    found = shutil.which("wrk")
    if not found:
        raise RuntimeError("wrk is not installed and could not be installed (apt-get install -y wrk)")
    return found


def slack_signature(secret: str, timestamp: str, body: str) -> str:
    return "v0=" + hmac.new(secret.encode(), f"v0:{timestamp}:{body}".encode(), hashlib.sha256).hexdigest()


def slack_commands(secret: str, users: range, response_url: str, text: str = "status") -> list[Request]:
    """One signed ``/rounds <text>`` per user, stamped now (valid for Bolt's five minutes)."""
    stamp = str(int(time.time()))
    requests = []
    for i in users:
        body = urlencode({
            "token": "legacy", "team_id": "T1", "team_domain": "bench", "channel_id": "C0GENERAL",
            "channel_name": "general", "user_id": roster.slack_user(i), "user_name": f"physician{i}",
            "command": "/rounds", "text": text, "api_app_id": "A1", "is_enterprise_install": "false",
            "response_url": f"{response_url}/cmd-{i}", "trigger_id": f"trigger-{i}"})
        requests.append(Request(body, {"Content-Type": "application/x-www-form-urlencoded",
                                       "X-Slack-Request-Timestamp": stamp,
                                       "X-Slack-Signature": slack_signature(secret, stamp, body)}))
    return requests


def teams_messages(service_url: str, users: range, text: str = "status") -> list[Request]:
    """A personal-chat message activity from each (Teams-linked) user."""
    requests = []
    for i in users:
        activity = {
            "type": "message", "id": f"bench-{i}", "channelId": "msteams", "serviceUrl": service_url,
            "timestamp": "2026-05-12T14:00:00.000Z", "locale": "en-US", "text": text, "textFormat": "plain",
            "from": {"id": roster.teams_user(i), "name": f"Physician {i}", "aadObjectId": roster.aad_id(i)},
            "recipient": dict(roster.BOT),
            "conversation": {"id": f"a:personal-{i}", "conversationType": "personal", "tenantId": roster.TENANT},
            "channelData": {"tenant": {"id": roster.TENANT}}, "localTimezone": "America/New_York",
        }
        requests.append(Request(json.dumps(activity, separators=(",", ":")), {"Content-Type": "application/json"}))
    return requests


def round_robin(threads: int, targets: int) -> list[int]:
    """Which target each wrk thread loads: thread k gets target k mod n (the Lua ``setup`` does the same)."""
    if targets < 1 or threads < targets:
        raise ValueError(f"{threads} load threads cannot reach {targets} instances")
    return [k % targets for k in range(threads)]


def host_port(url: str) -> tuple[str, int]:
    parsed = urlsplit(url)
    if parsed.hostname is None or parsed.port is None:
        raise ValueError(f"{url!r} names no host and port")
    return parsed.hostname, parsed.port


def _lua_targets(urls: list[str]) -> list[str]:
    """The ``setup`` hook sending thread k to ``urls[k mod n]``; empty for a single target."""
    if len(urls) < 2:
        return ["local first = 0"]
    pairs = ", ".join(f'{{ "{host}", "{port}" }}' for host, port in map(host_port, urls))
    return [
        f"local targets = {{ {pairs} }}",
        "local made = 0",
        "setup = function(thread)",
        "  local target = targets[made % #targets + 1]",
        "  thread.addr = wrk.lookup(target[1], target[2])[1]",
        "  thread:set('thread_index', made)",
        "  made = made + 1",
        "end",
        "local first = 0",
        "init = function(args)",
        "  first = (thread_index or 0) * math.floor(#reqs / #targets)",
        "end",
    ]


def lua_script(path: str, requests: list[Request], limit: int | None = None, urls: list[str] | None = None) -> str:
    def string(value: str) -> str:
        assert "]==]" not in value
        return f"[==[{value}]==]"

    entries = []
    for request in requests:
        headers = ", ".join(f"[ {string(k)} ] = {string(v)}" for k, v in request.headers.items())
        entries.append(f"  {{ body = {string(request.body)}, headers = {{ {headers} }} }},")
    return "\n".join([
        "local reqs = {", *entries, "}",
        *_lua_targets(urls or []),
        "local i = nil",
        "request = function()",
        "  i = ((i or first) % #reqs) + 1",
        "  local r = reqs[i]",
        f"  return wrk.format('POST', {string(path)}, r.headers, r.body)",
        "end",
        *([] if not limit else [
            "local answered = 0",
            "response = function(status, headers, body)",
            "  answered = answered + 1",
            f"  if answered >= {limit} then wrk.thread:stop() end",
            "end",
        ]),
        DONE,
    ])


async def run_wrk(url: str | list[str], path: str, requests: list[Request], *, seconds: float, connections: int,
                  work_dir: Path, timeout_s: int = 10, limit: int | None = None) -> LoadResult:
    """One wrk run against ``url + path``: one thread per instance when ``url`` lists several
    (round-robin, :func:`round_robin`), else one thread (the machine has 2 cores).

    ``limit``: stop after that many responses (``seconds`` is then only an upper bound).
    """
    urls = [url] if isinstance(url, str) else list(url)
    threads = len(urls)
    round_robin(threads, len(urls))
    if connections % threads:
        raise ValueError(f"{connections} connections do not split evenly over {threads} instances")
    wrk = ensure_wrk()
    work_dir.mkdir(parents=True, exist_ok=True)
    script = work_dir / "load.lua"
    script.write_text(lua_script(path, requests, limit, urls), encoding="utf-8")
    process = await asyncio.create_subprocess_exec(
        wrk, f"-t{threads}", f"-c{connections}", f"-d{max(1, round(seconds))}s", f"--timeout={timeout_s}s",
        "-s", str(script), urls[0] + path, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(process.communicate(), timeout=seconds + timeout_s + 30)
    text = out.decode(errors="replace")
    line = next((line for line in text.splitlines() if line.startswith(MARK)), None)
    if process.returncode != 0 or line is None:
        raise RuntimeError(f"wrk failed ({process.returncode}): {text}\n{err.decode(errors='replace')}")
    data: dict[str, Any] = json.loads(line[len(MARK):])
    errors = data["connect"] + data["read"] + data["write"] + data["status"] + data["timeout"]
    return LoadResult(requests=data["requests"], seconds=data["duration_us"] / 1e6, errors=errors,
                      p50_ms=data["p50_us"] / 1000, p90_ms=data["p90_us"] / 1000, p99_ms=data["p99_us"] / 1000,
                      max_ms=data["max_us"] / 1000)
