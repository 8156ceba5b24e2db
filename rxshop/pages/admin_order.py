"""/admin/order?id=: one order in full; ship it (or show the shipment with "Edit tracking"), refund part or
all with a reason, add internal notes, and read its timeline in plain words."""

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
from rxshop.domain.refunds import NOTE_MAX as REFUND_NOTE_MAX
from rxshop.domain.refunds import RefundReason
from rxshop.domain.shipping import CARRIERS
from rxshop.state.admin_order import AdminOrderState

REASONS = [(r.value, r.label.capitalize()) for r in RefundReason]


def _pairs(rows: rx.Var, id: str) -> rx.Component:
    return rx.el.dl(
        rx.foreach(rows, lambda r: rx.fragment(rx.el.dt(r.label), rx.el.dd(r.text))),
        class_name="admin-pairs",
        id=id,
    )


def _select(label: str, name: str, id: str, options: list[tuple[str, str]], **props) -> rx.Component:
    return field(
        label,
        rx.el.select(
            *[rx.el.option(text, value=key) for key, text in options],
            name=name,
            id=id,
            class_name="admin-select",
            **props,
        ),
        id,
    )


def _checkbox(label: str, name: str, id: str) -> rx.Component:
    return rx.el.label(rx.el.input(type="checkbox", name=name, id=id), " ", label, html_for=id)


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


def _tracking_fields(prefix: str, carrier=None, number=None) -> list[rx.Component]:
    """Carrier from the list and its tracking number (checked per carrier on the server)."""
    number_props = {"default_value": number} if number is not None else {}
    return [
        _select(
            "Carrier",
            "carrier",
            f"{prefix}-carrier",
            ([] if carrier is not None else [("", "Choose…")]) + [(c.id, c.name) for c in CARRIERS],
            required=True,
            default_value="" if carrier is None else carrier,
        ),
        text_input(
            "Tracking number",
            "tracking_number",
            f"{prefix}-tracking",
            required=True,
            max_length=100,
            auto_complete="off",
            **number_props,
        ),
    ]


def shipment() -> rx.Component:
    """A shipped order: what went out, and "Edit tracking" (never a second "Mark shipped")."""
    S = AdminOrderState
    return rx.vstack(
        rx.el.dl(
            rx.el.dt("Carrier"),
            rx.el.dd(S.carrier_name),
            rx.el.dt("Tracking number"),
            rx.el.dd(
                rx.cond(
                    S.tracking_link != "",
                    rx.link(S.tracking_number, href=S.tracking_link, is_external=True, high_contrast=True),
                    rx.text(S.tracking_number),
                )
            ),
            rx.el.dt("Shipped"),
            rx.el.dd(S.shipped_on),
            class_name="admin-pairs",
            id="shipment",
        ),
        rx.cond(
            S.tracking_open,
            rx.el.form(
                rx.flex(
                    *_tracking_fields("edit", S.carrier_id, S.tracking_number),
                    _checkbox("Tell the buyer by email", "tell_buyer", "edit-tell-buyer"),
                    rx.button("Save tracking", type="submit"),
                    rx.button(
                        "Cancel", type="button", variant="soft", high_contrast=True, on_click=S.close_tracking
                    ),
                    wrap="wrap",
                    gap="3",
                    align="end",
                ),
                on_submit=S.edit_tracking,
                aria_label="Edit tracking",
            ),
            rx.button("Edit tracking", on_click=S.open_tracking, variant="outline", high_contrast=True),
        ),
        width="100%",
    )


def ship_form() -> rx.Component:
    S = AdminOrderState
    return section(
        "Shipping",
        rx.cond(
            S.shipped,
            shipment(),
            rx.cond(
                S.can_ship,
                rx.el.form(
                    rx.flex(
                        *_tracking_fields("ship"),
                        rx.button("Mark shipped", type="submit"),
                        wrap="wrap",
                        gap="3",
                        align="end",
                    ),
                    on_submit=S.ship,
                    aria_label="Ship this order",
                ),
                muted(S.ship_note, id="ship-note"),
            ),
        ),
        message(S.ship_message, "ship-message"),
        id="ship",
    )


def refund_fields() -> rx.Component:
    S = AdminOrderState
    return rx.flex(
        text_input(
            "Amount to refund",
            "amount",
            "refund-amount",
            required=True,
            input_mode="decimal",
            max_length=20,
            default_value=S.refund_default,
        ),
        _select("Reason", "reason", "refund-reason", REASONS, required=True),
        text_input(
            "Note (needed for Other; kept in Stripe)",
            "refund_note",
            "refund-note",
            max_length=REFUND_NOTE_MAX,
            min_width="16em",
        ),
        _checkbox("Put the items back in stock", "restock", "refund-restock"),
        rx.button("Refund", type="submit", color_scheme="red", high_contrast=True),
        rx.button("Cancel", type="button", variant="soft", high_contrast=True, on_click=S.close_refund),
        wrap="wrap",
        gap="3",
        align="end",
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
                    rx.el.form(refund_fields(), on_submit=S.refund, aria_label="Refund this order"),
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


def notes() -> rx.Component:
    S = AdminOrderState
    return section(
        "Add a note",
        rx.el.form(
            rx.vstack(
                rx.el.label(
                    "Internal note (the buyer never sees it)", html_for="note-text", class_name="admin-label"
                ),
                rx.text_area(name="note", id="note-text", max_length=2000, rows="3", width="100%"),
                rx.button("Add note", type="submit", variant="outline", high_contrast=True),
                spacing="2",
                width="100%",
            ),
            on_submit=S.add_note,
            aria_label="Add a note",
            key=S.note_form,  # drawn again, empty, after a note is added
            width="100%",
        ),
        message(S.note_message, "note-message"),
        id="notes",
    )


def timeline() -> rx.Component:
    S = AdminOrderState
    return section(
        "Timeline",
        rx.el.ol(
            rx.foreach(
                S.timeline,
                lambda e: rx.el.li(
                    rx.text(e.text, weight="medium"),
                    muted(e.at, " · ", e.label),
                    class_name="admin-timeline-entry",
                ),
            ),
            class_name="admin-list",
            id="timeline",
        ),
        id="timeline",
    )


def detail() -> rx.Component:
    S = AdminOrderState
    return rx.cond(
        S.found,
        rx.vstack(
            rx.hstack(
                rx.heading(S.number, as_="h2", size="5", id="order-number"),
                rx.box(status_badge(S.status, S.status_label), id="order-status", data_status=S.status),
                rx.cond(
                    S.promotion_code != "",
                    rx.badge(
                        "Code ", S.promotion_code, variant="outline", high_contrast=True, id="order-code"
                    ),
                ),
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
            timeline(),
            notes(),
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
