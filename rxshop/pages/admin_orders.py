"""/admin/orders (the table: filters, search, sort, pages, CSV) and /admin/order?id= (one order, ship, refund)."""

import reflex as rx

from rxshop.components.admin_frame import (
    admin_frame,
    field,
    message,
    muted,
    scroll_region,
    section,
    status_badge,
    text_input,
)
from rxshop.components.admin_messages import messages_section
from rxshop.core import routes
from rxshop.domain.lifecycle import OrderStatus
from rxshop.state.admin_order import AdminOrderState
from rxshop.state.admin_orders import AdminOrdersState

COLUMNS = (  # label, sort key ("" = not sortable)
    ("Order", "number"),
    ("Date", "created_at"),
    ("Email", "customer_email"),
    ("Items", ""),
    ("Total", "amount_total"),
    ("Status", "status"),
)


def _select(label: str, name: str, id: str, options: list[tuple[str, str]], value: rx.Var) -> rx.Component:
    return field(
        label,
        rx.el.select(
            *[rx.el.option(text, value=key) for key, text in options],
            name=name,
            id=id,
            default_value=value,
            class_name="admin-select",
        ),
        id,
    )


def filters() -> rx.Component:
    S = AdminOrdersState
    return rx.el.form(
        rx.flex(
            _select(
                "Status",
                "status",
                "filter-status",
                [("all", "All placed orders")] + [(s.value, s.label) for s in OrderStatus],
                rx.cond(S.status == "", "all", S.status),
            ),
            _select(
                "Shipping",
                "fulfillment",
                "filter-fulfillment",
                [("all", "Any"), ("unfulfilled", "Not shipped"), ("shipped", "Shipped")],
                rx.cond(S.fulfillment == "", "all", S.fulfillment),
            ),
            text_input("From (UTC day)", "date_from", "filter-from", type="date", default_value=S.date_from),
            text_input("To (UTC day)", "date_to", "filter-to", type="date", default_value=S.date_to),
            text_input(
                "Search: order number, email or Stripe session id",
                "search",
                "filter-search",
                type="search",
                default_value=S.search,
                min_width="16em",
            ),
            wrap="wrap",
            gap="3",
            align="end",
        ),
        rx.hstack(
            rx.button("Apply", type="submit"),
            rx.button("Clear", type="button", variant="soft", high_contrast=True, on_click=S.clear_filters),
            rx.button(
                "Download CSV", type="button", variant="outline", high_contrast=True, on_click=S.download_csv
            ),
            wrap="wrap",
            spacing="3",
            margin_top="0.75em",
        ),
        rx.text(S.filter_error, role="alert", color=rx.color("red", 11), size="2"),
        on_submit=S.apply_filters,
        aria_label="Filter orders",
        width="100%",
        key=S.form_key,  # Clear draws the form again with empty fields
    )


def _header(label: str, key: str) -> rx.Component:
    S = AdminOrdersState
    if not key:
        return rx.table.column_header_cell(label)
    active = S.sort == key
    arrow = rx.cond(active, rx.cond(S.descending, " ↓", " ↑"), "")
    return rx.table.column_header_cell(
        rx.button(
            label,
            arrow,
            variant="ghost",
            high_contrast=True,
            size="1",
            on_click=S.sort_by(key),
            aria_label=f"Sort by {label}",
        ),
        aria_sort=rx.cond(active, rx.cond(S.descending, "descending", "ascending"), "none"),
    )


def _row(row: rx.Var) -> rx.Component:
    return rx.table.row(
        rx.table.row_header_cell(
            rx.link(row.number, href=routes.ADMIN_ORDER_LINK + row.id, high_contrast=True)
        ),
        rx.table.cell(row.date, white_space="nowrap"),
        rx.table.cell(row.email),
        rx.table.cell(row.summary),
        rx.table.cell(row.total, white_space="nowrap"),
        rx.table.cell(
            rx.hstack(
                status_badge(row.status, row.status_label),
                rx.cond(
                    row.shipped, rx.badge("Shipped", color_scheme="blue", variant="soft", high_contrast=True)
                ),
                wrap="wrap",
            )
        ),
        class_name="admin-order-row",
        data_order_id=row.id,
        data_status=row.status,
        data_shipped=row.shipped,
    )


def orders_table() -> rx.Component:
    S = AdminOrdersState
    return rx.vstack(
        filters(),
        message(rx.cond(S.loaded, S.total_count.to_string() + " orders", ""), "orders-count"),
        scroll_region(
            "Orders table",
            rx.table.root(
                rx.table.header(rx.table.row(*[_header(label, key) for label, key in COLUMNS])),
                rx.table.body(rx.foreach(S.rows, _row)),
                variant="surface",
                size="1",
                width="100%",
            ),
        ),
        rx.hstack(
            rx.button(
                "Previous",
                on_click=S.go_to_page(S.page - 1),
                disabled=S.page == 0,
                variant="soft",
                high_contrast=True,
            ),
            rx.text("Page ", S.page + 1, " of ", S.page_count, size="2"),
            rx.button(
                "Next",
                on_click=S.go_to_page(S.page + 1),
                disabled=S.page + 1 >= S.page_count,
                variant="soft",
                high_contrast=True,
            ),
            align="center",
        ),
        spacing="4",
        width="100%",
    )


def admin_orders() -> rx.Component:
    return admin_frame("Orders", orders_table(), AdminOrdersState.load)


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
            messages_section(),
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
