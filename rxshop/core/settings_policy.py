"""The production policy: fail closed. Which combinations of valid settings rxshop refuses to start with.

Kept apart from the value checks (settings_env) because it is the part that protects real money: in
production a missing or misspelled key never falls back to the simulator, a live key never goes without
https and a webhook secret, and visitor credentials are never signed with a made-up key.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rxshop.core.settings_env import ShopValues


def policy_problems(env: ShopValues) -> list[str]:
    """Every refusal for these (individually valid) settings, in the order someone would fix them."""
    return [
        *_live_key_allowed(env),
        *_payments_mode_agrees(env),
        *_live_key_needs(env),
        *_one_process_simulator(env),
        *_signing_key(env),
        *_mail_goes_somewhere(env),
    ]


def _live_key_allowed(env: ShopValues) -> list[str]:
    if env.live and not env.allow_live_keys:
        return [
            "STRIPE_SECRET_KEY is a live key (sk_live_...). rxshop refuses to move real money "
            "unless ALLOW_LIVE_KEYS=true is set; use an sk_test_ key for test mode."
        ]
    return []


def _payments_mode_agrees(env: ShopValues) -> list[str]:
    """PAYMENTS_MODE matches the keys; unset in production, nothing may quietly simulate."""
    key, base, mode = env.stripe_secret_key, env.stripe_api_base, env.payments_mode
    if mode == "stripe" and key is None:
        return ["PAYMENTS_MODE=stripe needs STRIPE_SECRET_KEY (sk_test_... or sk_live_...)."]
    if mode == "stripe" and base is not None:
        return ["PAYMENTS_MODE=stripe talks to Stripe itself: remove STRIPE_API_BASE."]
    if mode == "simulator" and not env.simulated:
        return ["PAYMENTS_MODE=simulator with a Stripe key: remove STRIPE_SECRET_KEY or set STRIPE_API_BASE."]
    if mode is None and env.simulated and env.production and key is None:
        # Fail closed: a missing or misspelled key must never turn a real shop into a simulated one.
        return [
            "STRIPE_SECRET_KEY is not set in production: set it, or set PAYMENTS_MODE=simulator "
            "for a demo that takes no real payments."
        ]
    if mode is None and env.simulated and env.production:
        return [
            "STRIPE_API_BASE sends payments to a simulator in production: remove it, or set "
            "PAYMENTS_MODE=simulator for a demo that takes no real payments."
        ]
    if key is None and base is not None:
        return [
            "STRIPE_API_BASE needs STRIPE_SECRET_KEY: a test key the simulator there accepts (--api-key)."
        ]
    return []


def _live_key_needs(env: ShopValues) -> list[str]:
    """Real money goes to Stripe only, over https, with webhooks that can be verified."""
    if not env.live:
        return []
    problems = []
    if env.stripe_api_base is not None:
        problems.append("STRIPE_API_BASE cannot be used with a live key (real money goes to Stripe only).")
    if env.stripe_webhook_secret is None:
        problems.append("STRIPE_WEBHOOK_SECRET is required with a live key (webhooks fulfill paid orders).")
    for name, url in (("APP_URL", env.app_url), ("BACKEND_URL", env.backend_url)):
        if not url.startswith("https://"):
            problems.append(f"{name} must be https:// with a live key.")
    return problems


def _one_process_simulator(env: ShopValues) -> list[str]:
    if env.mount_simulator and env.production and env.redis_url is not None:
        return [
            "The built-in simulator lives in one process: with REDIS_URL (several workers) run the "
            "standalone simulator and set STRIPE_API_BASE (see deploy/README.md)."
        ]
    return []


def _signing_key(env: ShopValues) -> list[str]:
    """Every worker must sign visitor credentials with the same key, so production never makes one up."""
    if env.secret_key is None and env.production:
        return [
            "SECRET_KEY is not set in production: set it to a long random value, the same for every worker."
        ]
    return []


def _mail_goes_somewhere(env: ShopValues) -> list[str]:
    """A confirmation must never be dropped in silence: production sends through SMTP or says it sends nothing."""
    mode, url = env.mail_mode, env.smtp_url
    if mode == "smtp" and url is None:
        return ["MAIL_MODE=smtp needs SMTP_URL (smtp://user:password@host:587 or smtps://...:465)."]
    if mode == "mailbox" and env.production:
        return [
            "MAIL_MODE=mailbox is for development only (anyone could read the built-in mailbox): "
            "set SMTP_URL, or MAIL_MODE=off to send no email."
        ]
    if mode is None and url is None and env.production:
        return [
            "SMTP_URL is not set in production: set it (smtp://user:password@host:587 or smtps://...:465) "
            "so buyers get their confirmations, or set MAIL_MODE=off to send no email."
        ]
    if env.production and mode != "off" and url is not None and env.mail_from is None:
        return ["MAIL_FROM is required in production with email on, e.g. MAIL_FROM=orders@example.com."]
    return []


EXPORT_CONTEXT = "export"  # Reflex's compile context while `reflex export` builds the app


def served_export_build(export_only: bool, compile_context: str | None) -> list[str]:
    """RXSHOP_EXPORT_ONLY waives the production checks for `make export`, which serves nothing. A backend
    started with it would serve without them, so the app module refuses to load with it anywhere but in
    `reflex export`. Checked where the app module loads (rxshop.rxshop), not with the rules above: the CLI
    reads the settings before it says which command it runs."""
    if export_only and compile_context != EXPORT_CONTEXT:
        return [
            "RXSHOP_EXPORT_ONLY=true is for `make export` (building the pages) only: remove it from the "
            "environment this app is served with."
        ]
    return []
