"""List requests as Stripe pages them: `limit`, `starting_after`/`ending_before`, `expand`, filters."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

from stripe.params.checkout._session_list_params import SessionListParams

from rxshop.stripe_sim.errors import invalid
from rxshop.stripe_sim.params.forms import as_expand, as_int, as_string, reject_unknown, stripe_keys


@dataclass(frozen=True)
class ListParams:
    """One list request's paging and expansion."""

    limit: int
    starting_after: str | None
    ending_before: str | None
    expand: list[str]


def list_params(
    params: dict[str, Any],
    extra: Collection[str] = frozenset(),
    stripe_knows: frozenset[str] = frozenset(),
) -> ListParams:
    """Stripe's cursor paging (`limit` 1-100, default 10; `starting_after` or `ending_before`) and `expand`."""
    reject_unknown(
        params, {"limit", "starting_after", "ending_before", "expand"} | set(extra), stripe_knows=stripe_knows
    )
    starting_after = as_string(params.get("starting_after"), "starting_after")
    ending_before = as_string(params.get("ending_before"), "ending_before")
    if starting_after and ending_before:
        raise invalid(
            "You may only specify one of these parameters: ending_before, starting_after.",
            param="ending_before",
        )
    limit = as_int(params.get("limit"), "limit", minimum=1, maximum=100)
    return ListParams(
        limit if limit is not None else 10, starting_after, ending_before, as_expand(params.get("expand"))
    )


@dataclass(frozen=True)
class SessionFilter:
    """GET /v1/checkout/sessions filters; `created` also filters GET /v1/events."""

    created: dict[str, int]  # op ("eq", "gt", "gte", "lt", "lte") -> timestamp
    status: str | None
    payment_intent: str | None

    def matches(self, session: dict[str, Any]) -> bool:
        created = session["created"]
        checks = {
            "eq": created.__eq__,
            "gt": created.__gt__,
            "gte": created.__ge__,
            "lt": created.__lt__,
            "lte": created.__le__,
        }
        if not all(checks[op](value) for op, value in self.created.items()):
            return False
        if self.status is not None and session["status"] != self.status:
            return False
        return self.payment_intent is None or session["payment_intent"] == self.payment_intent


def created_filter(raw_created: Any) -> dict[str, int]:
    """A list's `created` parameter: an int, or `created[gt|gte|lt|lte]` (op -> timestamp)."""
    created: dict[str, int] = {}
    if isinstance(raw_created, dict):
        reject_unknown(raw_created, {"gt", "gte", "lt", "lte"}, "created")
        for op, value in raw_created.items():
            created[op] = as_int(value, f"created[{op}]", required=True) or 0
    elif raw_created is not None:
        created["eq"] = as_int(raw_created, "created", required=True) or 0
    return created


def session_list(params: dict[str, Any]) -> tuple[ListParams, SessionFilter]:
    """GET /v1/checkout/sessions: paging plus `created`, `status`, `payment_intent`."""
    paging = list_params(params, {"created", "status", "payment_intent"}, stripe_keys(SessionListParams))
    created = created_filter(params.get("created"))
    status = as_string(params.get("status"), "status")
    if status is not None and status not in ("open", "complete", "expired"):
        raise invalid(
            f"Invalid status: must be one of complete, expired, or open (got {status!r}).", param="status"
        )
    return paging, SessionFilter(created, status, as_string(params.get("payment_intent"), "payment_intent"))


def expand_only(params: dict[str, Any]) -> list[str]:
    """A retrieve or a bodiless POST: nothing but `expand`."""
    reject_unknown(params, {"expand"})
    return as_expand(params.get("expand"))
