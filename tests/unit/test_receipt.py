"""What the buyer reads about an order: money lines, the address, tracking, the cart's shipping note, and
the My Orders row built from an order view."""

from datetime import UTC, datetime

import pytest

from rxshop.domain.addresses import ShippingAddress, country_name
from rxshop.domain.catalog import discount_text, shipping_amount_text
from rxshop.domain.lifecycle import OrderStatus
from rxshop.domain.shipping import shipping_summary, tracking_url
from rxshop.orders.views import FulfillmentStatus, OrderLineView, OrderView
from rxshop.state.orders import OrderItemRow, OrderRow

PARIS = {
    "name": "Grace Hopper",
    "line1": "12 Rue de Rivoli",
    "line2": "Apt 3",
    "city": "Paris",
    "state": None,
    "postal_code": "75001",
    "country": "FR",
}


@pytest.mark.parametrize(
    ("address", "lines"),
    [
        (PARIS, ["Grace Hopper", "12 Rue de Rivoli", "Apt 3", "75001 Paris", "France"]),
        (
            {**PARIS, "line1": "1 Main St", "line2": "", "city": "Portland", "state": "OR"}
            | {"postal_code": "97201", "country": "us"},
            ["Grace Hopper", "1 Main St", "Portland, OR 97201", "United States"],
        ),
        (
            {**PARIS, "line2": None, "city": "London", "postal_code": "SW1A 1AA", "country": "GB"},
            ["Grace Hopper", "12 Rue de Rivoli", "London", "SW1A 1AA", "United Kingdom"],
        ),
        (
            {**PARIS, "line2": "  ", "state": "Noord-Holland", "postal_code": "1012 AB", "country": "NL"},
            ["Grace Hopper", "12 Rue de Rivoli", "1012 AB Paris", "Noord-Holland", "Netherlands"],
        ),
    ],
)
def test_address_lines_print_like_a_label_with_the_country_by_name(address, lines):
    assert list(ShippingAddress(**address).lines) == lines


def test_an_unknown_country_code_is_shown_as_itself():
    assert country_name("de") == "Germany" and country_name("ZZ") == "ZZ"


def test_money_lines():
    assert shipping_amount_text(0) == "Free"
    assert shipping_amount_text(1500) == "$15.00"
    assert shipping_amount_text(500, "eur") == "€5.00"
    assert discount_text(430) == "\u2212$4.30"
    assert discount_text(0) == ""


@pytest.mark.parametrize(
    ("carrier", "number", "url"),
    [
        ("UPS", "1Z999AA10123456784", "https://www.ups.com/track?tracknum=1Z999AA10123456784"),
        (
            "  royal   MAIL ",
            "AB123456789GB",
            "https://www.royalmail.com/track-your-item#/tracking-results/AB123456789GB",
        ),
        (
            "usps",
            "9400111899223197428490",
            "https://tools.usps.com/go/TrackConfirmAction?tLabels=9400111899223197428490",
        ),
        ("Acme Couriers", "1Z999AA10123456784", ""),  # unknown carrier: text only
        ("UPS", "1Z9/../evil?x=1", ""),  # not plain letters and digits: never a URL part
        ("UPS", "javascript:alert(1)", ""),
        ("UPS", "12345", ""),  # too short to be a tracking number
        ("", "1Z999AA10123456784", ""),
        (None, None, ""),
    ],
)
def test_a_tracking_link_only_for_a_known_carrier_and_a_plain_number(carrier, number, url):
    assert tracking_url(carrier, number) == url


def test_the_carts_shipping_note_comes_from_the_rates():
    assert shipping_summary(0) == (
        "Shipping is added at checkout: Standard $5.00 (free from $50.00) or Express $15.00."
    )
    assert shipping_summary(4999).startswith("Shipping is added at checkout: Standard $5.00")
    assert shipping_summary(5000) == (
        "Shipping is added at checkout: Standard free for this cart or Express $15.00."
    )


def order_view(**changes) -> OrderView:
    at = datetime(2025, 3, 4, 10, 30, tzinfo=UTC)
    values = {
        "id": "ord_0123456789abcdef01234567",
        "visitor_id": "0" * 32,
        "status": OrderStatus.PAID,
        "currency": "usd",
        "amount_total": 5370,
        "amount_refunded": 0,
        "lines": (
            OrderLineView("mug", "Morning Mug", 1800, 1),
            OrderLineView("notebook", "Dot-Grid Notebook", 1250, 2),
        ),
        "created_at": at,
        "updated_at": at,
        "paid_at": at,
        "stripe_session_id": "cs_test_1",
        "checkout_url": None,
        "session_expires_at": None,
        "payment_intent_id": "pi_1",
        "customer_email": "grace@example.com",
        "number": "RX-7K2M9Q",
        "amount_subtotal": 4300,
        "amount_shipping": 1500,
        "amount_discount": 430,
        "shipping_rate_id": "express",
        "shipping_rate_name": "Express",
        "shipping": ShippingAddress(**PARIS),
    }
    return OrderView(**{**values, **changes})


def test_a_paid_order_row_shows_number_money_lines_address_and_preparing():
    row = OrderRow.of(order_view())
    assert (row.number, row.summary, row.total) == (
        "RX-7K2M9Q",
        "1 × Morning Mug, 2 × Dot-Grid Notebook",
        "$53.70",
    )
    assert row.item_lines == [
        OrderItemRow("1 × Morning Mug", "$18.00"),
        OrderItemRow("2 × Dot-Grid Notebook", "$25.00"),
    ]
    assert (row.subtotal, row.shipping_name, row.shipping, row.discount) == (
        "$43.00",
        "Express",
        "$15.00",
        "−$4.30",
    )
    assert row.ship_to == ["Grace Hopper", "12 Rue de Rivoli", "Apt 3", "75001 Paris", "France"]
    assert row.fulfillment is FulfillmentStatus.UNFULFILLED
    assert (row.fulfillment_text, row.carrier, row.tracking_url, row.refunded) == (
        "Paid — preparing your order",
        "",
        "",
        "",
    )


def test_a_shipped_order_row_has_carrier_tracking_and_a_safe_link():
    shipped = datetime(2025, 3, 5, 9, 0, tzinfo=UTC)
    row = OrderRow.of(
        order_view(
            fulfillment_status="shipped",
            carrier="UPS",
            tracking_number="1Z999AA10123456784",
            shipped_at=shipped,
            amount_refunded=1000,
            status=OrderStatus.PARTIALLY_REFUNDED,
        )
    )
    assert (row.fulfillment, row.fulfillment_text, row.shipped_on) == (
        FulfillmentStatus.SHIPPED,
        "Shipped",
        "05 Mar 2025",
    )
    assert row.tracking_url == "https://www.ups.com/track?tracknum=1Z999AA10123456784"
    assert row.refunded == "$10.00"


@pytest.mark.parametrize("status", [OrderStatus.PROCESSING, OrderStatus.FAILED, OrderStatus.REFUNDED])
def test_no_fulfillment_text_until_the_money_is_in_or_once_refunded_unshipped(status):
    assert OrderRow.of(order_view(status=status)).fulfillment_text == ""


def test_free_shipping_and_an_order_from_before_shipping():
    assert OrderRow.of(order_view(amount_shipping=0, shipping_rate_name="Standard")).shipping == "Free"
    old = OrderRow.of(
        order_view(shipping_rate_name=None, amount_shipping=0, amount_discount=0, shipping=None)
    )
    assert (old.shipping_name, old.shipping, old.discount, old.ship_to) == ("", "", "", [])
