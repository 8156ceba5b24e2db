"""AdminState: the owner's sign-in on this tab, the dashboard's counts, and what every admin state shares.

The sign-in is the owner's own HttpOnly cookie (rxshop.admin.sessions, set by rxshop.web.admin_session), read
from this connection's websocket handshake (`admin_token`) and checked in the database by every handler
(`_admin_token`); the visitor credential only says which browser this is. The browser sees `signed_in`, a
display flag nothing trusts. Order data stays in the admin substates' vars only while signed in: sign-out,
or a handler finding the sign-in expired, empties them all (`_signed_out`).

Signing in: the password is checked here (rxshop.admin.auth, within the attempt limits), the page gets a
one-time grant, trades it for the cookie at POST /admin-session, and reloads so its new connection carries it.

Signed-in tabs are recorded in rxshop.state.live's registry under ADMIN_TOKEN; rxshop.state.live_admin finds them there
when an order changes and refreshes each one's own view, after checking that tab's sign-in again; "Sign out
everywhere" has them check at once (`start_sign_out_pushes` gives this module the running app).
"""

from __future__ import annotations

import dataclasses
import functools
import json
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any, Generic, TypeVar

import reflex as rx
from reflex.istate.data import RouterData

from rxshop.admin import auth
from rxshop.admin.actions import ActionRefused
from rxshop.admin.auth import NotSignedIn, SignInStatus, is_signed_in, sign_in_async, token_from_cookies
from rxshop.admin.inbox import TITLES
from rxshop.admin.reports import summary
from rxshop.core import routes
from rxshop.core.db import in_session
from rxshop.core.settings import get_settings
from rxshop.core.throttle import Throttle, make_throttle
from rxshop.domain.catalog import format_money
from rxshop.state import tabs
from rxshop.state.visitor import checked_visitor_id

T = TypeVar("T")
log = logging.getLogger(__name__)

ADMIN_TOKEN = (
    "admin-dashboard"  # rxshop.state.live's key for the signed-in dashboard tabs (never a visitor id)
)
MAX_FIELD = 200  # longest text the admin forms accept (notes: 2000)
# Sign-in events one connection may send per window (each costs a database write even when refused; the
# attempt limits themselves are rxshop.admin.limits'), across workers through Redis when there is one.
SIGN_IN_EVENTS, SIGN_IN_WINDOW = 10, 10
TOO_FAST = "Too many sign-in attempts from this page. Wait a few seconds and try again."
COOKIE_REFUSED = (
    "This browser did not keep the sign-in cookie: allow cookies for this shop and sign in again."
)
# The idle window (rxshop.admin.sessions.IDLE_TIMEOUT, 2 hours) slides at most this often per tab.
TOUCH_EVERY_SECONDS = 60
SIGNED_OUT_EVERYWHERE = "Signed out on every browser and device."
INBOX_LABELS: dict[str, str] = dict(TITLES)  # one wording for the inbox and the overview
UNEXPECTED = "Something went wrong on our side; nothing was changed. Please try again."


@dataclasses.dataclass(frozen=True)
class CountRow:
    kind: str
    label: str
    count: int


@dataclasses.dataclass(frozen=True)
class Outcome(Generic[T]):
    """What one of the owner's actions came to: the line the owner reads, and the action's result (None
    when it did not go through)."""

    message: str
    result: T | None = None


def form_text(form_data: Any, name: str, limit: int = MAX_FIELD) -> str | None:
    """One text field of a submitted form, or None when it is missing, not text, or too long."""
    if not isinstance(form_data, dict):
        return None
    value = form_data.get(name, "")
    if not isinstance(value, str) or len(value) > limit:
        return None
    return value.strip()


def admin_token(router: RouterData) -> str:
    """The admin cookie of this connection's websocket handshake ("" without one); checked by the caller."""
    return token_from_cookies(router.headers.cookie, secure=get_settings().secure_cookies)


@functools.cache
def sign_in_budget(redis_url: str | None) -> Throttle:
    """Per connection (client token); one per worker process, kept (its Redis client is the loop's)."""
    return make_throttle(
        "admin-sign-in", limit=SIGN_IN_EVENTS, window_seconds=SIGN_IN_WINDOW, redis_url=redis_url
    )


def _session_script(url: str, body: dict[str, str] | None, *, reload: bool) -> str:
    """POST to an admin-session route with this browser's cookies; then reload (a new connection carries the
    cookie just set)."""
    go = "window.location.reload()" if reload else ""
    return f"""(async () => {{
  const response = await fetch({json.dumps(url)}, {{
    method: "POST", credentials: "include", headers: {{"Content-Type": "application/json"}},
    body: JSON.stringify({json.dumps(body or {})}),
  }});
  if (!response.ok) return "failed";
  {go};
  return "ok";
}})()"""


class AdminState(rx.State):
    enabled: bool = False  # ADMIN_PASSWORD is set
    checked: bool = False  # this tab's sign-in was looked up (the page shows nothing before)
    signed_in: bool = False  # display only: every handler checks the database again
    sign_in_error: str = ""
    # The dashboard's counts (empty until signed in).
    to_ship: int = 0
    orders_today: int = 0
    revenue_today: str = ""
    open_exceptions: int = 0
    exception_counts: list[CountRow] = []
    # When this tab last slid the sign-in's idle window (time.time(): the state may move between workers).
    _touched_at: float = 0.0

    # --- the sign-in check every handler starts with -----------------------------------------------------

    async def _admin_token(self, *, touch: bool = True) -> str:
        """This connection's admin token when it is signed in as the owner now, else "" (data cleared).

        `touch`: the owner acted, so the idle window slides (a live refresh passes False). At most once per
        TOUCH_EVERY_SECONDS per tab: the slide is a write, and a write's COMMIT waits for the disk (SQLite's
        synchronous=FULL); per click it put a disk sync in every page turn of the order list (up to ~100 ms
        on a busy disk, bench/admin_scale.py). The sign-in itself is read every time."""
        self.enabled = get_settings().admin_enabled
        self.checked = True
        token = admin_token(self.router)
        slide = touch and abs(time.time() - self._touched_at) >= TOUCH_EVERY_SECONDS
        if self.enabled and token and await in_session(is_signed_in, admin=token, touch=slide):
            self.signed_in = True
            if slide:
                self._touched_at = time.time()
            return token
        await self._signed_out()
        return ""

    async def _service(self, fn: Callable[..., T], admin: str, **kwargs: Any) -> T | None:
        """One admin service off the event loop; None (and everything cleared) if the sign-in just ended."""
        try:
            return await in_session(fn, admin=admin, **kwargs)
        except NotSignedIn:
            await self._signed_out()
            return None

    async def _attempt(self, action: Awaitable[T], said: Callable[[T], str], what: str) -> Outcome[T] | None:
        """Run one of the owner's actions from a background handler, outside the state lock.

        None when the sign-in just ended (this tab is cleared). Otherwise the line the owner reads: `said` of the
        result, the service's refusal (ActionRefused), or for anything unexpected an apology; the trace goes to
        the log ("<what> failed"), never to the browser."""
        try:
            result = await action
            return Outcome(said(result), result)
        except ActionRefused as err:
            return Outcome(str(err))
        except NotSignedIn:
            async with self:
                await self._signed_out()
            return None
        except Exception:
            log.exception("%s failed", what)
            return Outcome(UNEXPECTED)

    async def _signed_out(self) -> None:
        """Forget every order figure this tab holds and leave the live dashboard."""
        was_signed_in = self.signed_in
        self.signed_in = False
        for name in ("to_ship", "orders_today", "revenue_today", "open_exceptions", "exception_counts"):
            setattr(self, name, AdminState.get_fields()[name].default_value())
        for substate in AdminState.get_substates():
            (await self.get_state(substate)).reset()
        if was_signed_in:
            await tabs.unlisten(ADMIN_TOKEN, self.router.session.client_token)

    async def _join_live(self) -> None:
        # Recorded where order changes look: no dashboard tab connected, nothing loaded or read.
        await tabs.listen(ADMIN_TOKEN, self.router.session.client_token)

    async def _refresh_summary(self, admin: str) -> None:
        found = await self._service(summary, admin)
        if found is None:
            return
        self.to_ship, self.orders_today = found.to_ship, found.orders_today
        self.revenue_today = format_money(found.revenue_today)
        self.open_exceptions = found.open_exception_count
        self.exception_counts = [
            CountRow(kind, INBOX_LABELS.get(kind, kind), count)
            for kind, count in sorted(found.open_exceptions.items())
        ]

    async def _refresh(self, admin: str) -> None:
        """Re-read what this state shows (substates add their own)."""
        await self._refresh_summary(admin)

    async def _refresh_live(self) -> None:
        """An order changed somewhere: re-check this tab's sign-in, then re-read every view it loaded."""
        admin = await self._admin_token(touch=False)
        if not admin:
            return
        await self._refresh_summary(admin)
        for substate in AdminState.get_substates():
            state = await self.get_state(substate)
            if getattr(state, "loaded", False):
                await state._refresh(admin)

    # --- events ------------------------------------------------------------------------------------------

    @rx.event
    async def load(self):
        """On every admin page load: is the dashboard on, is this tab signed in; then the counts."""
        admin = await self._admin_token()
        if admin:
            await self._join_live()
            await self._refresh_summary(admin)

    @rx.event
    async def sign_in(self, form_data: dict):
        """Check the password on the server (within the attempt limits); then the page fetches its cookie."""
        password = form_text(form_data, "password", limit=auth.MAX_PASSWORD)
        settings = get_settings()
        self.enabled = settings.admin_enabled
        if not self.enabled:
            return
        if not password:
            self.sign_in_error = "Enter the password."
            return
        visitor = checked_visitor_id(self.router)
        if not visitor:
            self.sign_in_error = "This browser has no shop cookie yet: allow cookies and reload the page."
            return
        budget = sign_in_budget(settings.redis_url)
        if not await budget.allow(self.router.session.client_token, time.time()):
            self.sign_in_error = TOO_FAST
            return
        result = await sign_in_async(
            visitor_id=visitor, client_ip=self.router.session.client_ip, password=password
        )
        if result.status != SignInStatus.SIGNED_IN:
            self.sign_in_error = result.message
            return
        self.sign_in_error = ""
        # The grant is good once, for a minute, in this browser only (its visitor cookie): the page trades it
        # for the HttpOnly admin cookie and reloads, so that its next connection carries the cookie.
        script = _session_script(
            settings.backend_url + routes.ADMIN_SESSION, {"grant": result.grant}, reload=True
        )
        return rx.call_script(script, callback=AdminState.session_opened)

    @rx.event
    def session_opened(self, result: str):
        """The cookie exchange's answer ("ok": the page reloads signed in)."""
        if result != "ok":
            self.sign_in_error = COOKIE_REFUSED

    async def _end(self, message: str = ""):
        """This tab emptied, its cookie deleted (its sign-in has ended already), and the overview's sign-in
        form shown."""
        await self._signed_out()
        self.sign_in_error = message
        url = get_settings().backend_url + routes.ADMIN_SESSION_END
        return [rx.call_script(_session_script(url, None, reload=False)), rx.redirect(routes.ADMIN)]

    @rx.event
    async def sign_out(self):
        """End this sign-in in the database (a copy of the cookie is then worth nothing) and empty this tab."""
        if token := admin_token(self.router):
            await in_session(auth.sign_out, admin=token)
        return await self._end()

    @rx.event(background=True)
    async def sign_out_everywhere(self):
        """End every sign-in of the owner (every browser, this one too); open dashboards empty at once."""
        async with self:
            admin = await self._admin_token()
        if not admin:
            return
        try:
            await in_session(auth.sign_out_everywhere, admin=admin)
        except NotSignedIn:
            pass
        async with self:
            done = await self._end(SIGNED_OUT_EVERYWHERE)
        await _recheck_open_dashboards()  # this tab has left the live list already
        return done


_app: rx.App | None = None


def start_sign_out_pushes(app: rx.App) -> None:
    """Lifespan task of the running app: "Sign out everywhere" empties every open dashboard at once."""
    global _app
    _app = app


async def _recheck_open_dashboards() -> None:
    """Every connected dashboard tab (any worker) checks its sign-in again now, and empties if it ended."""
    if _app is None:
        return
    for tab in await tabs.listeners(ADMIN_TOKEN):
        try:
            await tabs.push_to(_app, tab, AdminState, lambda state: state._refresh_live())
        except Exception:
            log.exception("Could not tell an open dashboard that every sign-in ended")
