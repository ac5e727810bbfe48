"""The turn queue Slack and Teams share: one person's turns in arrival order, people side by side."""
from __future__ import annotations

import asyncio

from bot.channels.turns import TurnQueue


async def test_one_persons_turns_wait_for_each_other_and_others_do_not() -> None:
    turns, finished = TurnQueue(), []

    async def turn(name: str, seconds: float) -> str:
        await asyncio.sleep(seconds)
        finished.append(name)
        return name

    answers = await asyncio.gather(turns.serially("slack:U1", turn("first", 0.05)),
                                   turns.serially("slack:U1", turn("second", 0)),
                                   turns.serially("teams:U1", turn("someone else", 0)))

    assert answers == ["first", "second", "someone else"]
    assert finished == ["someone else", "first", "second"]
    assert len(turns) == 0  # nobody in line: nothing kept


async def test_a_turn_cancelled_while_waiting_is_never_started() -> None:
    turns, started = TurnQueue(), []

    async def turn(name: str) -> None:
        started.append(name)
        await asyncio.sleep(0.05)

    running = asyncio.ensure_future(turns.serially("slack:U1", turn("running")))
    await asyncio.sleep(0)
    waiting = asyncio.ensure_future(turns.serially("slack:U1", turn("waiting")))
    await asyncio.sleep(0.01)
    waiting.cancel()
    await running
    await asyncio.gather(waiting, return_exceptions=True)

    assert started == ["running"] and len(turns) == 0
