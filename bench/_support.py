"""Shared bits of the benchmarks: a temp SQLite app database, a served ASGI app, percentiles."""

from __future__ import annotations

import os
import socket
import statistics
import sys
import tempfile
from pathlib import Path

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
    return statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1] if len(values) > 1 else values[0]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
