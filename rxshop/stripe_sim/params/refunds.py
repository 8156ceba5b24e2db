"""POST /v1/refunds parameters, refused with Stripe's wording."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from stripe.params._refund_create_params import RefundCreateParams

from rxshop.stripe_sim.errors import invalid
from rxshop.stripe_sim.params.forms import (
    as_expand,
    as_int,
    as_metadata,
    as_string,
    reject_unknown,
    stripe_keys,
)


@dataclass(frozen=True)
class RefundSpec:
    """A validated POST /v1/refunds."""

    payment_intent: str | None
    charge: str | None
    amount: int | None
    reason: str | None
    metadata: dict[str, str]
    expand: list[str]


def refund_create(params: dict[str, Any]) -> RefundSpec:
    """POST /v1/refunds: `payment_intent` or `charge`, optional `amount`, `reason`, `metadata`."""
    reject_unknown(
        params,
        {"payment_intent", "charge", "amount", "reason", "metadata", "expand"},
        stripe_knows=stripe_keys(RefundCreateParams),
    )
    payment_intent = as_string(params.get("payment_intent"), "payment_intent")
    charge = as_string(params.get("charge"), "charge")
    if payment_intent is None and charge is None:
        raise invalid(
            "One of the following params should be provided for this request: payment_intent or charge.",
            code="parameter_missing",
        )
    reason = as_string(params.get("reason"), "reason")
    if reason is not None and reason not in ("duplicate", "fraudulent", "requested_by_customer"):
        raise invalid(
            "Invalid reason: must be one of duplicate, fraudulent, or requested_by_customer", param="reason"
        )
    return RefundSpec(
        payment_intent=payment_intent,
        charge=charge,
        amount=as_int(params.get("amount"), "amount", minimum=1),
        reason=reason,
        metadata=as_metadata(params.get("metadata")),
        expand=as_expand(params.get("expand")),
    )
