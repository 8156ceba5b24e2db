"""VisitorState: who this browser is, read on the server from the signed, HttpOnly credential cookie.

The websocket handshake carries the cookie (`router.headers.cookie`, never sent back to the browser). Every
page's <head> script (GET /visitor.js, rxshop.web.visitor) has put it in place before the app connects, so
a first visit loads once. Only a page whose script could not set it (cookies blocked, a page cached from
before) asks the backend by script and reloads once; nothing the browser stores or sends in an event
decides who it is.
"""

import json
import time

import reflex as rx
from reflex.istate.data import RouterData

from rxshop.core import routes
from rxshop.core.settings import get_settings
from rxshop.domain.identity import Credential, credential_from_cookies

_RETRY_GUARD = "rxshop_identify_at"  # sessionStorage: no reload loop when cookies are blocked
COOKIES_BLOCKED = "This browser did not keep our cookie, so your orders cannot be shown here. Please allow cookies for this shop and reload."


def _claim_script(url: str) -> str:
    """The fallback: ask the backend for a credential, then reload to use it (at most once in 15 s)."""
    return f"""(async () => {{
  const last = Number(sessionStorage.getItem({json.dumps(_RETRY_GUARD)}) || 0);
  if (Date.now() - last < 15000) return "blocked";
  sessionStorage.setItem({json.dumps(_RETRY_GUARD)}, String(Date.now()));
  const response = await fetch({json.dumps(url)}, {{method: "POST", credentials: "include"}});
  if (!response.ok) return "failed";
  window.location.reload();
  return "ok";
}})()"""


def _forget_script(url: str) -> str:
    return f"""(async () => {{
  const response = await fetch({json.dumps(url)}, {{method: "POST", credentials: "include"}});
  if (!response.ok) return "failed";
  sessionStorage.removeItem({json.dumps(_RETRY_GUARD)});
  window.location.assign({json.dumps(routes.HOME)});
  return "ok";
}})()"""


def credential_of(router: RouterData) -> Credential | None:
    """The valid credential of the connection this router belongs to: the HttpOnly cookie of the websocket
    handshake, checked with the server's key."""
    return credential_from_cookies(router.headers.cookie, key=get_settings().signing_key(), now=time.time())


def checked_visitor_id(router: RouterData) -> str:
    """The connection's visitor id, or "" when it has no valid credential (callers then refuse). A function
    of any state's router, so a handler needs no `get_state(VisitorState)` for it (with Redis, a round trip)."""
    credential = credential_of(router)
    return credential.visitor_id if credential is not None else ""


class VisitorState(rx.State):
    notice: str = ""  # shown when this browser cannot keep an identity (cookies blocked)
    ready: bool = False  # this connection carries a valid credential (Buy waits for it)

    @rx.event
    def identify(self):
        """On every page load: is this connection someone? (The page's <head> script renews the cookie.)"""
        self.ready = self._credential() is not None
        if not self.ready:
            return rx.call_script(
                _claim_script(get_settings().backend_url + routes.VISITOR), callback=VisitorState.claimed
            )
        if self.notice:
            self.notice = ""

    @rx.event
    def claimed(self, result: str):
        """The fallback script's answer; anything but success leaves the browser without orders, and says so."""
        if result in ("blocked", "failed"):
            self.notice = COOKIES_BLOCKED

    @rx.event
    def forget(self):
        """Forget this browser: its credential is deleted and it starts again as a new visitor.

        Not ready from here on: this tab's state outlives the navigation, and the next page must not show
        the old credential's "ready" before it has its new one."""
        self.ready = False
        return rx.call_script(_forget_script(get_settings().backend_url + routes.VISITOR_FORGET))

    def _credential(self) -> Credential | None:
        return credential_of(self.router)

    def _checked_id(self) -> str:
        """This connection's visitor id, or "" when it has no valid credential (callers then refuse)."""
        return checked_visitor_id(self.router)
