"""The line of Slack answers behind the acks (bot.channels.slack.answers)."""
from __future__ import annotations

import asyncio

from bot.channels.slack.answers import Answers


class Recorder:
    """Answers that record when they start and finish when released."""

    def __init__(self) -> None:
        self.started: list[int] = []
        self.release = asyncio.Event()
        self.tasks: list[asyncio.Task[None]] = []

    def spawn(self, work: object) -> asyncio.Task[None]:
        task = asyncio.get_running_loop().create_task(work)  # type: ignore[arg-type]
        self.tasks.append(task)
        return task

    def answer(self, n: int):  # type: ignore[no-untyped-def]
        async def run() -> None:
            self.started.append(n)
            await self.release.wait()
        return run


async def _turn() -> None:
    for _ in range(3):
        await asyncio.sleep(0)


async def test_answers_start_at_once_in_arrival_order_and_at_most_so_many_at_a_time() -> None:
    rec = Recorder()
    answers = Answers(rec.spawn, started_at_most=3)
    for n in range(5):
        answers.submit(rec.answer(n))
    await _turn()
    assert rec.started == [0, 1, 2] and answers.waiting == 2
    rec.release.set()
    await asyncio.gather(*rec.tasks)
    await _turn()
    await asyncio.gather(*rec.tasks)
    assert rec.started == [0, 1, 2, 3, 4] and answers.waiting == 0


async def test_answers_wait_while_a_request_waits_for_its_ack_and_start_once_it_is_sent() -> None:
    rec = Recorder()
    answers = Answers(rec.spawn, patience=60)
    with answers.acking():
        answers.submit(rec.answer(1))
        with answers.acking():
            answers.submit(rec.answer(2))
        await _turn()
        assert rec.started == [] and answers.waiting == 2, "one request still waits for its ack"
    await _turn()
    assert rec.started == [1, 2] and answers.waiting == 0
    rec.release.set()


async def test_under_acks_that_never_stop_an_answer_starts_once_it_has_waited_its_patience() -> None:
    rec = Recorder()
    answers = Answers(rec.spawn, patience=0.05)
    with answers.acking():
        answers.submit(rec.answer(1))
        await asyncio.sleep(0.02)
        answers.submit(rec.answer(2))
        await _turn()
        assert rec.started == []
        await asyncio.sleep(0.045)
        assert rec.started == [1], "the first waited its patience; the second not yet"
        await asyncio.sleep(0.03)
        assert rec.started == [1, 2]
    rec.release.set()


async def test_clearing_forgets_the_answers_not_started_and_says_how_many() -> None:
    rec = Recorder()
    answers = Answers(rec.spawn, patience=0.01)
    with answers.acking():
        answers.submit(rec.answer(1))
        answers.submit(rec.answer(2))
        assert answers.clear() == 2
        await asyncio.sleep(0.03)
    await _turn()
    assert rec.started == [] and answers.waiting == 0
