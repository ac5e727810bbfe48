"""Rate budgets: token buckets with Retry-After pauses, in process (SQLite) and shared through
PostgreSQL by several instances (each with its own engine, as separate processes have)."""
from __future__ import annotations

import asyncio
import time

import pytest

from bot.delivery.budget import Budget, LocalBudget, Rate, SqlBudget, budget_for
from bot.store import Store
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
    assert [b - a for a, b in zip(waits, waits[1:])] == pytest.approx([0.25] * 4, abs=0.05)
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
            rate = Rate(per_second=20.0)

            async def slot(budget: Budget) -> float:
                wait = await budget.acquire("slack:chat.postMessage", rate)
                return time.monotonic() + wait

            started = time.monotonic()
            ordered = sorted(await asyncio.gather(*(slot(budgets[i % 3]) for i in range(60))))
            gaps = [b - a for a, b in zip(ordered, ordered[1:])]
            assert min(gaps) > 0.01, "no two callers on any instance got the same slot"
            assert sorted(gaps)[len(gaps) // 2] == pytest.approx(0.05, abs=0.015)
            assert ordered[-1] - started == pytest.approx(59 / 20, abs=0.3), "three instances keep to one rate"
            await budgets[1].pause("slack:users.lookupByEmail", 15)
            wait = await budgets[2].acquire("slack:users.lookupByEmail", Rate.per_minute(50))
            assert wait == pytest.approx(15.0, abs=0.3), "a pause one instance learned holds every instance"
            keys = [state.key for state in await budgets[0].state("slack:")]
            assert keys == ["slack:chat.postMessage", "slack:users.lookupByEmail"]
            assert [s.key for s in await budgets[0].state("slack:users_")] == [], "LIKE wildcards are literal"
        finally:
            for store in stores:
                await store.close()
