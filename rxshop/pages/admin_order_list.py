"""/admin/orders: the order table (tabs with counts, filters, search, sort, pages, CSV); one order is
rxshop.pages.admin_orders."""

import reflex as rx

from rxshop.components.admin_frame import admin_frame, field, message, scroll_region, status_badge, text_input
from rxshop.core import routes
from rxshop.domain.lifecycle import OrderStatus
from rxshop.state.admin_orders import AdminOrdersState

COLUMNS = (  # label, sort key ("" = not sortable)
    ("Order", "number"),
    ("Date", "created_at"),
    ("Customer", "customer_email"),
    ("Items", ""),
    ("Shipping", ""),
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
                "Shipped",
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
    """Every header looks alike; the sortable ones are buttons inside (with aria-sort on the cell)."""
    S = AdminOrdersState
    if not key:
        return rx.table.column_header_cell(rx.text(label, class_name="admin-th"))
    active = S.sort == key
    arrow = rx.cond(active, rx.cond(S.descending, " ↓", " ↑"), "")
    return rx.table.column_header_cell(
        rx.el.button(
            label,
            arrow,
            type="button",
            on_click=S.sort_by(key),
            aria_label=f"Sort by {label}",
            class_name="admin-th admin-th-sort",
        ),
        aria_sort=rx.cond(active, rx.cond(S.descending, "descending", "ascending"), "none"),
    )


def _row(row: rx.Var) -> rx.Component:
    """The whole row opens the order: the number is a real link whose area covers the row (CSS)."""
    return rx.table.row(
        rx.table.row_header_cell(
            rx.link(
                row.number, href=routes.ADMIN_ORDER_LINK + row.id, high_contrast=True, class_name="row-link"
            ),
            white_space="nowrap",
        ),
        rx.table.cell(row.date, white_space="nowrap"),
        rx.table.cell(
            rx.cond(row.customer != "", rx.text(row.customer, weight="medium")),
            rx.text(row.email, size="1", color=rx.color("gray", 11)),
            class_name="admin-break",
            min_width="10em",
        ),
        rx.table.cell(row.summary, min_width="10em"),
        rx.table.cell(rx.cond(row.shipping_method != "", row.shipping_method, "—")),
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


def _tab(tab: rx.Var) -> rx.Component:
    S = AdminOrdersState
    current = S.tab == tab.key
    return rx.el.li(
        rx.el.a(
            tab.label,
            rx.el.span(tab.count, class_name="order-tab-count"),
            href=tab.href,
            aria_current=rx.cond(current, "page", "false"),
            class_name="order-tab",
            data_tab=tab.key,
        )
    )


def tabs() -> rx.Component:
    """All / Awaiting payment / To ship / Shipped / Refunded, each with its count (links: ?tab=)."""
    return rx.el.nav(
        rx.el.ul(rx.foreach(AdminOrdersState.tabs, _tab), class_name="order-tabs"),
        aria_label="Order views",
        width="100%",
    )


def orders_table() -> rx.Component:
    S = AdminOrdersState
    return rx.vstack(
        tabs(),
        filters(),
        message(S.count_text, "orders-count"),
        scroll_region(
            "Orders table (scrolls sideways)",
            rx.table.root(
                rx.table.header(rx.table.row(*[_header(label, key) for label, key in COLUMNS])),
                rx.table.body(rx.foreach(S.rows, _row)),
                variant="surface",
                size="1",
                width="100%",
                class_name="orders-table",
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
