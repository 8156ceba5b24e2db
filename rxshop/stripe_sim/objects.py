"""Builders for Stripe's JSON shapes: every field Stripe returns, null where the simulator has no such concept.

Kept apart from the rules (store.py) so the shapes can be read against Stripe's API reference in one place.
The values come from the simulator's own state; nothing is copied from Stripe's example fixtures at run time.
"""

from __future__ import annotations

import secrets
import string
from typing import Any

_ALPHABET = string.ascii_letters + string.digits
ADDRESS_FIELDS = ("city", "country", "line1", "line2", "postal_code", "state")


_UNBIASED = 256 - 256 % len(_ALPHABET)  # bytes below this map evenly onto the alphabet


def new_id(prefix: str, length: int = 24) -> str:
    """An unguessable id (a session id is the key to its payment page): one read of the OS's random source
    per id, not one per character as `secrets.choice` does (that was 13 % of the simulator's CPU per create)."""
    chars: list[str] = []
    while len(chars) < length:
        chars += [_ALPHABET[b % len(_ALPHABET)] for b in secrets.token_bytes(length + 4) if b < _UNBIASED]
    return prefix + "".join(chars[:length])


def address(values: dict[str, Any] | None = None) -> dict[str, Any]:
    """Stripe's address value object, every field present (null when unknown)."""
    values = values or {}
    return {name: values.get(name) for name in ADDRESS_FIELDS}


def shipping_details(shipping: dict[str, Any] | None, phone: str | None = None) -> dict[str, Any] | None:
    """The `shipping` hash of a payment intent or charge (name, address, carrier, phone, tracking_number)."""
    if shipping is None:
        return None
    return {
        "address": address(shipping["address"]),
        "carrier": None,
        "name": shipping["name"],
        "phone": phone,
        "tracking_number": None,
    }


def checkout_session(
    *,
    session_id: str,
    now: int,
    url: str,
    spec: Any,
    currency: str,
    amounts: dict[str, Any],
    shipping_options: list[dict[str, Any]],
    configuration_id: str,
) -> dict[str, Any]:
    """A new open session (`spec` is a params.SessionSpec, `amounts` from catalog.price_session)."""
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


def product(*, product_id: str, now: int, line: Any) -> dict[str, Any]:
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


def line_item(*, item_id: str, price_id: str, product_id: str, now: int, line: Any) -> dict[str, Any]:
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


def payment_intent(
    *,
    intent_id: str,
    secret: str,
    now: int,
    amount: int,
    currency: str,
    metadata: dict[str, str],
    customer: str | None,
    shipping: dict[str, Any] | None,
    configuration_id: str,
) -> dict[str, Any]:
    """A payment intent as Checkout creates it when the buyer confirms; the caller sets the outcome."""
    return {
        "id": intent_id,
        "object": "payment_intent",
        "amount": amount,
        "amount_capturable": 0,
        "amount_details": {"tip": {}},
        "amount_received": 0,
        "application": None,
        "application_fee_amount": None,
        "automatic_payment_methods": None,
        "canceled_at": None,
        "cancellation_reason": None,
        "capture_method": "automatic_async",
        "client_secret": secret,
        "confirmation_method": "automatic",
        "created": now,
        "currency": currency,
        "customer": customer,
        "customer_account": None,
        "description": None,
        "excluded_payment_method_types": None,
        "last_payment_error": None,
        "latest_charge": None,
        "livemode": False,
        "managed_payments": {"enabled": False},
        "metadata": dict(metadata),
        "next_action": None,
        "on_behalf_of": None,
        "payment_method": None,
        "payment_method_configuration_details": {"id": configuration_id, "parent": None},
        "payment_method_options": {
            "card": {
                "installments": None,
                "mandate_options": None,
                "network": None,
                "request_three_d_secure": "automatic",
            }
        },
        "payment_method_types": ["card"],
        "processing": None,
        "receipt_email": None,
        "review": None,
        "setup_future_usage": None,
        "shipping": shipping,
        "source": None,
        "statement_descriptor": None,
        "statement_descriptor_suffix": None,
        "status": "requires_payment_method",
        "transfer_data": None,
        "transfer_group": None,
    }


def charge(
    *,
    charge_id: str,
    now: int,
    intent: dict[str, Any],
    method_id: str,
    card: dict[str, Any],
    billing: dict[str, Any],
    outcome: dict[str, Any],
    status: str,
    receipt_url: str,
) -> dict[str, Any]:
    """A card charge on `intent`; `card` has brand, last4, fingerprint; `billing` the billing details."""
    amount = intent["amount"]
    paid = status == "succeeded"
    return {
        "id": charge_id,
        "object": "charge",
        "amount": amount,
        "amount_captured": amount if status != "failed" else 0,
        "amount_refunded": 0,
        "application": None,
        "application_fee": None,
        "application_fee_amount": None,
        "balance_transaction": None,
        "billing_details": {
            "address": address(billing.get("address")),
            "email": billing.get("email"),
            "name": billing.get("name"),
            "phone": billing.get("phone"),
            "tax_id": None,
        },
        "calculated_statement_descriptor": "RXSHOP TEST",
        "captured": status != "failed",
        "created": now,
        "currency": intent["currency"],
        "customer": intent["customer"],
        "description": None,
        "disputed": False,
        "failure_balance_transaction": None,
        "failure_code": outcome.get("failure_code"),
        "failure_message": outcome.get("failure_message"),
        "fraud_details": {},
        "livemode": False,
        "metadata": dict(intent["metadata"]),
        "on_behalf_of": None,
        "outcome": {
            "advice_code": None,
            "network_advice_code": None,
            "network_decline_code": None,
            "network_status": outcome["network_status"],
            "reason": outcome.get("reason"),
            "risk_level": "normal",
            "risk_score": 20,
            "seller_message": outcome["seller_message"],
            "type": outcome["type"],
        },
        "paid": paid,
        "payment_intent": intent["id"],
        "payment_method": method_id,
        "payment_method_details": {"card": card_details(card, amount, status), "type": "card"},
        "receipt_email": None,
        "receipt_number": None,
        "receipt_url": receipt_url,
        "refunded": False,
        "refunds": {
            "object": "list",
            "data": [],
            "has_more": False,
            "url": f"/v1/charges/{charge_id}/refunds",
        },
        "review": None,
        "shipping": intent["shipping"],
        "source": None,
        "source_transfer": None,
        "statement_descriptor": None,
        "statement_descriptor_suffix": None,
        "status": status,
        "transfer_data": None,
        "transfer_group": None,
    }


def card_details(card: dict[str, Any], amount: int, status: str) -> dict[str, Any]:
    authorized = status != "failed"
    return {
        "amount_authorized": amount if authorized else None,
        "authorization_code": None,
        "brand": card["brand"],
        "checks": {"address_line1_check": None, "address_postal_code_check": None, "cvc_check": "pass"},
        "country": "US",
        "exp_month": card["exp_month"],
        "exp_year": card["exp_year"],
        "extended_authorization": {"status": "disabled"},
        "fingerprint": card["fingerprint"],
        "funding": "credit",
        "incremental_authorization": {"status": "unavailable"},
        "installments": None,
        "last4": card["last4"],
        "mandate": None,
        "multicapture": {"status": "unavailable"},
        "network": card["brand"],
        "network_token": {"used": False},
        "network_transaction_id": card["network_transaction_id"] if authorized else None,
        "overcapture": {"maximum_amount_capturable": amount, "status": "unavailable"},
        "regulated_status": "unregulated",
        "three_d_secure": None,
        "transaction_link_id": None,
        "wallet": None,
    }


def refund(
    *,
    refund_id: str,
    now: int,
    amount: int,
    charge: dict[str, Any],
    reason: str | None,
    metadata: dict[str, str],
    status: str,
) -> dict[str, Any]:
    return {
        "id": refund_id,
        "object": "refund",
        "amount": amount,
        "balance_transaction": None,
        "charge": charge["id"],
        "created": now,
        "currency": charge["currency"],
        "customer": charge["customer"],
        "customer_account": None,
        "destination_details": {
            "card": {
                "reference": None,
                "reference_status": "pending",
                "reference_type": None,
                "type": "refund",
            },
            "type": "card",
        },
        "metadata": dict(metadata),
        "payment_intent": charge["payment_intent"],
        "payment_method": charge["payment_method"],
        "reason": reason,
        "receipt_number": None,
        "source_transfer_reversal": None,
        "status": status,
        "transfer_reversal": None,
    }
