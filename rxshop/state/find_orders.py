"""FindOrdersState: "Find my orders" on My Orders: an emailed code shows, in this browser, every order paid
with that address, live, until the browser is forgotten (or the buyer stops it here).

The grant belongs to the visitor of the server-signed credential (rxshop.orders.email_access), never to
anything the browser sends. Asking for a code answers the same whether or not the address has orders, and
is throttled per address and per client (rxshop.core.throttle, across workers with Redis); each code has 5
tries. A tab showing found orders is recorded under FOUND_KEY: rxshop.state.mail_push re-reads it when an
order paid with one of its addresses changes.
"""

import hashlib
import time

import reflex as rx

from rxshop.core.db import in_session
from rxshop.core.mail_settings import normalize_email
from rxshop.core.models import utcnow
from rxshop.core.settings import get_settings
from rxshop.core.throttle import Throttle, make_throttle
from rxshop.mail import sender
from rxshop.orders import email_access
from rxshop.orders.email_access import Verdict
from rxshop.state import tabs
from rxshop.state.orders import OrderRow
from rxshop.state.visitor import checked_visitor_id

FOUND_KEY = "orders-found-by-email"  # the registry key of the tabs showing orders found by email
_throttles: dict[str, Throttle] = {}
_LIMITS = {  # name: (attempts, per seconds)
    "code-address": (5, 3600),  # codes sent to one address
    "code-client": (20, 3600),  # codes asked for from one client address
    "check-client": (30, 600),  # codes tried from one client address (each code also has 5 tries)
}
TOO_MANY = "Too many attempts from here. Please wait a while and try again."


def _throttle(name: str) -> Throttle:
    """One per worker, made on first use (a Redis client belongs to the event loop that made it)."""
    if name not in _throttles:
        limit, window = _LIMITS[name]
        _throttles[name] = make_throttle(
            f"find-orders-{name}", limit=limit, window_seconds=window, redis_url=get_settings().redis_url
        )
    return _throttles[name]


def _field(form_data, name: str, limit: int) -> str:
    value = form_data.get(name, "") if isinstance(form_data, dict) else ""
    return value.strip() if isinstance(value, str) and len(value) <= limit else ""


class FindOrdersState(rx.State):
    mail_on: bool = False  # email can be sent (MAIL_MODE is not off): the form shows
    code_sent_to: str = ""  # the address a code was asked for ("": ask for an address)
    notice: str = ""  # what happened (polite)
    error: str = ""  # what to fix (assertive)
    orders: list[OrderRow] = []
    emails: list[str] = []  # the addresses this browser proved it reads
    _visitor_id: str = ""

    @rx.event
    async def load(self):
        """On My Orders' load: the orders of the addresses this browser proved, and listen for their changes."""
        self.mail_on = get_settings().mail_mode != "off"
        visitor_id = checked_visitor_id(self.router)
        if visitor_id != self._visitor_id:  # another visitor in this tab now (a forgotten browser)
            self.reset()
            self.mail_on = get_settings().mail_mode != "off"
        self._visitor_id = visitor_id
        await self._refresh()

    async def _refresh(self) -> None:
        if not self._visitor_id:
            return
        found = await in_session(email_access.found_orders, visitor_id=self._visitor_id)
        if found.emails:
            await tabs.listen(FOUND_KEY, self.router.session.client_token)
        self.emails = list(found.emails)
        self.orders = [OrderRow.of(order) for order in found.orders]

    async def _push(self, email: str) -> None:
        """An order paid with `email` changed (rxshop.state.mail_push): re-read if this tab shows that address."""
        if email and email in self.emails:
            await self._refresh()

    @rx.event
    async def request_code(self, form_data: dict):
        """Email a 6-digit code to the address (if it has orders); the answer never says whether it has."""
        self.error = self.notice = ""
        email = normalize_email(_field(form_data, "email", 320))
        visitor_id = checked_visitor_id(self.router)
        if email is None:
            self.error = "Enter the email address you used at checkout, like you@example.com."
            return
        if not visitor_id:
            self.error = "This browser has no shop cookie yet: allow cookies and reload the page."
            return
        now, client = time.time(), self.router.session.client_ip or "unknown"
        address_key = hashlib.sha256(email.encode()).hexdigest()[:32]
        if not await _throttle("code-client").allow(client, now) or not await _throttle("code-address").allow(
            address_key, now
        ):
            self.error = TOO_MANY
            return
        await in_session(
            email_access.request_code,
            visitor_id=visitor_id,
            email=email,
            key=get_settings().signing_key(),
            now=utcnow(),
        )
        sender.wake()
        self.code_sent_to = email
        self.notice = (
            f"If {email} has orders with us, a 6-digit code is on its way to it. "
            "It works for 10 minutes, in this browser."
        )

    @rx.event
    async def check_code(self, form_data: dict):
        """The code from the email: right, and this browser shows that address's orders from now on."""
        self.error = ""
        code = "".join(_field(form_data, "code", 20).split())
        visitor_id = checked_visitor_id(self.router)
        if not code.isdigit() or len(code) != 6:
            self.error = "Enter the 6 digits from the email."
            return
        if not visitor_id or not await _throttle("check-client").allow(
            self.router.session.client_ip or "unknown", time.time()
        ):
            self.error = TOO_MANY
            return
        checked = await in_session(
            email_access.check_code,
            visitor_id=visitor_id,
            code=code,
            key=get_settings().signing_key(),
            now=utcnow(),
        )
        if checked.verdict != Verdict.GRANTED:
            self.error = _REFUSALS[checked.verdict].format(tries=checked.tries_left)
            if checked.verdict in (Verdict.EXPIRED, Verdict.TOO_MANY, Verdict.NO_CODE):
                self.code_sent_to = ""
            return
        self._visitor_id = visitor_id
        self.code_sent_to = ""
        await self._refresh()
        self.notice = f"Showing the orders paid with {checked.email} ({len(self.orders)} found)."

    @rx.event
    def use_another_address(self):
        self.code_sent_to = self.error = self.notice = ""

    @rx.event
    async def stop_showing(self):
        """This browser no longer shows the orders found by email (its own orders stay)."""
        visitor_id = checked_visitor_id(self.router)
        if visitor_id:
            await in_session(email_access.forget_emails, visitor_id=visitor_id)
        await tabs.unlisten(FOUND_KEY, self.router.session.client_token)
        self.orders, self.emails = [], []
        self.notice = "These orders are no longer shown in this browser."


_REFUSALS = {
    Verdict.WRONG: "That code is not right. {tries} tries left.",
    Verdict.EXPIRED: "That code has expired. Ask for a new one.",
    Verdict.TOO_MANY: "Too many wrong codes. Ask for a new one.",
    Verdict.NO_CODE: "Ask for a code first.",
}
