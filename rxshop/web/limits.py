"""Request size limits: a body over the cap is answered 413 before it is held in memory.

`Content-Length` is checked first; a body sent without one (chunked) is counted as it streams in, so a
200 MiB POST costs a worker at most the cap, never the whole body.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse

MAX_BODY_BYTES = 256 * 1024  # Stripe's events are a few KiB; the simulator's form posts far less


class BodyTooLarge(Exception):
    """The request body is over the cap."""


def _declared_length(headers: Any) -> int | None:
    value = headers.get("content-length")
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


async def read_body(request: Request, limit: int = MAX_BODY_BYTES) -> bytes:
    """The whole body, read in chunks; raises BodyTooLarge past `limit` bytes."""
    declared = _declared_length(request.headers)
    if declared is not None and declared > limit:
        raise BodyTooLarge
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise BodyTooLarge
        chunks.append(chunk)
    return b"".join(chunks)


def too_large() -> JSONResponse:
    return JSONResponse(
        {"error": {"type": "invalid_request_error", "message": "Request body too large."}}, status_code=413
    )


class BodyLimit:
    """ASGI middleware: 413 for any HTTP request whose body is over `limit` bytes (declared or streamed)."""

    def __init__(self, app: Any, limit: int = MAX_BODY_BYTES) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        declared = _declared_length(headers)
        if declared is not None and declared > self.limit:
            return await too_large()(scope, receive, send)
        received = 0
        started = False
        refused = False

        async def limited_receive() -> dict:
            nonlocal received, refused
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.limit:
                    # Answer now: the app's own error handling (Starlette's ServerErrorMiddleware) would
                    # otherwise turn the exception below into a 500 before it reaches us.
                    if not started and not refused:
                        refused = True
                        await too_large()(scope, receive, send)
                    raise BodyTooLarge
            return message

        async def tracking_send(message: dict) -> None:
            nonlocal started
            if refused:
                return  # the 413 went out; drop what the app answers to the exception
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except BodyTooLarge:
            if not started and not refused:
                await too_large()(scope, receive, send)
