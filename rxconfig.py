"""Reflex configuration: app name, database and Redis from our validated settings (DATABASE_URL, REDIS_URL)."""

import reflex as rx

from rxshop.settings import get_settings

settings = get_settings()

config = rx.Config(
    app_name="rxshop",
    db_url=settings.database_url,
    redis_url=settings.redis_url,
    # The browser reaches the backend here; in production `make export` bakes REFLEX_API_URL in instead.
    api_url=settings.backend_url,
    deploy_url=settings.app_url,
    telemetry_enabled=False,
    plugins=[rx.plugins.RadixThemesPlugin()],
    disable_plugins=["reflex_base.plugins.sitemap.SitemapPlugin"],
    show_built_with_reflex=False,
)
