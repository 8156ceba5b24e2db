"""/admin/revenue (paid revenue per day as a bar chart and a table, totals per product) and /admin/exceptions."""

import reflex as rx

from rxshop.components.admin_frame import admin_frame, message, muted, scroll_region, section, text_input
from rxshop.core import routes
from rxshop.pages.admin_inventory import oversold_refund
from rxshop.state.admin_reports import AdminInboxState, AdminRevenueState


def _figure(figure: rx.Var) -> rx.Component:
    return rx.card(
        rx.vstack(
            muted(figure.label),
            rx.text(
                figure.value, size="5", weight="bold", id="figure-" + figure.key, class_name="admin-break"
            ),
            muted(
                "Previous period: ",
                rx.el.span(figure.previous, id="previous-" + figure.key),
                rx.cond(figure.change != "", " (" + figure.change + ")", ""),
                class_name="admin-break",
            ),
            spacing="1",
        ),
        class_name="revenue-figure",
        data_key=figure.key,
    )


def chart() -> rx.Component:
    """Orders (bars, left axis) and net revenue (line, right axis) per day, with tooltips (recharts)."""
    S = AdminRevenueState
    net_label = "Net revenue (" + S.currency_name + ")"
    return rx.el.figure(
        rx.box(
            rx.recharts.composed_chart(
                rx.recharts.cartesian_grid(stroke_dasharray="3 3", vertical=False),
                rx.recharts.x_axis(
                    data_key="day",
                    label={"value": "Day (UTC)", "position": "insideBottom", "offset": -10},
                    min_tick_gap=12,
                ),
                rx.recharts.y_axis(
                    y_axis_id="orders",
                    allow_decimals=False,
                    width=40,
                    label={"value": "Orders", "angle": -90, "position": "insideLeft", "offset": 10},
                ),
                rx.recharts.y_axis(
                    y_axis_id="net",
                    orientation="right",
                    width=56,
                    label={"value": net_label, "angle": 90, "position": "insideRight", "offset": 0},
                ),
                rx.recharts.bar(
                    data_key="orders",
                    y_axis_id="orders",
                    name="Paid orders",
                    fill=rx.color("accent", 8),
                    is_animation_active=False,  # drawn at once: live refreshes redraw without a replay
                ),
                rx.recharts.line(
                    data_key="net",
                    y_axis_id="net",
                    name=net_label,
                    stroke=rx.color("gray", 12),
                    stroke_width=2,
                    type_="linear",
                    dot=False,
                    is_animation_active=False,
                ),
                rx.recharts.graphing_tooltip(),
                rx.recharts.legend(vertical_align="top", align="left", height=28),
                data=S.points,
                margin={"top": 5, "right": 5, "bottom": 20, "left": 0},
                width="100%",
                height=300,
            ),
            id="revenue-chart",
            class_name="revenue-chart",
            width="100%",
        ),
        rx.el.figcaption(
            muted(
                "Paid orders and net revenue (paid less refunded) per day, ",
                S.start,
                " to ",
                S.end,
                " (UTC). The same figures are in the table below.",
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
                        for h in ("Day", "Orders", "Paid", "Discounts", "Refunds", "Net revenue")
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
                        rx.table.cell(d.net),
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
        rx.box(
            rx.foreach(S.figures, _figure),
            class_name="admin-figures",
            width="100%",
            role="status",
            aria_live="polite",
        ),
        muted(
            "Previous period: ",
            rx.el.span(S.previous_start, id="previous-start"),
            " to ",
            rx.el.span(S.previous_end, id="previous-end"),
            ". Gross paid: ",
            rx.el.span(S.total_revenue, id="total-revenue"),
            " in ",
            rx.el.span(S.total_orders, id="total-orders"),
            rx.cond(S.total_orders == 1, " order.", " orders."),
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
                muted(item.when),
                rx.text(item.summary, class_name="admin-break inbox-summary"),
                rx.el.dl(
                    rx.cond(item.email != "", rx.fragment(rx.el.dt("Buyer"), rx.el.dd(item.email))),
                    rx.cond(item.amount != "", rx.fragment(rx.el.dt("Amount"), rx.el.dd(item.amount))),
                    class_name="admin-pairs",
                ),
                rx.hstack(
                    rx.cond(
                        item.order_id != "",
                        rx.link(
                            "Open order ",
                            item.order_number,
                            href=routes.ADMIN_ORDER_LINK + item.order_id,
                            high_contrast=True,
                        ),
                    ),
                    rx.cond(
                        item.stripe_url != "",
                        rx.link(
                            item.stripe_label, href=item.stripe_url, is_external=True, high_contrast=True
                        ),
                    ),
                    wrap="wrap",
                    spacing="4",
                ),
                rx.el.details(
                    rx.el.summary("Technical details (for Stripe support)"),
                    rx.text(item.detail, size="2", class_name="admin-break"),
                    rx.text(item.reference, size="1", color=rx.color("gray", 11), class_name="admin-break"),
                    class_name="inbox-technical",
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
