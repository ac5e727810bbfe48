"""Rate budgets: token buckets with Retry-After pauses, in process (SQLite) and shared through
PostgreSQL by several instances (each with its own engine, as separate processes have)."""
from __future__ import annotations

import asyncio
import itertools

import pytest
from sqlalchemy import text

from bot.app import budget_for
from bot.delivery.budget import Budget, Coalescer, LocalBudget, Rate
from bot.delivery.pacer import Pacer
from bot.store import Store
from bot.store.budgets import SqlBudget
from pg import fresh_database


class Ticks:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def test_a_budget_spaces_calls_at_its_rate_after_its_burst() -> None:
    ticks = Ticks()
    budget = LocalBudget(ticks)
    steady = Rate(per_second=2.0)
    assert [await budget.acquire("a", steady) for _ in range(4)] == [0.0, 0.5, 1.0, 1.5]
    bursty = Rate(per_second=2.0, burst=3)
    assert [await budget.acquire("b", bursty) for _ in range(5)] == [0.0, 0.0, 0.0, 0.5, 1.0]
    ticks.now += 10  # tokens came back
    assert await budget.acquire("a", steady) == 0.0
    assert await budget.acquire("c", Rate(1.0), cost=3) == 0.0
    assert await budget.acquire("c", Rate(1.0)) == 3.0, "a costly call uses up the budget for as long as it cost"


async def test_a_pause_holds_every_caller_until_it_ends_with_the_burst_used_up() -> None:
    ticks = Ticks()
    budget = LocalBudget(ticks)
    rate = Rate(per_second=10.0, burst=5)
    assert await budget.acquire("slack:users.list", rate) == 0.0
    await budget.pause("slack:users.list", 30)
    [state] = await budget.state("slack:")
    assert state.paused_seconds == 30 and state.rate == rate
    waits = [await budget.acquire("slack:users.list", rate) for _ in range(3)]
    assert waits == pytest.approx([30.0, 30.1, 30.2]), "no burst right after a pause: the platform's bucket is empty"
    await budget.pause("slack:users.list", 1)  # a shorter pause does not shorten the longer one
    assert (await budget.state("slack:users"))[0].paused_seconds == 30
    ticks.now += 31
    assert (await budget.state())[0].paused_seconds == 0


async def test_a_pause_of_an_unknown_key_holds_its_first_caller() -> None:
    budget = LocalBudget(Ticks())
    await budget.pause("teams:app", 4)
    assert await budget.acquire("teams:app", Rate(50.0)) == 4.0


def test_rates_are_checked() -> None:
    with pytest.raises(ValueError):
        Rate(0)
    with pytest.raises(ValueError):
        Rate(1.0, burst=0.5)
    assert Rate.per_minute(50).per_second == pytest.approx(50 / 60)


async def test_the_stores_budget_paces_and_pauses(store: Store) -> None:
    budget: Budget = budget_for(store)
    assert isinstance(budget, SqlBudget if store.engine.dialect.name == "postgresql" else LocalBudget)
    rate = Rate(per_second=4.0)
    waits = [await budget.acquire("slack:conversations.open", rate) for _ in range(5)]
    assert waits[0] == pytest.approx(0.0, abs=0.05)
    assert [b - a for a, b in itertools.pairwise(waits)] == pytest.approx([0.25] * 4, abs=0.05)
    await budget.pause("slack:conversations.open", 20)
    assert await budget.acquire("slack:conversations.open", rate) == pytest.approx(20.0, abs=0.2)
    [state] = await budget.state("slack:conversations")
    assert state.paused_seconds == pytest.approx(20.0, abs=0.2) and state.booked_seconds > 20
    assert await budget.forget_idle(3600) == 0, "a paused budget is kept"


@pytest.mark.postgres
async def test_instances_share_one_budget_and_its_pauses_through_postgresql() -> None:
    async with fresh_database() as url:
        stores = [Store.open(url) for _ in range(3)]
        try:
            await stores[0].upgrade()
            budgets = [budget_for(store) for store in stores]
            for store in stores:
                assert await store.ping()  # connected: the first token's lead is not spent connecting
            rate = Rate(per_second=2.0)
            key = "slack:chat.postMessage"

            async def tat() -> float:
                async with stores[0].engine.connect() as conn:
                    return (await conn.execute(text("SELECT tat FROM rate_budgets WHERE key = :k"), {"k": key})).scalar_one()

            assert await budgets[0].acquire(key, rate) == 0.0
            first = await tat() - 0.5  # the database's clock when the first token was taken
            waits = await asyncio.gather(*(budgets[i % 3].acquire(key, rate) for i in range(59)))
            assert await tat() == pytest.approx(first + 60 / 2, abs=1e-6), \
                "every token of all three instances was booked once, one after another (no lost update)"
            assert max(waits) == pytest.approx(59 / 2, abs=1.0) and min(waits) < 1.0
            await budgets[1].pause("slack:users.lookupByEmail", 15)
            wait = await budgets[2].acquire("slack:users.lookupByEmail", Rate.per_minute(50))
            assert wait == pytest.approx(15.0, abs=0.3), "a pause one instance learned holds every instance"
            keys = [state.key for state in await budgets[0].state("slack:")]
            assert keys == ["slack:chat.postMessage", "slack:users.lookupByEmail"]
            assert [s.key for s in await budgets[0].state("slack:users_")] == [], "LIKE wildcards are literal"
        finally:
            for store in stores:
                await store.close()


async def test_many_tokens_in_one_request_book_each_key_in_order(store: Store) -> None:
    """Sends of one moment take their conversations' tokens in one round trip: each key's tokens
    follow one another as if taken one at a time, and pauses still hold."""
    budget: Budget = budget_for(store)
    one, two = Rate(per_second=1.0), Rate(per_second=4.0)
    waits = await budget.acquire_many([("c:D1", one, 1.0), ("c:D2", two, 1.0), ("c:D1", one, 1.0),
                                       ("c:D2", two, 1.0), ("c:D3", one, 1.0)])
    assert waits == pytest.approx([0.0, 0.0, 1.0, 0.25, 0.0], abs=0.05)
    assert await budget.acquire("c:D1", one) == pytest.approx(2.0, abs=0.05), "one at a time goes on after them"
    await budget.pause("c:D3", 10)
    assert await budget.acquire_many([("c:D3", one, 1.0)]) == pytest.approx([10.0], abs=0.2)
    assert await budget.acquire_many([]) == []

    coalesced = Coalescer(budget)
    answers = await asyncio.gather(*(coalesced.acquire([(f"c:E{i % 3}", one), ("c:hour", Rate(10.0, burst=10))])
                                     for i in range(9)))
    assert sorted(round(a[0]) for a in answers) == [0, 0, 0, 1, 1, 1, 2, 2, 2]
    assert all(a[1] == pytest.approx(0.0, abs=0.05) for a in answers[:10])
    assert coalesced.round_trips <= 2, "asked at the same moment: one request to the budget (and one more at most)"


async def test_a_pacers_token_is_stale_once_older_than_its_stale_seconds() -> None:
    """The one check the sender makes before spending a token (and again after a slow conversation
    answer); a stale token given back is dropped, a fresh one is handed out again."""
    pacer = Pacer(LocalBudget(Ticks()), "slack:chat.postMessage", Rate(100.0), stale_seconds=0.1)
    now = asyncio.get_running_loop().time()
    assert not pacer.is_stale(now + 1.0), "a token of a later instant"
    assert not pacer.is_stale(now - 0.05)
    assert pacer.is_stale(now - 0.5)
    pacer.give_back(now - 0.5)
    pacer.give_back(now + 1.0)
    assert list(pacer._slots) == [now + 1.0]
