"""Shared bits of the benchmarks: a temp SQLite app database, a served ASGI app, percentiles."""

from __future__ import annotations

import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ["RXSHOP_ENV_FILE"] = ""

from rxshop.db import migrate  # noqa: E402
from rxshop.settings import get_settings  # noqa: E402


def use_fresh_database(**env: str) -> str:
    """Point the app's settings at a new, migrated SQLite file (WAL) and return its URL."""
    url = f"sqlite:///{tempfile.mkdtemp(prefix='rxshop-bench-')}/bench.db"
    os.environ["DATABASE_URL"] = url
    os.environ.update(env)
    get_settings.cache_clear()
    migrate(url)
    return url


def percentile(values: list[float], q: float) -> float:
    return (
        statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1] if len(values) > 1 else values[0]
    )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def serving(command: list[str], probe_url: str, **popen) -> Iterator[None]:
    """Run a server process until the block ends; wait first until `probe_url` answers at all."""
    proc = subprocess.Popen(command, **popen)
    try:
        for _ in range(100):
            try:
                httpx.get(probe_url, timeout=1)
                break
            except httpx.HTTPError:
                time.sleep(0.1)
        else:
            raise RuntimeError(f"{command[2:4]} did not start")
        yield
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def check(name: str, value: float, limit: float, *, at_least: bool = False) -> bool:
    """Print one target line: the measured value against its limit, and whether it is met."""
    met = value >= limit if at_least else value <= limit
    print(
        f"  target {name}: {value:,.2f} {'>=' if at_least else '<='} {limit:,} -> {'met' if met else 'MISSED'}"
    )
    return met
