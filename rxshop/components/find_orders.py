"""My Orders' "Find my orders" section: ask for a code by email, enter it, see the orders paid with it."""

import reflex as rx

from rxshop.components.order_list import order_card
from rxshop.state.find_orders import FindOrdersState

S = FindOrdersState


def _input(label: str, name: str, id: str, **props) -> rx.Component:
    return rx.vstack(
        rx.el.label(label, html_for=id, font_weight="500"),
        rx.input(name=name, id=id, required=True, size="3", **props),
        spacing="1",
        width="100%",
        max_width="22em",
    )


def _ask_form() -> rx.Component:
    return rx.el.form(
        rx.flex(
            _input(
                "Email you used at checkout",
                "email",
                "find-email",
                type="email",
                auto_complete="email",
                max_length=320,
            ),
            rx.button("Email me a code", type="submit", size="3"),
            gap="3",
            align="end",
            wrap="wrap",
        ),
        on_submit=S.request_code,
        reset_on_submit=False,
        aria_label="Email me a code",
    )


def _code_form() -> rx.Component:
    return rx.el.form(
        rx.flex(
            _input(
                "6-digit code from the email",
                "code",
                "find-code",
                input_mode="numeric",
                auto_complete="one-time-code",
                max_length=6,
                pattern="[0-9]{6}",
            ),
            rx.button("Show my orders", type="submit", size="3"),
            rx.button(
                "Use another address", type="button", variant="soft", color_scheme="gray", size="3",
                on_click=S.use_another_address,
            ),
            gap="3",
            align="end",
            wrap="wrap",
        ),
        on_submit=S.check_code,
        reset_on_submit=True,
        aria_label="Enter the code",
    )  # fmt: skip


def _found() -> rx.Component:
    return rx.vstack(
        rx.text("Paid with ", rx.foreach(S.emails, lambda e: rx.text.strong(e, " ")), id="found-emails"),
        rx.el.ul(rx.foreach(S.orders, lambda order: order_card(order, "")), class_name="order-list found-orders", aria_live="polite"),
        rx.button(
            "Stop showing these here", variant="soft", color_scheme="gray", on_click=S.stop_showing
        ),
        spacing="3",
        width="100%",
    )  # fmt: skip


def find_orders() -> rx.Component:
    return rx.el.section(
        rx.heading("Orders from another browser or device", as_="h2", size="5", id="find-orders-heading"),
        rx.cond(S.emails.length() > 0, _found()),
        rx.cond(
            S.mail_on,
            rx.vstack(
                rx.text(
                    "Paid on your phone, or cleared your cookies? Enter the email address you paid with and "
                    "we will send you a code that shows those orders here.",
                    color=rx.color("gray", 11),
                ),
                rx.cond(S.code_sent_to == "", _ask_form(), _code_form()),
                spacing="3",
                width="100%",
            ),
        ),
        rx.text(S.notice, role="status", aria_live="polite", size="2", id="find-orders-notice"),
        rx.text(S.error, role="alert", color=rx.color("red", 11), size="2", id="find-orders-error"),
        aria_labelledby="find-orders-heading",
        width="100%",
        display="flex",
        flex_direction="column",
        gap="0.75em",
    )
