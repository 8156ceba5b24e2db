"""Chaos on the one-worker set-up: SQLite (WAL), one granian worker, no Redis.

Two failures in the middle of a stream of Stripe deliveries, with My Orders open in several browsers: the
worker killed with SIGKILL (granian starts another), and the database's disk full (a small tmpfs the test
mounts and fills). After each: every event answered 2xx is in the database, every paid session is exactly
one paid order, and every open tab shows a change made once the failure is over within 5 s. While the disk
is full, /ready answers 503 and names it.

The full disk needs `mount` (root, or CAP_SYS_ADMIN). Without it that test is skipped with the reason, except
under CI=true, where it fails like every missing service: CI's machine runs as root.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import os
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.fixtures.chaos import (
    LIVE_UPDATE_SECONDS,
    Backend,
    StripeHand,
    check_books,
    close_tabs,
    completed_event,
    hear_changes,
    make_orders,
    migrated,
    open_tabs,
    record,
)
from tests.fixtures.db import service_missing

STREAM, RATE = 200, 80  # deliveries per failure, and per second: a stream of 2.5 s and more
DISK_BYTES = 64 * 1024 * 1024


@dataclass
class Stack:
    folder: Path  # the database's folder: a tmpfs of DISK_BYTES when `mounted`
    mounted: str | None  # why not, if it is not a mount of its own
    database_url: str
    backend: Backend


def _mount_tmpfs(folder: Path) -> str | None:
    """Mount a small tmpfs on `folder`; the reason it cannot be done, or None."""
    if os.geteuid() != 0:
        return "mounting a small tmpfs (to fill a disk) needs root"
    result = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={DISK_BYTES}", "tmpfs", str(folder)],
        capture_output=True,
        text=True,
    )
    return None if result.returncode == 0 else f"mount -t tmpfs failed: {result.stderr.strip()}"


@pytest.fixture(scope="module")
def stack() -> Iterator[Stack]:
    folder = Path(tempfile.mkdtemp(prefix="rxshop-chaos-disk-"))
    not_mounted = _mount_tmpfs(folder)
    backend = None
    try:
        database_url = migrated(f"sqlite:///{folder / 'rxshop.db'}")
        backend = Backend(database_url=database_url, workers=1, name="sqlite")
        backend.start()
        yield Stack(folder, not_mounted, database_url, backend)
    finally:
        if backend is not None:
            backend.close()
        if not_mounted is None:
            subprocess.run(["umount", "-l", str(folder)], check=False)
        with contextlib.suppress(OSError):
            for path in folder.iterdir():
                path.unlink()
            folder.rmdir()


async def _stream_started(stack: Stack) -> tuple[StripeHand, list, asyncio.Task]:
    orders = make_orders(stack.database_url, STREAM)
    hand = StripeHand(stack.backend.url)
    stream = asyncio.create_task(hand.stream([completed_event(o) for o in orders], rate=RATE, deadline=90))
    while len(hand.ok) < 10:
        assert not stream.done(), stream.result()
        await asyncio.sleep(0.02)
    return hand, orders, stream


async def _ready(url: str) -> httpx.Response:
    async with httpx.AsyncClient(timeout=15) as client:
        return await client.get(f"{url}/ready")


async def test_the_worker_killed_mid_stream_loses_nothing_and_tabs_hear_again(stack: Stack):
    tabs = await open_tabs(stack.backend.url, 4)
    try:
        hand, orders, stream = await _stream_started(stack)
        killed = stack.backend.kill_worker()
        killed_at = hand.attempts
        assert not stream.done(), "the stream ended before the kill: make it longer"
        # The only worker is gone: deliveries are refused until granian has started another.
        await asyncio.to_thread(stack.backend.wait_serving)
        assert killed not in stack.backend.worker_pids()
        back_at = time.monotonic()
        _, slowest = await hear_changes(stack.database_url, hand, tabs, since=back_at, round_=0)
        await stream
        check_books(stack.database_url, hand, orders)
        refused = sum(1 for status in hand.statuses[killed_at:] if not 200 <= status < 300)
        record("worker_killed_sqlite", slowest_tab_s=slowest, refused=refused, events=len(orders))
        assert refused > 0, "no delivery failed while the only worker was dead"
        assert slowest <= LIVE_UPDATE_SECONDS
        assert all(t.tab.connects == 2 for t in tabs)  # each tab reconnected once, by itself
    finally:
        await close_tabs(tabs)


def _fill(folder: Path) -> Path:
    """Write a file until the file system refuses another byte (ENOSPC)."""
    filler = folder / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
    try:
        for size in (1024 * 1024, 4096, 1):
            try:
                while True:
                    os.write(fd, b"\0" * size)
            except OSError as err:
                assert err.errno == errno.ENOSPC, err
    finally:
        os.close(fd)
    return filler


async def test_a_full_disk_answers_5xx_and_ready_says_so_then_nothing_is_lost(stack: Stack):
    if stack.mounted is not None:
        service_missing(f"no disk to fill: {stack.mounted}")
    assert (await _ready(stack.backend.url)).json() == {"ready": True, "database": "ok", "redis": "not used"}
    tabs = await open_tabs(stack.backend.url, 3)
    filler = None
    try:
        hand, orders, stream = await _stream_started(stack)
        filler = await asyncio.to_thread(_fill, stack.folder)
        await asyncio.sleep(1.1)  # /ready answers from a check at most a second old
        not_ready = await _ready(stack.backend.url)
        assert not_ready.status_code == 503
        assert not_ready.json()["database"] in ("disk full", "disk almost full"), not_ready.json()
        await asyncio.sleep(1.5)  # deliveries meanwhile: answered 5xx unless the database could commit them
        filler.unlink()
        back_at = time.monotonic()
        _, slowest = await hear_changes(stack.database_url, hand, tabs, since=back_at, round_=1)
        await stream
        assert (await _ready(stack.backend.url)).status_code == 200
        check_books(stack.database_url, hand, orders)
        refused = hand.count(500, 600)
        record("disk_full_sqlite", slowest_tab_s=slowest, answered_5xx=refused, events=len(orders))
        assert refused > 0, "the full disk refused no delivery"
        assert slowest <= LIVE_UPDATE_SECONDS
    finally:
        if filler is not None and filler.exists():
            filler.unlink()
        await close_tabs(tabs)
