"""CheckoutGateway over the real stripe SDK against the simulator: every call, idempotency, error mapping."""

from __future__ import annotations

import secrets
import time

import pytest

from rxshop.payments.gateway import (
    CheckoutGateway,
    CheckoutLineRequest,
    PaymentError,
    PaymentRejected,
    PaymentUnavailable,
    SessionNotFound,
)
from rxshop.payments.wire import CheckoutSession, SessionLine, event_from_json
from tests.fixtures.sim import TEST_API_KEY, SimServer, WebhookReceiver

LINES = [
    CheckoutLineRequest(name="Morning Mug", unit_amount=1800, quantity=2, product_id="mug"),
    CheckoutLineRequest(name="Canvas Tote", unit_amount=2400, quantity=1, product_id="tote"),
]


def _gateway(sim_server: SimServer, **kwargs) -> CheckoutGateway:
    kwargs.setdefault("max_network_retries", 0)
    kwargs.setdefault("timeout", 5.0)
    return CheckoutGateway.connect(TEST_API_KEY, api_base=sim_server.url, **kwargs)


@pytest.fixture
def gateway(sim_server: SimServer) -> CheckoutGateway:
    return _gateway(sim_server)


async def _create(
    gateway: CheckoutGateway,
    sim_server: SimServer,
    *,
    order_id: str = "ord_test1",
    key: str | None = None,
    lines=LINES,
    now: int | None = None,
    **overrides,
) -> CheckoutSession:
    now = int(time.time()) if now is None else now  # the simulator's clock, unless a test moved it
    params = dict(
        order_id=order_id,
        lines=lines,
        currency="usd",
        success_url="http://shop.test/checkout/success?session_id={CHECKOUT_SESSION_ID}",
        cancel_url="http://shop.test/checkout/cancel",
        expires_at=now + 31 * 60,
        idempotency_key=key or "test-" + secrets.token_hex(8),
    )
    params.update(overrides)
    return await gateway.create_session(**params)


def _assert_buyer_readable(err: PaymentError) -> None:
    text = str(err)
    assert text and text[0].isupper() and text.endswith(".")
    for leak in ("Traceback", "sk_", "injected", "api_error", "Error(", "http", "/v1/", "cs_test_", "pi_"):
        assert leak not in text, f"{leak!r} leaks into {text!r}"


# --- create / retrieve / expire / list / refund ------------------------------------------------------------


async def test_create_returns_an_open_session_with_the_order_attached(gateway, sim_server: SimServer) -> None:
    now = sim_server.control("clock")["now"]
    created = await _create(
        gateway, sim_server, order_id="ord_abc", customer_email="ada@example.com", expires_at=now + 40 * 60
    )

    assert created.id.startswith("cs_test_")
    assert created.url == f"{sim_server.url}/pay/{created.id}"
    assert (created.status, created.payment_status) == ("open", "unpaid")
    assert (created.amount_total, created.currency) == (6000, "usd")
    assert created.client_reference_id == "ord_abc" and created.metadata == {"order_id": "ord_abc"}
    assert created.expires_at == now + 40 * 60 and created.created >= now
    assert created.customer_email == "ada@example.com"
    assert created.payment_intent is None
    assert created.line_items is None  # not expanded on create

    # What the simulator holds is what the gateway asked for.
    view = sim_server.control(f"sessions/{created.id}")
    stored = view["session"]
    assert stored["mode"] == "payment"
    assert stored["success_url"] == "http://shop.test/checkout/success?session_id={CHECKOUT_SESSION_ID}"
    assert stored["cancel_url"] == "http://shop.test/checkout/cancel"
    assert [(i["description"], i["quantity"], i["price"]["unit_amount"]) for i in view["line_items"]] == [
        ("Morning Mug", 2, 1800),
        ("Canvas Tote", 1, 2400),
    ]


async def test_retrieve_maps_expanded_line_items_to_session_lines(gateway, sim_server: SimServer) -> None:
    created = await _create(gateway, sim_server)

    found = await gateway.retrieve_session(created.id)
    assert found.id == created.id and found.status == "open"
    assert found.line_items == (
        SessionLine("Morning Mug", 2, 1800, 3600),
        SessionLine("Canvas Tote", 1, 2400, 2400),
    )

    bare = await gateway.retrieve_session(created.id, expand_line_items=False)
    assert bare.line_items is None and bare.amount_total == 6000


async def test_retrieve_after_payment_reports_paid_with_intent_and_email(
    gateway, sim_server: SimServer
) -> None:
    created = await _create(gateway, sim_server)
    sim_server.control(f"sessions/{created.id}/pay", {"card": "4242424242424242", "email": "pay@example.com"})

    paid = await gateway.retrieve_session(created.id)
    assert (paid.status, paid.payment_status, paid.url) == ("complete", "paid", None)
    assert paid.payment_intent and paid.payment_intent.startswith("pi_")
    assert paid.customer_email == "pay@example.com"
    assert paid.line_items is not None and len(paid.line_items) == 2


async def test_expire_an_open_session_then_expiring_again_is_rejected(gateway, sim_server: SimServer) -> None:
    created = await _create(gateway, sim_server)

    expired = await gateway.expire_session(created.id)
    assert (expired.id, expired.status, expired.url) == (created.id, "expired", None)
    assert (await gateway.retrieve_session(created.id)).status == "expired"

    with pytest.raises(PaymentRejected) as raised:
        await gateway.expire_session(created.id)
    _assert_buyer_readable(raised.value)


async def test_list_follows_pagination_across_pages_and_filters_by_creation(
    gateway, sim_server: SimServer
) -> None:
    older = [await _create(gateway, sim_server, order_id=f"ord_old{i}") for i in range(2)]
    sim_server.control("clock/advance", {"seconds": 120})
    start = sim_server.control("clock")["now"]
    newer = [await _create(gateway, sim_server, order_id=f"ord_new{i}", now=start) for i in range(7)]

    # One page holds 3: seven sessions can only come back by following has_more twice.
    first_page = sim_server.client().v1.checkout.sessions.list({"limit": 3, "created": {"gte": start}})
    assert len(first_page.data) == 3 and first_page.has_more

    listed = await gateway.list_sessions(created_gte=start, page_size=3)
    assert [s.id for s in listed] == [
        s.id for s in reversed(newer)
    ]  # newest first, no duplicate, none missed
    assert all(isinstance(s, CheckoutSession) and s.line_items is None for s in listed)

    everything = await gateway.list_sessions(created_gte=start - 3600, page_size=4)
    assert {s.id for s in everything} == {s.id for s in older + newer}


async def test_list_of_an_empty_window_is_empty(gateway, sim_server: SimServer) -> None:
    await _create(gateway, sim_server)
    future = sim_server.control("clock")["now"] + 3600
    assert await gateway.list_sessions(created_gte=future) == []


async def test_refund_part_then_the_rest_and_a_replayed_key_refunds_once(
    gateway, sim_server: SimServer
) -> None:
    created = await _create(gateway, sim_server)
    intent = sim_server.control(f"sessions/{created.id}/pay", {})["session"]["payment_intent"]

    part = await gateway.refund(payment_intent=intent, idempotency_key="refund-1", amount=1000)
    assert (part.payment_intent, part.amount, part.status) == (intent, 1000, "succeeded")
    again = await gateway.refund(payment_intent=intent, idempotency_key="refund-1", amount=1000)
    assert again.id == part.id
    rest = await gateway.refund(payment_intent=intent, idempotency_key="refund-2")
    assert rest.id != part.id and rest.amount == 5000

    charge = sim_server.control(f"sessions/{created.id}")["charge"]
    assert (charge["amount_refunded"], charge["refunded"]) == (6000, True)
    with pytest.raises(PaymentRejected) as raised:
        await gateway.refund(payment_intent=intent, idempotency_key="refund-3")
    _assert_buyer_readable(raised.value)


async def test_refund_of_an_unpaid_or_unknown_payment_is_refused(gateway, sim_server: SimServer) -> None:
    created = await _create(gateway, sim_server)
    intent = sim_server.control(f"sessions/{created.id}/pay", {"card": "4000000000000077"})["session"][
        "payment_intent"
    ]
    with pytest.raises(PaymentRejected):  # still processing: nothing to refund yet
        await gateway.refund(payment_intent=intent, idempotency_key="r-processing")
    with pytest.raises(SessionNotFound):
        await gateway.refund(payment_intent="pi_" + "x" * 24, idempotency_key="r-unknown")


# --- idempotency -------------------------------------------------------------------------------------------


async def test_the_same_idempotency_key_replays_the_same_session(gateway, sim_server: SimServer) -> None:
    now = sim_server.control("clock")["now"]
    first = await _create(gateway, sim_server, key="rxshop-checkout-ord_1", expires_at=now + 1900)
    second = await _create(gateway, sim_server, key="rxshop-checkout-ord_1", expires_at=now + 1900)
    other = await _create(gateway, sim_server, key="rxshop-checkout-ord_2", expires_at=now + 1900)

    assert second.id == first.id and second.url == first.url
    assert other.id != first.id
    assert len(sim_server.client().v1.checkout.sessions.list({"limit": 100}).data) == 2


async def test_the_same_key_with_other_params_is_rejected_not_a_new_session(
    gateway, sim_server: SimServer
) -> None:
    first = await _create(gateway, sim_server, key="k-1", order_id="ord_1")
    with pytest.raises(PaymentRejected) as raised:
        await _create(gateway, sim_server, key="k-1", order_id="ord_2")
    _assert_buyer_readable(raised.value)
    [only] = sim_server.client().v1.checkout.sessions.list({"limit": 100}).data
    assert only.id == first.id


# --- errors ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["500", "429", "drop"])
async def test_faults_without_retries_become_payment_unavailable(
    gateway, sim_server: SimServer, kind: str
) -> None:
    sim_server.control("faults", {"kind": kind, "count": 1})

    with pytest.raises(PaymentUnavailable) as raised:
        await _create(gateway, sim_server)
    _assert_buyer_readable(raised.value)
    assert "try again" in str(raised.value)
    assert sim_server.control("faults")["faults"] == []  # the request did reach the simulator
    assert sim_server.client().v1.checkout.sessions.list().data == []
    # The fault was one request: the same call now works.
    assert (await _create(gateway, sim_server)).status == "open"


@pytest.mark.parametrize("call", ["retrieve", "expire", "list", "refund"])
async def test_every_call_maps_a_500_to_payment_unavailable(
    gateway, sim_server: SimServer, call: str
) -> None:
    created = await _create(gateway, sim_server)
    sim_server.control("faults", {"kind": "500", "count": 1})
    calls = {
        "retrieve": lambda: gateway.retrieve_session(created.id),
        "expire": lambda: gateway.expire_session(created.id),
        "list": lambda: gateway.list_sessions(created_gte=0),
        "refund": lambda: gateway.refund(payment_intent="pi_x", idempotency_key="r"),
    }
    with pytest.raises(PaymentUnavailable):
        await calls[call]()


async def test_latency_beyond_the_timeout_is_payment_unavailable(sim_server: SimServer) -> None:
    gateway = _gateway(sim_server, timeout=0.3)
    sim_server.control("faults", {"kind": "latency", "count": 1, "latency_ms": 1200})
    with pytest.raises(PaymentUnavailable) as raised:
        await _create(gateway, sim_server)
    _assert_buyer_readable(raised.value)


@pytest.mark.parametrize("kind", ["500", "drop"])
async def test_default_retries_absorb_a_single_fault(sim_server: SimServer, kind: str) -> None:
    gateway = _gateway(sim_server, max_network_retries=2)
    sim_server.control("faults", {"kind": kind, "count": 1})

    created = await _create(gateway, sim_server, key="retry-key")

    assert created.status == "open"
    assert sim_server.control("faults")["faults"] == []  # the fault was hit, then the retry succeeded
    [only] = sim_server.client().v1.checkout.sessions.list().data
    assert only.id == created.id


async def test_default_retries_give_up_after_three_500s(sim_server: SimServer) -> None:
    gateway = _gateway(sim_server, max_network_retries=2)
    sim_server.control("faults", {"kind": "500", "count": 3})
    with pytest.raises(PaymentUnavailable):
        await _create(gateway, sim_server)
    assert sim_server.control("faults")["faults"] == []  # three attempts: the first and two retries


async def test_unknown_session_id_is_session_not_found(gateway, sim_server: SimServer) -> None:
    missing = "cs_test_" + "a" * 58
    with pytest.raises(SessionNotFound) as raised:
        await gateway.retrieve_session(missing)
    _assert_buyer_readable(raised.value)
    with pytest.raises(SessionNotFound):
        await gateway.expire_session(missing)


@pytest.mark.parametrize(
    "overrides",
    [
        pytest.param({"currency": "xyz"}, id="currency"),
        pytest.param({"lines": [CheckoutLineRequest("Free", 0, 1)]}, id="zero-amount"),
        pytest.param({"lines": [CheckoutLineRequest("Mug", 1800, 0)]}, id="zero-quantity"),
        pytest.param({"lines": []}, id="no-lines"),
        pytest.param({"success_url": "not a url"}, id="success-url"),
        pytest.param({"expires_at": 1}, id="expires-at-past"),
        pytest.param({"customer_email": "not-an-email"}, id="email"),
    ],
)
async def test_bad_params_are_payment_rejected(gateway, sim_server: SimServer, overrides: dict) -> None:
    with pytest.raises(PaymentRejected) as raised:
        await _create(gateway, sim_server, **overrides)
    _assert_buyer_readable(raised.value)
    assert sim_server.client().v1.checkout.sessions.list().data == []


async def test_a_refused_key_is_rejected_without_showing_the_key(sim_server: SimServer) -> None:
    gateway = CheckoutGateway.connect("sk_test_", api_base=sim_server.url, max_network_retries=0, timeout=5)
    with pytest.raises(PaymentRejected) as raised:
        await _create(gateway, sim_server)
    _assert_buyer_readable(raised.value)


async def test_one_session_read_through_both_doors_is_the_same(
    gateway: CheckoutGateway, sim_server: SimServer, webhook_receiver: WebhookReceiver
):
    """The SDK's answer and the webhook's data.object go through the one parser (payments.py) and agree."""
    sim_server.use_webhooks(webhook_receiver)
    created = await _create(gateway, sim_server)
    sim_server.control(f"sessions/{created.id}/pay", {"email": "ann@example.com"})
    [completed] = await webhook_receiver.wait_for_async(type="checkout.session.completed")
    delivered = event_from_json(completed.body)
    retrieved = await gateway.retrieve_session(created.id, expand_line_items=False)

    assert delivered.checkout == retrieved
    assert (retrieved.status, retrieved.payment_status, retrieved.currency) == ("complete", "paid", "usd")
    assert retrieved.payment_intent and retrieved.customer_email == "ann@example.com"
