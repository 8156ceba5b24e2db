"""/admin/revenue (paid revenue per day as a bar chart and a table, totals per product) and /admin/exceptions."""

import reflex as rx

from rxshop.components.admin_frame import admin_frame, message, muted, scroll_region, section, text_input
from rxshop.core import routes
from rxshop.pages.admin_inventory import oversold_refund
from rxshop.state.admin_reports import AdminInboxState, AdminRevenueState


def _figure(label: str, value: rx.Var, id: str) -> rx.Component:
    return rx.card(
        rx.vstack(
            muted(label),
            rx.text(value, size="5", weight="bold", id=id, class_name="admin-break"),
            spacing="1",
        ),
        flex="1",
    )


def _bar(day: rx.Var) -> rx.Component:
    return rx.box(
        rx.box(height=day.height.to_string() + "%", class_name="admin-bar-fill"),
        class_name="admin-bar",
        title=day.day + ": " + day.revenue,
    )


def chart() -> rx.Component:
    """Bars drawn with CSS (heights from the server): no charting library, and the table below says it all."""
    S = AdminRevenueState
    return rx.el.figure(
        rx.box(rx.foreach(S.days, _bar), class_name="admin-chart", aria_hidden="true"),
        rx.el.figcaption(
            muted(
                "Paid revenue per day, ",
                S.start,
                " to ",
                S.end,
                " (UTC). The figures are in the table below.",
            )
        ),
        margin="0",
        width="100%",
    )


def day_table() -> rx.Component:
    S = AdminRevenueState
    return scroll_region(
        "Revenue per day",
        rx.table.root(
            rx.table.header(
                rx.table.row(
                    *[
                        rx.table.column_header_cell(h)
                        for h in ("Day", "Orders", "Revenue", "Discounts", "Refunds")
                    ]
                )
            ),
            rx.table.body(
                rx.foreach(
                    S.days,
                    lambda d: rx.table.row(
                        rx.table.row_header_cell(d.day),
                        rx.table.cell(d.orders),
                        rx.table.cell(d.revenue),
                        rx.table.cell(d.discounts),
                        rx.table.cell(d.refunds),
                        class_name="revenue-day",
                        data_day=d.day,
                    ),
                )
            ),
            size="1",
            width="100%",
        ),
    )


def revenue_view() -> rx.Component:
    S = AdminRevenueState
    return rx.vstack(
        rx.el.form(
            rx.flex(
                text_input("From (UTC day)", "start", "range-start", type="date", default_value=S.start),
                text_input("To (UTC day)", "end", "range-end", type="date", default_value=S.end),
                rx.button("Show", type="submit"),
                wrap="wrap",
                gap="3",
                align="end",
            ),
            rx.text(S.range_error, role="alert", color=rx.color("red", 11), size="2"),
            on_submit=S.set_range,
            aria_label="Date range",
            key=S.start + S.end,
        ),
        rx.flex(
            _figure("Paid orders", S.total_orders, "total-orders"),
            _figure("Revenue", S.total_revenue, "total-revenue"),
            _figure("Refunds", S.total_refunds, "total-refunds"),
            _figure("Discounts", S.total_discounts, "total-discounts"),
            _figure("Revenue less refunds", S.net, "total-net"),
            class_name="admin-figures",
            width="100%",
            role="status",
            aria_live="polite",
        ),
        chart(),
        section("Per day", day_table(), id="per-day"),
        section(
            "Per product",
            scroll_region(
                "Revenue per product",
                rx.table.root(
                    rx.table.header(
                        rx.table.row(*[rx.table.column_header_cell(h) for h in ("Product", "Sold", "Amount")])
                    ),
                    rx.table.body(
                        rx.foreach(
                            S.products,
                            lambda p: rx.table.row(
                                rx.table.row_header_cell(p.name),
                                rx.table.cell(p.quantity),
                                rx.table.cell(p.amount),
                                class_name="revenue-product",
                            ),
                        )
                    ),
                    size="1",
                    width="100%",
                ),
            ),
            muted("Amounts at the price sold, before discounts (shown separately above)."),
            id="per-product",
        ),
        spacing="5",
        width="100%",
    )


def admin_revenue() -> rx.Component:
    return admin_frame("Revenue", revenue_view(), AdminRevenueState.load)


# --- The exceptions inbox --------------------------------------------------------------------------------------


def _item(item: rx.Var) -> rx.Component:
    return rx.el.li(
        rx.card(
            rx.vstack(
                rx.hstack(
                    rx.heading(item.label, as_="h2", size="3"),
                    rx.cond(
                        item.resolved,
                        rx.badge("Resolved", color_scheme="grass", variant="soft", high_contrast=True),
                    ),
                    wrap="wrap",
                    align="center",
                ),
                muted(item.when, " · ", item.kind, " · ", item.reference, class_name="admin-break"),
                rx.text(item.detail, class_name="admin-break"),
                rx.cond(item.amount != "", rx.text("Amount: ", item.amount)),
                rx.cond(
                    item.order_id != "",
                    rx.link(
                        "Order ",
                        item.order_number,
                        href=routes.ADMIN_ORDER_LINK + item.order_id,
                        high_contrast=True,
                    ),
                ),
                rx.cond((item.kind == "oversold") & ~item.resolved, oversold_refund(item)),
                rx.cond(
                    item.resolved,
                    rx.text("Note: ", item.note, class_name="admin-break"),
                    rx.el.form(
                        rx.el.input(type="hidden", name="kind", value=item.kind),
                        rx.el.input(type="hidden", name="reference", value=item.reference),
                        rx.vstack(
                            rx.el.label("What was done about it", html_for="note-" + item.reference),
                            rx.text_area(
                                name="note",
                                id="note-" + item.reference,
                                required=True,
                                max_length=2000,
                                width="100%",
                            ),
                            rx.button("Mark resolved", type="submit"),
                            spacing="2",
                            width="100%",
                        ),
                        on_submit=AdminInboxState.resolve,
                        reset_on_submit=True,
                        width="100%",
                    ),
                ),
                spacing="2",
                width="100%",
            ),
        ),
        class_name="inbox-item",
        data_kind=item.kind,
        data_reference=item.reference,
        data_resolved=item.resolved,
    )


def inbox_view() -> rx.Component:
    S = AdminInboxState
    return rx.vstack(
        rx.checkbox("Show resolved items too", checked=S.show_resolved, on_change=S.toggle_resolved),
        message(S.message, "inbox-message"),
        rx.cond(
            S.inbox.length() > 0,
            rx.el.ul(rx.foreach(S.inbox, _item), class_name="admin-list inbox-list", aria_live="polite"),
            muted("Nothing needs your attention."),
        ),
        spacing="4",
        width="100%",
    )


def admin_exceptions() -> rx.Component:
    return admin_frame("Exceptions", inbox_view(), AdminInboxState.load)
