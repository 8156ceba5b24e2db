"""VisitorState: who this browser is, read on the server from the signed, HttpOnly credential cookie.

The websocket handshake carries the cookie (`router.headers.cookie`, never sent back to the browser).
A browser without a valid credential asks the backend for one (rxshop.web.visitor) and reloads, so the new
connection carries it. Nothing the browser stores or sends in an event decides who it is.
"""

import json
import time

import reflex as rx
from reflex.istate.data import RouterData

from rxshop.core import routes
from rxshop.core.settings import get_settings
from rxshop.domain.identity import Credential, credential_from_cookies

LEGACY_KEY = "rxshop_visitor"  # where the first versions kept an unsigned id in localStorage
_RETRY_GUARD = "rxshop_identify_at"  # sessionStorage: no reload loop when cookies are blocked
COOKIES_BLOCKED = "This browser did not keep our cookie, so your orders cannot be shown here. Please allow cookies for this shop and reload."


def _claim_script(url: str, *, reload: bool) -> str:
    """Ask the backend for a credential (with the old localStorage id, once), then reload to use it."""
    return f"""(async () => {{
  if ({json.dumps(reload)}) {{
    const last = Number(sessionStorage.getItem({json.dumps(_RETRY_GUARD)}) || 0);
    if (Date.now() - last < 15000) return "blocked";
    sessionStorage.setItem({json.dumps(_RETRY_GUARD)}, String(Date.now()));
  }}
  const legacy = localStorage.getItem({json.dumps(LEGACY_KEY)});
  const response = await fetch({json.dumps(url)}, {{
    method: "POST", credentials: "include", headers: {{"Content-Type": "application/json"}},
    body: JSON.stringify({{legacy}}),
  }});
  if (!response.ok) return "failed";
  localStorage.removeItem({json.dumps(LEGACY_KEY)});
  if ({json.dumps(reload)}) window.location.reload();
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
        """On every page load: fetch a credential if this connection has none; renew an old one."""
        credential = self._credential()
        self.ready = credential is not None
        backend = get_settings().backend_url
        if credential is None:
            return rx.call_script(
                _claim_script(backend + routes.VISITOR, reload=True), callback=VisitorState.claimed
            )
        if credential.needs_refresh(time.time()):
            return rx.call_script(_claim_script(backend + routes.VISITOR, reload=False))
        self.notice = ""

    @rx.event
    def claimed(self, result: str):
        """The claim script's answer; anything but success leaves the browser without orders, and says so."""
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
