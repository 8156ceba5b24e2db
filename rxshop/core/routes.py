"""Every path the shop serves, named once: the pages, their links and redirects, the backend's own routes,
and the return URLs sent to Stripe all use these, so moving a page is one edit.

The simulator's mount point is SIMULATOR_MOUNT (rxshop.core.settings); its own paths are its business.
"""

from __future__ import annotations

# Pages (Reflex)
HOME = "/"
ORDERS = "/orders"  # My Orders
CHECKOUT_SUCCESS = "/checkout/success"  # Stripe sends the buyer here with ?session_id=
CHECKOUT_CANCEL = "/checkout/cancel"
ADMIN = "/admin"
ADMIN_ORDERS = "/admin/orders"
ADMIN_ORDER = "/admin/order"  # one order: ?id=<order id> (see admin_order_link)
ADMIN_REVENUE = "/admin/revenue"
ADMIN_EXCEPTIONS = "/admin/exceptions"
ADMIN_INVENTORY = "/admin/inventory"
ORDER_LINK = "/order"  # one order, from the secret link in its emails: ?key=<token> (see order_link_url)
ADMIN_DISCOUNTS = "/admin/discounts"

# Backend routes (Starlette, beside Reflex's own)
STRIPE_WEBHOOK = "/stripe/webhook"
VISITOR = "/visitor"
VISITOR_SCRIPT = "/visitor.js"  # GET: the <head> script whose answer carries the credential
VISITOR_FORGET = "/visitor/forget"
READY = (
    "/ready"  # readiness: writes to the database and Redis (rxshop.web.health); /ping is Reflex's liveness
)
DEV_MAILBOX = "/dev/mailbox"  # development only: the built-in mailbox (MAIL_MODE=mailbox)
ADMIN_SESSION = "/admin-session"  # the owner's cookie, for a one-time grant (rxshop.web.admin_session)
ADMIN_SESSION_END = "/admin-session/end"
ADMIN_ORDERS_CSV = "/admin/orders.csv"  # GET: the CSV of the order list's filters (rxshop.web.admin_export)

# The list's tabs (?tab= an rxshop.admin.queries.OrderTab) and the revenue of one day, as the overview links them.
ADMIN_ORDERS_TAB = ADMIN_ORDERS + "?tab="
ADMIN_ORDERS_TO_SHIP = ADMIN_ORDERS_TAB + "to_ship"
ADMIN_REVENUE_TODAY = ADMIN_REVENUE + "?range=today"

# The start of one order's dashboard link: append the order id (a plain string or a Reflex Var).
ADMIN_ORDER_LINK = ADMIN_ORDER + "?id="

# The start of an order's secret link: append the token (rxshop.orders.links).
ORDER_LINK_KEY = ORDER_LINK + "?key="
