"""The cart: chosen lines, total, the Buy button and its progress and error messages."""

import reflex as rx

from rxshop.state.cart import CartState
from rxshop.state.checkout import CheckoutState
from rxshop.state.visitor import VisitorState


def cart_summary() -> rx.Component:
    return rx.card(
        rx.vstack(
            rx.heading("Your cart", as_="h2", size="5"),
            rx.cond(
                CartState.is_empty,
                rx.text(
                    "Your cart is empty. Pick a quantity for any product above.", color=rx.color("gray", 11)
                ),
                rx.el.ul(
                    rx.foreach(
                        CartState.summary_lines,
                        lambda line: rx.el.li(
                            rx.hstack(
                                rx.text(line["quantity"], " × ", line["name"]),
                                rx.spacer(),
                                rx.text(line["subtotal"]),
                                width="100%",
                            )
                        ),
                    ),
                    class_name="cart-lines",
                ),
            ),
            rx.separator(),
            rx.hstack(
                # Shipping and any promotion code are settled on Stripe's page, so this is not yet the total.
                rx.text("Subtotal", weight="bold", size="4"),
                rx.spacer(),
                rx.text(CartState.total_label, weight="bold", size="5", id="cart-total"),
                width="100%",
                align="center",
                # Announced to screen readers whenever the total changes.
                aria_live="polite",
                aria_atomic="true",
            ),
            rx.text(CartState.shipping_note, size="2", color=rx.color("gray", 11), id="shipping-note"),
            rx.cond(
                CartState.notice != "",
                rx.callout(
                    CartState.notice, icon="triangle-alert", color_scheme="amber", role="alert", width="100%"
                ),
            ),
            rx.cond(
                CheckoutState.error != "",
                rx.callout(
                    CheckoutState.error,
                    icon="circle-alert",
                    color_scheme="red",
                    role="alert",
                    width="100%",
                    id="checkout-error",
                ),
            ),
            rx.button(
                rx.cond(
                    CheckoutState.busy,
                    rx.hstack(rx.spinner(size="2"), rx.text("Starting secure checkout…"), align="center"),
                    rx.text("Buy"),
                ),
                on_click=CheckoutState.buy,
                # Until this connection carries a credential (none when the browser keeps no cookie).
                disabled=CartState.is_empty | CheckoutState.busy | ~VisitorState.ready,
                size="3",
                width="100%",
                id="buy-button",
                aria_busy=CheckoutState.busy,
            ),
            rx.text(
                "On Stripe's secure checkout page you give the delivery address, choose the shipping and "
                "may enter a promotion code; then you pay and come straight back here.",
                size="1",
                color=rx.color("gray", 11),
            ),
            spacing="3",
            width="100%",
        ),
        size="3",
        width="100%",
        id="cart",
    )
