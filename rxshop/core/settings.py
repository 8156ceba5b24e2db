"""What this process runs with: Settings, read once per run mode from the environment and `.env`.

No reflex import: rxconfig.py, the app, the CLI and the tests all read settings through here.
pydantic-settings parses and checks the variables (settings_env; the fail-closed production policy in
settings_policy); this module adds what parsing must not do: wire payments to the built-in simulator (a
key made per process) and, in development, keep a SECRET_KEY in .data/.
"""

from __future__ import annotations

import functools
import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

from dotenv import dotenv_values

from rxshop.core import routes
from rxshop.core.mail_settings import DEVELOPMENT_FROM, SmtpTarget, address_of, parse_smtp_url
from rxshop.core.settings_env import DEFAULT_COUNTRIES, PAYMENTS_MODES, SettingsError, ShopEnv, read_env

# Where the built-in simulator is mounted inside the shop's own backend.
SIMULATOR_MOUNT = "/stripe-sim"
__all__ = [
    "PAYMENTS_MODES",
    "SIMULATOR_MOUNT",
    "Settings",
    "SettingsError",
    "get_settings",
    "parse_settings",
    "read_environment",
]


@dataclass(frozen=True)
class Settings:
    """The checked environment with payments wired: what the app, the CLI and the tests read."""

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
    mail_mode: str = "mailbox"  # "smtp" (SMTP_URL), "mailbox" (development: /dev/mailbox) or "off"
    smtp_url: str | None = None
    mail_from: str = DEVELOPMENT_FROM  # MAIL_FROM (required in production with email on)
    owner_email: str | None = None  # OWNER_EMAIL: each new paid order and exception; None: no owner mail
    support_email: str | None = None  # SUPPORT_EMAIL; None: MAIL_FROM's address
    export_only: bool = (
        False  # RXSHOP_EXPORT_ONLY: `make export` builds pages; never set where the app serves
    )

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
    def smtp_target(self) -> SmtpTarget | None:
        return parse_smtp_url(self.smtp_url) if self.smtp_url else None

    @property
    def support_address(self) -> str:
        """Where buyers write to: in every message and its Reply-To."""
        return self.support_email or address_of(self.mail_from)

    @property
    def mailbox_url(self) -> str:
        """The built-in mailbox's page (development only), or "" when mail goes elsewhere."""
        return self.backend_url + routes.DEV_MAILBOX if self.mail_mode == "mailbox" else ""

    def describe_mail(self) -> str:
        """One line for the start-up log: where email goes, never the SMTP password."""
        if self.mail_mode == "off":
            return "Email: OFF (MAIL_MODE=off): buyers get no confirmation, the owner no notice."
        if self.mail_mode == "mailbox":
            return f"Email: NOT SENT; every message goes to the built-in mailbox at {self.mailbox_url}."
        target = self.smtp_target
        assert target is not None  # the policy refuses MAIL_MODE=smtp without SMTP_URL
        return f"Email: SMTP {target.describe()} from {self.mail_from}."

    @property
    def simulator_base(self) -> str:
        """Base address of the mounted simulator (only meaningful when simulated)."""
        return self.backend_url + SIMULATOR_MOUNT

    @property
    def webhook_url(self) -> str:
        return self.backend_url + routes.STRIPE_WEBHOOK


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def parse_settings(env: Mapping[str, str]) -> Settings:
    """Build Settings from a mapping of environment variables; raise SettingsError listing every problem."""
    return _settings_from(read_env(env))


def _settings_from(env: ShopEnv) -> Settings:
    """What this process runs with: the checked environment, with payments wired (see _payments_wiring)."""
    stripe_secret_key, stripe_webhook_secret, stripe_api_base = _payments_wiring(env)
    return Settings(
        production=env.production,
        payments_mode=env.payments_mode or ("simulator" if env.simulated else "stripe"),
        secret_key=env.secret_key,
        stripe_secret_key=stripe_secret_key,
        stripe_publishable_key=env.stripe_publishable_key,
        stripe_webhook_secret=stripe_webhook_secret,
        stripe_api_base=stripe_api_base,
        simulated=env.simulated,
        mount_simulator=env.mount_simulator,
        app_url=env.app_url,
        backend_url=env.backend_url,
        database_url=env.database_url,
        redis_url=env.redis_url,
        simulator_control_api=env.simulator_control_api,
        trusted_proxy_hops=env.trusted_proxy_hops,
        shipping_countries=env.shipping_countries,
        ship_within_days=env.ship_within_days,
        admin_password=env.admin_password,
        mail_mode=env.mail_mode or ("smtp" if env.smtp_url else "mailbox"),
        smtp_url=env.smtp_url,
        mail_from=env.mail_from or DEVELOPMENT_FROM,
        owner_email=env.owner_email,
        support_email=env.support_email,
        export_only=env.rxshop_export_only,
    )


def _payments_wiring(env: ShopEnv) -> tuple[str, str | None, str | None]:
    """The Stripe key, webhook secret and API base payments use: the environment's, or, with no key and
    no STRIPE_API_BASE, the built-in simulator's (the app and it share a key and a webhook secret made
    at start: one process)."""
    if not env.mount_simulator:
        assert env.stripe_secret_key is not None  # the policy refuses STRIPE_API_BASE without a key
        return env.stripe_secret_key, env.stripe_webhook_secret, env.stripe_api_base
    webhook_secret = env.stripe_webhook_secret or "whsec_" + secrets.token_hex(24)
    return "sk_test_sim" + secrets.token_hex(16), webhook_secret, env.backend_url + SIMULATOR_MOUNT


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
