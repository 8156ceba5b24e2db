"""A database that hangs costs a request a bounded wait and a 5xx, never a thread for good.

The hanging database is a PostgreSQL this module starts itself (initdb and pg_ctl in a temporary folder,
Debian's binaries under /usr/lib/postgresql/*/bin) and pauses with SIGSTOP: it still accepts connections
and answers nothing, as a frozen host or a stalled disk would. Never the machine's shared server.

The call deadline (db_deadline.CALL_TIMEOUT_SECONDS) is patched to 1 s so the test stays short; the
production values are checked in tests/integration/test_database_settings.py.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest
import sqlalchemy as sa

from rxshop.core import db_deadline
from rxshop.core.db import get_engine, in_session, reset_engines
from rxshop.domain.lifecycle import OrderStatus, Outcome
from rxshop.orders.records import list_orders
from tests.fixtures.db import service_missing
from tests.fixtures.shop import Shop, new_visitor, wait_until

DEADLINE = 1.0  # the test's call deadline


@dataclass
class OwnPostgres:
    """A PostgreSQL cluster of this module's own: `pause()` freezes every one of its processes."""

    url: str
    data: Path

    def _pids(self) -> list[int]:
        postmaster = int((self.data / "postmaster.pid").read_text().split()[0])
        children = []
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rsplit(")", 1)[1].split()
            except OSError:  # gone meanwhile
                continue
            if int(fields[1]) == postmaster:
                children.append(int(stat.parent.name))
        return [postmaster, *children]  # the postmaster first: it forks no new child once stopped

    def pause(self) -> None:
        for pid in self._pids():
            os.kill(pid, signal.SIGSTOP)

    def resume(self) -> None:
        for pid in self._pids():
            os.kill(pid, signal.SIGCONT)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def own_postgres() -> Iterator[OwnPostgres]:
    binaries = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"))
    if not binaries:
        service_missing("PostgreSQL's server binaries are not installed (/usr/lib/postgresql/*/bin)")
    bin_dir = binaries[-1].parent
    folder = Path(tempfile.mkdtemp(prefix="rxshop-paused-pg-"))
    as_owner: list[str] = []
    if os.geteuid() == 0:  # initdb refuses root: the cluster belongs to Debian's postgres user
        shutil.chown(folder, "postgres", "postgres")
        as_owner = ["runuser", "-u", "postgres", "--"]
    data, port = folder / "data", _free_port()

    def pg(*argv: str | Path) -> None:
        subprocess.run([*as_owner, *map(str, argv)], check=True, capture_output=True, timeout=120)

    pg(bin_dir / "initdb", "-D", data, "-A", "trust", "-U", "postgres", "--no-sync", "-E", "UTF8")
    options = f"-p {port} -k {folder} -c listen_addresses=127.0.0.1 -c fsync=off"
    pg(bin_dir / "pg_ctl", "-D", data, "-l", folder / "server.log", "-w", "-t", "60", "-o", options, "start")
    server = OwnPostgres(f"postgresql+psycopg://postgres@127.0.0.1:{port}/postgres", data)
    try:
        yield server
    finally:
        server.resume()
        reset_engines(server.url)
        pg(bin_dir / "pg_ctl", "-D", data, "-m", "immediate", "-w", "stop")
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def db_url(own_postgres: OwnPostgres, monkeypatch) -> Iterator[str]:
    """The app's database for these tests: the cluster above, in a fresh schema-less state per test."""
    monkeypatch.setattr(db_deadline, "CALL_TIMEOUT_SECONDS", DEADLINE)
    monkeypatch.setattr(db_deadline, "CONNECT_TIMEOUT_SECONDS", 2)  # the engine is made after this
    reset_engines(own_postgres.url)
    with sa.create_engine(own_postgres.url, isolation_level="AUTOCOMMIT").connect() as connection:
        connection.exec_driver_sql("DROP SCHEMA public CASCADE")
        connection.exec_driver_sql("CREATE SCHEMA public")
    yield own_postgres.url
    own_postgres.resume()
    reset_engines(own_postgres.url)


def _hold(*, session, seconds: float) -> None:
    session.connection().exec_driver_sql(f"SELECT pg_sleep({seconds})")
    session.commit()


async def test_a_paused_database_answers_webhooks_5xx_in_time_and_keeps_no_thread(
    webhook_shop: Shop, own_postgres: OwnPostgres
) -> None:
    shop = webhook_shop
    shop.pause()
    purchase = await shop.purchase()
    shop.pay(purchase)
    event = shop.payload(shop.event("checkout.session.completed", purchase.session_id)["id"])
    body = json.dumps(event)
    # Connections in the pool (its 5 kept ones), as on a busy shop: a paused server leaves their calls
    # waiting for an answer that never comes, which only cutting them ends.
    await asyncio.gather(*(in_session(_hold, seconds=0.2) for _ in range(db_deadline.POOL_SIZE)))

    own_postgres.pause()
    try:
        # Deliveries while it hangs: each answered 5xx within two deadlines (group commit: a delivery may
        # wait for the batch before its own).
        with ThreadPoolExecutor(8) as pool:
            started = time.monotonic()
            answers = list(pool.map(lambda _: shop.post(body, shop.sign(body)), range(8)))
            waited = time.monotonic() - started
        assert [a.status_code for a in answers] == [500] * 8 and waited < 2 * DEADLINE + 1.5, waited

        # More calls at once than there are database threads (15) or default threads: each ends in time.
        started = time.monotonic()
        calls = [in_session(list_orders, visitor_id=new_visitor()) for _ in range(2 * db_deadline.THREADS)]
        ended = await asyncio.gather(*calls, return_exceptions=True)
        assert all(isinstance(e, db_deadline.DatabaseTimeout) for e in ended), ended
        assert time.monotonic() - started < DEADLINE + 1.5
        # asyncio's own threads never served the database: free throughout.
        assert await asyncio.wait_for(asyncio.to_thread(lambda: "free"), 0.5) == "free"
        # The database threads come back while the server still hangs: the calls past their deadline had
        # their connections cut (a thread connecting anew waits out the connect timeout, 2 s here).
        await asyncio.sleep(db_deadline.CONNECT_TIMEOUT_SECONDS + 0.5)
        together = threading.Barrier(db_deadline.THREADS, timeout=1)  # every thread at once, or broken
        free = [db_deadline.executor().submit(together.wait) for _ in range(db_deadline.THREADS)]
        assert sorted(f.result(timeout=2) for f in free) == list(range(db_deadline.THREADS))
    finally:
        own_postgres.resume()

    # Resumed: Stripe's next retry is recorded, and the order paid.
    answer = shop.post(body, shop.sign(body))
    assert answer.status_code == 200 and answer.json()["outcome"] == Outcome.FULFILLED
    assert shop.order(purchase.order_id).status == OrderStatus.PAID
    wait_until(lambda: get_engine(own_postgres.url).pool.checkedout() == 0, timeout=2)  # all handed back
