"""Request size limits: a body over the cap is answered 413 before it is held in memory.

Starlette's own body limit does the work (`RequestBodyLimitMiddleware`, what `Route(max_body_size=)` and
`Mount(max_body_size=)` install): `Content-Length` is checked first, a body sent without one (chunked) is
counted as it streams in, so a 200 MiB POST costs a worker at most the cap. An endpoint that reads its
body carries its cap (`capped`), so it is limited wherever it is routed (the app, the tests' servers).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from starlette.middleware.body_limit import RequestBodyLimitMiddleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import request_response
from starlette.types import ASGIApp

MAX_BODY_BYTES = 256 * 1024  # Stripe's events are a few KiB; the simulator's form posts far less


def capped(endpoint: Callable[[Request], Awaitable[Response]], limit: int) -> ASGIApp:
    """`endpoint` as an ASGI app whose request body may be at most `limit` bytes (413 past it).

    The same as `Route(path, endpoint, max_body_size=limit)`, kept with the endpoint: in it,
    `request.body()` raises Starlette's 413 HTTPException, which Starlette answers.
    """
    return RequestBodyLimitMiddleware(request_response(endpoint), max_body_size=limit)
