"""`expand[]` as Stripe does it: ids replaced by the objects they name, along checked dotted paths.

Unknown paths are refused before anything changes, with Stripe's wording; what each object can expand is
the table below (the expandable fields the simulator implements).
"""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING, Any

from rxshop.stripe_sim.errors import invalid

if TYPE_CHECKING:
    from rxshop.stripe_sim.store import Store

# What each object type can expand, and into what: the expandable fields the simulator implements.
_EXPANDABLE = {
    "checkout.session": {
        "line_items": "list:item",
        "payment_intent": "payment_intent",
        "customer": "customer",
    },
    "item": {"price": "price"},
    "price": {"product": "product"},
    "payment_intent": {"latest_charge": "charge", "customer": "customer"},
    "charge": {"payment_intent": "payment_intent", "customer": "customer"},
    "refund": {"charge": "charge", "payment_intent": "payment_intent"},
}


def check_expand(kind: str, paths: list[str]) -> list[str]:
    """Refuse an unknown expand path before anything changes, with Stripe's wording."""
    for path in paths:
        parts = path.split(".")
        if len(parts) > 4:
            raise invalid(
                f"You cannot expand more than 4 levels of a property. Property: {path}", param="expand"
            )
        current = kind
        for part in parts:
            if current.startswith("list:") and part == "data":
                current = current.removeprefix("list:")
                continue
            following = _EXPANDABLE.get(current, {}).get(part)
            if following is None:
                raise invalid(f"This property cannot be expanded ({path}).", param="expand")
            current = following
    return paths


class Expander:
    """Expands objects from the store's tables (deep copies: the answer never aliases stored state)."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def _line_items_list(self, session_id: str) -> dict[str, Any]:
        return {
            "object": "list",
            "data": copy.deepcopy(self.store.line_items[session_id]),
            "has_more": False,
            "url": f"/v1/checkout/sessions/{session_id}/line_items",
        }

    def expand(self, obj: dict[str, Any], paths: list[str]) -> dict[str, Any]:
        """Replace ids by objects along each (already checked) path, e.g. line_items.data.price.product."""
        for path in paths:
            self._expand(obj, path.split("."))
        return obj

    def _expand(self, obj: Any, parts: list[str]) -> None:
        if not isinstance(obj, dict):
            return  # e.g. payment_intent is still null on an unpaid session
        head, rest = parts[0], parts[1:]
        if obj.get("object") == "list" and head == "data":
            for item in obj["data"]:
                if rest:
                    self._expand(item, rest)
            return
        value = obj.get(head)
        if head == "line_items" and value is None:
            obj[head] = self._line_items_list(obj["id"])
        elif isinstance(value, str):
            table = {
                "payment_intent": self.store.payment_intents,
                "latest_charge": self.store.charges,
                "charge": self.store.charges,
                "product": self.store.products,
                "customer": self.store.catalog.customers,
            }[head]
            obj[head] = copy.deepcopy(table[value])
        if rest:
            self._expand(obj[head], rest)
