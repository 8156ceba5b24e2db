"""The backend's start-up heap, frozen out of the garbage collector's full passes.

A worker holds ~140,000 long-lived objects once the app is built (Reflex's components, pages and states,
SQLAlchemy's mappers). Python's full (generation 2) collection walks them all: under webhook load it ran
every 1.5-2 s for 75-300 ms (bench/webhooks.py on 2 shared cores), pausing the event loop and the database
thread at once; that pause was the webhooks' p95. `gc.freeze()` moves them into a permanent generation
that no collection walks; cycles made afterwards are collected as before.

The youngest generation is then collected every YOUNG_THRESHOLD allocations instead of Python's 700: a
webhook parses Stripe's full session object (~150 containers) and a pass ran every few events, ~1,950
passes and 0.9 s of one worker's time in two rounds of bench/webhooks.py's mix (a); ~370 passes and 0.3 s
with 10,000 (BENCH_GC_LOG, bench/_hooks). Cycles wait a little longer; their memory is a few MB at most.
"""

from __future__ import annotations

import asyncio
import gc

YOUNG_THRESHOLD = 10_000


async def freeze_startup_heap() -> None:
    """Lifespan task of every worker: once the app is built, collect once and freeze what is left."""
    await asyncio.sleep(0)  # the other start-up tasks have begun
    gc.collect()
    gc.freeze()
    _young, older, oldest = gc.get_threshold()
    gc.set_threshold(YOUNG_THRESHOLD, older, oldest)
