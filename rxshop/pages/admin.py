"""/admin: the owner's overview (counts that need attention), behind the sign-in."""

from datetime import timedelta

import reflex as rx

from rxshop.admin.sessions import IDLE_TIMEOUT, SESSION_LIFETIME
from rxshop.components.admin_frame import admin_frame, muted, section
from rxshop.core import routes
from rxshop.state.admin import AdminState


def _hours(delta: timedelta) -> int:
    return int(delta.total_seconds() // 3600)


def _count(label: str, value: rx.Var, id: str, href: str) -> rx.Component:
    return rx.card(
        rx.vstack(
            muted(label),
            rx.text(value, size="6", weight="bold", id=id),
            rx.link("Open", href=href, size="2", high_contrast=True, aria_label=f"Open: {label}"),
            spacing="1",
        ),
        min_width="10em",
        flex="1",
    )


def overview() -> rx.Component:
    return rx.vstack(
        rx.flex(
            _count("Paid, not shipped", AdminState.to_ship, "count-to-ship", routes.ADMIN_ORDERS_TO_SHIP),
            _count("Paid today", AdminState.orders_today, "count-orders-today", routes.ADMIN_REVENUE_TODAY),
            _count(
                "Revenue today (net of refunds)",
                AdminState.revenue_today,
                "count-revenue-today",
                routes.ADMIN_REVENUE_TODAY,
            ),
            _count(
                "Open exceptions", AdminState.open_exceptions, "count-exceptions", routes.ADMIN_EXCEPTIONS
            ),
            wrap="wrap",
            gap="3",
            width="100%",
        ),
        section(
            "Exceptions by kind",
            rx.cond(
                AdminState.exception_counts.length() > 0,
                rx.el.ul(
                    rx.foreach(
                        AdminState.exception_counts,
                        lambda row: rx.el.li(rx.text(row.label, ": ", rx.text.strong(row.count))),
                    ),
                    class_name="admin-list",
                ),
                muted("Nothing needs your attention."),
            ),
            id="exception-kinds",
        ),
        section(
            "Your sign-in",
            muted(
                f"A sign-in lasts at most {_hours(SESSION_LIFETIME)} hours, and ends after "
                f"{_hours(IDLE_TIMEOUT)} hours without a click. Lost a laptop, or signed in on a shared "
                "computer? End every sign-in, on every browser and device (this one too)."
            ),
            rx.button(
                "Sign out everywhere",
                on_click=AdminState.sign_out_everywhere,
                variant="soft",
                color_scheme="red",
                high_contrast=True,
                width="fit-content",
            ),
            id="admin-sign-in",
        ),
        spacing="5",
        width="100%",
        aria_live="polite",
    )


def admin_overview() -> rx.Component:
    return admin_frame("Overview", overview())
