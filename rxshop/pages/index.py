"""The shop page: three products, quantities, the cart and Buy."""

import reflex as rx

from rxshop.components.cart_summary import cart_summary
from rxshop.components.layout import page_frame
from rxshop.components.product_card import product_card
from rxshop.domain.catalog import PRODUCTS


def index() -> rx.Component:
    return page_frame(
        rx.vstack(
            rx.heading("Small goods for slow mornings", as_="h1", size="8"),
            rx.text(
                "Pick how many of each you'd like, then press Buy once for the whole cart.",
                size="3",
                color=rx.color("gray", 11),
            ),
            rx.grid(
                *[product_card(p) for p in PRODUCTS],
                columns=rx.breakpoints(initial="1", sm="2", md="3"),
                spacing="4",
                width="100%",
            ),
            rx.box(cart_summary(), width="100%", max_width="520px", margin_left="auto"),
            spacing="5",
            width="100%",
        )
    )
