"""Reflex configuration: app name, database and Redis from our validated settings (DATABASE_URL, REDIS_URL)."""

import sys

import reflex as rx

from rxshop.components.theme import ShopThemePlugin
from rxshop.core.settings import SettingsError, get_settings

try:
    settings = get_settings()
except SettingsError as err:  # one clear line naming what to fix, not a stack trace
    sys.exit(err.one_line())

config = rx.Config(
    app_name="rxshop",
    db_url=settings.database_url,
    redis_url=settings.redis_url,
    # The browser reaches the backend here; in production `make export` bakes REFLEX_API_URL in instead.
    api_url=settings.backend_url,
    deploy_url=settings.app_url,
    # Only the shop's own pages may call the backend with the visitor's cookie (Reflex's default echoes any).
    cors_allowed_origins=list(settings.allowed_origins),
    # Behind nginx (deploy/) the client's address is the last X-Forwarded-For hop (the open-checkout cap).
    trusted_proxy_hops=settings.trusted_proxy_hops,
    telemetry_enabled=False,
    plugins=[
        ShopThemePlugin(
            theme=rx.theme(accent_color="orange", gray_color="sand", radius="large", appearance="inherit")
        )
    ],
    disable_plugins=[rx.plugins.SitemapPlugin],
    show_built_with_reflex=False,
)
