"""/order?key=...: one order from the secret link in its emails, live, with nothing else of the shop's data."""

import reflex as rx

from rxshop.components.layout import page_frame
from rxshop.components.order_list import order_card
from rxshop.core import routes
from rxshop.state.order_link import OrderLinkState


def _not_found() -> rx.Component:
    return rx.vstack(
        rx.callout(
            "This link does not work. It may have been replaced by a newer one: look for the latest email "
            "about your order.",
            icon="link-2-off",
            color_scheme="amber",
            role="status",
            id="order-link-invalid",
        ),
        rx.text(
            "Your orders are also on ",
            rx.link("My Orders", href=routes.ORDERS, high_contrast=True),
            " in the browser you paid with, and you can find them there from any browser with the email "
            "address you paid with.",
        ),
        spacing="3",
        align="start",
    )


def order_link_page() -> rx.Component:
    return page_frame(
        rx.vstack(
            rx.heading("Your order", as_="h1", size="7", id="order-link-heading"),
            rx.cond(
                ~OrderLinkState.loaded,
                rx.hstack(rx.spinner(), rx.text("Loading your order…"), align="center"),
                rx.cond(
                    OrderLinkState.orders.length() > 0,
                    rx.vstack(
                        rx.text(
                            "This page follows the order as it changes. Keep its address to yourself: "
                            "whoever has it can see the order.",
                            color=rx.color("gray", 11),
                        ),
                        rx.el.ul(
                            rx.foreach(OrderLinkState.orders, lambda order: order_card(order, order.id)),
                            class_name="order-list",
                            aria_live="polite",
                        ),
                        width="100%",
                    ),
                    _not_found(),
                ),
            ),
            spacing="4",
            width="100%",
            max_width="760px",
        )
    )
