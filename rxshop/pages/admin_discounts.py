"""/admin/discounts: the shop's promotion codes at Stripe, how often each was used and what it brought in;
make a new one (percent or amount off, optional limit and last day) or turn one off."""

import reflex as rx

from rxshop.components.admin_frame import (
    admin_frame,
    field,
    message,
    muted,
    scroll_region,
    section,
    text_input,
)
from rxshop.state.admin_discounts import AdminDiscountsState

COLUMNS = ("Code", "Discount", "Limit", "Last day", "Status", "Orders", "Revenue", "Discount given", "")


def create_form() -> rx.Component:
    S = AdminDiscountsState
    return rx.el.form(
        rx.flex(
            text_input(
                "Code (what buyers type)",
                "code",
                "discount-code",
                required=True,
                max_length=40,
                auto_complete="off",
                placeholder="SPRING10",
            ),
            field(
                "Kind",
                rx.el.select(
                    rx.el.option("Percent off", value="percent"),
                    rx.el.option("Amount off (USD)", value="amount"),
                    name="kind",
                    id="discount-kind",
                    default_value="percent",
                    on_change=S.set_kind,
                    class_name="admin-select",
                ),
                "discount-kind",
            ),
            text_input(
                rx.cond(S.kind == "amount", "Amount off, e.g. 5.00", "Percent off, e.g. 10"),
                "value",
                "discount-value",
                required=True,
                input_mode="decimal",
                max_length=12,
            ),
            text_input(
                "Maximum uses (optional)",
                "max_redemptions",
                "discount-limit",
                input_mode="numeric",
                max_length=7,
            ),
            text_input("Last day (optional, UTC)", "expires_on", "discount-expires", type="date"),
            rx.button("Create code", type="submit", loading=S.busy),
            wrap="wrap",
            gap="3",
            align="end",
        ),
        on_submit=S.create,
        aria_label="Create a promotion code",
        key=S.form_key,
        width="100%",
    )


def _row(row: rx.Var) -> rx.Component:
    S = AdminDiscountsState
    return rx.table.row(
        rx.table.row_header_cell(rx.text.strong(row.code)),
        rx.table.cell(row.terms, white_space="nowrap"),
        rx.table.cell(row.limit, white_space="nowrap"),
        rx.table.cell(row.expires, white_space="nowrap"),
        rx.table.cell(
            rx.badge(row.status, color_scheme=rx.cond(row.active, "grass", "gray"), high_contrast=True)
        ),
        rx.table.cell(row.used),
        rx.table.cell(row.revenue, white_space="nowrap"),
        rx.table.cell(row.discounted, white_space="nowrap"),
        rx.table.cell(
            rx.cond(
                row.active,
                rx.button(
                    "Turn off",
                    on_click=S.deactivate(row.id),
                    size="1",
                    variant="soft",
                    color_scheme="red",
                    high_contrast=True,
                    aria_label="Turn off " + row.code,
                ),
            )
        ),
        class_name="admin-discount-row",
        data_code=row.code,
    )


def codes_table() -> rx.Component:
    S = AdminDiscountsState
    return scroll_region(
        "Promotion codes",
        rx.table.root(
            rx.table.header(rx.table.row(*[rx.table.column_header_cell(h) for h in COLUMNS])),
            rx.table.body(rx.foreach(S.rows, _row)),
            variant="surface",
            size="1",
            width="100%",
        ),
    )


def discounts() -> rx.Component:
    S = AdminDiscountsState
    return rx.vstack(
        muted(
            "Codes live at Stripe (buyers apply them on Stripe's payment page); Orders and Revenue count this "
            "shop's paid orders that used each code, revenue net of refunds."
        ),
        section("New code", create_form(), id="new-code"),
        message(S.message, "discount-message"),
        section(
            "Codes",
            rx.text(S.list_error, role="alert", color=rx.color("red", 11), size="2"),
            rx.cond(
                S.rows.length() > 0,
                codes_table(),
                rx.cond(S.loaded, muted("No promotion codes yet.", id="no-codes"), rx.spinner()),
            ),
            id="codes",
        ),
        spacing="4",
        width="100%",
    )


def admin_discounts() -> rx.Component:
    return admin_frame("Discounts", discounts(), AdminDiscountsState.load)
