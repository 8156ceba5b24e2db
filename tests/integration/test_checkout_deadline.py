"""Buy answers within its deadline when Stripe hangs: the buyer reads that the payment service is not
answering, the cart and the planned order wait, and pressing again sends the same idempotency key, so
the session Stripe made meanwhile is the one the buyer gets.

The real stripe SDK with the production gateway (per-try timeout and retries from `CheckoutGateway`'s
defaults) against the simulator's injected latency, on SQLite and PostgreSQL. The deadline is passed as
`start_checkout(deadline=...)` so the test takes about two seconds; the production value is checked below.
"""

from __future__ import annotations

import time

import pytest

from rxshop.domain.lifecycle import OrderStatus
from rxshop.orders import checkout
from rxshop.payments import gateway
from rxshop.payments.gateway import CheckoutGateway, PaymentUnavailable
from tests.fixtures.shop import Shop, new_visitor, session_id_of

HANG_MS = 1500  # Stripe answers only after this: far past the test's deadline
DEADLINE = 0.6


def test_buy_never_waits_more_than_12_s_and_stripes_tries_fit_in_its_share() -> None:
    """46 s before (15 s x 3 tries). Every try and the backoff between them fit in Stripe's share of the
    deadline; the rest is kept for writing the outcome."""
    assert checkout.CHECKOUT_DEADLINE_SECONDS <= 12
    stripe_share = checkout.CHECKOUT_DEADLINE_SECONDS - checkout.DATABASE_RESERVE_SECONDS
    tries = 1 + gateway.NETWORK_RETRIES
    assert gateway.REQUEST_TIMEOUT_SECONDS * tries + 0.5 * gateway.NETWORK_RETRIES <= stripe_share


async def test_a_hanging_stripe_gets_the_buyer_an_answer_within_the_deadline(shop: Shop) -> None:
    production = CheckoutGateway.from_settings(shop.settings)  # the shop's own timeout and retries
    visitor = new_visitor()
    shop.control("faults", {"kind": "latency", "count": 1, "latency_ms": HANG_MS})

    started = time.monotonic()
    with pytest.raises(PaymentUnavailable) as raised:
        await shop.buy(visitor, gateway=production, deadline=DEADLINE)
    waited = time.monotonic() - started

    assert waited < DEADLINE + 0.3, waited
    assert str(raised.value).startswith("The payment service is not answering")
    [planned] = shop.orders()  # waiting, unattached, for a press with the same key
    assert (planned.status, planned.stripe_session_id) == (OrderStatus.PENDING, None)

    # Pressed again: the same order, hence the same idempotency key (rxshop-checkout-<order id>), so Stripe
    # hands back any session it made for the request that hung; here it made none (the buyer's request was
    # gone before it was read), and the retry's session is the only one.
    time.sleep(max(0.0, started + HANG_MS / 1000 - time.monotonic()))
    again = await shop.buy(visitor, gateway=production, deadline=DEADLINE)

    assert again.order_id == planned.id
    [made] = shop.sim_sessions()
    assert (made.id, made.client_reference_id) == (session_id_of(again.url), planned.id)
    order = shop.order(planned.id)
    assert (order.status, order.stripe_session_id, order.checkout_url) == (
        OrderStatus.PENDING,
        made.id,
        again.url,
    )


async def test_the_deadline_holds_through_the_sdks_retries(shop: Shop) -> None:
    """Every try hangs, and the per-try timeout is short enough here for the SDK to try again (after its
    0.5 s backoff): the deadline still ends the call, and only the planned order is written."""
    deadline = 1.5
    retrying = CheckoutGateway.connect(
        shop.settings.stripe_secret_key, api_base=shop.sim.url, timeout=0.2, max_network_retries=5
    )
    shop.control("faults", {"kind": "latency", "count": 6, "latency_ms": HANG_MS})

    started = time.monotonic()
    with pytest.raises(PaymentUnavailable):
        await shop.buy(new_visitor(), gateway=retrying, deadline=deadline)

    assert time.monotonic() - started < deadline + 0.3
    [left] = shop.control("faults")["faults"]
    assert left["remaining"] == 4  # two tries reached Stripe, the SDK's retry among them
    assert [(o.status, o.stripe_session_id) for o in shop.orders()] == [(OrderStatus.PENDING, None)]
    # The simulator finishes what it was sent before the next test resets it.
    time.sleep(max(0.0, started + deadline + HANG_MS / 1000 - time.monotonic()))
