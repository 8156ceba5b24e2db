"""What every control endpoint shares: JSON bodies in, JSON out, errors as `{"error": {...}}`.

Errors: 400 (bad input), 404 (unknown id) or 409 (the object is not in a state that allows it); a Stripe
error raised by the store keeps its 404, anything else it refuses becomes 409.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from rxshop.stripe_sim.errors import StripeAPIError

if TYPE_CHECKING:
    from rxshop.stripe_sim.app import Simulator

# A control handler: the simulator and the request in, a JSON-able answer (or a Response) out.
Handler = Callable[["Simulator", Request], Awaitable[Any]]


class ControlError(Exception):
    """A refused control request: `status` and the message the answer carries."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def error_response(status: int, message: str, **extra: Any) -> JSONResponse:
    return JSONResponse(
        {"error": {"type": "simulator_error", "message": message, **extra}}, status_code=status
    )


def endpoint(sim: Simulator, handler: Handler) -> Callable[[Request], Awaitable[Response]]:
    """A Starlette endpoint running `handler` after a sweep (so the answer never shows stale state)."""

    async def run(request: Request) -> Response:
        try:
            sim.store.sweep()
            result = await handler(sim, request)
        except ControlError as error:
            return error_response(error.status, error.message)
        except StripeAPIError as error:
            status = 404 if error.status == 404 else 409
            return error_response(status, error.message, code=error.code, param=error.param)
        return result if isinstance(result, Response) else JSONResponse(result)

    return run


async def json_body(request: Request) -> dict[str, Any]:
    """The body as a JSON object; an empty body is `{}`."""
    raw = await request.body()
    if not raw.strip():
        return {}
    try:
        body = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise ControlError(400, f"The body must be a JSON object: {exc}") from exc
    if not isinstance(body, dict):
        raise ControlError(400, "The body must be a JSON object.")
    return body


def number(body: dict[str, Any], name: str, *, default: float | None = None, minimum: float = 0) -> float:
    """`body[name]` as a number >= `minimum` (booleans refused), or 400."""
    value = body.get(name, default)
    if isinstance(value, bool) or not isinstance(value, int | float) or value < minimum:
        raise ControlError(400, f"{name} must be a number >= {minimum}, got {value!r}.")
    return value
