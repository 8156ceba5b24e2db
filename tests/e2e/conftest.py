"""Browser journeys: the real app as users run it, driven in Debian's chromium by Playwright.

The `shop` fixture starts `reflex run --env prod --single-port` on a free port with a fresh SQLite
database and the built-in Stripe simulator (no keys), once per test run. Failures save a screenshot
(pytest-playwright, --output) and the page's console log under test-artifacts/e2e/.

Fixtures only: what the tests do in the browser is tests/fixtures/browser.py, the running app and its
process helpers tests/fixtures/servers.py, the `deployment` fixture tests/fixtures/deployment.py.
"""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

# bench/memory_tabs.py imports CHROMIUM, CHROMIUM_ARGS, app_env, free_port, stop and wait_until_up from here.
from tests.fixtures.admin import ADMIN_PASSWORD
from tests.fixtures.servers import ARTIFACTS, REPO, RunningShop, app_env, free_port, stop, wait_until_up
from tests.fixtures.smtp import OWNER_EMAIL, SmtpSink

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture(scope="session")
def mail() -> Iterator[SmtpSink]:
    """The SMTP server the e2e shop sends to (aiosmtpd): every email it sent, as received."""
    sink = SmtpSink().start()
    yield sink
    sink.stop()


@pytest.fixture(scope="session")
def shop(tmp_path_factory, mail: SmtpSink) -> Iterator[RunningShop]:
    tmp = tmp_path_factory.mktemp("shop")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    db_path = tmp / "shop.db"
    env = app_env(
        DATABASE_URL=f"sqlite:///{db_path}",
        APP_URL=url,
        BACKEND_URL=url,
        # Production mode fails closed without a Stripe key: a test shop says it simulates, on purpose.
        PAYMENTS_MODE="simulator",
        SIMULATOR_CONTROL_API="true",
        ADMIN_PASSWORD=ADMIN_PASSWORD,  # the owner's dashboard is on (tests/e2e/test_admin*.py)
        # Production refuses to start without a way to send email: the tests' own SMTP server.
        SMTP_URL=mail.url,
        MAIL_FROM="rxshop <orders@shop.test>",
        OWNER_EMAIL=OWNER_EMAIL,
        SUPPORT_EMAIL="help@shop.test",
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
        yield RunningShop(url=url, db_path=db_path, log_path=log_path)
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
