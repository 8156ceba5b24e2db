"""The return page: verify the Checkout Session with Stripe, fulfill once, show the order live."""

import logging

import reflex as rx

from rxshop.checkout import confirm_return
from rxshop.components.layout import page_frame
from rxshop.components.order_list import order_list
from rxshop.live import publish_orders_changed
from rxshop.payments import PaymentError, get_gateway
from rxshop.state.cart import CartState
from rxshop.state.orders import OrdersState
from rxshop.state.visitor import VisitorState

log = logging.getLogger(__name__)

_FOUND = ("fulfilled", "already_paid", "processing", "failed", "expired", "not_paid")


class ReturnState(rx.State):
    outcome: str = ""  # "" while checking; then an outcome of checkout.confirm_return, or "unavailable"
    order_id: str = ""

    @rx.event(background=True)
    async def verify(self):
        """on_load, so again on every refresh: idempotent, one order however often it runs."""
        async with self:
            session_id = self.router.url.query_parameters.get("session_id", "")
            visitor_id = (await self.get_state(VisitorState))._checked_id()
            self.outcome, self.order_id = "", ""
        try:
            result = await confirm_return(
                visitor_id=visitor_id, session_id=str(session_id), gateway=get_gateway()
            )
        except PaymentError:
            async with self:
                self.outcome = "unavailable"
            return
        except Exception:
            log.exception("Verifying a checkout return failed")
            async with self:
                self.outcome = "unavailable"
            return
        async with self:
            self.outcome = result.outcome
            self.order_id = result.order.id if result.order is not None and result.outcome in _FOUND else ""
            if result.outcome in ("fulfilled", "already_paid", "processing"):
                (await self.get_state(CartState))._empty()  # bought: the next cart starts empty
        if result.order is not None and result.outcome in _FOUND:
            await publish_orders_changed(visitor_id)


def _message(heading: str, text: str, *actions: rx.Component, color: str = "gray") -> rx.Component:
    return rx.callout.root(
        rx.callout.text(rx.heading(heading, as_="h1", size="6"), rx.text(text), *actions),
        color_scheme=color,
        # The default callout text (accent 11 on accent 3) is 4.47:1 in green, under AA's 4.5.
        high_contrast=True,
        size="3",
        width="100%",
    )


def _back_to_cart() -> rx.Component:
    # One link styled as a button (a button inside a link is two Tab stops for one action).
    return rx.button(rx.el.a("Back to your cart", href="/"), as_child=True, variant="soft")


def _live_status() -> rx.Component:
    """Follows the order's current status (a webhook may change it while the page is open)."""
    status = OrdersState.status_of[ReturnState.order_id]
    return rx.match(
        status,
        (
            "paid",
            _message(
                "Thank you! Your order is paid.",
                "A receipt is on its way. Your order is below.",
                color="grass",
            ),
        ),
        (
            "processing",
            _message(
                "Payment processing",
                "Your bank is confirming the payment. This page "
                "updates by itself as soon as it is confirmed.",
                color="amber",
            ),
        ),
        (
            "failed",
            _message(
                "The payment failed",
                "Your bank declined the payment. Nothing was charged.",
                _back_to_cart(),
                color="red",
            ),
        ),
        (
            "expired",
            _message(
                "This checkout expired",
                "It ran out of time before it was paid. Nothing was charged.",
                _back_to_cart(),
            ),
        ),
        ("refunded", _message("Order refunded", "This order was refunded.", color="violet")),
        (
            "partially_refunded",
            _message("Order partly refunded", "Part of this order was refunded.", color="violet"),
        ),
        (
            "not_paid",
            _message(
                "Payment not completed",
                "This checkout has not been paid yet.",
                _back_to_cart(),
                color="amber",
            ),
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
                        "not_found",
                        _message(
                            "Checkout not found",
                            "We could not find that checkout in this browser. If you paid, your order "
                            "is safe and shows in My Orders in the browser you ordered from.",
                            rx.link("Go to the shop", href="/", high_contrast=True),
                        ),
                    ),
                    (
                        "mismatch",
                        _message(
                            "We could not confirm this payment",
                            "Something about this checkout did not match your order, so we did not "
                            "record it. Please contact us; you will not be charged twice.",
                            color="red",
                        ),
                    ),
                    (
                        "unavailable",
                        _message(
                            "We could not reach the payment service",
                            "Your payment is safe. Refresh this page in a moment to see your order.",
                            color="amber",
                        ),
                    ),
                    (
                        "not_paid",
                        _message(
                            "Payment not completed",
                            "This checkout has not been paid.",
                            _back_to_cart(),
                            color="amber",
                        ),
                    ),
                    (
                        "expired",
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
