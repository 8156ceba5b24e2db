"""Typed settings, read once from the environment and `.env` (python-dotenv), validated with clear messages.

No reflex import: rxconfig.py, the app, the CLI and the tests all read settings through here.
A frozen dataclass and python-dotenv rather than pydantic-settings: a dozen values do not need another
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

PAYMENTS_MODES = ("stripe", "simulator")
# Where the built-in simulator is mounted inside the shop's own backend.
SIMULATOR_MOUNT = "/stripe-sim"
# In a hidden folder: `reflex run` reloads the backend when a file beside the app changes, and SQLite's
# -wal/-shm files change on every write (Reflex ignores *.db and hidden folders, not *.db-wal).
DEFAULT_DATABASE_URL = "sqlite:///.data/rxshop.db"
DEFAULT_APP_URL = "http://localhost:3000"
DEFAULT_BACKEND_URL = "http://localhost:8000"
DEFAULT_COUNTRIES = ("US", "CA", "GB", "DE", "FR", "NL")  # where Checkout ships (SHIPPING_COUNTRIES)


class SettingsError(ValueError):
    """One or more settings are wrong; the message lists each with what to do."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("; ".join(problems))

    def one_line(self) -> str:
        """What a refused start prints: one line naming each setting to fix."""
        return "rxshop cannot start: " + " ".join(self.problems)


@dataclass(frozen=True)
class Settings:
    production: bool  # REFLEX_ENV_MODE=prod (`reflex run --env prod`, the granian unit): fail closed
    payments_mode: str  # "stripe" (Stripe's API) or "simulator" (the built-in or a standalone simulator)
    secret_key: str | None  # SECRET_KEY: signs visitor credentials; None: development key in .data/
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
    trusted_proxy_hops: int = 0  # reverse proxies in front (nginx: 1) whose X-Forwarded-For is believed
    shipping_countries: tuple[str, ...] = DEFAULT_COUNTRIES  # ISO 3166-1 alpha-2
    ship_within_days: int = 3  # a paid order not shipped after this many days is an exception
    admin_password: str | None = None  # None: the owner's dashboard is off

    @property
    def admin_enabled(self) -> bool:
        return bool(self.admin_password)

    def signing_key(self) -> bytes:
        """The key that signs visitor credentials: SECRET_KEY, or (development only) one kept in .data/."""
        return (self.secret_key or _development_secret_key()).encode()

    @property
    def livemode(self) -> bool:
        """True with a live key: real money, and Stripe's events say livemode=true."""
        return self.stripe_secret_key.startswith(("sk_live_", "rk_live_"))

    @property
    def allowed_origins(self) -> tuple[str, ...]:
        """The origins of the shop's own pages and backend (CORS, the visitor routes' Origin check)."""
        return tuple(dict.fromkeys(_origin(url) for url in (self.app_url, self.backend_url)))

    @property
    def secure_cookies(self) -> bool:
        return self.app_url.startswith("https://")

    def describe_payments(self) -> str:
        """One line for the start-up log: where payments go, never the key itself."""
        if self.payments_mode == "stripe":
            return f"Payments: Stripe {'LIVE mode (real money)' if self.livemode else 'test mode'}."
        where = (
            "built-in simulator at " + self.simulator_base if self.mount_simulator else self.stripe_api_base
        )
        return f"Payments: SIMULATED ({where}); no real card is charged."

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


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


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
    redis_url = get("REDIS_URL")

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

    if redis_url is not None and not redis_url.startswith(("redis://", "rediss://", "unix://")):
        errors.append("REDIS_URL must look like redis://127.0.0.1:6379/0.")

    # `make export` builds the static pages in production mode but serves nothing: the serving checks
    # (where payments go, the signing key) belong to the backend's start, not to the build.
    exporting = _truthy(env.get("RXSHOP_EXPORT_ONLY"))
    production = (env.get("REFLEX_ENV_MODE") or "").strip().lower() == "prod" and not exporting
    simulated = secret_key is None or api_base is not None
    mode = (get("PAYMENTS_MODE") or "").lower()
    if mode and mode not in PAYMENTS_MODES:
        errors.append(f"PAYMENTS_MODE must be stripe or simulator, got {mode!r}.")
    elif mode == "stripe" and secret_key is None:
        errors.append("PAYMENTS_MODE=stripe needs STRIPE_SECRET_KEY (sk_test_... or sk_live_...).")
    elif mode == "stripe" and api_base is not None:
        errors.append("PAYMENTS_MODE=stripe talks to Stripe itself: remove STRIPE_API_BASE.")
    elif mode == "simulator" and not simulated:
        errors.append(
            "PAYMENTS_MODE=simulator with a Stripe key: remove STRIPE_SECRET_KEY or set STRIPE_API_BASE."
        )
    elif not mode and simulated and production and secret_key is None:
        # Fail closed: a missing or misspelled key must never turn a real shop into a simulated one.
        errors.append(
            "STRIPE_SECRET_KEY is not set in production: set it, or set PAYMENTS_MODE=simulator "
            "for a demo that takes no real payments."
        )
    elif not mode and simulated and production:
        errors.append(
            "STRIPE_API_BASE sends payments to a simulator in production: remove it, or set "
            "PAYMENTS_MODE=simulator for a demo that takes no real payments."
        )
    mode = mode or ("simulator" if simulated else "stripe")
    live = secret_key is not None and secret_key.startswith(("sk_live_", "rk_live_"))
    if live:
        if api_base is not None:
            errors.append("STRIPE_API_BASE cannot be used with a live key (real money goes to Stripe only).")
        if webhook_secret is None:
            errors.append("STRIPE_WEBHOOK_SECRET is required with a live key (webhooks fulfill paid orders).")
        for name, url in (("APP_URL", app_url), ("BACKEND_URL", backend_url)):
            if not url.startswith("https://"):
                errors.append(f"{name} must be https:// with a live key.")
    mount_simulator = secret_key is None and api_base is None
    if mount_simulator and production and redis_url is not None:
        errors.append(
            "The built-in simulator lives in one process: with REDIS_URL (several workers) run the "
            "standalone simulator and set STRIPE_API_BASE (see deploy/README.md)."
        )

    app_secret = get("SECRET_KEY")
    if app_secret is not None and len(app_secret) < 32:
        errors.append(
            "SECRET_KEY must be at least 32 characters (python -c 'import secrets; print(secrets.token_hex(32))')."
        )
    elif app_secret is None and production:
        errors.append(
            "SECRET_KEY is not set in production: set it to a long random value, the same for every worker."
        )
    hops = get("TRUSTED_PROXY_HOPS") or "0"
    if not hops.isdigit() or int(hops) > 5:
        errors.append(
            f"TRUSTED_PROXY_HOPS must be a whole number from 0 to 5 (nginx in front: 1), got {hops!r}."
        )
    countries = tuple(
        c.strip().upper() for c in (get("SHIPPING_COUNTRIES") or ",".join(DEFAULT_COUNTRIES)).split(",")
    )
    if not countries or not all(len(c) == 2 and c.isascii() and c.isalpha() for c in countries):
        errors.append(
            "SHIPPING_COUNTRIES must be two-letter country codes separated by commas, such as US,CA,GB."
        )
    ship_days = get("SHIP_WITHIN_DAYS") or "3"
    if not ship_days.isdigit() or not 1 <= int(ship_days) <= 60:
        errors.append(f"SHIP_WITHIN_DAYS must be a whole number of days from 1 to 60, got {ship_days!r}.")
    admin_password = get("ADMIN_PASSWORD")
    if admin_password is not None and len(admin_password) < 12:
        errors.append("ADMIN_PASSWORD must be at least 12 characters (or empty to turn the dashboard off).")
    if errors:
        raise SettingsError(errors)

    if mount_simulator:
        api_base = backend_url + SIMULATOR_MOUNT
        # The app and its built-in simulator share a key and a webhook secret made at start (one process).
        secret_key = "sk_test_sim" + secrets.token_hex(16)
        if webhook_secret is None:
            webhook_secret = "whsec_" + secrets.token_hex(24)
    assert secret_key is not None

    return Settings(
        production=production,
        payments_mode=mode,
        secret_key=app_secret,
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
        trusted_proxy_hops=int(hops),
        shipping_countries=tuple(dict.fromkeys(countries)),
        ship_within_days=int(ship_days),
        admin_password=admin_password,
    )


@functools.cache
def _development_secret_key() -> str:
    """Outside production: a random SECRET_KEY kept in .data/secret_key, so visitor credentials survive
    restarts and `reflex run`'s reloads (made on first use, readable by its owner only)."""
    path = os.path.join(".data", "secret_key")
    try:
        with open(path) as file:
            value = file.read().strip()
        if len(value) >= 32:
            return value
    except FileNotFoundError:
        pass
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    value = secrets.token_hex(32)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as file:
        file.write(value)
    return value


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


def get_settings() -> Settings:
    """The settings of this process, read once per run mode.

    Per mode because `reflex run --env prod` reads rxconfig.py before it sets REFLEX_ENV_MODE=prod, and
    the production checks must run once it has.
    """
    return _settings_for_mode(os.environ.get("REFLEX_ENV_MODE", ""))


@functools.cache
def _settings_for_mode(mode: str) -> Settings:
    return parse_settings(read_environment())


get_settings.cache_clear = _settings_for_mode.cache_clear  # type: ignore[attr-defined]
