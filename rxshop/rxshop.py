"""The Reflex app: pages, theme, and the backend routes (Stripe webhook; the offline simulator when no keys)."""

import logging
import sys

import reflex as rx
from reflex.event import EventSpec
from reflex.utils.exec import get_compile_context
from starlette.applications import Starlette
from starlette.routing import Mount, Route

from rxshop.core import routes
from rxshop.core.heap import freeze_startup_heap
from rxshop.core.settings import SIMULATOR_MOUNT, Settings, SettingsError, get_settings
from rxshop.core.settings_policy import served_export_build
from rxshop.mail.sender import send_mail_forever
from rxshop.orders.housekeeping import expire_stale_orders_forever
from rxshop.pages.admin import admin_overview
from rxshop.pages.admin_discounts import admin_discounts
from rxshop.pages.admin_inventory import admin_inventory
from rxshop.pages.admin_order import admin_order
from rxshop.pages.admin_order_list import admin_orders
from rxshop.pages.admin_reports import admin_exceptions, admin_revenue
from rxshop.pages.checkout_cancel import CancelState, checkout_cancel
from rxshop.pages.checkout_success import ReturnState, checkout_success
from rxshop.pages.index import index
from rxshop.pages.order_link import order_link_page
from rxshop.pages.orders import orders_page
from rxshop.payments.wire import HANDLED_EVENTS
from rxshop.state.admin import AdminState, start_sign_out_pushes
from rxshop.state.admin_discounts import AdminDiscountsState
from rxshop.state.admin_inventory import AdminInventoryState
from rxshop.state.admin_messages import AdminMessagesState
from rxshop.state.admin_order import AdminOrderState
from rxshop.state.admin_orders import AdminOrdersState
from rxshop.state.admin_reports import AdminInboxState, AdminRevenueState
from rxshop.state.cart import CartState, start_cart_sync
from rxshop.state.checkout import CheckoutState
from rxshop.state.find_orders import FindOrdersState
from rxshop.state.live import start_live_updates
from rxshop.state.live_admin import follow_the_clock, start_admin_live_updates
from rxshop.state.live_stock import StockState, watch_stock_forever
from rxshop.state.mail_push import start_mail_pushes
from rxshop.state.order_link import OrderLinkState
from rxshop.state.orders import OrdersState
from rxshop.state.resync import keep_live_updates
from rxshop.state.visitor import VisitorState
from rxshop.web.admin_export import ADMIN_EXPORT_ROUTES
from rxshop.web.admin_session import ADMIN_SESSION_ROUTES
from rxshop.web.health import ready
from rxshop.web.mailbox import mailbox_index, mailbox_message
from rxshop.web.visitor import claim_visitor, forget_visitor, visitor_script
from rxshop.web.webhook import stripe_webhook

logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
logging.getLogger("alembic").setLevel(logging.WARNING)  # Reflex's start-up schema check is chatty
# The SDK and its HTTP client log every request at INFO (three lines per Buy, and their cost in a burst);
# rxshop.payments.gateway logs what fails.
for _chatty in ("stripe", "httpx"):
    logging.getLogger(_chatty).setLevel(logging.WARNING)


def show_friendly_error(exception: Exception) -> EventSpec:
    """Any unexpected error in an event handler: the details go to the log, the browser gets a plain
    sentence (Reflex's default names the exception outside production)."""
    logging.getLogger("rxshop").error("Unhandled error in an event handler", exc_info=exception)
    return rx.toast.error(
        "Something went wrong on our side. Nothing was charged; please try again.",
        id="backend_error",
        position="top-center",
    )


def checked_settings() -> Settings:
    """The settings, or the start refused with one line naming what to fix (fail closed in production).

    Read here too, not only in rxconfig.py: `reflex run --env prod` reads rxconfig before it switches to
    production mode, and imports the app after.
    """
    try:
        settings = get_settings()
        if problems := served_export_build(settings.export_only, get_compile_context().value):
            raise SettingsError(problems)
    except SettingsError as err:
        sys.exit(err.one_line())
    return settings


def backend_routes(settings: Settings) -> Starlette:
    """Routes served beside Reflex's own on the backend port (and the single port in production)."""
    served: list = [
        Route(routes.STRIPE_WEBHOOK, stripe_webhook, methods=["POST"]),
        Route(routes.VISITOR, claim_visitor, methods=["POST"]),
        Route(routes.VISITOR_SCRIPT, visitor_script, methods=["GET"]),
        Route(routes.VISITOR_FORGET, forget_visitor, methods=["POST"]),
        Route(routes.READY, ready, methods=["GET"]),
        *ADMIN_SESSION_ROUTES,
        *ADMIN_EXPORT_ROUTES,
    ]
    if settings.mail_mode == "mailbox" and not settings.production:  # development only, never production
        served.append(Route(routes.DEV_MAILBOX, mailbox_index, methods=["GET"]))
        served.append(Route(routes.DEV_MAILBOX + "/{key}", mailbox_message, methods=["GET"]))
    if settings.mount_simulator:
        from rxshop.stripe_sim import Simulator
        from rxshop.stripe_sim.access import origin_of

        shop_origin = origin_of(settings.app_url)
        assert shop_origin is not None  # APP_URL is an absolute http(s) URL (checked by the settings)
        simulator = Simulator(
            public_url=settings.simulator_base,
            webhook_url=settings.webhook_url,
            webhook_secret=settings.stripe_webhook_secret,
            enabled_events=sorted(HANDLED_EVENTS),  # as the shop's endpoint is set up at Stripe
            # Unauthenticated by design (pay, expire, reset...): off unless asked for.
            control_api=settings.simulator_control_api,
            # Not a public API: only the key it shares with this process, and buyers go back to the shop only.
            api_keys={settings.stripe_secret_key},
            redirect_origins={shop_origin},
        )
        # The simulator limits its own bodies (Stripe-shaped 413s, rxshop.stripe_sim.limits).
        served.append(Mount(SIMULATOR_MOUNT, app=simulator.app))
    return Starlette(routes=served)


async def log_payment_mode() -> None:
    """Every start says where payments go, so a simulated shop is never mistaken for a real one."""
    logging.getLogger("rxshop").warning(get_settings().describe_payments())


settings = checked_settings()


app = rx.App(
    stylesheets=["/styles.css"],
    head_components=[
        rx.el.link(rel="icon", href="/favicon.svg", type="image/svg+xml"),
        # Parser-blocking on purpose: its answer sets the visitor credential, and no module script (so no
        # websocket) runs before it has (rxshop.web.visitor). Empty, never cached.
        rx.el.script(src=settings.backend_url + routes.VISITOR_SCRIPT),
    ],
    api_transformer=backend_routes(settings),
    backend_exception_handler=show_friendly_error,
)

app.register_lifespan_task(log_payment_mode)
app.register_lifespan_task(expire_stale_orders_forever)
app.register_lifespan_task(start_live_updates)
app.register_lifespan_task(start_admin_live_updates)
app.register_lifespan_task(follow_the_clock)  # overdue orders, midnight, ended sign-ins
app.register_lifespan_task(keep_live_updates)  # after Redis or the database was away
app.register_lifespan_task(watch_stock_forever)
app.register_lifespan_task(start_cart_sync)
app.register_lifespan_task(start_mail_pushes)
app.register_lifespan_task(send_mail_forever)  # the outbox's sender: email leaves here, off the request path
app.register_lifespan_task(start_sign_out_pushes)
app.register_lifespan_task(freeze_startup_heap)  # no full GC pass walks the start-up heap (p95)

_visit = [VisitorState.identify]
app.add_page(
    index,
    route=routes.HOME,
    title="rxshop: small goods for slow mornings",
    description="Three products, one cart, Stripe Checkout.",
    on_load=[*_visit, CartState.load, CheckoutState.reset_progress, StockState.load],
)
app.add_page(
    orders_page,
    route=routes.ORDERS,
    title="My Orders · rxshop",
    on_load=[*_visit, OrdersState.load, FindOrdersState.load],
)
app.add_page(
    order_link_page,
    route=routes.ORDER_LINK,
    title="Your order · rxshop",
    on_load=[*_visit, OrderLinkState.load],
)
app.add_page(
    checkout_success,
    route=routes.CHECKOUT_SUCCESS,
    title="Your order · rxshop",
    on_load=[*_visit, ReturnState.verify, OrdersState.load],
)
app.add_page(
    checkout_cancel,
    route=routes.CHECKOUT_CANCEL,
    title="Payment cancelled · rxshop",
    on_load=[*_visit, CancelState.cancel],
)

# The owner's dashboard (off without ADMIN_PASSWORD: the pages then say how to turn it on).
_admin = [*_visit, AdminState.load]
app.add_page(admin_overview, route=routes.ADMIN, title="Dashboard · rxshop", on_load=_admin)
app.add_page(
    admin_orders,
    route=routes.ADMIN_ORDERS,
    title="Orders · Dashboard · rxshop",
    on_load=[*_admin, AdminOrdersState.load],
)
app.add_page(
    admin_order,
    route=routes.ADMIN_ORDER,
    title="Order · Dashboard · rxshop",
    on_load=[*_admin, AdminOrderState.load, AdminMessagesState.load],
)
app.add_page(
    admin_revenue,
    route=routes.ADMIN_REVENUE,
    title="Revenue · Dashboard · rxshop",
    on_load=[*_admin, AdminRevenueState.load],
)
app.add_page(
    admin_exceptions,
    route=routes.ADMIN_EXCEPTIONS,
    title="Exceptions · Dashboard · rxshop",
    on_load=[*_admin, AdminInboxState.load],
)
app.add_page(
    admin_inventory,
    route=routes.ADMIN_INVENTORY,
    title="Inventory · Dashboard · rxshop",
    on_load=[*_admin, AdminInventoryState.load],
)
app.add_page(
    admin_discounts,
    route=routes.ADMIN_DISCOUNTS,
    title="Discounts · Dashboard · rxshop",
    on_load=[*_admin, AdminDiscountsState.load],
)
