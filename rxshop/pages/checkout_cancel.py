"""Where Stripe sends a buyer who cancels: nothing was charged and the cart is as it was."""

import reflex as rx

from rxshop.components.layout import page_frame
from rxshop.core import routes


def checkout_cancel() -> rx.Component:
    return page_frame(
        rx.vstack(
            rx.heading("Payment cancelled", as_="h1", size="7"),
            rx.text("Nothing was charged. Your cart is just as you left it."),
            # One link styled as a button (a button inside a link is two Tab stops for one action).
            rx.button(rx.el.a("Back to your cart", href=routes.HOME), as_child=True, size="3"),
            spacing="4",
            role="status",
        )
    )
