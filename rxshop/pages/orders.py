"""My Orders: the visitor's orders, live."""

import reflex as rx

from rxshop.components.find_orders import find_orders
from rxshop.components.layout import page_frame
from rxshop.components.order_list import order_list
from rxshop.state.visitor import VisitorState


def forget_this_browser() -> rx.Component:
    """Forget this browser, after saying what it means (it cannot be undone from here)."""
    return rx.alert_dialog.root(
        rx.alert_dialog.trigger(rx.button("Forget this browser", variant="soft", color_scheme="gray")),
        rx.alert_dialog.content(
            rx.alert_dialog.title("Forget this browser?"),
            rx.alert_dialog.description(
                "This browser will no longer show these orders and will start as a new visitor. "
                "The orders themselves are kept by the shop, and paid orders are still shipped."
            ),
            rx.hstack(
                rx.alert_dialog.cancel(rx.button("Keep my orders here", variant="soft", color_scheme="gray")),
                rx.alert_dialog.action(
                    rx.button("Forget this browser", color_scheme="red", on_click=VisitorState.forget)
                ),
                spacing="3",
                justify="end",
                margin_top="1em",
            ),
        ),
    )


def orders_page() -> rx.Component:
    return page_frame(
        rx.vstack(
            rx.heading("My Orders", as_="h1", size="7", id="my-orders-heading"),
            rx.text(
                "Orders paid in this browser. Changes (payment confirmed, refunds) appear here on their own.",
                color=rx.color("gray", 11),
            ),
            order_list(with_heading=False),
            find_orders(),
            rx.box(forget_this_browser(), padding_top="1em"),
            spacing="4",
            width="100%",
            max_width="760px",
        )
    )
