"""Shared test set-up: tests never read a developer's `.env`, and fixtures live in tests/fixtures/."""

import os

# Before anything imports rxshop.core.settings: no `.env`, no real keys, no developer's database.
os.environ["RXSHOP_ENV_FILE"] = ""
# Visitor credentials are signed with this in tests (never a developer's .data/secret_key).
os.environ["SECRET_KEY"] = "rxshop-tests-" + "0" * 40
for _name in (
    "PAYMENTS_MODE",
    "REFLEX_ENV_MODE",
    "STRIPE_SECRET_KEY",
    "STRIPE_PUBLISHABLE_KEY",
    "STRIPE_PUBLIC_KEY",
    "STRIPE_WEBHOOK_SECRET",
    "STRIPE_API_BASE",
    "DATABASE_URL",
    "REDIS_URL",
    "APP_URL",
    "BACKEND_URL",
    "ALLOW_LIVE_KEYS",
    "SHIPPING_COUNTRIES",
    "SHIP_WITHIN_DAYS",
    "ADMIN_PASSWORD",
    "SMTP_URL",
    "MAIL_MODE",
    "MAIL_FROM",
    "OWNER_EMAIL",
    "SUPPORT_EMAIL",
):
    os.environ.pop(_name, None)
# Code that touches Reflex state outside a running app (live pushes) keeps it in memory, not in .states/.
os.environ["REFLEX_STATE_MANAGER_MODE"] = "memory"

pytest_plugins = [
    "tests.fixtures.sim",
    "tests.fixtures.db",
    "tests.fixtures.app",
    "tests.fixtures.shop",
    "tests.fixtures.smtp",
    "tests.fixtures.deployment",
]
