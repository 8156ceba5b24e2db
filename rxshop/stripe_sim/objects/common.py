"""Value objects several Stripe resources share: the address hash."""

from __future__ import annotations

from typing import Any

ADDRESS_FIELDS = ("city", "country", "line1", "line2", "postal_code", "state")


def address(values: dict[str, Any] | None = None) -> dict[str, Any]:
    """Stripe's address value object, every field present (null when unknown)."""
    values = values or {}
    return {name: values.get(name) for name in ADDRESS_FIELDS}
