"""GET /ready served for real: 200 only while this worker can write to its database and to Redis; 503 with a
word or two otherwise, never a URL, host or password. (A full disk, and the route in the running backend,
are in tests/chaos/test_sqlite.py; nginx's proxying of it in tests/e2e/test_deployment.py.)"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
from collections.abc import Iterator

import httpx
import psycopg
import pytest
import redis
from sqlalchemy.engine import make_url
from starlette.applications import Starlette
from starlette.routing import Route

from rxshop.core import routes
from rxshop.core.db import migrate
from rxshop.core.settings import get_settings
from rxshop.web import health
from tests.fixtures.app import AppEnv
from tests.fixtures.chaos import OwnRedis
from tests.fixtures.db import service_missing
from tests.fixtures.servers import REPO, free_port
from tests.fixtures.sim import serve_asgi

SECRET_PASSWORD = "hunter2-do-not-show"


@pytest.fixture
def ready_url() -> Iterator[str]:
    """The route as the app mounts it, under uvicorn; each request checks anew (no cached outcome)."""
    with serve_asgi(
        lambda base: Starlette(routes=[Route(routes.READY, health.ready, methods=["GET"])])
    ) as base:
        yield base + routes.READY


@pytest.fixture(autouse=True)
def _fresh_checks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(health, "CACHE_SECONDS", 0.0)


def _get(url: str) -> httpx.Response:
    response = httpx.get(url, timeout=30)
    assert response.headers["cache-control"] == "no-store"
    return response


def test_a_migrated_database_without_redis_is_ready(app_env: AppEnv, ready_url: str):
    app_env()
    response = _get(ready_url)
    assert response.status_code == 200
    assert response.json() == {"ready": True, "database": "ok", "redis": "not used"}


def test_the_check_really_writes_a_database_held_by_another_writer_is_not_ready(
    app_env: AppEnv, ready_url: str, db_url: str, monkeypatch: pytest.MonkeyPatch
):
    """A read would pass here: only a write waits for the other writer's lock and gives up."""
    app_env()
    monkeypatch.setattr(health, "CHECK_TIMEOUT_SECONDS", 1.5)
    url = make_url(db_url)
    if url.get_backend_name() == "sqlite":
        holder = sqlite3.connect(url.database, isolation_level=None)
        holder.execute("BEGIN IMMEDIATE")  # the database's one write lock
    else:
        holder = psycopg.connect(
            host=url.host,
            port=url.port,
            user=url.username,
            dbname=url.database,
            autocommit=False,
            options=url.query["options"],
        )
        holder.execute("SELECT version_num FROM alembic_version FOR UPDATE")  # the probe's row
    try:
        response = _get(ready_url)
        assert response.status_code == 503
        assert response.json()["database"] in ("busy", "timed out")
        assert response.json()["ready"] is False
    finally:
        holder.rollback()
        holder.close()
    assert _get(ready_url).status_code == 200  # the lock gone, ready again


def test_a_database_never_migrated_says_so(ready_url: str, sqlite_url: str, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("DATABASE_URL", sqlite_url)
    get_settings.cache_clear()
    try:
        response = _get(ready_url)
    finally:
        get_settings.cache_clear()
    assert response.status_code == 503
    assert response.json() == {"ready": False, "database": "not migrated", "redis": "not used"}


def test_the_units_wait_ready_fails_with_the_reason_then_succeeds_once_ready(
    ready_url: str, sqlite_url: str, monkeypatch: pytest.MonkeyPatch
):
    """deploy/wait_ready.py, the backend unit's ExecStartPost, against the real route."""
    monkeypatch.setenv("DATABASE_URL", sqlite_url)
    get_settings.cache_clear()
    script = [sys.executable, str(REPO / "deploy" / "wait_ready.py"), ready_url]
    try:
        refused = subprocess.run([*script, "--timeout", "1"], capture_output=True, text=True, timeout=30)
        assert refused.returncode == 1
        assert "Not ready after 1 s: 503" in refused.stderr and '"not migrated"' in refused.stderr
        migrate(sqlite_url)
        accepted = subprocess.run([*script, "--timeout", "10"], capture_output=True, text=True, timeout=30)
        assert accepted.returncode == 0, accepted.stderr
        assert accepted.stdout.startswith('Ready: {"ready":true')
    finally:
        get_settings.cache_clear()


def test_an_unreachable_database_is_not_ready_and_the_answer_names_no_secret(
    ready_url: str, monkeypatch: pytest.MonkeyPatch
):
    port = free_port()
    monkeypatch.setenv(
        "DATABASE_URL",
        f"postgresql+psycopg://shop:{SECRET_PASSWORD}@127.0.0.1:{port}/rxshop?connect_timeout=2",
    )
    monkeypatch.setenv("REDIS_URL", f"redis://:{SECRET_PASSWORD}@127.0.0.1:{free_port()}/0")
    get_settings.cache_clear()
    try:
        response = _get(ready_url)
    finally:
        get_settings.cache_clear()
    assert response.status_code == 503
    assert response.json() == {"ready": False, "database": "unreachable", "redis": "unreachable"}
    for secret in (SECRET_PASSWORD, "127.0.0.1", str(port), "shop", "psycopg"):
        assert secret not in response.text


def test_with_redis_a_redis_that_takes_writes_is_ready(app_env: AppEnv, ready_url: str):
    redis_url = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
    try:
        redis.Redis.from_url(redis_url, socket_connect_timeout=3).ping()
    except redis.RedisError as exc:
        service_missing(f"Redis not reachable at {redis_url}: {exc}")
    app_env(REDIS_URL=redis_url)
    response = _get(ready_url)
    assert response.status_code == 200
    assert response.json() == {"ready": True, "database": "ok", "redis": "ok"}


def test_a_redis_that_cannot_save_refuses_writes_and_the_worker_is_not_ready(app_env: AppEnv, ready_url: str):
    """Redis with snapshots on whose last save failed (a full disk, say) refuses every write (MISCONF):
    Reflex can then keep no tab's state, though Redis still answers reads."""
    own = OwnRedis(save="3600 1")
    own.start()
    try:
        app_env(REDIS_URL=own.url)
        assert _get(ready_url).status_code == 200
        client = redis.Redis.from_url(own.url)
        shutil.rmtree(own.dir)  # its folder gone: the next snapshot cannot be written
        client.bgsave()
        _wait_for_failed_save(client)
        assert client.get("anything") is None  # it still answers reads
        response = _get(ready_url)
        assert response.status_code == 503
        assert response.json() == {"ready": False, "database": "ok", "redis": "cannot persist"}
    finally:
        own.close()


def _wait_for_failed_save(client: redis.Redis) -> None:
    import time

    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        info = client.info("persistence")
        if not info["rdb_bgsave_in_progress"] and info["rdb_last_bgsave_status"] == "err":
            return
        time.sleep(0.05)
    raise AssertionError("Redis' background save did not fail")
