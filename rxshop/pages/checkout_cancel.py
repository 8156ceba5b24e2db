"""Where Stripe sends a buyer who cancels: nothing was charged and the cart is as it was."""

import reflex as rx

from rxshop.components.layout import page_frame


def checkout_cancel() -> rx.Component:
    return page_frame(
        rx.vstack(
            rx.heading("Payment cancelled", as_="h1", size="7"),
            rx.text("Nothing was charged. Your cart is just as you left it."),
            rx.link(rx.button("Back to your cart", size="3"), href="/"),
            spacing="4",
            role="status",
        )
    )
