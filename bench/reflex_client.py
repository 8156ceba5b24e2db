"""A load client that speaks Reflex 0.10.1's real websocket protocol, as the compiled frontend does.

Socket.IO v5 over Engine.IO v4, websocket transport only, on `websockets` (one coroutine and one socket per
tab, no polling, no per-tab background threads): python-socketio's AsyncClient would need aiohttp and
starts several tasks per connection, which costs the 2-core machine more than the app under test; the
frames themselves are four string prefixes. What a browser tab does (reflex_base/.templates/web/utils/
state.js, `connect` and `applyEvent`):

  GET ws://host/_event/?EIO=4&transport=websocket&token=<tab uuid>   (subprotocol = Reflex version,
       the browser's cookies on the handshake)
  <- 0{"sid":...,"pingInterval":...}                                  Engine.IO open
  -> 40/_event,{"event": <state>.hydrate_and_load + router_data}    CONNECT with the boot event in `auth`
  <- 40/_event,{"sid":...}                                             connected
  <- 42/_event,["event",{"delta":{state: {var_rx_state_: value}}, "events": [...]}]   state updates
  -> 42/_event,["event",{"name": "<state full name>.<handler>", "payload": {...}, "router_data": {...}}]
  <- 2 / -> 3                                                          Engine.IO ping / pong

One difference from the browser, on purpose: the boot event carries no `hashes` of the compiled initial
state (they exist only in a compiled frontend, and the benchmarks run the backends without compiling), so
the first delta is the full state, as on a browser's reconnect. It costs the tab-opening phase a little more,
never a timed event.

A `Browser` holds what a browser profile keeps for its tabs: a cookie jar (sent on every handshake, updated
from Set-Cookie) and localStorage (Reflex `rx.LocalStorage` vars: sent in the hydrate payload, updated from
deltas). A `Tab` is one page: its own token and websocket. Handler names are found in the hydrate delta by
state-name suffix, so the client never imports the app it measures.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from typing import Any

import httpx
import websockets

REFLEX_VERSION = "0.10.1"
NAMESPACE = "/_event"
ROOT_STATE = "reflex___state____state"
FIELD = "_rx_state_"  # Reflex's suffix on every var name in a delta


@dataclass
class Browser:
    """One browser profile: cookies and localStorage shared by its tabs."""

    cookies: dict[str, str] = field(default_factory=dict)
    local_storage: dict[str, str] = field(default_factory=dict)
    # "<state full name>.<var>_rx_state_" -> localStorage key, as the compiled context.js `clientStorage`.
    local_storage_vars: dict[str, str] = field(default_factory=dict)
    # The client address a reverse proxy would put in X-Forwarded-For (rxshop with TRUSTED_PROXY_HOPS=1
    # caps open checkouts per address: 100 tabs are 100 buyers, not one address).
    forwarded_for: str | None = None

    def cookie_header(self) -> dict[str, str]:
        headers = {"X-Forwarded-For": self.forwarded_for} if self.forwarded_for else {}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        return headers

    def take_cookies(self, headers: Any) -> None:
        """Remember Set-Cookie headers of a response (handshake or page load), as a browser would."""
        if hasattr(headers, "get_all"):
            values = headers.get_all("Set-Cookie")
        elif hasattr(headers, "get_list"):  # httpx
            values = headers.get_list("set-cookie")
        else:
            values = []
        for value in values:
            jar = SimpleCookie()
            jar.load(value)
            for name, morsel in jar.items():
                self.cookies[name] = morsel.value

    async def claim_visitor(self, base_url: str) -> dict:
        """GET /visitor.js as every rxshop page's <head> does: the server-issued credential cookie lands in
        the jar, so every later handshake carries it."""
        import httpx

        async with httpx.AsyncClient(base_url=base_url, timeout=30) as client:
            response = await client.get("/visitor.js", headers={"Sec-Fetch-Site": "same-origin"})
        response.raise_for_status()
        self.take_cookies(response.headers)
        return {"ok": True}

    def visitor_id(self, cookie_name: str = "rxshop_visitor") -> str:
        """The visitor of this profile's credential (`v1.<visitor id>.<issued at>.<signature>`)."""
        return self.cookies[cookie_name].split(".")[1]

    def hydrate_vars(self) -> dict[str, str]:
        return {
            key: self.local_storage[name]
            for key, name in self.local_storage_vars.items()
            if name in self.local_storage
        }


class Tab:
    """One page of a Reflex app on one websocket, with its own client token."""

    def __init__(self, base_url: str, browser: Browser | None = None, *, path: str = "/") -> None:
        self.ws_url = base_url.replace("http://", "ws://").rstrip("/") + NAMESPACE + "/"
        self.browser = browser or Browser()
        self.token = str(uuid.uuid4())
        self.path = path
        self.query: dict[str, str] = {}
        self.state: dict[str, dict[str, Any]] = {}  # full state name -> {var: value}
        self.ws: Any = None
        self._reader: asyncio.Task | None = None
        self._waiters: list[tuple[Callable[[dict], bool], asyncio.Future]] = []
        self.updates = 0
        self.closed = asyncio.Event()

    # --- connection ------------------------------------------------------------------------------------

    def _router_data(self) -> dict[str, Any]:
        data: dict[str, Any] = {"pathname": self.path, "asPath": self.path}
        if self.query:
            data["query"] = dict(self.query)
            data["asPath"] += "?" + "&".join(f"{k}={v}" for k, v in self.query.items())
        return data

    async def open(self, timeout: float = 30) -> None:
        """Connect and hydrate the page: returns once on_load has run (is_hydrated is true)."""
        self.ws = await asyncio.wait_for(
            websockets.connect(
                f"{self.ws_url}?EIO=4&transport=websocket&token={self.token}",
                subprotocols=[REFLEX_VERSION],  # type: ignore[list-item]
                additional_headers=self.browser.cookie_header(),
                compression=None,
                max_size=None,
                open_timeout=timeout,
                ping_interval=None,  # Engine.IO pings at its own level
            ),
            timeout,
        )
        self.browser.take_cookies(self.ws.response.headers)
        opened = await asyncio.wait_for(self.ws.recv(), timeout)
        assert opened.startswith("0"), opened
        payload: dict[str, Any] = {}
        if storage := self.browser.hydrate_vars():
            payload["vars"] = storage
        boot = {"name": f"{ROOT_STATE}.hydrate_and_load", "router_data": self._router_data()}
        if payload:
            boot["payload"] = payload
        hydrated = self.wait_for(lambda _u: self.state.get(ROOT_STATE, {}).get("is_hydrated") is True)
        await self.ws.send(f"40{NAMESPACE}," + json.dumps({"event": boot}))
        self._reader = asyncio.create_task(self._read())
        await asyncio.wait_for(hydrated, timeout)

    async def close(self) -> None:
        if self.ws is not None:
            await self.ws.close()
        if self._reader is not None:
            self._reader.cancel()
            try:
                await self._reader
            except (asyncio.CancelledError, Exception):
                pass

    async def _read(self) -> None:
        try:
            async for message in self.ws:
                if message == "2":
                    await self.ws.send("3")
                elif message.startswith(f"42{NAMESPACE},"):
                    name, update = json.loads(message[len(NAMESPACE) + 3 :])
                    if name == "event":
                        self._apply(update)
                elif message.startswith(f"44{NAMESPACE},"):
                    raise RuntimeError(f"connect refused: {message}")
        except websockets.ConnectionClosed:
            pass
        finally:
            self.closed.set()
            for _, future in self._waiters:
                if not future.done():
                    future.set_exception(ConnectionError("websocket closed"))

    def _apply(self, update: dict) -> None:
        self.updates += 1
        for state_name, delta in (update.get("delta") or {}).items():
            target = self.state.setdefault(state_name, {})
            for var, value in delta.items():
                key = var.removesuffix(FIELD)
                target[key] = value
                storage = self.browser.local_storage_vars.get(f"{state_name}.{var}")
                if storage is not None and value not in ("", None):
                    self.browser.local_storage[storage] = value
        for waiter in list(self._waiters):
            predicate, future = waiter
            if not future.done() and predicate(update):
                future.set_result(update)
                self._waiters.remove(waiter)

    def wait_for(self, predicate: Callable[[dict], bool]) -> asyncio.Future:
        """A future resolved with the first update (delta and/or events) after now that satisfies it."""
        future = asyncio.get_running_loop().create_future()
        self._waiters.append((predicate, future))
        return future

    # --- events ----------------------------------------------------------------------------------------

    def state_name(self, suffix: str) -> str:
        """The full name of the state whose name ends with `suffix` (e.g. '___cart____cart_state')."""
        matches = [name for name in self.state if name.endswith(suffix)]
        if len(matches) != 1:
            raise KeyError(f"{suffix!r} matches {matches} among {sorted(self.state)}")
        return matches[0]

    def var(self, state_suffix: str, name: str) -> Any:
        return self.state[self.state_name(state_suffix)].get(name)

    async def send(self, state_suffix: str, handler: str, **payload: Any) -> None:
        event: dict[str, Any] = {
            "name": f"{self.state_name(state_suffix)}.{handler}",
            "router_data": self._router_data(),
        }
        if payload:
            event["payload"] = payload
        await self.ws.send(f"42{NAMESPACE}," + json.dumps(["event", event]))

    async def call(
        self, state_suffix: str, handler: str, until: Callable[[dict], bool], timeout: float = 60, **payload
    ) -> tuple[float, dict]:
        """Send one event and wait for the update that satisfies `until`; (seconds, that update)."""
        done = self.wait_for(until)
        started = time.perf_counter()
        await self.send(state_suffix, handler, **payload)
        update = await asyncio.wait_for(done, timeout)
        return time.perf_counter() - started, update


def script_of(update: dict) -> str | None:
    """The javascript of an rx.call_script carried by an update, if any."""
    for event in update.get("events") or []:
        if event.get("name") == "_call_script":
            return event.get("payload", {}).get("javascript_code")
    return None


def changes(state_suffix: str, var: str) -> Callable[[dict], bool]:
    """A predicate: the update's delta sets `var` of the state ending with `state_suffix`."""

    def predicate(update: dict) -> bool:
        return any(
            name.endswith(state_suffix) and f"{var}{FIELD}" in delta
            for name, delta in (update.get("delta") or {}).items()
        )

    return predicate


async def open_tabs(
    base_url: str, browsers: list[Browser], *, path: str = "/", concurrency: int = 20, timeout: float = 60
) -> list[Tab]:
    """One hydrated tab per browser, at most `concurrency` connecting at a time (a bounded ramp)."""
    gate = asyncio.Semaphore(concurrency)

    async def one(browser: Browser) -> Tab:
        async with gate:
            tab = Tab(base_url, browser, path=path)
            await tab.open(timeout)
            return tab

    return list(await asyncio.wait_for(asyncio.gather(*(one(b) for b in browsers)), timeout * 4))


async def close_tabs(tabs: list[Tab]) -> None:
    await asyncio.gather(*(t.close() for t in tabs), return_exceptions=True)


ADMIN_STATE = "___admin____admin_state"  # rxshop's AdminState, by the suffix of its full name


async def sign_in_owner(url: str, browser: Browser, password: str, timeout: float = 60) -> None:
    """As the owner's browser on /admin: the password over the websocket, then the one-time grant traded at
    /admin-session for the admin cookie, which `browser` keeps (its next tabs connect signed in)."""
    await browser.claim_visitor(url)
    tab = Tab(url, browser, path="/admin")
    await tab.open(timeout)
    try:
        _, update = await tab.call(
            ADMIN_STATE, "sign_in", script_of, timeout, form_data={"password": password}
        )
    finally:
        await tab.close()
    grant = re.search(r'"grant": "([A-Za-z0-9_-]{43})"', script_of(update) or "")
    assert grant, f"no grant in the sign-in answer: {update}"
    async with httpx.AsyncClient(base_url=url, timeout=30) as client:
        response = await client.post(
            "/admin-session", json={"grant": grant[1]}, headers={"Origin": url, **browser.cookie_header()}
        )
    response.raise_for_status()
    browser.take_cookies(response.headers)
