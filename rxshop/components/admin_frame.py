"""The frame of every admin page: off (how to enable), the sign-in form, or the dashboard's navigation.

Nothing of a page's content is rendered before the server says this tab is signed in, and its data vars are
empty until then anyway (rxshop.state.admin).
"""

from __future__ import annotations

import reflex as rx
from reflex.event import EventSpec

from rxshop.components.layout import page_frame
from rxshop.components.order_list import BADGE_COLORS
from rxshop.core import routes
from rxshop.state.admin import AdminState

ADMIN_LINKS = (
    ("Overview", routes.ADMIN),
    ("Orders", routes.ADMIN_ORDERS),
    ("Revenue", routes.ADMIN_REVENUE),
    ("Exceptions", routes.ADMIN_EXCEPTIONS),
    ("Inventory", routes.ADMIN_INVENTORY),
    ("Discounts", routes.ADMIN_DISCOUNTS),
)


def status_badge(status: rx.Var, label: rx.Var) -> rx.Component:
    """The order's status in My Orders' colours, high contrast (the dashboard's grey page is darker)."""
    return rx.match(
        status,
        *[
            (name, rx.badge(label, color_scheme=color, size="2", variant="soft", high_contrast=True))
            for name, color in BADGE_COLORS.items()
        ],
        rx.badge(label, size="2", high_contrast=True),
    )


def muted(*children, **props) -> rx.Component:
    return rx.text(*children, size="2", color=rx.color("gray", 11), **props)


def message(text: rx.Var, id: str) -> rx.Component:
    """A polite live region: results and refusals are announced as well as shown."""
    return rx.text(text, id=id, role="status", aria_live="polite", size="2", weight="medium")


def field(label: str, control: rx.Component, id: str) -> rx.Component:
    return rx.vstack(rx.el.label(label, html_for=id, class_name="admin-label"), control, spacing="1")


def text_input(label: str, name: str, id: str, **props) -> rx.Component:
    return field(label, rx.input(name=name, id=id, **props), id)


def section(title: str, *children, id: str) -> rx.Component:
    return rx.el.section(
        rx.heading(title, as_="h2", size="4", id=f"{id}-heading", margin_bottom="0.5em"),
        *children,
        aria_labelledby=f"{id}-heading",
        class_name="admin-section",
        width="100%",
    )


def scroll_region(label: str, child: rx.Component) -> rx.Component:
    """Wide tables scroll sideways inside their own (focusable, named) region, never the page."""
    return rx.box(child, role="region", aria_label=label, tab_index=0, class_name="admin-scroll")


def admin_nav() -> rx.Component:
    return rx.el.nav(
        rx.hstack(
            *[rx.link(label, href=href, high_contrast=True, weight="medium") for label, href in ADMIN_LINKS],
            rx.cond(
                AdminState.open_exceptions > 0,
                rx.badge(
                    AdminState.open_exceptions,
                    " open",
                    color_scheme="red",
                    variant="soft",
                    high_contrast=True,
                ),
            ),
            rx.spacer(),
            rx.button(
                "Sign out",
                on_click=AdminState.sign_out,
                variant="soft",
                high_contrast=True,
                color_scheme="gray",
            ),
            wrap="wrap",
            align="center",
            spacing="4",
            width="100%",
        ),
        aria_label="Dashboard",
        width="100%",
        padding_bottom="0.75em",
        border_bottom=f"1px solid {rx.color('gray', 5)}",
    )


def disabled_notice() -> rx.Component:
    return rx.vstack(
        rx.heading("Owner's dashboard", as_="h1", size="7"),
        rx.text("The owner's dashboard is turned off.", weight="medium", id="admin-disabled"),
        rx.text(
            "To turn it on, set ADMIN_PASSWORD (at least 12 characters) in the shop's environment or its "
            ".env file and restart the shop. Then sign in here with that password."
        ),
        spacing="3",
    )


def sign_in_form(after: EventSpec | None) -> rx.Component:
    events = [AdminState.sign_in] + ([after] if after is not None else [])
    return rx.vstack(
        rx.heading("Owner's dashboard", as_="h1", size="7"),
        rx.el.form(
            rx.vstack(
                rx.heading("Sign in", as_="h2", size="4"),
                text_input(
                    "Password",
                    "password",
                    "admin-password",
                    type="password",
                    auto_complete="current-password",
                    required=True,
                    width="100%",
                ),
                rx.button("Sign in", type="submit", size="3"),
                rx.text(
                    AdminState.sign_in_error,
                    id="sign-in-error",
                    role="alert",
                    color=rx.color("red", 11),
                    weight="medium",
                ),
                spacing="3",
                width="100%",
                max_width="24em",
            ),
            on_submit=events,
            reset_on_submit=True,
            aria_label="Sign in",
        ),
        spacing="4",
        width="100%",
    )


def admin_frame(title: str, content: rx.Component, after_sign_in: EventSpec | None = None) -> rx.Component:
    """An admin page: `content` (with `title` as its h1) only for a signed-in owner."""
    return page_frame(
        rx.cond(
            AdminState.checked,
            rx.cond(
                AdminState.enabled,
                rx.cond(
                    AdminState.signed_in,
                    rx.vstack(
                        admin_nav(),
                        rx.heading(title, as_="h1", size="7"),
                        content,
                        spacing="4",
                        width="100%",
                        class_name="admin-page",
                        data_admin="signed-in",
                    ),
                    sign_in_form(after_sign_in),
                ),
                disabled_notice(),
            ),
            rx.hstack(rx.spinner(), rx.text("Loading…"), align="center", role="status"),
        )
    )
