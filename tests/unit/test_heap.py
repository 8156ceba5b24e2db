"""The start-up heap is frozen: full collections no longer walk it (rxshop.core.heap)."""

import asyncio
import gc

from rxshop.core.heap import YOUNG_THRESHOLD, freeze_startup_heap


def test_the_startup_heap_is_frozen_and_later_cycles_are_still_collected():
    before = gc.get_threshold()
    try:
        asyncio.run(freeze_startup_heap())
        assert gc.get_freeze_count() > 0
        assert gc.get_threshold() == (YOUNG_THRESHOLD, *before[1:])

        class Cycle:
            pass

        a, b = Cycle(), Cycle()
        a.other, b.other = b, a
        del a, b
        assert gc.collect() >= 2
    finally:
        gc.unfreeze()
        gc.set_threshold(*before)
