"""Browser journeys: the real app as users run it, driven in Debian's chromium by Playwright.

The `shop` fixture starts `reflex run --env prod --single-port` on a free port with a fresh SQLite
database and the built-in Stripe simulator (no keys), once per test run. Failures save a screenshot
(pytest-playwright, --output) and the page's console log under test-artifacts/e2e/.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "test-artifacts" / "e2e"
CHROMIUM = "/usr/bin/chromium"
_http = httpx.Client(timeout=10)  # kept open: a new client per call costs ~20 ms
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Shop:
    url: str
    db_path: Path
    log_path: Path

    @property
    def sim(self) -> str:
        return f"{self.url}/stripe-sim"

    def control(self, path: str, json: dict[str, Any] | None = None) -> Any:
        """The simulator's control API (/_sim/...), as the tests' hand on Stripe's side."""
        url = f"{self.sim}/_sim/{path.lstrip('/')}"
        response = _http.post(url, json=json) if json is not None else _http.get(url)
        response.raise_for_status()
        return response.json()

    def orders(self, visitor_id: str | None = None) -> list[sqlite3.Row]:
        with sqlite3.connect(self.db_path) as conn:
            conn.row_factory = sqlite3.Row
            sql = (
                "SELECT * FROM orders"
                + (" WHERE visitor_id = ?" if visitor_id else "")
                + " ORDER BY created_at"
            )
            return conn.execute(sql, (visitor_id,) if visitor_id else ()).fetchall()


def app_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("STRIPE_", "REFLEX_"))}
    env.update(RXSHOP_ENV_FILE="", PYTHONUNBUFFERED="1")
    env["PATH"] = f"{REPO / '.tools/node_modules/.bin'}:{Path(sys.executable).parent}:{env.get('PATH', '')}"
    env.update(extra)
    return env


def wait_until_answering(
    urls: list[str], proc: subprocess.Popen, log_path: Path, timeout: float = 240
) -> None:
    """Until every URL answers 200 (a first start compiles the frontend), or the app exits."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the app exited with {proc.returncode}:\n{log_path.read_text()[-4000:]}")
        try:
            if all(httpx.get(url, timeout=5).status_code == 200 for url in urls):
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise RuntimeError(f"the app did not come up at {urls}:\n{log_path.read_text()[-4000:]}")


def wait_until_up(url: str, proc: subprocess.Popen, log_path: Path, timeout: float = 240) -> None:
    """The single-port app: backend /ping and the pages, on one URL."""
    wait_until_answering([f"{url}/ping", url], proc, log_path, timeout)


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


@pytest.fixture(scope="session")
def shop(tmp_path_factory) -> Iterator[Shop]:
    tmp = tmp_path_factory.mktemp("shop")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    db_path = tmp / "shop.db"
    env = app_env(
        DATABASE_URL=f"sqlite:///{db_path}", APP_URL=url, BACKEND_URL=url, SIMULATOR_CONTROL_API="true"
    )
    subprocess.run(
        [sys.executable, "-m", "rxshop", "migrate"], cwd=REPO, env=env, check=True, capture_output=True
    )
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    log_path = ARTIFACTS / "app.log"
    with open(log_path, "w") as log:
        proc = subprocess.Popen(
            [
                str(Path(sys.executable).parent / "reflex"),
                "run",
                "--env",
                "prod",
                "--single-port",
                "--backend-port",
                str(port),
                "--loglevel",
                "info",
            ],
            cwd=REPO,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        wait_until_up(url, proc, log_path)
        yield Shop(url=url, db_path=db_path, log_path=log_path)
    finally:
        stop(proc)


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    """Debian's chromium (Playwright's own browser download cannot work here), quiet on the network."""
    return {**browser_type_launch_args, "executable_path": CHROMIUM, "args": CHROMIUM_ARGS}


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    report = yield
    setattr(item, f"rep_{report.when}", report)
    return report


@pytest.fixture(autouse=True)
def console_log(request, context) -> Iterator[list[str]]:
    """Collect every page's console messages; on failure write them to test-artifacts/e2e/<test>.console.txt."""
    lines: list[str] = []
    context.on("page", lambda page: page.on("console", lambda msg: lines.append(f"[{msg.type}] {msg.text}")))
    context.on("weberror", lambda err: lines.append(f"[pageerror] {err.error}"))
    yield lines
    report = getattr(request.node, "rep_call", None)
    if report is not None and report.failed:
        name = re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.nodeid)
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        (ARTIFACTS / f"{name}.console.txt").write_text("\n".join(lines) + "\n")


def visitor_id_of(page) -> str:
    """The visitor id this browser context got (localStorage), once the page has loaded."""
    page.wait_for_function("() => (localStorage.getItem('rxshop_visitor') || '').length === 32")
    return page.evaluate("() => localStorage.getItem('rxshop_visitor')")
