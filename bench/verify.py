"""The X and Bluesky sync of a whole roster against the fake networks (``tests/fakes/networks.py``).

Every physician has an X and a Bluesky handle. X: 90 % found (2 % of them protected), 3 %
suspended, 7 % unknown; the hospital's followers are half the physicians plus 50,000 others, its
following a fifth of the physicians. Bluesky: 95 % found, 2 % taken down, 3 % unknown (each asked
alone with ``getProfile``). The fakes answer at once and limit nothing: the row measures the sync's
own cost (HTTP, parsing, the store, the cursor after every batch) and counts its API calls; the time
the real limits impose follows from the counts (docs/verification.md).

Baseline, same run, same fakes: the same requests sent by a bare aiohttp loop that stores nothing.
"""
from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp

from bot.app import Runtime, presence_sync
from bot.clock import FixedClock
from bot.config import Config, VerifySettings
from bot.content import Content
from bot.core.models import RosterEntry
from bot.settings import NetworkSettings
from bot.store import Store
from tests.fakes.networks import BskyActor, FakeBluesky, FakeX, XUser

HOSPITAL_ID = "1"
OTHERS = 50_000
# Published limits (docs/verification.md): what a day allows
X_LOOKUPS_PER_S, X_PAGES_PER_S, BSKY_PER_S = 300 / 900, 15 / 900, 3000 / 300


def _handles(i: int) -> tuple[str, str]:
    return f"dr{i}", f"dr{i}.bsky.social"


async def _roster(path: Path, n: int) -> Store:
    store = Store.open(f"sqlite:///{path}")
    await store.upgrade()
    now = datetime(2026, 12, 1, 3, 0, tzinfo=UTC)
    entries = []
    for i in range(n):
        x, bsky = _handles(i)
        entries.append(RosterEntry(f"dr{i}@riverside.example", f"Dr. {i}", f"Dept {i % 40}", "Cardiologist",
                                   x_handle=x, bluesky_handle=bsky))
    await store.people.upsert(entries, now)
    return store


def _fakes(n: int) -> tuple[FakeX, FakeBluesky]:
    x, bsky = FakeX(), FakeBluesky()
    x.add(XUser(HOSPITAL_ID, "RiversideUH"))
    followers, following = [], []
    for i in range(n):
        handle, bhandle = _handles(i)
        kind = i % 100
        if kind < 90:
            x.add(XUser(str(1000 + i), handle, "Cardiologist at Riverside" if i % 3 else "", photo=i % 4 != 0,
                        url="https://t.co/a" if i % 2 else "", pinned=i % 5 == 0, protected=kind < 2))
            if i % 2 == 0:
                followers.append(str(1000 + i))
            if i % 5 == 0:
                following.append(str(1000 + i))
        elif kind < 93:
            x.add(XUser(str(1000 + i), handle, suspended=True))
        if kind < 95:
            bsky.add(BskyActor(f"did:plc:{i:024d}", bhandle, "Cardiology", avatar=i % 4 != 0,
                               pinned=i % 5 == 0, follows_hospital=i % 2 == 0, followed_back=i % 5 == 0))
        elif kind < 97:
            bsky.add(BskyActor(f"did:plc:{i:024d}", bhandle, taken_down=True))
    followers += [str(10_000_000 + j) for j in range(OTHERS)]
    x.followers[HOSPITAL_ID] = followers
    x.following[HOSPITAL_ID] = following
    return x, bsky


async def _bare(x: FakeX, bsky: FakeBluesky, n: int, calls: dict[str, int]) -> float:
    """The same requests as the sync, bare: no budgets, no store, nothing parsed beyond what pages need."""
    began = time.perf_counter()
    headers = {"Authorization": f"Bearer {x.token}"}
    async with aiohttp.ClientSession() as session:
        async def get(url: str, params: Any, auth: bool = False) -> Any:
            async with session.get(url, params=params, headers=headers if auth else None) as response:
                return await response.json()

        names = [_handles(i)[0] for i in range(n)]
        for start in range(0, n, 100):
            await get(x.url + "users/by", [("usernames", ",".join(names[start:start + 100])),
                                           ("user.fields", "description,profile_image_url,url,pinned_tweet_id,"
                                                           "protected,public_metrics")], True)
        await get(x.url + "users/by", [("usernames", "RiversideUH")], True)
        for which in ("followers", "following"):
            token = None
            while True:
                params = [("max_results", "1000")] + ([("pagination_token", token)] if token else [])
                body = await get(x.url + f"users/{HOSPITAL_ID}/{which}", params, True)
                token = body.get("meta", {}).get("next_token")
                if not token:
                    break
        actors = [_handles(i)[1] for i in range(n)]
        for start in range(0, n, 25):
            await get(bsky.url + "app.bsky.actor.getProfiles", [("actors", a) for a in actors[start:start + 25]])
        for _ in range(calls.get("app.bsky.actor.getProfile", 0)):
            await get(bsky.url + "app.bsky.actor.getProfile", [("actor", "nobody.bsky.social")])
        dids = [a.did for a in bsky.actors.values() if not a.taken_down and a.handle != bsky.hospital]
        for start in range(0, len(dids), 30):
            await get(bsky.url + "app.bsky.graph.getRelationships",
                      [("actor", bsky.hospital), *(("others", d) for d in dids[start:start + 30])])
    return time.perf_counter() - began


async def measure(out: Path, content: Content, n: int) -> dict[str, Any]:
    path = out / f"verify-{n}.db"
    for leftover in out.glob(f"verify-{n}.db*"):
        leftover.unlink()
    store = await _roster(path, n)
    x, bsky = _fakes(n)
    await x.start()
    await bsky.start()
    try:
        fast = 1_000_000
        config = Config(hospital_bluesky=bsky.hospital,
                        verify=VerifySettings(x_lookups_per_15min=fast, x_follow_pages_per_15min=fast,
                                              bluesky_per_5min=fast))
        runtime = Runtime.of(config, content, store, FixedClock(datetime(2026, 12, 1, 3, 0, tzinfo=UTC)))
        sync = presence_sync(NetworkSettings(bluesky_url=bsky.url, x_url=x.url, x_token=x.token), runtime)
        began = time.perf_counter()
        runs = {r.network: r for r in await sync.run()}
        seconds = time.perf_counter() - began
        await sync.close()
        calls = {**{f"x:{k}": v for k, v in x.calls.items()}, **{f"bluesky:{k}": v for k, v in bsky.calls.items()}}
        facts = await store.presence.of()
        x_calls, bsky_calls = x.total_calls, bsky.total_calls
        x.calls.clear()
        bsky.calls.clear()
        baseline = await _bare(x, bsky, n, {"app.bsky.actor.getProfile": calls.get(
            "bluesky:app.bsky.actor.getProfile", 0)})
        x_lookups = calls.get("x:users/by", 0)
        x_pages = calls.get("x:followers", 0) + calls.get("x:following", 0)
        at_limits = dict(x_profiles_s=x_lookups / X_LOOKUPS_PER_S, x_follow_pages_s=x_pages / X_PAGES_PER_S,
                         bluesky_s=bsky_calls / BSKY_PER_S)
        return dict(physicians=n, seconds=seconds, baseline_seconds=baseline, ratio=seconds / baseline,
                    complete=all(r.complete for r in runs.values()), calls=calls, x_calls=x_calls,
                    bluesky_calls=bsky_calls, x_calls_per_physician=x_calls / n,
                    bluesky_calls_per_physician=bsky_calls / n,
                    facts=sum(len(v) for v in facts.values()),
                    x_found=runs["x"].found, x_follow=runs["x"].follows_hospital,
                    bluesky_found=runs["bluesky"].found, bluesky_follow=runs["bluesky"].follows_hospital,
                    at_published_limits_s=at_limits)
    finally:
        await x.close()
        await bsky.close()
        await store.close()
        for leftover in out.glob(f"verify-{n}.db*"):
            leftover.unlink(missing_ok=True)


def main() -> None:
    """``python -m bench.verify [N]``: the row alone, printed as JSON."""
    import json
    import sys

    from bench import inproc

    out = Path(__file__).resolve().parent / "out"
    out.mkdir(exist_ok=True)
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 50_000
    print(json.dumps(asyncio.run(measure(out, inproc.content(), n)), default=str))


if __name__ == "__main__":
    main()
