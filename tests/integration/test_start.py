"""A start in production mode fails closed with one line, and every start says where payments go."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.fixtures.servers import REPO

COMPILE_CONTEXT = "__REFLEX_COMPILE_CONTEXT"  # where `reflex run` / `reflex export` say which they are


def _start(code: str, **env: str) -> subprocess.CompletedProcess:
    """Import what `reflex run` / granian import first (rxconfig, then the app) in a fresh process."""
    base = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(
            ("STRIPE_", "PAYMENTS_", "SECRET_KEY", "SMTP_", "MAIL_", "RXSHOP_EXPORT", COMPILE_CONTEXT)
        )
    }
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=REPO,
        env={**base, "RXSHOP_ENV_FILE": "", **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize("code", ["import rxconfig", "import rxshop.rxshop"])
@pytest.mark.parametrize("key", ["", "sk_tset_misspelled"])
def test_production_without_a_usable_key_refuses_to_start_with_one_line(code, key):
    started = _start(code, REFLEX_ENV_MODE="prod", STRIPE_SECRET_KEY=key, SECRET_KEY="s" * 40)
    assert started.returncode != 0
    [line] = started.stderr.strip().splitlines()  # one clear line, no traceback
    assert line.startswith("rxshop cannot start:") and "STRIPE_SECRET_KEY" in line, line


def test_production_without_a_secret_key_refuses_to_start():
    started = _start("import rxshop.rxshop", REFLEX_ENV_MODE="prod", PAYMENTS_MODE="simulator")
    [line] = started.stderr.strip().splitlines()
    assert started.returncode != 0 and "SECRET_KEY is not set in production" in line


def test_a_demo_starts_and_says_its_payments_are_simulated():
    code = "import asyncio, rxshop.rxshop as app; asyncio.run(app.log_payment_mode())"
    started = _start(
        code, REFLEX_ENV_MODE="prod", PAYMENTS_MODE="simulator", SECRET_KEY="s" * 40, MAIL_MODE="off"
    )
    assert started.returncode == 0, started.stderr
    assert "Payments: SIMULATED" in started.stderr and "no real card is charged" in started.stderr


def test_a_refused_value_is_one_line_in_our_words():
    """pydantic-settings reads the values; its ValidationError never reaches the person starting the shop."""
    started = _start(
        "import rxconfig",
        REFLEX_ENV_MODE="prod",
        PAYMENTS_MODE="simulator",
        SECRET_KEY="s" * 40,
        MAIL_MODE="off",
        SHIP_WITHIN_DAYS="soon",
    )
    [line] = started.stderr.strip().splitlines()
    assert started.returncode != 0 and line.startswith("rxshop cannot start: SHIP_WITHIN_DAYS must be"), line
    assert "pydantic" not in started.stderr.lower() and "validation error" not in started.stderr.lower()


@pytest.mark.parametrize("code", ["import rxconfig", "import rxshop.rxshop"])
def test_production_without_smtp_refuses_to_start_naming_both_settings(code):
    """A confirmation must never be dropped in silence: no SMTP_URL is a refused start, unless MAIL_MODE=off."""
    started = _start(code, REFLEX_ENV_MODE="prod", PAYMENTS_MODE="simulator", SECRET_KEY="s" * 40)
    [line] = started.stderr.strip().splitlines()
    assert started.returncode != 0 and line.startswith("rxshop cannot start: SMTP_URL is not set"), line
    assert "MAIL_MODE=off" in line


def test_every_start_says_where_email_goes():
    code = "import asyncio, rxshop.mail.sender as s; asyncio.run(s.send_mail_forever())"
    started = _start(
        code,
        REFLEX_ENV_MODE="prod",
        PAYMENTS_MODE="simulator",
        SECRET_KEY="s" * 40,
        SMTP_URL="smtp://mailer:hunter2secret@mail.example.com",
        MAIL_FROM="orders@example.com",
        MAIL_MODE="off",
    )
    assert started.returncode == 0, started.stderr
    assert "Email: OFF (MAIL_MODE=off)" in started.stderr and "hunter2secret" not in started.stderr


@pytest.mark.parametrize(
    "context", [None, "run", "undefined"]
)  # granian's import, `reflex run`, anything else
@pytest.mark.parametrize("mode", ["prod", ""])
def test_an_export_build_setting_refuses_to_serve_with_one_line(context, mode):
    """RXSHOP_EXPORT_ONLY waives the production checks for `make export`; an app served with it would run
    without them."""
    env = {"REFLEX_ENV_MODE": mode, "RXSHOP_EXPORT_ONLY": "true", "PAYMENTS_MODE": "simulator"}
    if context is not None:
        env[COMPILE_CONTEXT] = context
    started = _start("import rxshop.rxshop", **env)
    assert started.returncode != 0
    [line] = started.stderr.strip().splitlines()
    assert line.startswith("rxshop cannot start: RXSHOP_EXPORT_ONLY=true is for `make export`"), line


def test_the_export_build_itself_loads_the_app_with_it():
    """`reflex export` sets its compile context (an environment variable of Reflex's own) before it imports
    the app to compile the pages; `reflex run` sets "run", granian sets none."""
    started = _start(
        "import rxshop.rxshop",
        REFLEX_ENV_MODE="prod",
        RXSHOP_EXPORT_ONLY="true",
        **{COMPILE_CONTEXT: "export"},
    )
    assert started.returncode == 0, started.stderr
