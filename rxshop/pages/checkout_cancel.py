"""Where Stripe sends a buyer who cancels: that checkout is closed (this visitor's only, verified on the
server, rxshop.orders.cancel), so what it held is for sale again; nothing was charged and the cart is kept."""

import logging

import reflex as rx

from rxshop.components.layout import page_frame
from rxshop.core import routes
from rxshop.domain.lifecycle import OrderStatus
from rxshop.orders.cancel import CancelOutcome, cancel_checkout
from rxshop.payments.gateway import get_gateway
from rxshop.state.visitor import checked_visitor_id

log = logging.getLogger(__name__)


class CancelState(rx.State):
    outcome: str = ""  # "" while closing; then a CancelOutcome
    paid: bool = False  # the order named was paid after all (another tab): nothing to cancel

    @rx.event(background=True)
    async def cancel(self):
        """on_load (again on a refresh: a closed checkout stays closed). The order comes from the URL; whose
        it is, from the server-signed credential."""
        async with self:
            order_id = self.router.url.query_parameters.get("order", "")
            visitor_id = checked_visitor_id(self.router)
            self.outcome, self.paid = "", False
        try:
            result = await cancel_checkout(
                visitor_id=visitor_id, order_id=str(order_id), gateway=get_gateway()
            )
        except Exception:
            log.exception("Cancelling a checkout failed")
            outcome, paid = CancelOutcome.UNAVAILABLE, False
        else:
            outcome = result.outcome
            paid = result.order is not None and result.order.status in (
                OrderStatus.PAID,
                OrderStatus.PROCESSING,
                OrderStatus.PARTIALLY_REFUNDED,
                OrderStatus.REFUNDED,
            )
        async with self:
            self.outcome, self.paid = outcome, paid


def _back_to_cart() -> rx.Component:
    # One link styled as a button (a button inside a link is two Tab stops for one action).
    return rx.button(rx.el.a("Back to your cart", href=routes.HOME), as_child=True, size="3")


def _cancelled() -> rx.Component:
    return rx.vstack(
        rx.heading("Payment cancelled", as_="h1", size="7"),
        rx.text("Nothing was charged. Your cart is just as you left it."),
        rx.match(
            CancelState.outcome,
            (
                CancelOutcome.CANCELLED,
                rx.text("That checkout is closed, and what it held is for sale again."),
            ),
            (
                CancelOutcome.UNAVAILABLE,
                rx.text("That checkout closes by itself within 40 minutes; it cannot be paid after that."),
            ),
            rx.fragment(),
        ),
        _back_to_cart(),
        spacing="4",
    )


def checkout_cancel() -> rx.Component:
    return page_frame(
        rx.box(
            rx.cond(
                CancelState.outcome == "",
                rx.hstack(rx.spinner(), rx.text("Closing your checkout…"), align="center"),
                rx.cond(
                    CancelState.paid,
                    rx.vstack(
                        rx.heading("This order is paid", as_="h1", size="7"),
                        rx.text("It was paid before you left the payment page. My Orders shows it."),
                        rx.button(rx.el.a("My Orders", href=routes.ORDERS), as_child=True, size="3"),
                        spacing="4",
                    ),
                    _cancelled(),
                ),
            ),
            role="status",
            aria_live="polite",
            id="cancel-status",
        )
    )
