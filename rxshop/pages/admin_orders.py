"""/admin/orders: the table (filters, search, sort, pages, CSV). One order is rxshop.pages.admin_order."""

import reflex as rx

from rxshop.components.admin_frame import (
    admin_frame,
    field,
    message,
    scroll_region,
    status_badge,
    text_input,
)
from rxshop.core import routes
from rxshop.domain.lifecycle import OrderStatus
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
