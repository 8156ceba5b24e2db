"""The webhook endpoint alone, for `uvicorn webhook_server:app` in its own process (bench/webhook_ingest.py)."""

from starlette.applications import Starlette
from starlette.routing import Route

from rxshop.webhooks import stripe_webhook

app = Starlette(routes=[Route("/stripe/webhook", stripe_webhook, methods=["POST"])])
