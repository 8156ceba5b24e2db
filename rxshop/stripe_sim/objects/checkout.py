"""Shapes of a Checkout Session and what hangs off it: line items, their ad-hoc prices and products, and
the buyer's details collected on payment."""

from __future__ import annotations

from typing import Any

from rxshop.stripe_sim.objects.common import address
from rxshop.stripe_sim.specs import LineSpec, SessionSpec


def checkout_session(
    *,
    session_id: str,
    now: int,
    url: str,
    spec: SessionSpec,
    currency: str,
    amounts: dict[str, Any],
    shipping_options: list[dict[str, Any]],
    configuration_id: str,
) -> dict[str, Any]:
    """A new open session (`amounts` from pricing.price_session)."""
    custom_text = {
        key: ({"message": spec.custom_text[key]} if key in spec.custom_text else None)
        for key in ("after_submit", "shipping_address", "submit", "terms_of_service_acceptance")
    }
    return {
        "id": session_id,
        "object": "checkout.session",
        "adaptive_pricing": {"enabled": False},
        "after_expiration": None,
        "allow_promotion_codes": spec.allow_promotion_codes,
        "amount_subtotal": amounts["amount_subtotal"],
        "amount_total": amounts["amount_total"],
        "automatic_tax": {"enabled": False, "liability": None, "provider": None, "status": None},
        "billing_address_collection": None,
        "cancel_url": spec.cancel_url,
        "client_reference_id": spec.client_reference_id,
        "client_secret": None,
        "collected_information": None,
        "consent": None,
        "consent_collection": None,
        "created": now,
        "currency": currency,
        "currency_conversion": None,
        "custom_fields": [],
        "custom_text": custom_text,
        "customer": None,
        "customer_account": None,
        "customer_creation": spec.customer_creation,
        "customer_details": None,
        "customer_email": spec.customer_email,
        "discounts": amounts["discounts"],
        "expires_at": spec.expires_at,
        "integration_identifier": None,
        "invoice": None,
        "invoice_creation": {
            "enabled": False,
            "invoice_data": {
                "account_tax_ids": None,
                "custom_fields": None,
                "description": None,
                "footer": None,
                "issuer": None,
                "metadata": {},
                "rendering_options": None,
            },
        },
        "livemode": False,
        "locale": None,
        "managed_payments": {"enabled": False},
        "metadata": dict(spec.metadata),
        "mode": "payment",
        "origin_context": None,
        "payment_intent": None,
        "payment_link": None,
        "payment_method_collection": "if_required",
        "payment_method_configuration_details": {"id": configuration_id, "parent": None},
        "payment_method_options": {"card": {"request_three_d_secure": "automatic"}},
        "payment_method_types": ["card"],
        "payment_status": "unpaid",
        "permissions": None,
        "phone_number_collection": {"enabled": spec.phone_number_collection},
        "recovered_from": None,
        "saved_payment_method_options": {
            "allow_redisplay_filters": ["always"],
            "payment_method_remove": None,
            "payment_method_save": None,
        },
        "setup_intent": None,
        "shipping_address_collection": (
            {"allowed_countries": list(spec.allowed_countries)} if spec.allowed_countries else None
        ),
        "shipping_cost": amounts["shipping_cost"],
        "shipping_options": shipping_options,
        "status": "open",
        "submit_type": None,
        "subscription": None,
        "success_url": spec.success_url,
        "total_details": amounts["total_details"],
        "ui_mode": "hosted",
        "url": url,
        "wallet_options": None,
    }


def customer_details(
    *, email: str, name: str | None, phone: str | None, billing: dict[str, Any] | None
) -> dict[str, Any]:
    return {
        "address": address(billing),
        "business_name": None,
        "email": email,
        "individual_name": None,
        "name": name,
        "phone": phone,
        "tax_exempt": "none",
        "tax_ids": [],
    }


def collected_information(shipping: dict[str, Any] | None) -> dict[str, Any]:
    return {
        "business_name": None,
        "individual_name": None,
        "shipping_details": (
            {"address": address(shipping["address"]), "name": shipping["name"]} if shipping else None
        ),
    }


def product(*, product_id: str, now: int, line: LineSpec) -> dict[str, Any]:
    return {
        "id": product_id,
        "object": "product",
        "active": False,
        "attributes": [],
        "created": now,
        "default_price": None,
        "description": line.description,
        "images": [],
        "livemode": False,
        "marketing_features": [],
        "metadata": dict(line.product_metadata),
        "name": line.name,
        "package_dimensions": None,
        "shippable": None,
        "statement_descriptor": None,
        "tax_code": None,
        "type": "service",
        "unit_label": None,
        "updated": now,
        "url": None,
    }


def line_item(*, item_id: str, price_id: str, product_id: str, now: int, line: LineSpec) -> dict[str, Any]:
    amount = line.unit_amount * line.quantity
    return {
        "id": item_id,
        "object": "item",
        "adjustable_quantity": None,
        "amount_discount": 0,
        "amount_subtotal": amount,
        "amount_tax": 0,
        "amount_total": amount,
        "currency": line.currency,
        "description": line.name,
        "metadata": {},
        "price": {
            "id": price_id,
            "object": "price",
            "active": False,
            "billing_scheme": "per_unit",
            "created": now,
            "currency": line.currency,
            "custom_unit_amount": None,
            "livemode": False,
            "lookup_key": None,
            "metadata": {},
            "nickname": None,
            "product": product_id,
            "recurring": None,
            "tax_behavior": "unspecified",
            "tiers_mode": None,
            "transform_quantity": None,
            "type": "one_time",
            "unit_amount": line.unit_amount,
            "unit_amount_decimal": str(line.unit_amount),
        },
        "quantity": line.quantity,
    }
