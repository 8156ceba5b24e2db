"""The page frame: skip link, simulator banner, navigation, main landmark, footer."""

import reflex as rx

from rxshop.core import routes
from rxshop.state.site import SiteState
from rxshop.state.visitor import VisitorState


def simulator_banner() -> rx.Component:
    return rx.box(
        rx.hstack(
            rx.icon("flask-conical", size=16, aria_hidden="true"),
            rx.text(
                "Payments are simulated offline: no real card is charged. Use test card 4242 4242 4242 4242.",
                size="2",
                weight="medium",
            ),
            align="center",
            justify="center",
            spacing="2",
        ),
        role="note",
        aria_label="Test mode",
        class_name="sim-banner",
        width="100%",
        padding_y="0.4em",
        padding_x="1em",
        text_align="center",
        background=rx.color("amber", 3),
        color=rx.color("amber", 12),
        border_bottom=f"1px solid {rx.color('amber', 6)}",
    )


def mailbox_banner() -> rx.Component:
    """Development without SMTP_URL: where the emails went instead (beside the simulator's banner)."""
    return rx.box(
        rx.hstack(
            rx.icon("mail", size=16, aria_hidden="true"),
            rx.text(
                "Emails are not sent: read them in the ",
                rx.link("built-in mailbox", href=SiteState.mailbox_url, is_external=True, high_contrast=True),
                ".",
                size="2",
                weight="medium",
            ),
            align="center",
            justify="center",
            spacing="2",
        ),
        role="note",
        aria_label="Development mailbox",
        class_name="mailbox-banner",
        width="100%",
        padding_y="0.3em",
        padding_x="1em",
        text_align="center",
        background=rx.color("blue", 3),
        color=rx.color("blue", 12),
        border_bottom=f"1px solid {rx.color('blue', 6)}",
    )


def navbar() -> rx.Component:
    return rx.el.header(
        # Inside the header (banner landmark), so no page content sits outside a landmark.
        rx.cond(SiteState.payments_simulated, simulator_banner()),
        rx.cond(SiteState.mailbox_url != "", mailbox_banner()),
        rx.el.nav(
            rx.hstack(
                rx.link(
                    rx.hstack(
                        rx.image(src="/favicon.svg", width="28px", height="28px", alt=""),
                        rx.heading("rxshop", size="5", as_="span"),
                        align="center",
                        spacing="2",
                    ),
                    href=routes.HOME,
                    underline="none",
                    color=rx.color("gray", 12),
                    aria_label="rxshop home",
                ),
                rx.spacer(),
                # High contrast: the orange accent (#cc4e00) on this background is 4.43:1, under AA's 4.5.
                rx.link(
                    "Shop",
                    href=routes.HOME,
                    size="3",
                    weight="medium",
                    high_contrast=True,
                    white_space="nowrap",
                ),
                rx.link(
                    "My Orders",
                    href=routes.ORDERS,
                    size="3",
                    weight="medium",
                    high_contrast=True,
                    white_space="nowrap",
                ),
                rx.color_mode.button(size="2", variant="ghost", aria_label="Switch light or dark mode"),
                align="center",
                # Tighter on phones, so "My Orders" stays on one line down to 320 px.
                spacing=rx.breakpoints(initial="3", sm="5"),
                width="100%",
                max_width="1100px",
                margin_x="auto",
                padding_x="1em",
                padding_y="0.75em",
            ),
            aria_label="Main",
        ),
        border_bottom=f"1px solid {rx.color('gray', 5)}",
        background=rx.color("gray", 1),
    )


def page_frame(*children: rx.Component) -> rx.Component:
    """Every page's frame, with one <main> landmark holding `children`."""
    return rx.box(
        # Reflex renders this as a router link, which only changes the URL: focus main explicitly, so the
        # next Tab continues inside the content (the navigation is skipped).
        rx.el.a(
            "Skip to content",
            href="#main",
            class_name="skip-link",
            on_click=rx.call_script("document.getElementById('main').focus()"),
        ),
        navbar(),
        rx.el.main(
            rx.cond(
                VisitorState.notice != "",
                rx.callout(
                    VisitorState.notice,
                    icon="triangle-alert",
                    color_scheme="red",
                    role="alert",
                    high_contrast=True,
                    max_width="1100px",
                    margin="1em auto 0",
                ),
            ),
            rx.box(*children, width="100%", max_width="1100px", margin_x="auto", padding="1.5em 1em 3em"),
            id="main",
            tab_index=-1,
            data_visitor_ready=VisitorState.ready,
        ),
        rx.el.footer(
            rx.text(
                "rxshop: a Reflex + Stripe Checkout reference shop.", size="1", color=rx.color("gray", 11)
            ),
            text_align="center",
            padding="1.5em",
        ),
        min_height="100vh",
        background=rx.color("gray", 2),
    )
