"""My Orders: the visitor's orders, live."""

import reflex as rx

from rxshop.components.layout import page_frame
from rxshop.components.order_list import order_list


def orders_page() -> rx.Component:
    return page_frame(
        rx.vstack(
            rx.heading("My Orders", as_="h1", size="7", id="my-orders-heading"),
            rx.text(
                "Orders paid in this browser. Changes (payment confirmed, refunds) appear here on their own.",
                color=rx.color("gray", 11),
            ),
            order_list(with_heading=False),
            spacing="4",
            width="100%",
            max_width="760px",
        )
    )
