"""A product: picture, name, description, price, quantity control and line subtotal."""

import reflex as rx

from rxshop.domain.catalog import Product, format_money
from rxshop.state.cart import CartState
from rxshop.state.live_stock import StockState


def quantity_control(product: Product) -> rx.Component:
    count = CartState.counts[product.id]
    return rx.hstack(
        rx.icon_button(
            rx.icon("minus", size=16, aria_hidden="true"),
            on_click=CartState.decrement(product.id),
            disabled=count <= 0,
            variant="soft",
            aria_label=f"Decrease quantity of {product.name}",
            type="button",
        ),
        rx.input(
            value=count.to_string(),
            on_change=lambda value: CartState.set_quantity(product.id, value),
            # Text with a numeric keypad, not type="number": Chromium turns "e", "-" or letters in a
            # number field into an empty value (= 0, dropping the line) instead of showing what was typed.
            type="text",
            input_mode="numeric",
            pattern="[0-9]*",
            auto_complete="off",
            aria_label=f"Quantity of {product.name}",
            id=f"qty-{product.id}",
            width="4.5em",
            text_align="center",
        ),
        rx.icon_button(
            rx.icon("plus", size=16, aria_hidden="true"),
            on_click=CartState.increment(product.id),
            disabled=count >= StockState.left[product.id],  # what is free, at most MAX_QUANTITY
            variant="soft",
            aria_label=f"Increase quantity of {product.name}",
            type="button",
        ),
        align="center",
        spacing="2",
    )


def stock_badge(product: Product) -> rx.Component:
    """ "Only 3 left" / "Sold out", live (rxshop.state.live_stock); an empty live region otherwise."""
    badge = StockState.badges[product.id]
    return rx.box(
        rx.cond(
            badge != "",
            rx.badge(
                badge,
                color_scheme=rx.cond(badge == "Sold out", "red", "amber"),
                size="2",
                variant="soft",
                high_contrast=True,
            ),
        ),
        role="status",
        id=f"stock-{product.id}",
    )


def product_card(product: Product) -> rx.Component:
    return rx.card(
        rx.vstack(
            rx.image(
                src=product.image,
                alt=f"Illustration of the {product.name}",
                width="100%",
                height="auto",
                aspect_ratio="4 / 3",
                border_radius="var(--radius-3)",
            ),
            rx.heading(product.name, as_="h2", size="5"),
            rx.text(product.description, size="2", color=rx.color("gray", 11)),
            rx.text(
                format_money(product.unit_amount),
                size="4",
                weight="bold",
                aria_label=f"Price {format_money(product.unit_amount)}",
            ),
            stock_badge(product),
            rx.hstack(
                quantity_control(product),
                rx.spacer(),
                rx.text(
                    "Subtotal ",
                    rx.text.strong(CartState.subtotals[product.id]),
                    size="2",
                    id=f"subtotal-{product.id}",
                ),
                align="center",
                width="100%",
                wrap="wrap",
                spacing="3",
            ),
            spacing="3",
            height="100%",
        ),
        size="2",
        as_child=False,
        class_name="product-card",
        id=f"product-{product.id}",
    )
