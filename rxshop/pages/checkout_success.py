"""The return page: verify the Checkout Session with Stripe, fulfill once, show the order live.

`verify` is an event any page script can send, as often as it likes, with any session id: each connection
gets VERIFY_EVENTS per VERIFY_WINDOW seconds (shared by the workers through Redis when there is one; nginx
limits only new connections), and confirm_return sends Stripe only a session of this visitor's own orders.
"""

import functools
import logging
import time

import reflex as rx

from rxshop.components.layout import page_frame
from rxshop.components.order_list import order_list
from rxshop.core import routes
from rxshop.core.settings import get_settings
from rxshop.core.throttle import Throttle, make_throttle
from rxshop.domain.lifecycle import OrderStatus, Outcome
from rxshop.orders.checkout import confirm_return
from rxshop.payments.gateway import PaymentError, get_gateway
from rxshop.state.orders import OrdersState
from rxshop.state.visitor import VisitorState

log = logging.getLogger(__name__)

S = OrderStatus
# Outcomes that show the buyer's order; the others (not found, mismatch) show none.
_FOUND = frozenset(
    {
        Outcome.FULFILLED,
        Outcome.ALREADY_PAID,
        Outcome.PROCESSING,
        Outcome.FAILED,
        Outcome.EXPIRED,
        Outcome.NOT_PAID,
    }
)
UNAVAILABLE = "unavailable"  # the payment service could not be asked
BUSY = "busy"  # this connection checked too often just now
# A buyer's return, refreshed a few times, stays well within this; a script sending hundreds does not.
VERIFY_EVENTS, VERIFY_WINDOW = 5, 10


@functools.cache
def verify_budget(redis_url: str | None) -> Throttle:
    """Per connection (client token); one per worker process, kept (its Redis client is the loop's)."""
    return make_throttle(
        "return-verify", limit=VERIFY_EVENTS, window_seconds=VERIFY_WINDOW, redis_url=redis_url
    )


class ReturnState(rx.State):
    outcome: str = ""  # "" while checking; then an Outcome of checkout.confirm_return, or UNAVAILABLE
    order_id: str = ""
    status: str = ""  # the order's status as verified; live changes then come through OrdersState
    number: str = ""  # the order's number, for the buyer to quote

    @rx.event(background=True)
    async def verify(self):
        """on_load, so again on every refresh: idempotent, one order however often it runs."""
        async with self:
            session_id = self.router.url.query_parameters.get("session_id", "")
            visitor_id = (await self.get_state(VisitorState))._checked_id()
            connection = self.router.session.client_token
            self.outcome, self.order_id, self.status, self.number = "", "", "", ""
        if not await verify_budget(get_settings().redis_url).allow(connection, time.time()):
            async with self:
                self.outcome = BUSY
            return
        try:
            result = await confirm_return(
                visitor_id=visitor_id, session_id=str(session_id), gateway=get_gateway()
            )
        except PaymentError:
            async with self:
                self.outcome = UNAVAILABLE
            return
        except Exception:
            log.exception("Verifying a checkout return failed")
            async with self:
                self.outcome = UNAVAILABLE
            return
        async with self:
            self.outcome = result.outcome
            if result.order is not None and result.outcome in _FOUND:
                self.order_id, self.status = result.order.id, result.order.status
                self.number = result.order.number


def _message(
    heading: str, text: str | rx.Component, *actions: rx.Component, color: str = "gray"
) -> rx.Component:
    # Block children of the callout's root (a div), not of rx.callout.text (a <p>): a heading or a
    # paragraph inside a <p> is invalid markup, which React reports in the console on every render.
    return rx.callout.root(
        rx.flex(
            rx.heading(heading, as_="h1", size="6"),
            text if isinstance(text, rx.Component) else rx.callout.text(text),
            *actions,
            direction="column",
            align="start",
            gap="2",
        ),
        color_scheme=color,
        # The default callout text (accent 11 on accent 3) is 4.47:1 in green, under AA's 4.5.
        high_contrast=True,
        size="3",
        width="100%",
    )


def _back_to_cart() -> rx.Component:
    # One link styled as a button (a button inside a link is two Tab stops for one action).
    return rx.button(rx.el.a("Back to your cart", href=routes.HOME), as_child=True, variant="soft")


def _live_status() -> rx.Component:
    """Follows the order's current status: as verified, then as My Orders lists it (a webhook may change
    it while the page is open; a pending or expired order is not listed and keeps its verified status)."""
    status = rx.cond(
        OrdersState.statuses.contains(ReturnState.order_id),
        OrdersState.statuses[ReturnState.order_id],
        ReturnState.status,
    )
    return rx.match(
        status,
        (
            S.PAID,
            _message(
                "Thank you! Your order is paid.",
                # Only what is true: no email is sent, so none is promised; the number is what to quote.
                rx.text(
                    "Your order number is ",
                    rx.text.strong(ReturnState.number, id="order-number"),
                    ". Its details are below, and My Orders in this browser keeps it.",
                ),
                color="grass",
            ),
        ),
        (
            S.PROCESSING,
            _message(
                "Payment processing",
                "Your bank is confirming the payment. This page "
                "updates by itself as soon as it is confirmed.",
                color="amber",
            ),
        ),
        (
            S.FAILED,
            _message(
                "The payment failed",
                "Your bank declined the payment. Nothing was charged.",
                _back_to_cart(),
                color="red",
            ),
        ),
        (S.REFUNDED, _message("Order refunded", "This order was refunded.", color="violet")),
        (
            S.PARTIALLY_REFUNDED,
            _message("Order partly refunded", "Part of this order was refunded.", color="violet"),
        ),
        _message("Checking your payment…", "One moment while we confirm it with Stripe."),
    )


def checkout_success() -> rx.Component:
    return page_frame(
        rx.vstack(
            # One live region that stays in the page while its content changes (checking -> processing ->
            # paid), so screen readers announce each status; a region inserted with its text is often missed.
            rx.box(
                rx.match(
                    ReturnState.outcome,
                    (
                        "",
                        rx.hstack(
                            rx.spinner(), rx.text("Checking your payment with Stripe…"), align="center"
                        ),
                    ),
                    (
                        Outcome.NOT_FOUND,
                        _message(
                            "Checkout not found",
                            "We could not find that checkout in this browser. If you paid, your order "
                            "is safe and shows in My Orders in the browser you ordered from.",
                            rx.link("Go to the shop", href=routes.HOME, high_contrast=True),
                        ),
                    ),
                    (
                        Outcome.MISMATCH,
                        _message(
                            "We could not confirm this payment",
                            "Something about this checkout did not match your order, so we did not "
                            "record it. Please contact us; you will not be charged twice.",
                            color="red",
                        ),
                    ),
                    (
                        UNAVAILABLE,
                        _message(
                            "We could not reach the payment service",
                            "Your payment is safe. Refresh this page in a moment to see your order.",
                            color="amber",
                        ),
                    ),
                    (
                        BUSY,
                        _message(
                            "Too many checks from this page",
                            "Wait a few seconds, then refresh this page to see your order.",
                            color="amber",
                        ),
                    ),
                    (
                        Outcome.NOT_PAID,
                        _message(
                            "Payment not completed",
                            "This checkout has not been paid.",
                            _back_to_cart(),
                            color="amber",
                        ),
                    ),
                    (
                        Outcome.EXPIRED,
                        _message(
                            "This checkout expired",
                            "It ran out of time before it was paid. Nothing was charged.",
                            _back_to_cart(),
                        ),
                    ),
                    _live_status(),
                ),
                role="status",
                aria_live="polite",
                aria_atomic="true",
                id="payment-status",
                width="100%",
            ),
            rx.cond(ReturnState.order_id != "", order_list(highlight_id=ReturnState.order_id)),
            spacing="5",
            width="100%",
            max_width="760px",
        )
    )
