"""Database engines (created lazily, one per URL per process), sessions, and programmatic migrations."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import os
import queue
import threading
import weakref
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, Generic, ParamSpec, TypeVar

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DataError, DBAPIError, IntegrityError
from sqlmodel import Session

from rxshop.core import db_deadline
from rxshop.core.settings import get_settings

ROOT = Path(__file__).resolve().parents[2]  # the project folder (alembic/, .data/)
SQLITE_BUSY_TIMEOUT_MS = 5000
# WAL's `synchronous`: FULL syncs the log at every COMMIT, so what was answered 2xx (a webhook Stripe will
# not send again, a Buy) survives a power loss; NORMAL syncs only at checkpoints, and a power loss may take
# the last commits back. FULL costs about 2.5 ms per COMMIT on the development machine's disk, shared by a
# whole batch under group commit (bench/sqlite_durability.py; README, Operations).
SQLITE_SYNCHRONOUS = "FULL"

_engines: dict[str, Engine] = {}
_lock = threading.Lock()

P = ParamSpec("P")
T = TypeVar("T")
Item = TypeVar("Item")
Result = TypeVar("Result")


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    """Per-connection SQLite settings: writers wait for each other instead of failing, FKs enforced.

    busy_timeout comes first so that switching to WAL waits too; WAL lets readers run beside the writer.
    """
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA synchronous={SQLITE_SYNCHRONOUS}")
        cursor.execute("PRAGMA foreign_keys=ON")
    finally:
        cursor.close()


def _create_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        database = sa.engine.make_url(url).database
        if database and database != ":memory:":
            Path(database).parent.mkdir(parents=True, exist_ok=True)  # e.g. the default .data/
        # hide_parameters: an error's text (logged) never carries the values: buyers' names, addresses, emails.
        engine = sa.create_engine(url, connect_args={"check_same_thread": False}, hide_parameters=True)
        sa.event.listen(engine, "connect", _sqlite_pragmas)
    else:
        # Timeouts on connecting and on each statement; a ping on every checkout (db_deadline.watch).
        options = db_deadline.postgres_engine_options(sa.engine.make_url(url))
        engine = sa.create_engine(url, hide_parameters=True, **options)
    db_deadline.watch(engine)  # a call past its deadline gets its connection cut
    return engine


def get_engine(url: str | None = None) -> Engine:
    """The engine for `url` (default: settings' DATABASE_URL), made on first use in this process.

    Never at import time: production forks workers after importing the app, and a pool must not be
    shared across a fork.
    """
    url = url or get_settings().database_url
    engine = _engines.get(url)
    if engine is None:
        with _lock:
            engine = _engines.get(url)
            if engine is None:
                engine = _engines[url] = _create_engine(url)
    return engine


def reset_engines(url: str | None = None) -> None:
    """Dispose of the engine for `url`, or of every engine made so far (tests; after a fork)."""
    with _lock:
        if url is None:
            engines = list(_engines.values())
            _engines.clear()
        else:
            engines = [e for e in [_engines.pop(url, None)] if e is not None]
    for engine in engines:
        engine.dispose()


def new_session(engine: Engine | None = None) -> Session:
    """A plain sqlmodel Session; objects stay readable after commit (they are copied into views)."""
    return Session(engine or get_engine(), expire_on_commit=False)


def begin_writing(connection: sa.Connection) -> None:
    """Open the write transaction now, before a SAVEPOINT: on SQLite take the write lock (BEGIN IMMEDIATE).

    pysqlite begins a transaction only before an INSERT, UPDATE or DELETE, so a SAVEPOINT issued first
    would open one of SQLite's own, and releasing it would COMMIT. PostgreSQL needs nothing here.
    """
    if connection.dialect.name == "sqlite" and not connection.connection.dbapi_connection.in_transaction:  # type: ignore[union-attr]
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def permanent_data_error(err: BaseException) -> bool:
    """An error the same data raises again however often it is retried: a value the database refuses
    (DataError: NUL in text, out of range, too long; IntegrityError: a constraint) or one the driver cannot
    send (an integer past 64 bits, a lone surrogate). Lost connections, timeouts, locks and deadlocks are
    not: a retry may succeed."""
    return isinstance(err, (DataError, IntegrityError, OverflowError, UnicodeEncodeError))


def error_summary(err: BaseException) -> str:
    """One line saying what went wrong, without the statement's values (for logs and the owner's inbox)."""
    cause = err.orig if isinstance(err, DBAPIError) and err.orig is not None else err
    first_line = (str(cause).strip().splitlines() or [""])[0]
    return "".join(ch for ch in f"{type(cause).__name__}: {first_line}" if ch.isprintable())[:300]


def alembic_config(url: str | None = None):
    """Alembic's Config for this repository, pointed at `url`, leaving the process's logging alone."""
    from alembic.config import Config

    config = Config(str(ROOT / "alembic.ini"))
    config.set_main_option("script_location", str(ROOT / "alembic"))
    # ConfigParser interpolates '%': URL-encoded characters must be doubled.
    config.set_main_option("sqlalchemy.url", (url or get_settings().database_url).replace("%", "%%"))
    config.attributes["configure_logging"] = False
    return config


def migrate(url: str | None = None) -> None:
    """`alembic upgrade head` on `url` (default: settings' DATABASE_URL), through this module's engine."""
    from alembic import command

    url = url or get_settings().database_url
    config = alembic_config(url)
    with get_engine(url).begin() as connection:
        if connection.dialect.name == "postgresql":  # a migration may rewrite a big table: no timeout
            connection.exec_driver_sql("SET LOCAL statement_timeout = 0")
        config.attributes["connection"] = connection
        command.upgrade(config, "head")


class _SQLiteWorker:
    """The one SQLite thread of this process: jobs run one at a time, in order, each committing itself.

    Like a one-thread executor, except for the hand-back: a thread pool wakes the event loop once per
    finished job (`call_soon_threadsafe`, 10 % of the webhook samples in bench/RESULTS.md's group-commit
    profile); this thread settles every job finished since the queue was last empty in one wake-up (at
    most _SETTLE_EVERY jobs, so the first of a long burst is not held back). Each job still answers only
    after its own commit, and a failure is its own: nothing about transactions changes.
    """

    _SETTLE_EVERY = 16

    def __init__(self) -> None:
        self._jobs: queue.SimpleQueue = queue.SimpleQueue()
        # A daemon: a job cut off at exit is a transaction SQLite rolls back, and its caller never answered.
        threading.Thread(target=self._run, name="sqlite", daemon=True).start()

    def submit(self, job: Callable[[], T]) -> asyncio.Future[T]:
        loop = asyncio.get_running_loop()
        future = loop.create_future()
        self._jobs.put((loop, future, job))
        return future

    def _run(self) -> None:
        done: list[tuple[asyncio.AbstractEventLoop, asyncio.Future, bool, Any]] = []
        while True:
            try:
                loop, future, job = self._jobs.get(block=not done)
            except queue.Empty:  # nothing waiting: hand back what is finished
                self._settle(done)
                done = []
                continue
            if future.cancelled():  # its caller gave up before it started (as an executor skips it)
                continue
            try:
                done.append((loop, future, True, job()))
            except BaseException as error:  # handed to the caller, like an executor's future
                done.append((loop, future, False, error))
            if len(done) >= self._SETTLE_EVERY:
                self._settle(done)
                done = []

    @staticmethod
    def _settle(done: list[tuple[asyncio.AbstractEventLoop, asyncio.Future, bool, Any]]) -> None:
        by_loop: dict[asyncio.AbstractEventLoop, list] = {}
        for loop, future, ok, value in done:
            by_loop.setdefault(loop, []).append((future, ok, value))
        for loop, results in by_loop.items():
            with contextlib.suppress(RuntimeError):  # that loop is closed: nobody is waiting any more
                loop.call_soon_threadsafe(_set_results, results)


def _set_results(results: list[tuple[asyncio.Future, bool, Any]]) -> None:
    for future, ok, value in results:
        if future.done():  # cancelled while it ran
            continue
        if ok:
            future.set_result(value)
        else:
            future.set_exception(value)


_sqlite_worker: _SQLiteWorker | None = None
_sqlite_worker_pid = 0


async def run_sync(fn: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> T:
    """Run blocking database work off the event loop (a plain session beats rx.asession() here), within
    db_deadline.CALL_TIMEOUT_SECONDS: past it, DatabaseTimeout, and the call's connection is cut.

    PostgreSQL: the database threads (db_deadline: a pool of their own, never asyncio's default one).
    SQLite takes one writer at a time, so its work queues on one thread per process instead of threads
    sleeping in SQLite's busy handler: a webhook-ingest benchmark (since folded into bench/webhooks.py)
    measured p95 105 ms with one thread against 183-319 ms with the default pool, and every job in its own
    `asyncio.to_thread` measured worse for Buy (bench/RESULTS.md, `tothread`).
    """
    global _sqlite_worker, _sqlite_worker_pid
    job = functools.partial(fn, *args, **kwargs)
    if not get_settings().database_url.startswith("sqlite"):
        return await db_deadline.call_within(db_deadline.in_thread, job)
    if _sqlite_worker is None or _sqlite_worker_pid != os.getpid():  # made in the worker, never across a fork
        with _lock:
            if _sqlite_worker is None or _sqlite_worker_pid != os.getpid():
                _sqlite_worker, _sqlite_worker_pid = _SQLiteWorker(), os.getpid()
    return await db_deadline.call_within(_sqlite_worker.submit, job)


async def in_session(fn: Callable[..., T], /, **kwargs: Any) -> T:
    """`fn(session=<a new database session>, **kwargs)`, off the event loop: how async code calls a service.

    One session per call, closed afterwards; the service function commits its own transaction.
    """

    def call() -> T:
        with new_session() as session:
            return fn(session=session, **kwargs)

    return await run_sync(call)


class GroupCommit(Generic[Item, Result]):
    """Group commit: items arriving while the database works on earlier ones wait together, and go to
    `run_batch` in one call (one thread hop, one transaction, one COMMIT) as soon as it is free.

    `run_batch(items)` returns one result per item, in order: a value, or an Exception for that item's
    caller alone; if it raises, every item of the batch gets the error. Each caller is answered only when
    its batch has returned, that is after its COMMIT.
    """

    def __init__(
        self, run_batch: Callable[[list[Item]], Awaitable[list[Result | Exception]]], max_batch: int = 100
    ) -> None:
        self._run_batch = run_batch
        self._max_batch = max_batch
        # Per event loop (the tests run several loops in one process).
        self._waiting: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Waiting] = (
            weakref.WeakKeyDictionary()
        )

    async def submit(self, item: Item) -> Result:
        loop = asyncio.get_running_loop()
        waiting = self._waiting.get(loop)
        if waiting is None:
            waiting = self._waiting[loop] = _Waiting()
        future: asyncio.Future[Result] = loop.create_future()
        waiting.items.append((item, future))
        if waiting.drainer is None or waiting.drainer.done():
            waiting.drainer = loop.create_task(self._drain(waiting))
        return await future

    async def _drain(self, waiting: _Waiting) -> None:
        while waiting.items:
            batch = waiting.items[: self._max_batch]
            del waiting.items[: self._max_batch]
            try:
                results = await self._run_batch([item for item, _ in batch])
            except BaseException as err:
                for _, future in batch:
                    if not future.done():
                        future.set_exception(err if isinstance(err, Exception) else RuntimeError("cancelled"))
                if not isinstance(err, Exception):
                    raise
                continue
            for (_, future), result in zip(batch, results, strict=True):
                if future.done():  # its caller went away (a cancelled request)
                    continue
                if isinstance(result, Exception):
                    future.set_exception(result)
                else:
                    future.set_result(result)


class _Waiting:
    def __init__(self) -> None:
        self.items: list[tuple[Any, asyncio.Future]] = []
        self.drainer: asyncio.Task[None] | None = None
