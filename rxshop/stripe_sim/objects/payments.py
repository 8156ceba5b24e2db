"""Shapes of the payment side: payment intent, charge (with its card details) and refund."""

from __future__ import annotations

from typing import Any

from rxshop.stripe_sim.objects.common import address


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
