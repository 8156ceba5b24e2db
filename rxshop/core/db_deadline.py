"""Database calls that end: every call from async code has a deadline, and a call past it is cut.

A database that hangs (a paused server, a network partition, a disk that stops answering) must cost a
request a bounded wait and an error (the webhook answers 5xx, Stripe retries), never a thread for good:
asyncio's default pool has only cpu + 4 threads, and Reflex shares it. So PostgreSQL work runs on a pool
of its own (`THREADS`, one per pooled connection), and a call past `CALL_TIMEOUT_SECONDS` is answered
with `DatabaseTimeout` at once, while the connection its thread holds is cut (the socket shut down, or
SQLite's `interrupt()`), so that the thread comes back too. The server also ends what it can by itself:
`statement_timeout` and a connect timeout (PostgreSQL; a live server also ends a statement whose client
was cut at statement_timeout, rolling it back), `busy_timeout` (SQLite, in core/db.py: a lock wait is
not interrupted, it gives up after those 5 s).
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import os
import socket
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.engine import Engine

T = TypeVar("T")

CALL_TIMEOUT_SECONDS = 15.0  # one database call from async code (a service function, its transaction)
CONNECT_TIMEOUT_SECONDS = 5  # PostgreSQL: a new connection
STATEMENT_TIMEOUT_MS = 10_000  # PostgreSQL: one statement, ended by the server (a lock wait, a bad plan)
# Every pooled connection is kept (no overflow): a burst that needs more than a handful would otherwise open
# and close PostgreSQL connections (a server process each) on every burst (bench/buy_burst.py --mode postgres).
POOL_SIZE, MAX_OVERFLOW = 15, 0
POOL_TIMEOUT_SECONDS = 5  # waiting for a pooled connection
THREADS = POOL_SIZE + MAX_OVERFLOW  # one call holds one connection: no thread ever waits for the pool


class DatabaseTimeout(TimeoutError):
    """A database call did not finish within its deadline; it was cut, and nothing of it committed
    unless its COMMIT had been sent already (callers answer as for any database error: retry later)."""


def postgres_engine_options(url: sa.URL) -> dict[str, Any]:
    """create_engine's keywords for PostgreSQL: timeouts on connecting and on every statement.

    `options` keeps what the URL says (e.g. a search_path) and adds the statement timeout.
    """
    given = url.query.get("options") or ()
    options = " ".join(
        [*([given] if isinstance(given, str) else given), f"-c statement_timeout={STATEMENT_TIMEOUT_MS}"]
    )
    return {
        "connect_args": {"connect_timeout": CONNECT_TIMEOUT_SECONDS, "options": options},
        "pool_size": POOL_SIZE,
        "max_overflow": MAX_OVERFLOW,
        "pool_timeout": POOL_TIMEOUT_SECONDS,
    }


# --- Who holds which connection -------------------------------------------------------------------------
# A call's job sets `_local.call` on its thread; the pool's checkout and check-in events note which pooled
# connections that call holds, so that a call past its deadline can have exactly its own connections cut.

_local = threading.local()
_held: dict[object, set[Any]] = {}  # call token -> connection records
_lock = threading.Lock()


def watch(engine: Engine) -> None:
    """Note every connection a call holds; on PostgreSQL, ping it on checkout (instead of pool_pre_ping,
    whose ping runs before anyone could know which call waits on it)."""

    def checkout(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        call = getattr(_local, "call", None)
        if call is not None:
            record.info["rxshop_call"] = call
            with _lock:
                _held.setdefault(call, set()).add(record)
        if engine.dialect.name == "postgresql":
            try:
                engine.dialect.do_ping(dbapi_connection)
            except Exception as err:  # noqa: BLE001 (any failure: take another connection)
                raise sa.exc.DisconnectionError(f"ping failed: {err}") from err

    def handed_back(_dbapi_connection: Any, record: Any) -> None:
        call = record.info.pop("rxshop_call", None)
        if call is not None:
            with _lock:
                records = _held.get(call)
                if records is not None:
                    records.discard(record)
                    if not records:
                        del _held[call]

    sa.event.listen(engine, "checkout", checkout)
    sa.event.listen(engine, "checkin", handed_back)  # codespell:ignore checkin


def _cut(call: object) -> int:
    """End what the connections of `call` are waiting for; the thread then gets an error and returns.

    Under the lock: a connection handed back meanwhile is no longer this call's, and is left alone.
    """
    cut = 0
    with _lock:
        for record in _held.get(call, ()):
            connection = record.dbapi_connection
            if connection is None:
                continue
            with contextlib.suppress(Exception):
                if hasattr(connection, "interrupt"):  # sqlite3: aborts the running statement
                    connection.interrupt()
                else:  # psycopg: shut the socket down; its wait wakes up to a closed connection
                    duplicate = socket.socket(fileno=os.dup(connection.fileno()))
                    try:
                        duplicate.shutdown(socket.SHUT_RDWR)
                    finally:
                        duplicate.close()
                cut += 1
    return cut


# --- Calls ---------------------------------------------------------------------------------------------

_executor: ThreadPoolExecutor | None = None
_executor_pid = 0


def executor() -> ThreadPoolExecutor:
    """This process's database threads (made in the worker, never across a fork)."""
    global _executor, _executor_pid
    if _executor is None or _executor_pid != os.getpid():
        with _lock:
            if _executor is None or _executor_pid != os.getpid():
                _executor = ThreadPoolExecutor(THREADS, thread_name_prefix="database")
                _executor_pid = os.getpid()
    return _executor


async def call_within(
    submit: Callable[[Callable[[], T]], asyncio.Future[T]], job: Callable[[], T], timeout: float | None = None
) -> T:
    """`job()` handed to `submit` (a thread), awaited at most `timeout` seconds (CALL_TIMEOUT_SECONDS).

    Past it: DatabaseTimeout now; the job is dropped if it has not started, else its connections are cut.
    """
    call = object()
    context = contextvars.copy_context()

    def run() -> T:
        _local.call = call
        try:
            return context.run(job)
        finally:
            _local.call = None

    future = submit(run)
    try:
        return await asyncio.wait_for(future, CALL_TIMEOUT_SECONDS if timeout is None else timeout)
    except TimeoutError:
        _cut(call)
        raise DatabaseTimeout("the database did not answer in time") from None


def in_thread(job: Callable[[], T]) -> asyncio.Future[T]:
    """Submit `job` to this process's database threads (PostgreSQL)."""
    return asyncio.get_running_loop().run_in_executor(executor(), job)
