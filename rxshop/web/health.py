"""GET /ready: can this worker take orders now? It writes to the database and, when configured, to Redis.

Reflex's `/ping` answers "pong" as long as the process runs, even while every webhook fails because the
disk is full: it says the worker is alive, not that it can work. `/ready` proves the two things a payment
needs: a committed database write, and a Redis that accepts writes (Reflex keeps every tab there; a Redis
that cannot save its snapshot refuses writes with MISCONF). 200 when both hold, else 503; the body names
each check's outcome in a word or two, never a URL, host or message from the server (those go to the log):

    {"ready": false, "database": "disk full", "redis": "ok"}

What the database write is: a real UPDATE of the one row of `alembic_version` (setting it to itself), in a
transaction that commits. A rolled-back write proves nothing on SQLite (nothing reaches the disk before the
commit) and little on PostgreSQL. The row exists in every migrated database, so no table is added for this,
and a database that was never migrated is reported as such. On SQLite the commit appends to the WAL,
which may reuse space it already has, so the free space of the database's file system counts too: below
MIN_FREE_BYTES (two WAL cycles) the next burst of writes may fail. On PostgreSQL the server keeps its own
disk: it refuses or stops (and /ready then says "unreachable") when it cannot write its WAL.

Every probe does real writes, so a worker runs at most one check at a time and answers from it for
CACHE_SECONDS; deploy/nginx.conf lets only local addresses reach /ready.
"""

from __future__ import annotations

import asyncio
import errno
import logging
import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import cast

import redis.asyncio
import sqlalchemy as sa
from redis import exceptions as redis_errors
from sqlalchemy.engine import make_url
from sqlmodel import Session
from starlette.requests import Request
from starlette.responses import JSONResponse

from rxshop.core.db import in_session
from rxshop.core.settings import get_settings

log = logging.getLogger(__name__)

CHECK_TIMEOUT_SECONDS = 5.0  # a check slower than this is a failure: a load balancer waits no longer
CACHE_SECONDS = 1.0
# SQLite's WAL grows to ~4 MiB (1000 pages) between checkpoints: below two cycles, writes may soon fail.
MIN_FREE_BYTES = 8 * 1024 * 1024
OK = "ok"


class NotMigrated(Exception):
    """The database has no schema version row: `python -m rxshop migrate` was never run on it."""


@dataclass(frozen=True)
class Readiness:
    database: str
    redis: str

    @property
    def ready(self) -> bool:
        return self.database == OK and self.redis in (OK, "not used")

    def response(self) -> JSONResponse:
        return JSONResponse(
            {"ready": self.ready, "database": self.database, "redis": self.redis},
            status_code=200 if self.ready else 503,
            headers={"Cache-Control": "no-store"},
        )


def write_probe(*, session: Session) -> None:
    """One committed write that changes nothing: the schema version row set to itself."""
    if session.get_bind().dialect.name == "postgresql":
        # Behind a migration's lock or a stuck disk, answer "busy" rather than hang the probe.
        session.execute(sa.text("SET LOCAL lock_timeout = '2s'"))
        session.execute(sa.text("SET LOCAL statement_timeout = '4s'"))
    try:
        result = session.execute(sa.text("UPDATE alembic_version SET version_num = version_num"))
        updated = cast(sa.CursorResult, result).rowcount
    except sa.exc.ProgrammingError as err:  # PostgreSQL: no such table
        raise NotMigrated from err
    except sa.exc.OperationalError as err:
        if "no such table" in str(err.orig):  # SQLite
            raise NotMigrated from err
        raise
    if updated != 1:
        raise NotMigrated
    session.commit()


def _sqlite_folder(database_url: str) -> Path | None:
    url = make_url(database_url)
    if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:"):
        return None
    return Path(url.database).resolve().parent


def _database_reason(err: BaseException) -> str:
    """A word or two for the answer; the details (which may name hosts or users) go to the log only."""
    text = str(getattr(err, "orig", err) or err).lower()
    if isinstance(err, NotMigrated):
        return "not migrated"
    if isinstance(err, TimeoutError):
        return "timed out"
    if (
        (isinstance(err, OSError) and err.errno == errno.ENOSPC)
        or "disk is full" in text
        or "no space left" in text
        or "could not extend file" in text
    ):
        return "disk full"
    if "readonly" in text or "read-only" in text:
        return "read-only"
    if "locked" in text or "lock timeout" in text or "statement timeout" in text:
        return "busy"
    if isinstance(err, sa.exc.OperationalError | sa.exc.InterfaceError | sa.exc.DisconnectionError):
        return "unreachable"
    return "error"


async def check_database(database_url: str) -> str:
    folder = _sqlite_folder(database_url)
    try:
        await asyncio.wait_for(in_session(write_probe), CHECK_TIMEOUT_SECONDS)
    except Exception as err:
        reason = _database_reason(err)
        log.warning("Not ready: the database cannot write (%s): %r", reason, err)
        return reason
    if folder is not None:
        free = await asyncio.to_thread(lambda: shutil.disk_usage(folder).free)
        if free < MIN_FREE_BYTES:
            log.warning("Not ready: %d bytes free beside the SQLite database (%s)", free, folder)
            return "disk almost full"
    return OK


def _redis_reason(err: BaseException) -> str:
    text = str(err).upper()
    if isinstance(err, redis_errors.ReadOnlyError):
        return "read-only replica"
    if "MISCONF" in text:
        return "cannot persist"
    if text.startswith("OOM"):
        return "out of memory"
    if isinstance(err, redis_errors.TimeoutError | TimeoutError):
        return "timed out"
    if isinstance(err, redis_errors.ConnectionError | OSError):
        return "unreachable"
    return "error"


async def check_redis(redis_url: str | None) -> str:
    """A write with a short life: a new connection proves Redis takes clients; the SET that it takes writes."""
    if not redis_url:
        return "not used"
    client = redis.asyncio.Redis.from_url(
        redis_url, socket_connect_timeout=CHECK_TIMEOUT_SECONDS, socket_timeout=CHECK_TIMEOUT_SECONDS
    )
    try:
        await asyncio.wait_for(
            client.set(f"rxshop:ready:{os.getpid()}", str(time.time()), ex=60), CHECK_TIMEOUT_SECONDS
        )
    except Exception as err:
        reason = _redis_reason(err)
        log.warning("Not ready: Redis does not take writes (%s): %r", reason, err)
        return reason
    finally:
        await client.aclose()
    return OK


async def _check(database_url: str, redis_url: str | None) -> Readiness:
    database, redis_state = await asyncio.gather(check_database(database_url), check_redis(redis_url))
    return Readiness(database=database, redis=redis_state)


_last: tuple[float, tuple[str, str | None], Readiness] | None = None  # when, of which services, outcome
_running: asyncio.Task[Readiness] | None = None


async def readiness() -> Readiness:
    """The outcome of the check running now or finished less than CACHE_SECONDS ago, else a new check."""
    global _last, _running
    settings = get_settings()
    services = (settings.database_url, settings.redis_url)
    if _last is not None and _last[1] == services and time.monotonic() - _last[0] < CACHE_SECONDS:
        return _last[2]
    loop = asyncio.get_running_loop()
    if _running is None or _running.done() or _running.get_loop() is not loop:
        _running = loop.create_task(_check(*services))
    result = await asyncio.shield(_running)
    _last = (time.monotonic(), services, result)
    return result


async def ready(request: Request) -> JSONResponse:
    """GET /ready: 200 when this worker can write to the database and (if used) to Redis, else 503."""
    return (await readiness()).response()
