"""Stripe-shaped API errors: the status code and JSON body decide which exception the stripe SDK raises."""

from __future__ import annotations

from typing import Any


class StripeAPIError(Exception):
    """An error answered as `{"error": {...}}` with Stripe's status code (400, 401, 402, 404, 429, 500)."""

    def __init__(
        self,
        status: int,
        type_: str,
        message: str,
        *,
        code: str | None = None,
        param: str | None = None,
        decline_code: str | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.type = type_
        self.message = message
        self.code = code
        self.param = param
        self.decline_code = decline_code

    def body(self) -> dict[str, Any]:
        error: dict[str, Any] = {}
        if self.code:
            error["code"] = self.code
        if self.decline_code:
            error["decline_code"] = self.decline_code
        if self.code:
            error["doc_url"] = "https://stripe.com/docs/error-codes/" + self.code.replace("_", "-")
        error["message"] = self.message
        if self.param:
            error["param"] = self.param
        error["type"] = self.type
        return {"error": error}


def invalid(message: str, *, param: str | None = None, code: str | None = None) -> StripeAPIError:
    """400 invalid_request_error: the SDK raises stripe.InvalidRequestError."""
    return StripeAPIError(400, "invalid_request_error", message, code=code, param=param)


def missing_param(param: str) -> StripeAPIError:
    return invalid(f"Missing required param: {param}.", param=param, code="parameter_missing")


def unknown_param(param: str, *, known_to_stripe: bool = False) -> StripeAPIError:
    message = f"Received unknown parameter: {param}"
    if known_to_stripe:
        # Stripe accepts it; failing loudly beats silently ignoring something the shop relies on.
        message += " (Stripe accepts it, but the rxshop simulator does not implement it; see docs/stripe-simulator.md)"
    return invalid(message, param=param, code="parameter_unknown")


def no_such(object_name: str, object_id: str, *, param: str = "id") -> StripeAPIError:
    """404 resource_missing, worded like Stripe ("No such checkout.session: 'cs_test_x'")."""
    return StripeAPIError(
        404,
        "invalid_request_error",
        f"No such {object_name}: '{object_id}'",
        code="resource_missing",
        param=param,
    )


def authentication(message: str) -> StripeAPIError:
    """401: the SDK raises stripe.AuthenticationError from the status alone.

    Stripe's own 401 bodies carry type "invalid_request_error" (there is no "authentication_error" type in
    the SDK's list of v1 error types), so the simulator answers the same way.
    """
    return StripeAPIError(401, "invalid_request_error", message)


def idempotency(message: str) -> StripeAPIError:
    """400 idempotency_error: the SDK raises stripe.IdempotencyError."""
    return StripeAPIError(400, "idempotency_error", message)


def server_error() -> StripeAPIError:
    """500 api_error (injected as the fault "500-stored"): the SDK raises stripe.APIError."""
    return StripeAPIError(
        500,
        "api_error",
        "An unexpected error occurred on the simulated Stripe server (injected through /_sim/faults).",
    )
