"""The request-body cap: a body over it is answered 413 before it is held in memory.

A simulator others can reach must not hold a 200 MiB POST in memory. `Content-Length` is checked first; a
body sent without one (chunked) is counted as it streams in, so an oversized POST costs at most the cap.
The answer is a Stripe-shaped error (`{"error": {"message", "type"}}`), so the SDK raises its own exception.
"""

from __future__ import annotations

import json
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from rxshop.stripe_sim.errors import StripeAPIError
from rxshop.stripe_sim.ids import new_id

MAX_BODY_BYTES = 256 * 1024  # Stripe's requests and the hosted page's forms are a few KiB at most


class BodyTooLarge(Exception):
    """The request body is over the cap."""


def declared_length(headers: Any) -> int | None:
    """The Content-Length header as an int (None when absent or not a number)."""
    value = headers.get("content-length")
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


async def send_too_large(send: Send) -> None:
    """Stripe's shape for a refused request: 413 with an invalid_request_error."""
    error = StripeAPIError(413, "invalid_request_error", "Request body too large.")
    body = json.dumps(error.body(), indent=2).encode()
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        (b"request-id", new_id("req_", 14).encode()),
    ]
    await send({"type": "http.response.start", "status": 413, "headers": headers})
    await send({"type": "http.response.body", "body": body})


class BodyLimit:
    """ASGI middleware: 413 for any HTTP request whose body is over `limit` bytes (declared or streamed)."""

    def __init__(self, app: ASGIApp, limit: int = MAX_BODY_BYTES) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        declared = declared_length(headers)
        if declared is not None and declared > self.limit:
            return await send_too_large(send)
        await _LimitedRequest(self.limit, receive, send).run(self.app, scope)


class _LimitedRequest:
    """One request under the cap: counts what streams in and answers 413 once, whoever notices first."""

    def __init__(self, limit: int, receive: Receive, send: Send) -> None:
        self.limit = limit
        self._receive = receive
        self._send = send
        self.received = 0
        self.started = False  # the app has begun its answer: too late for a 413
        self.refused = False  # the 413 went out

    async def receive(self) -> Message:
        message = await self._receive()
        if message["type"] == "http.request":
            self.received += len(message.get("body", b""))
            if self.received > self.limit:
                # Answer now: the app's own error handling (Starlette's ServerErrorMiddleware) would
                # otherwise turn the exception below into a 500 before it reaches run().
                await self._refuse()
                raise BodyTooLarge
        return message

    async def send(self, message: Message) -> None:
        if self.refused:
            return  # the 413 went out; drop what the app answers to the exception
        self.started = self.started or message["type"] == "http.response.start"
        await self._send(message)

    async def _refuse(self) -> None:
        if not self.started and not self.refused:
            self.refused = True
            await send_too_large(self._send)

    async def run(self, app: ASGIApp, scope: Scope) -> None:
        try:
            await app(scope, self.receive, self.send)
        except BodyTooLarge:
            await self._refuse()
