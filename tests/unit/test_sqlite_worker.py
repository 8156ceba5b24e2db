"""The one SQLite thread (rxshop.core.db): jobs in order, each answer to its own caller, fewer loop wake-ups."""

from __future__ import annotations

import asyncio
import threading

import pytest

from rxshop.core.db import _SQLiteWorker


async def test_jobs_run_in_order_on_one_thread_and_answer_their_own_caller() -> None:
    worker = _SQLiteWorker()
    ran: list[tuple[int, str]] = []

    def job(i: int):
        ran.append((i, threading.current_thread().name))
        if i % 7 == 3:
            raise ValueError(f"job {i} failed")
        return i * 10

    results = await asyncio.gather(
        *(worker.submit(lambda i=i: job(i)) for i in range(50)), return_exceptions=True
    )

    assert [i for i, _ in ran] == list(range(50)) and {name for _, name in ran} == {"sqlite"}
    for i, result in enumerate(results):
        if i % 7 == 3:  # a failure is only its own job's
            assert isinstance(result, ValueError) and str(result) == f"job {i} failed"
        else:
            assert result == i * 10


async def test_a_burst_is_handed_back_in_fewer_wake_ups(monkeypatch: pytest.MonkeyPatch) -> None:
    loop = asyncio.get_running_loop()
    wake_ups = 0
    real = loop.call_soon_threadsafe

    def counting(*args, **kwargs):
        nonlocal wake_ups
        wake_ups += 1
        return real(*args, **kwargs)

    monkeypatch.setattr(loop, "call_soon_threadsafe", counting)
    worker = _SQLiteWorker()
    gate = threading.Event()
    first = worker.submit(gate.wait)  # holds the thread while the burst queues behind it
    burst = [worker.submit(lambda i=i: i) for i in range(40)]
    gate.set()
    assert await first is True and await asyncio.gather(*burst) == list(range(40))
    assert wake_ups <= 1 + 40 // _SQLiteWorker._SETTLE_EVERY + 1


async def test_a_job_whose_caller_gave_up_before_it_started_does_not_run() -> None:
    worker = _SQLiteWorker()
    gate = threading.Event()
    ran: list[str] = []
    blocker = worker.submit(gate.wait)
    skipped = worker.submit(lambda: ran.append("skipped"))
    skipped.cancel()
    gate.set()
    await blocker
    assert await worker.submit(lambda: ran.append("next")) is None
    assert ran == ["next"]
