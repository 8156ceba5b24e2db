"""My Orders: the visitor's orders, newest first, following changes live (OrdersState is shared per visitor)."""

import reflex as rx

from rxshop.lifecycle import OrderStatus
from rxshop.state.orders import OrdersState

S = OrderStatus
BADGE_COLORS: dict[OrderStatus, str] = {
    S.PAID: "grass",
    S.PROCESSING: "amber",
    S.PENDING: "gray",
    S.FAILED: "red",
    S.EXPIRED: "gray",
    S.PARTIALLY_REFUNDED: "violet",
    S.REFUNDED: "violet",
}


def status_badge(status: rx.Var, label: rx.Var) -> rx.Component:
    return rx.match(
        status,
        *[
            (name, rx.badge(label, color_scheme=color, size="2", variant="soft"))
            for name, color in BADGE_COLORS.items()
        ],
        rx.badge(label, size="2"),
    )


def _order_item(order: rx.Var, highlight_id: rx.Var | str) -> rx.Component:
    return rx.el.li(
        rx.card(
            rx.hstack(
                rx.vstack(
                    rx.text(order.summary, weight="medium"),
                    rx.text(order.date, size="1", color=rx.color("gray", 11)),
                    rx.cond(
                        order.refunded != "",
                        rx.text("Refunded ", order.refunded, size="1", color=rx.color("violet", 11)),
                    ),
                    spacing="1",
                    align="start",
                ),
                rx.spacer(),
                rx.vstack(
                    rx.text(order.total, weight="bold", class_name="order-total"),
                    status_badge(order.status, order.status_label),
                    align="end",
                    spacing="1",
                ),
                width="100%",
                align="center",
                wrap="wrap",
            ),
            variant=rx.cond(order.id == highlight_id, "classic", "surface"),
            border=rx.cond(order.id == highlight_id, f"2px solid {rx.color('grass', 8)}", "none"),
        ),
        class_name="order-item",
        data_order_id=order.id,
        data_status=order.status,
        aria_current=rx.cond(order.id == highlight_id, "true", "false"),
    )


def order_list(highlight_id: rx.Var | str = "", *, with_heading: bool = True) -> rx.Component:
    """The list, in a section named by its heading (the page's own h1 when `with_heading` is False)."""
    return rx.el.section(
        rx.heading("My Orders", as_="h2", size="5", id="my-orders-heading")
        if with_heading
        else rx.fragment(),
        rx.cond(
            ~OrdersState.loaded,
            rx.hstack(rx.spinner(), rx.text("Loading your orders…"), align="center"),
            rx.cond(
                OrdersState.total_count == 0,
                rx.vstack(
                    rx.text("No orders yet. When you buy something it shows up here at once."),
                    rx.link("Browse the shop", href="/", high_contrast=True),
                    class_name="orders-empty",
                ),
                rx.vstack(
                    rx.el.ul(
                        rx.foreach(OrdersState.orders, lambda order: _order_item(order, highlight_id)),
                        class_name="order-list",
                        aria_live="polite",
                    ),
                    rx.cond(
                        OrdersState.page_count > 1,
                        rx.hstack(
                            rx.button(
                                "Newer",
                                on_click=OrdersState.go_to_page(OrdersState.page - 1),
                                disabled=~OrdersState.has_previous,
                                variant="soft",
                            ),
                            rx.text("Page ", OrdersState.page + 1, " of ", OrdersState.page_count, size="2"),
                            rx.button(
                                "Older",
                                on_click=OrdersState.go_to_page(OrdersState.page + 1),
                                disabled=~OrdersState.has_next,
                                variant="soft",
                            ),
                            align="center",
                            justify="center",
                            width="100%",
                        ),
                    ),
                    width="100%",
                ),
            ),
        ),
        aria_labelledby="my-orders-heading",
        width="100%",
    )
