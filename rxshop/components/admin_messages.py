"""The owner's order page: its Messages section (every email about the order, resend, revoke its links)."""

import reflex as rx

from rxshop.components.admin_frame import message, muted, scroll_region, section
from rxshop.state.admin_messages import AdminMessagesState

S = AdminMessagesState
STATUS_COLORS = {"sent": "grass", "queued": "amber", "sending": "amber", "failed": "red"}


def _status(row: rx.Var) -> rx.Component:
    return rx.match(
        row.status,
        *[(name, rx.badge(name, color_scheme=color, variant="soft", high_contrast=True)) for name, color in STATUS_COLORS.items()],
        rx.badge(row.status, high_contrast=True),
    )  # fmt: skip


def _row(row: rx.Var) -> rx.Component:
    return rx.table.row(
        rx.table.row_header_cell(row.kind),
        rx.table.cell(row.recipient),
        rx.table.cell(row.created, white_space="nowrap"),
        rx.table.cell(
            rx.vstack(_status(row), rx.text(row.status_text, size="1"), spacing="1", align="start")
        ),
        rx.table.cell(
            rx.cond(
                row.can_resend,
                rx.button(
                    "Send again",
                    size="1",
                    variant="outline",
                    high_contrast=True,
                    on_click=S.resend(row.id),
                    aria_label="Send again: " + row.kind,
                ),
            )
        ),
        class_name="admin-message-row",
        data_status=row.status,
    )


def messages_section() -> rx.Component:
    return section(
        "Messages",
        rx.cond(
            S.mail_mode == "off",
            muted("Email is off (MAIL_MODE=off): the buyer gets no email about this order."),
        ),
        rx.cond(
            S.rows.length() > 0,
            scroll_region(
                "Messages about this order",
                rx.table.root(
                    rx.table.header(
                        rx.table.row(*[rx.table.column_header_cell(h) for h in ("Message", "To", "Queued", "Status", "")])
                    ),
                    rx.table.body(rx.foreach(S.rows, _row)),
                    size="1",
                    width="100%",
                ),
            ),
            muted("No email about this order yet."),
        ),
        rx.hstack(
            muted(S.active_links, " working order link(s)."),
            rx.alert_dialog.root(
                rx.alert_dialog.trigger(
                    rx.button("Revoke links and send a new one", variant="outline", color_scheme="red", high_contrast=True, size="2")
                ),
                rx.alert_dialog.content(
                    rx.alert_dialog.title("Revoke this order's links?"),
                    rx.alert_dialog.description(
                        "Every link to this order in earlier emails stops working at once, and the buyer is "
                        "emailed a new one."
                    ),
                    rx.hstack(
                        rx.alert_dialog.cancel(rx.button("Keep them", variant="soft", color_scheme="gray")),
                        rx.alert_dialog.action(rx.button("Revoke and send", color_scheme="red", on_click=S.revoke_links)),
                        spacing="3",
                        justify="end",
                        margin_top="1em",
                    ),
                ),
            ),
            align="center",
            wrap="wrap",
            spacing="3",
            margin_top="0.75em",
        ),
        message(S.result, "messages-result"),
        id="messages",
    )  # fmt: skip
