"""My Orders: the visitor's orders, newest first, following changes live (rxshop.state.live refreshes each listening tab)."""

import reflex as rx

from rxshop.core import routes
from rxshop.domain.lifecycle import OrderStatus
from rxshop.orders.views import FulfillmentStatus
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


def _amount_row(label, amount, *, class_name: str, strong: bool = False) -> rx.Component:
    """One line of the order's money: a <dt>/<dd> pair in a div (allowed inside <dl>)."""
    weight = "bold" if strong else "regular"
    return rx.el.div(
        rx.el.dt(rx.text(label, as_="span", weight=weight)),
        rx.el.dd(rx.text(amount, as_="span", weight=weight), margin="0"),
        class_name=f"amount-row {class_name}",
    )


def _fulfillment(order: rx.Var) -> rx.Component:
    """'Paid — preparing your order', then 'Shipped' with carrier and tracking number (a link only when
    shipping.tracking_url could build one safely)."""
    return rx.cond(
        order.fulfillment_text != "",
        rx.text(
            rx.text.strong(order.fulfillment_text),
            rx.cond(
                order.fulfillment == FulfillmentStatus.SHIPPED,
                rx.fragment(
                    rx.cond(order.shipped_on != "", rx.fragment(" on ", order.shipped_on)),
                    " with ",
                    order.carrier,
                    ", tracking number ",
                    rx.el.span(order.tracking_number, class_name="tracking-number"),
                    rx.cond(
                        order.tracking_url != "",
                        rx.fragment(
                            " (",
                            rx.link("track the parcel", href=order.tracking_url, high_contrast=True),
                            ")",
                        ),
                    ),
                ),
            ),
            size="2",
            class_name="fulfillment",
            data_fulfillment=order.fulfillment,
        ),
    )


def _details(order: rx.Var, highlight_id: rx.Var | str) -> rx.Component:
    """Items, money lines and the address, folded away (a native disclosure: keyboard and screen readers
    know it) so the list stays short; open for the order the return page is about."""
    return rx.el.details(
        rx.el.summary(
            "Details of order ", order.number, class_name="order-details-toggle", font_weight="500"
        ),
        rx.flex(
            rx.el.dl(
                rx.foreach(
                    order.item_lines,
                    lambda item: _amount_row(item.text, item.amount, class_name="item-line"),
                ),
                _amount_row("Subtotal", order.subtotal, class_name="subtotal-line"),
                rx.cond(
                    order.shipping_name != "",
                    _amount_row(
                        rx.fragment("Shipping (", order.shipping_name, ")"),
                        order.shipping,
                        class_name="shipping-line",
                    ),
                ),
                rx.cond(
                    order.discount != "",
                    _amount_row("Discount", order.discount, class_name="discount-line"),
                ),
                _amount_row("Total", order.total, class_name="total-line", strong=True),
                rx.cond(
                    order.refunded != "",
                    _amount_row("Refunded", order.refunded, class_name="refunded-line"),
                ),
                class_name="order-amounts",
            ),
            rx.cond(
                order.ship_to.length() > 0,
                rx.box(
                    rx.text("Ships to", weight="medium", size="2"),
                    rx.el.p(
                        rx.foreach(order.ship_to, lambda line: rx.el.span(line, display="block")),
                        class_name="ship-to",
                        margin="0",
                    ),
                    min_width="12em",
                ),
            ),
            gap="4",
            wrap="wrap",
            padding_top="0.5em",
        ),
        open=order.id == highlight_id,
        class_name="order-details",
        width="100%",
    )


def _order_item(order: rx.Var, highlight_id: rx.Var | str) -> rx.Component:
    return rx.el.li(
        rx.card(
            rx.vstack(
                rx.hstack(
                    rx.vstack(
                        rx.text(
                            "Order ", rx.el.span(order.number, class_name="order-number"), weight="medium"
                        ),
                        rx.text(order.summary),
                        rx.text(order.date, size="1", color=rx.color("gray", 11)),
                        _fulfillment(order),
                        rx.cond(
                            order.refunded != "",
                            rx.text("Refunded ", order.refunded, size="1", color=rx.color("violet", 11)),
                        ),
                        spacing="1",
                        align="start",
                        min_width="0",
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
                _details(order, highlight_id),
                spacing="2",
                width="100%",
            ),
            variant=rx.cond(order.id == highlight_id, "classic", "surface"),
            border=rx.cond(order.id == highlight_id, f"2px solid {rx.color('grass', 8)}", "none"),
        ),
        class_name="order-item",
        data_order_id=order.id,
        data_status=order.status,
        data_fulfillment=order.fulfillment,
        aria_current=rx.cond(order.id == highlight_id, "true", "false"),
    )


# One order's card, for the pages that show orders of another list (the order link, orders found by email).
order_card = _order_item


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
                    rx.link("Browse the shop", href=routes.HOME, high_contrast=True),
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
