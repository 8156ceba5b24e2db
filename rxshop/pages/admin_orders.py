"""/admin/order?id= (one order, ship, refund); the table of orders is rxshop.pages.admin_order_list."""

import reflex as rx

from rxshop.components.admin_frame import (
    admin_frame,
    message,
    muted,
    scroll_region,
    section,
    status_badge,
    text_input,
)
from rxshop.core import routes
from rxshop.state.admin_order import AdminOrderState

# --- One order ---------------------------------------------------------------------------------------------


def _pairs(rows: rx.Var, id: str) -> rx.Component:
    return rx.el.dl(
        rx.foreach(rows, lambda r: rx.fragment(rx.el.dt(r.label), rx.el.dd(r.text))),
        class_name="admin-pairs",
        id=id,
    )


def _lines() -> rx.Component:
    S = AdminOrderState
    return scroll_region(
        "Order lines",
        rx.table.root(
            rx.table.header(
                rx.table.row(
                    *[rx.table.column_header_cell(h) for h in ("Product", "Quantity", "Price", "Amount")]
                )
            ),
            rx.table.body(
                rx.foreach(
                    S.lines,
                    lambda x: rx.table.row(
                        rx.table.row_header_cell(x.name),
                        rx.table.cell(x.quantity),
                        rx.table.cell(x.unit),
                        rx.table.cell(x.amount),
                    ),
                )
            ),
            size="1",
            width="100%",
        ),
    )


def ship_form() -> rx.Component:
    S = AdminOrderState
    return section(
        "Ship",
        rx.cond(
            S.can_ship,
            rx.el.form(
                rx.flex(
                    text_input("Carrier", "carrier", "ship-carrier", required=True, max_length=100),
                    text_input(
                        "Tracking number", "tracking_number", "ship-tracking", required=True, max_length=100
                    ),
                    rx.button("Mark shipped", type="submit"),
                    wrap="wrap",
                    gap="3",
                    align="end",
                ),
                on_submit=S.ship,
                aria_label="Ship this order",
            ),
            muted("Only paid orders can be shipped."),
        ),
        message(S.ship_message, "ship-message"),
        id="ship",
    )


def refund_form() -> rx.Component:
    S = AdminOrderState
    return section(
        "Refund",
        rx.cond(
            S.can_refund,
            rx.vstack(
                muted("Up to ", rx.text.strong(S.refundable, id="refundable"), " can be refunded."),
                rx.cond(
                    S.refund_open,
                    rx.el.form(
                        rx.flex(
                            text_input(
                                "Amount to refund (e.g. 10.50)",
                                "amount",
                                "refund-amount",
                                required=True,
                                input_mode="decimal",
                                max_length=20,
                            ),
                            rx.el.label(  # the owner's choice: the refunded units go back on sale
                                rx.el.input(type="checkbox", name="restock", id="refund-restock"),
                                " Put the items back in stock",
                                html_for="refund-restock",
                            ),
                            rx.button("Refund", type="submit", color_scheme="red", high_contrast=True),
                            rx.button(
                                "Cancel",
                                type="button",
                                variant="soft",
                                high_contrast=True,
                                on_click=S.close_refund,
                            ),
                            wrap="wrap",
                            gap="3",
                            align="end",
                        ),
                        on_submit=S.refund,
                        aria_label="Refund this order",
                    ),
                    rx.button(
                        "Refund…",
                        on_click=S.open_refund,
                        variant="outline",
                        high_contrast=True,
                        color_scheme="red",
                    ),
                ),
                width="100%",
            ),
            muted("Nothing left to refund."),
        ),
        message(S.refund_message, "refund-message"),
        rx.cond(
            S.refunds.length() > 0,
            rx.el.ul(
                rx.foreach(S.refunds, lambda r: rx.el.li(r.at, " · ", r.label, " · ", r.text)),
                class_name="admin-list",
                id="refund-requests",
            ),
        ),
        id="refund",
    )


def detail() -> rx.Component:
    S = AdminOrderState
    return rx.cond(
        S.found,
        rx.vstack(
            rx.hstack(
                rx.heading(S.number, as_="h2", size="5", id="order-number"),
                rx.box(status_badge(S.status, S.status_label), id="order-status", data_status=S.status),
                align="center",
                wrap="wrap",
            ),
            section("Items", _lines(), id="lines"),
            section("Amounts", _pairs(S.amounts, "order-amounts"), id="amounts"),
            section("Details", _pairs(S.facts, "order-facts"), id="facts"),
            section(
                "Shipping address",
                rx.cond(
                    S.address.length() > 0,
                    rx.el.address(rx.foreach(S.address, lambda line: rx.text(line)), id="ship-address"),
                    muted("No address."),
                ),
                id="address",
            ),
            section(
                "Stripe",
                _pairs(S.stripe_ids, "stripe-ids"),
                rx.foreach(
                    S.stripe_links,
                    lambda x: rx.link(x.label, " in the Stripe Dashboard", href=x.text, high_contrast=True),
                ),
                id="stripe",
            ),
            ship_form(),
            refund_form(),
            section(
                "Timeline",
                rx.el.ol(
                    rx.foreach(
                        S.timeline, lambda e: rx.el.li(rx.text.strong(e.at), " ", e.label, ": ", e.text)
                    ),
                    class_name="admin-list",
                    id="timeline",
                ),
                id="timeline",
            ),
            spacing="5",
            width="100%",
        ),
        rx.cond(S.loaded, rx.text("There is no such order.", role="status"), rx.spinner()),
    )


def admin_order() -> rx.Component:
    return admin_frame(
        "Order",
        rx.vstack(
            rx.link("← All orders", href=routes.ADMIN_ORDERS, high_contrast=True), detail(), width="100%"
        ),
        AdminOrderState.load,
    )
