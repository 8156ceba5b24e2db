"""The checkout service: start a Stripe Checkout for a visitor's cart, and confirm a buyer's return.

The Reflex states call these two coroutines and nothing else of the payment story: DB work runs off the
event loop (`db.in_session`, a plain session), Stripe calls are awaited on the loop. No reflex import.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from rxshop.core import notify, routes
from rxshop.core.db import GroupCommit, in_session
from rxshop.core.settings import Settings
from rxshop.core.throttle import Throttle, make_throttle
from rxshop.domain.cart import price_cart
from rxshop.domain.identity import is_visitor_id
from rxshop.domain.lifecycle import OUTCOME_FOR_STATUS, OrderStatus, Outcome
from rxshop.domain.shipping import decode_offer
from rxshop.orders import buy, records, stock
from rxshop.orders.fulfillment import Fulfillment, fulfill_checkout
from rxshop.payments.gateway import (
    UNAVAILABLE_MESSAGE,
    CheckoutGateway,
    CheckoutLineRequest,
    PaymentError,
    PaymentUnavailable,
    SessionNotFound,
)
from rxshop.payments.wire import CheckoutSession, is_checkout_session_id

log = logging.getLogger(__name__)

# Stripe wants expires_at at least 30 minutes after creation; a minute more absorbs clock skew.
SESSION_LIFETIME_SECONDS = 31 * 60
# Every press of Buy for one cart within one window sends Stripe the same request (same idempotency key,
# same expires_at: the window's end + SESSION_LIFETIME_SECONDS), so Stripe answers with the same session.
CHECKOUT_WINDOW_SECONDS = 10 * 60
# Requests for new Checkout Sessions one client address may make per window, across all backend workers:
# the caps of open checkouts are checked after Stripe has answered, so this bounds the calls a script makes.
MAX_SESSION_REQUESTS_PER_CLIENT = 60
# Buy answers within this many seconds whatever Stripe or the database do: the buyer then reads "The payment
# service is not answering..." and may press again (the same idempotency key: the same session if Stripe
# made one). Stripe's request gets all of it but DATABASE_RESERVE_SECONDS, kept for writing the outcome.
CHECKOUT_DEADLINE_SECONDS = 12.0
DATABASE_RESERVE_SECONDS = 2.0


class CheckoutRefused(ValueError):
    """The request cannot start a checkout (bad visitor id, empty cart); the message is for the buyer."""


@dataclass(frozen=True)
class CheckoutStart:
    url: str
    order_id: str
    reused: bool  # True: the visitor's open session for this same cart, not a new one


def planned_expiry(now: float) -> int:
    """The expires_at of every session asked for in the window of `now`: 31 to 41 minutes ahead."""
    window_end = (int(now) // CHECKOUT_WINDOW_SECONDS + 1) * CHECKOUT_WINDOW_SECONDS
    return window_end + SESSION_LIFETIME_SECONDS


@functools.cache
def session_throttle(redis_url: str | None) -> Throttle:
    """The per-address bound on session requests: shared by the workers through Redis when there is one.

    One per worker process, kept (its Redis client belongs to the worker's event loop)."""
    return make_throttle(
        "checkout-sessions",
        limit=MAX_SESSION_REQUESTS_PER_CLIENT,
        window_seconds=CHECKOUT_WINDOW_SECONDS,
        redis_url=redis_url,
    )


# Group commit of Stripe's answers: a burst of Buys whose sessions come back together is written in one
# transaction (one thread hop, one COMMIT) instead of one each.
_answers: GroupCommit[buy.Answer, buy.Settled] = GroupCommit(
    lambda answers: in_session(buy.settle_checkouts, answers=answers)
)
# Group commit of the stock holds taken before Stripe is asked: a burst's holds go in one transaction.
_holds: GroupCommit[stock.HoldRequest, stock.Hold] = GroupCommit(
    lambda requests: in_session(stock.reserve_batch, requests=requests, now=datetime.now(UTC))
)


async def start_checkout(
    *,
    visitor_id: str,
    quantities: Mapping[str, object],
    gateway: CheckoutGateway,
    settings: Settings,
    client_ip: str | None = None,
    now: float | None = None,
    deadline: float | None = None,
) -> CheckoutStart:
    """Create (or reuse) the pending order and its Checkout Session; return where to send the browser.

    Before Stripe, one short transaction holds the units of counted products (`stock.reserve_batch`: a
    read and nothing written when nothing is counted); a cart wanting more than is free is refused there and
    Stripe is never asked. Then Stripe, then the order is written (one transaction, `buy.settle_checkout`).
    A hold whose order is not handed out (refused, given up, another session handed back) is given back.
    Raises CheckoutRefused, cart.InvalidQuantity / catalog.UnknownProduct (bad input), or
    payments.PaymentError (Stripe trouble: nothing is lost, the same call may be retried), at the latest
    after `deadline` seconds (default CHECKOUT_DEADLINE_SECONDS).
    """
    deadline = CHECKOUT_DEADLINE_SECONDS if deadline is None else deadline
    loop = asyncio.get_running_loop()
    ends_at = loop.time() + deadline
    try:
        async with asyncio.timeout_at(ends_at):
            return await _start_checkout(
                visitor_id=visitor_id,
                quantities=quantities,
                gateway=gateway,
                settings=settings,
                client_ip=client_ip,
                now=now,
                stripe_until=ends_at - min(DATABASE_RESERVE_SECONDS, deadline / 4),
            )
    except TimeoutError:
        log.warning("Buy gave up after %.1f s; the buyer may press again (the same key)", deadline)
        raise PaymentUnavailable(UNAVAILABLE_MESSAGE) from None


async def _start_checkout(
    *,
    visitor_id: str,
    quantities: Mapping[str, object],
    gateway: CheckoutGateway,
    settings: Settings,
    client_ip: str | None,
    now: float | None,
    stripe_until: float,
) -> CheckoutStart:
    """start_checkout within its deadline; Stripe's request is cut at `stripe_until` (the loop's clock)."""
    if not is_visitor_id(visitor_id):
        raise CheckoutRefused("Your browser session is not ready yet; please reload the page.")
    cart = price_cart(quantities)
    if cart.is_empty:
        raise CheckoutRefused("Your cart is empty: choose at least one product first.")
    now = time.time() if now is None else now
    if client_ip and not await session_throttle(settings.redis_url).allow(client_ip, now):
        raise CheckoutRefused(buy.LIMIT_MESSAGE)
    expires_at = planned_expiry(now)
    order_ids = buy.checkout_order_ids(
        settings.signing_key(), visitor_id, cart.fingerprint(), int(now) // CHECKOUT_WINDOW_SECONDS
    )
    at = datetime.fromtimestamp(now, UTC)
    generation: int | None = 0
    for _attempt in range(3):
        if generation is None:
            break
        planned = buy.plan_checkout_order(
            order_id=order_ids[generation],
            visitor_id=visitor_id,
            cart=cart,
            session_expires_at=datetime.fromtimestamp(expires_at, UTC),
            livemode=settings.livemode,
            client_ip=client_ip,
        )
        try:
            hold = await _hold(planned, expires_at)
        except CheckoutRefused:
            # Short of stock: unless this cart's own open checkout (an earlier window's) holds the units.
            older = await in_session(buy.reusable_checkout, planned=planned, now=at)
            if older is None or older.order_id is None or older.url is None:
                raise
            return CheckoutStart(url=older.url, order_id=older.order_id, reused=True)
        if hold.closed:
            # Paid or given up already (a buyer back with the same cart in the same window): Stripe would
            # only replay that session, so the cart's next free key is taken without asking.
            generation = await in_session(buy.first_open_generation, order_ids=order_ids)
            continue
        settled: buy.Settled | None = None
        try:
            settled = await _ask_and_settle(gateway, settings, planned, expires_at, at, stripe_until)
        finally:
            if hold.counted and (settled is None or settled.burned or settled.order_id != planned.order.id):
                await _give_back(hold.order_id)  # not handed out: what it held is for sale again
        if not settled.burned:
            assert settled.order_id is not None and settled.url is not None
            return CheckoutStart(url=settled.url, order_id=settled.order_id, reused=settled.reused)
        # This key's order was paid or given up: the next free generation gets a new key.
        generation = await in_session(buy.first_open_generation, order_ids=order_ids)
    raise CheckoutRefused(
        "You have ordered this very cart several times in the last minutes; please wait a few minutes."
    )


async def _ask_and_settle(
    gateway: CheckoutGateway,
    settings: Settings,
    planned: buy.PlannedOrder,
    expires_at: int,
    at: datetime,
    stripe_until: float,
) -> buy.Settled:
    """Ask Stripe for the planned order's session (cut at `stripe_until`) and write what it answered (or that
    it failed)."""
    try:
        checkout = await _request_session(gateway, settings, planned, expires_at, stripe_until)
    except PaymentError as err:
        settled = await in_session(
            buy.record_failed_checkout,
            planned=planned,
            now=at,
            same_key_may_succeed=isinstance(err, PaymentUnavailable) and err.same_key_may_succeed,
        )
        if settled is None:
            raise
        return settled
    assert checkout.url is not None  # _request_session refuses a session without a page
    try:
        settled = await _answers.submit(
            buy.Answer(planned, checkout.id, checkout.url, checkout.expires_at or expires_at, at)
        )
    except buy.CheckoutLimitReached as err:
        # The session just made is never shown to anyone; it expires unused.
        raise CheckoutRefused(str(err)) from err
    if settled.orphan:
        await _expire_unoffered(gateway, checkout.id)
    return settled


async def _hold(planned: buy.PlannedOrder, expires_at: int) -> stock.Hold:
    """Hold the planned order's counted units until its session's expiry; CheckoutRefused when short."""
    request = stock.HoldRequest(
        planned.order.id,
        tuple((line.product_id, line.quantity) for line in planned.lines),
        datetime.fromtimestamp(expires_at, UTC),
    )
    try:
        hold = await _holds.submit(request)
    except stock.OutOfStock as err:
        raise CheckoutRefused(str(err)) from err
    if hold.took:
        notify.stock_changed()
    return hold


async def _give_back(order_id: str) -> None:
    """The order's hold, unless it is waiting for payment after all (a timeout keeps it for the retry)."""
    try:
        if await in_session(stock.release_unless_open, order_id=order_id, now=datetime.now(UTC)):
            notify.stock_changed()
    except Exception:  # the sweep gives it back once its session is over
        log.exception("could not give back the stock held for order %s", order_id)


async def _expire_unoffered(gateway: CheckoutGateway, session_id: str) -> None:
    """Close a session no one was sent to; if Stripe cannot be reached, it expires unused anyway."""
    try:
        await gateway.expire_session(session_id)
    except PaymentError:
        log.warning("could not expire the unoffered checkout %s; it expires by itself", session_id)


async def _request_session(
    gateway: CheckoutGateway, settings: Settings, planned: buy.PlannedOrder, expires_at: int, until: float
) -> CheckoutSession:
    """Ask Stripe for the planned order's session; the same order always sends the very same request."""
    order = planned.order
    checkout = await gateway.create_session(
        order_id=order.id,
        lines=[
            CheckoutLineRequest(
                name=line.name,
                unit_amount=line.unit_amount,
                quantity=line.quantity,
                product_id=line.product_id,
            )
            for line in planned.lines
        ],
        currency=order.currency,
        # From configuration, never from what the browser reports about itself.
        success_url=f"{settings.app_url}{routes.CHECKOUT_SUCCESS}?session_id={{CHECKOUT_SESSION_ID}}",
        # The order rides along, so the cancel page can close exactly this checkout (this visitor's only).
        cancel_url=f"{settings.app_url}{routes.CHECKOUT_CANCEL}?order={order.id}",
        expires_at=expires_at,
        idempotency_key=f"rxshop-checkout-{order.id}",
        shipping_options=decode_offer(order.shipping_offer),
        allowed_countries=settings.shipping_countries,
        collect_phone=True,
        allow_promotion_codes=True,
        deadline=max(0.0, until - asyncio.get_running_loop().time()),
    )
    if not checkout.url:
        raise SessionNotFound("The payment service returned no checkout page; please try again.")
    return checkout


# Statuses no later answer from Stripe changes for the return page: it answers them from the database.
_SETTLED = frozenset(
    {OrderStatus.PAID, OrderStatus.PARTIALLY_REFUNDED, OrderStatus.REFUNDED, OrderStatus.FAILED}
)


async def confirm_return(*, visitor_id: str, session_id: str, gateway: CheckoutGateway) -> Fulfillment:
    """Verify a buyer's return from Checkout with Stripe and fulfill the order once.

    Anyone can open the success URL with any id: unknown, malformed and other visitors' ids all give a
    plain not_found and write nothing. Only a session one of this visitor's orders holds reaches Stripe
    (the database is asked first), and not even that once the order is settled: a page script sending
    made-up ids cannot turn the return page into Stripe requests.
    """
    if not is_visitor_id(visitor_id) or not is_checkout_session_id(session_id):
        return Fulfillment(Outcome.NOT_FOUND, None)
    known = await in_session(records.find_order_by_session, session_id=session_id)
    if known is None or known.visitor_id != visitor_id:
        return Fulfillment(Outcome.NOT_FOUND, None)
    if known.status in _SETTLED:
        result = Fulfillment(OUTCOME_FOR_STATUS[known.status], known)
    else:
        result = await _confirm_with_stripe(visitor_id, session_id, gateway)
    if result.order is not None:
        # Also when nothing moved: this visitor's open tabs may have loaded before the webhook's push.
        notify.order_changed(visitor_id, result.order.id)
    return result


async def _confirm_with_stripe(visitor_id: str, session_id: str, gateway: CheckoutGateway) -> Fulfillment:
    try:
        checkout = await gateway.retrieve_session(
            session_id, expand_line_items=True, expand_payment_intent=True
        )
    except SessionNotFound:
        return Fulfillment(Outcome.NOT_FOUND, None)

    return await in_session(fulfill_checkout, checkout=checkout, visitor_id=visitor_id)
