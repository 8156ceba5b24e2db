"""Typed settings, read once from the environment and `.env` (python-dotenv), validated with clear messages.

No reflex import: rxconfig.py, the app, the CLI and the tests all read settings through here.
A frozen dataclass and python-dotenv rather than pydantic-settings: nine values do not need another
dependency, and every message is worded for the person fixing their `.env`.
"""

from __future__ import annotations

import functools
import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

from dotenv import dotenv_values

# The simulator accepts any well-formed test key; this one only ever reaches it.
SIMULATOR_SECRET_KEY = "sk_test_rxshop_simulator"
# Where the built-in simulator is mounted inside the shop's own backend.
SIMULATOR_MOUNT = "/stripe-sim"
# In a hidden folder: `reflex run` reloads the backend when a file beside the app changes, and SQLite's
# -wal/-shm files change on every write (Reflex ignores *.db and hidden folders, not *.db-wal).
DEFAULT_DATABASE_URL = "sqlite:///.data/rxshop.db"
DEFAULT_APP_URL = "http://localhost:3000"
DEFAULT_BACKEND_URL = "http://localhost:8000"


class SettingsError(ValueError):
    """One or more settings are wrong; the message lists each with what to do."""


@dataclass(frozen=True)
class Settings:
    stripe_secret_key: str
    stripe_publishable_key: str | None
    stripe_webhook_secret: str | None
    stripe_api_base: str | None  # None: Stripe's own API
    simulated: bool  # True: payments go to a simulator (built-in or STRIPE_API_BASE), not to Stripe
    mount_simulator: bool  # True: no key and no STRIPE_API_BASE, so the backend serves the simulator itself
    app_url: str  # where browsers reach the shop's pages (success/cancel URLs are built from it)
    backend_url: str  # where browsers and the simulator reach the backend (hosted sim page, webhooks)
    database_url: str
    redis_url: str | None
    simulator_control_api: bool = False  # expose the built-in simulator's /_sim control API (tests, demos)

    @property
    def simulator_base(self) -> str:
        """Base address of the mounted simulator (only meaningful when simulated)."""
        return self.backend_url + SIMULATOR_MOUNT

    @property
    def webhook_url(self) -> str:
        return self.backend_url + "/stripe/webhook"


def _url(name: str, value: str, errors: list[str]) -> str:
    value = value.strip().rstrip("/")
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        errors.append(f"{name} must be an absolute http(s) URL such as http://localhost:3000, got {value!r}.")
    return value


def _truthy(value: str | None) -> bool:
    return (value or "").strip().lower() in ("1", "true", "yes", "on")


def parse_settings(env: Mapping[str, str]) -> Settings:
    """Build Settings from a mapping of environment variables; raise SettingsError listing every problem."""
    errors: list[str] = []

    def get(name: str) -> str | None:
        value = env.get(name)
        return value.strip() if value and value.strip() else None

    secret_key = get("STRIPE_SECRET_KEY")
    publishable = get("STRIPE_PUBLISHABLE_KEY") or get("STRIPE_PUBLIC_KEY")
    webhook_secret = get("STRIPE_WEBHOOK_SECRET")
    api_base = get("STRIPE_API_BASE")
    allow_live = _truthy(env.get("ALLOW_LIVE_KEYS"))

    if secret_key is not None:
        if secret_key.startswith(("sk_live_", "rk_live_")):
            if not allow_live:
                errors.append(
                    "STRIPE_SECRET_KEY is a live key (sk_live_...). rxshop refuses to move real money "
                    "unless ALLOW_LIVE_KEYS=true is set; use an sk_test_ key for test mode."
                )
        elif not secret_key.startswith(("sk_test_", "rk_test_")):
            errors.append(
                "STRIPE_SECRET_KEY must start with sk_test_ (or sk_live_ with ALLOW_LIVE_KEYS=true)."
            )
    if publishable is not None and not publishable.startswith(("pk_test_", "pk_live_")):
        errors.append("STRIPE_PUBLISHABLE_KEY must start with pk_test_ or pk_live_.")
    if webhook_secret is not None and not webhook_secret.startswith("whsec_"):
        errors.append(
            "STRIPE_WEBHOOK_SECRET must start with whsec_ (Stripe shows it for each webhook endpoint)."
        )
    if api_base is not None:
        api_base = _url("STRIPE_API_BASE", api_base, errors)

    app_url = _url("APP_URL", get("APP_URL") or DEFAULT_APP_URL, errors)
    backend_url = _url("BACKEND_URL", get("BACKEND_URL") or DEFAULT_BACKEND_URL, errors)

    database_url = get("DATABASE_URL") or DEFAULT_DATABASE_URL
    if not database_url.startswith(("sqlite:", "postgresql:", "postgresql+")):
        errors.append("DATABASE_URL must be sqlite:///file.db or postgresql+psycopg://user@host/db.")
    if database_url.startswith("postgres://") or database_url.startswith("postgresql://"):
        # SQLAlchemy's default PostgreSQL driver is psycopg2, which we don't ship; psycopg 3 is pinned.
        database_url = "postgresql+psycopg://" + database_url.split("://", 1)[1]

    redis_url = get("REDIS_URL")
    if redis_url is not None and not redis_url.startswith(("redis://", "rediss://", "unix://")):
        errors.append("REDIS_URL must look like redis://127.0.0.1:6379/0.")

    mount_simulator = secret_key is None and api_base is None
    simulated = secret_key is None or api_base is not None
    if errors:
        raise SettingsError("Invalid settings:\n  - " + "\n  - ".join(errors))

    if secret_key is None:
        secret_key = SIMULATOR_SECRET_KEY
    if mount_simulator:
        api_base = backend_url + SIMULATOR_MOUNT
        if webhook_secret is None:
            # The app and its built-in simulator share a secret made at start (one per process).
            webhook_secret = "whsec_" + secrets.token_hex(24)

    return Settings(
        stripe_secret_key=secret_key,
        stripe_publishable_key=publishable,
        stripe_webhook_secret=webhook_secret,
        stripe_api_base=api_base,
        simulated=simulated,
        mount_simulator=mount_simulator,
        app_url=app_url,
        backend_url=backend_url,
        database_url=database_url,
        redis_url=redis_url,
        simulator_control_api=_truthy(env.get("SIMULATOR_CONTROL_API")),
    )


def read_environment(env_file: str | None = None) -> dict[str, str]:
    """The process environment over the values in `.env` (the environment wins).

    RXSHOP_ENV_FILE names another file; set it empty to read none (the tests do, so a developer's
    own `.env` never leaks into them).
    """
    if env_file is None:
        env_file = os.environ.get("RXSHOP_ENV_FILE", ".env")
    values: dict[str, str] = {}
    if env_file and os.path.exists(env_file):
        values.update({k: v for k, v in dotenv_values(env_file).items() if v is not None})
    values.update(os.environ)
    return values


@functools.cache
def get_settings() -> Settings:
    """The settings of this process, read once."""
    return parse_settings(read_environment())
