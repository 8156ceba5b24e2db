"""The bare comparison app (bench/bare_app): same Reflex, same worker model, Redis when REDIS_URL is set."""

import os

import reflex as rx

config = rx.Config(
    app_name="bare",
    redis_url=os.environ.get("REDIS_URL") or None,
    telemetry_enabled=False,
    disable_plugins=[rx.plugins.SitemapPlugin],
    show_built_with_reflex=False,
)
