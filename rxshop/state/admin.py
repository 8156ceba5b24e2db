"""AdminState: the owner's sign-in on this tab, the dashboard's counts, and what every admin state shares.

The sign-in lives in the database (rxshop.admin.auth), keyed by this connection's visitor id, which every
handler reads again from the HttpOnly credential (`_admin_id`); the browser sees only `signed_in`, a display
flag nothing trusts. Order data stays in the admin substates' vars only while signed in: sign-out, or a
handler finding the sign-in expired, empties them all (`_signed_out`).

Signed-in tabs are recorded in rxshop.state.live's registry under ADMIN_TOKEN; rxshop.state.live_admin finds them there
when an order changes and refreshes each one's own view, after checking that tab's sign-in again.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any, TypeVar

import reflex as rx

from rxshop.admin.auth import NotSignedIn, SignInStatus, is_signed_in, sign_in, sign_out
from rxshop.admin.inbox import TITLES
from rxshop.admin.reports import summary
from rxshop.core import routes
from rxshop.core.db import in_session
from rxshop.core.settings import get_settings
from rxshop.domain.catalog import format_money
from rxshop.state import tabs
from rxshop.state.visitor import VisitorState

T = TypeVar("T")

ADMIN_TOKEN = (
    "admin-dashboard"  # rxshop.state.live's key for the signed-in dashboard tabs (never a visitor id)
)
MAX_FIELD = 200  # longest text the admin forms accept (notes: 2000)
INBOX_LABELS: dict[str, str] = dict(TITLES)  # one wording for the inbox and the overview


@dataclasses.dataclass(frozen=True)
class CountRow:
    kind: str
    label: str
    count: int


def form_text(form_data: Any, name: str, limit: int = MAX_FIELD) -> str | None:
    """One text field of a submitted form, or None when it is missing, not text, or too long."""
    if not isinstance(form_data, dict):
        return None
    value = form_data.get(name, "")
    if not isinstance(value, str) or len(value) > limit:
        return None
    return value.strip()


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

    # --- the sign-in check every handler starts with -----------------------------------------------------

    async def _admin_id(self) -> str:
        """This connection's visitor id when it is signed in as the owner now, else "" (data cleared)."""
        self.enabled = get_settings().admin_enabled
        self.checked = True
        visitor = (await self.get_state(VisitorState))._checked_id()
        if self.enabled and visitor and await in_session(is_signed_in, visitor_id=visitor):
            self.signed_in = True
            return visitor
        await self._signed_out()
        return ""

    async def _service(self, fn: Callable[..., T], admin: str, **kwargs: Any) -> T | None:
        """One admin service off the event loop; None (and everything cleared) if the sign-in just ended."""
        try:
            return await in_session(fn, admin=admin, **kwargs)
        except NotSignedIn:
            await self._signed_out()
            return None

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
        admin = await self._admin_id()
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
        admin = await self._admin_id()
        if admin:
            await self._join_live()
            await self._refresh_summary(admin)

    @rx.event
    async def sign_in(self, form_data: dict):
        """Check the password on the server (scrypt, throttled per client address)."""
        password = form_text(form_data, "password", limit=1024)
        self.enabled = get_settings().admin_enabled
        if not self.enabled:
            return
        if not password:
            self.sign_in_error = "Enter the password."
            return
        visitor = (await self.get_state(VisitorState))._checked_id()
        if not visitor:
            self.sign_in_error = "This browser has no shop cookie yet: allow cookies and reload the page."
            return
        result = await in_session(
            sign_in,
            visitor_id=visitor,
            client_key=self.router.session.client_ip or "unknown",
            password=password,
        )
        if result.status != SignInStatus.SIGNED_IN:
            self.sign_in_error = result.message
            return
        self.sign_in_error = ""
        self.signed_in = True
        await self._join_live()
        await self._refresh_summary(visitor)

    @rx.event
    async def sign_out(self):
        """End the sign-in in the database and empty this tab."""
        visitor = (await self.get_state(VisitorState))._checked_id()
        if visitor:
            await in_session(sign_out, visitor_id=visitor)
        await self._signed_out()
        self.sign_in_error = ""
        return rx.redirect(routes.ADMIN)
