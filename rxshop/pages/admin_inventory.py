"""/admin/inventory: each product's stock (for sale, held by open checkouts, free) and the owner's counts;
and the one-click refund button an oversold order shows in the exceptions inbox."""

import reflex as rx

from rxshop.components.admin_frame import admin_frame, message, muted
from rxshop.state.admin_inventory import AdminInventoryState

_STATUS_COLORS = {"in_stock": "grass", "low": "amber", "sold_out": "red", "untracked": "gray"}


def _number(label: str, name: str, id: rx.Var, value: rx.Var) -> rx.Component:
    return rx.vstack(
        rx.el.label(label, html_for=id, class_name="admin-label"),
        rx.input(
            name=name,
            id=id,
            default_value=value.to_string(),
            input_mode="numeric",
            pattern="[0-9]*",
            max_length=9,
            required=True,
            width="8em",
        ),
        spacing="1",
    )


def _product(row: rx.Var) -> rx.Component:
    return rx.el.li(
        rx.card(
            rx.vstack(
                rx.hstack(
                    rx.heading(row.name, as_="h2", size="4"),
                    rx.match(
                        row.status,
                        *[
                            (status, rx.badge(row.status_label, color_scheme=color, high_contrast=True))
                            for status, color in _STATUS_COLORS.items()
                        ],
                        rx.badge(row.status_label, high_contrast=True),
                    ),
                    align="center",
                    wrap="wrap",
                ),
                rx.cond(
                    row.tracked,
                    rx.text(
                        rx.text.strong(row.quantity),
                        " for sale · ",
                        rx.text.strong(row.reserved),
                        " held by open checkouts · ",
                        rx.text.strong(row.free),
                        " free",
                        class_name="stock-figures",
                    ),
                    muted("Not counted: it never sells out."),
                ),
                rx.el.form(
                    rx.el.input(type="hidden", name="product_id", value=row.product_id),
                    rx.flex(
                        rx.el.label(
                            rx.el.input(
                                type="checkbox",
                                name="tracked",
                                id="stock-tracked-" + row.product_id,
                                default_checked=row.tracked,
                            ),
                            " Count its stock",
                            html_for="stock-tracked-" + row.product_id,
                        ),
                        _number(
                            "Units for sale", "quantity", "stock-quantity-" + row.product_id, row.quantity
                        ),
                        _number("Low at", "low_threshold", "stock-low-" + row.product_id, row.low_threshold),
                        rx.button("Save", type="submit", aria_label="Save " + row.name),
                        wrap="wrap",
                        gap="3",
                        align="end",
                    ),
                    on_submit=AdminInventoryState.save,
                    aria_label="Stock of " + row.name,
                    key=row.key,
                    width="100%",
                ),
                spacing="3",
                width="100%",
            ),
        ),
        class_name="stock-item",
        data_product=row.product_id,
    )


def inventory_view() -> rx.Component:
    S = AdminInventoryState
    return rx.vstack(
        muted(
            "Units for sale are what you can still sell: held ones included, paid ones not. A Buy holds its "
            "units for as long as its checkout is open (up to 41 minutes), so free = for sale − held. "
            "At or below its low mark, the shop says “Only N left” and a sale puts the product in Exceptions."
        ),
        message(S.message, "inventory-message"),
        rx.el.ul(rx.foreach(S.rows, _product), class_name="admin-list stock-list"),
        spacing="4",
        width="100%",
    )


def admin_inventory() -> rx.Component:
    return admin_frame("Inventory", inventory_view(), AdminInventoryState.load)


def oversold_refund(item: rx.Var) -> rx.Component:
    """For an oversold order in the inbox: refund what remains of it, put back what its sale took."""
    S = AdminInventoryState
    return rx.vstack(
        rx.button(
            "Refund this order in full",
            on_click=S.refund_oversold(item.order_id),
            color_scheme="red",
            high_contrast=True,
            type="button",
        ),
        rx.cond(S.refund_order_id == item.order_id, message(S.refund_message, "oversold-refund-message")),
        spacing="2",
    )
