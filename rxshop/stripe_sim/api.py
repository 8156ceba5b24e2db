"""The /v1 API subset: authentication, idempotency, expansion and pagination as Stripe does them.

Each endpoint is a synchronous operation run between the idempotency look-up and the idempotency save,
with no await in between, so concurrent requests with one key cannot both execute.
"""

from __future__ import annotations

import base64
import copy
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from stripe._api_version import _ApiVersion

from rxshop.stripe_sim import params as p
from rxshop.stripe_sim.access import check_key, check_redirect, mask
from rxshop.stripe_sim.api_catalog import CatalogApi
from rxshop.stripe_sim.errors import (
    StripeAPIError,
    authentication,
    idempotency,
    invalid,
    no_such,
    server_error,
)
from rxshop.stripe_sim.forms import decode_query
from rxshop.stripe_sim.store import new_id

if TYPE_CHECKING:
    from rxshop.stripe_sim.app import Simulator

_TEST_KEY = re.compile(r"^(sk|rk)_test_[A-Za-z0-9_]{1,247}$")
IDEMPOTENCY_WINDOW = 24 * 3600


@dataclass
class Call:
    """What an operation gets: decoded params, path params and what events should cite as their request."""

    params: dict[str, Any]
    path: dict[str, str]
    request: dict[str, Any]


@dataclass(frozen=True)
class IdempotentResult:
    method: str
    path: str
    params: dict[str, Any]
    status: int
    body: str
    request_id: str
    saved_at: float


Operation = Callable[[Call], tuple[int, dict[str, Any]]]


def api_key_from(request: Request) -> str:
    header = request.headers.get("authorization", "")
    scheme, _, credentials = header.partition(" ")
    key = ""
    if scheme.lower() == "bearer":
        key = credentials.strip()
    elif scheme.lower() == "basic":
        try:
            key = base64.b64decode(credentials.strip(), validate=True).decode("utf-8").partition(":")[0]
        except (ValueError, UnicodeDecodeError):
            key = ""
    if not key:
        raise authentication(
            "You did not provide an API key. You need to provide your API key in the Authorization header, "
            "using Bearer auth (e.g. 'Authorization: Bearer YOUR_SECRET_KEY'). See "
            "https://stripe.com/docs/api#authentication for details."
        )
    if key.startswith(("sk_live_", "rk_live_")):
        raise authentication(
            "The rxshop Stripe simulator only accepts test-mode keys (sk_test_...); "
            "it refuses live keys so they never leave your machine for a fake server."
        )
    if not _TEST_KEY.match(key):
        raise authentication(f"Invalid API Key provided: {mask(key)}")
    return key


class Api:
    def __init__(self, sim: Simulator) -> None:
        self.sim = sim
        self.store = sim.store
        self.idempotent: dict[tuple[str, str], IdempotentResult] = {}

    def reset(self) -> None:
        self.idempotent.clear()

    def routes(self) -> list[Route]:
        def route(path: str, method: str, operation: Operation) -> Route:
            async def endpoint(request: Request) -> Response:
                return await self.handle(request, operation)

            return Route(path, endpoint, methods=[method])

        return [
            route("/v1/checkout/sessions", "POST", self.create_session),
            route("/v1/checkout/sessions", "GET", self.list_sessions),
            route("/v1/checkout/sessions/{id}", "GET", self.retrieve_session),
            route("/v1/checkout/sessions/{id}/line_items", "GET", self.list_line_items),
            route("/v1/checkout/sessions/{id}/expire", "POST", self.expire_session),
            route("/v1/payment_intents/{id}", "GET", self.retrieve_payment_intent),
            route("/v1/charges/{id}", "GET", self.retrieve_charge),
            route("/v1/refunds", "POST", self.create_refund),
            route("/v1/refunds/{id}", "GET", self.retrieve_refund),
            *(route(path, method, op) for path, method, op in CatalogApi(self).table()),
            Route("/v1/{rest:path}", self.unknown_route, methods=["GET", "POST", "DELETE", "PUT", "PATCH"]),
        ]

    # ---- request pipeline -----------------------------------------------------------------------------

    async def handle(self, request: Request, operation: Operation) -> Response:
        request_id = new_id("req_", 14)
        headers = {
            "Request-Id": request_id,
            "Stripe-Version": request.headers.get("stripe-version", _ApiVersion.CURRENT),
            "Cache-Control": "no-cache, no-store",
        }
        post = request.method == "POST"
        try:
            api_key = api_key_from(request)
            check_key(api_key, self.sim.api_keys)
            body = (await request.body()).decode("utf-8", errors="replace") if post else ""
            params = decode_query(body if post else request.url.query)
            key = request.headers.get("idempotency-key") if post else None
            if key is not None:
                headers["Idempotency-Key"] = key
                if len(key) > 255:
                    raise invalid("Idempotency-Key must be no longer than 255 characters.")
                replay = self._replay(api_key, key, request, params)
                if replay is not None:
                    headers.update({"Idempotent-Replayed": "true", "Original-Request": replay.request_id})
                    return self._json(replay.status, replay.body, headers)
            # From here to the save below nothing awaits: the operation and its idempotency record are atomic.
            self.store.sweep()
            call = Call(params, dict(request.path_params), {"id": request_id, "idempotency_key": key})
            if request.scope.get("rxshop.sim.fault") == "500":
                status, text = 500, json.dumps(server_error().body(), indent=2)
            else:
                status, obj = operation(call)
                text = json.dumps(obj, indent=2)
            if key is not None:
                self.idempotent[(api_key, key)] = IdempotentResult(
                    request.method, request.url.path, params, status, text, request_id, self.sim.clock.now()
                )
            return self._json(status, text, headers)
        except StripeAPIError as error:
            return self._json(error.status, json.dumps(error.body(), indent=2), headers)

    def _replay(
        self, api_key: str, key: str, request: Request, params: dict[str, Any]
    ) -> IdempotentResult | None:
        saved = self.idempotent.get((api_key, key))
        if saved is None or self.sim.clock.now() - saved.saved_at > IDEMPOTENCY_WINDOW:
            return None
        if saved.method != request.method or saved.path != request.url.path:
            raise idempotency(
                f"Keys for idempotent requests can only be used for the same endpoint they were first used for "
                f"({saved.method} {saved.path} vs {request.method} {request.url.path}). Try using a key other "
                f"than '{key}' if you meant to execute a different request."
            )
        if saved.params != params:
            raise idempotency(
                f"Keys for idempotent requests can only be used with the same parameters they were first used "
                f"with. Try using a key other than '{key}' if you meant to execute a different request."
            )
        return saved

    @staticmethod
    def _json(status: int, text: str, headers: dict[str, str]) -> Response:
        return Response(text, status_code=status, headers=headers, media_type="application/json")

    async def unknown_route(self, request: Request) -> Response:
        path = request.path_params.get("rest", "")

        def refuse(call: Call) -> tuple[int, dict[str, Any]]:
            raise StripeAPIError(
                404,
                "invalid_request_error",
                f"Unrecognized request URL ({request.method}: /v1/{path}). The rxshop simulator implements only "
                "the endpoints listed in docs/stripe-simulator.md.",
            )

        return await self.handle(request, refuse)

    # ---- rendering ------------------------------------------------------------------------------------

    def _list(
        self,
        items: list[dict[str, Any]],
        paging: p.ListParams,
        url: str,
        keep: Callable[[dict[str, Any]], bool] = lambda _: True,
    ) -> dict[str, Any]:
        """One page of `items` (already in list order), the way Stripe pages with cursors."""
        ids = [item["id"] for item in items]
        if paging.starting_after is not None:
            if paging.starting_after not in ids:
                raise no_such(_object_name(url), paging.starting_after, param="starting_after")
            candidates = [i for i in items[ids.index(paging.starting_after) + 1 :] if keep(i)]
            page, has_more = candidates[: paging.limit], len(candidates) > paging.limit
        elif paging.ending_before is not None:
            if paging.ending_before not in ids:
                raise no_such(_object_name(url), paging.ending_before, param="ending_before")
            candidates = [i for i in items[: ids.index(paging.ending_before)] if keep(i)]
            page, has_more = candidates[-paging.limit :], len(candidates) > paging.limit
        else:
            candidates = [i for i in items if keep(i)]
            page, has_more = candidates[: paging.limit], len(candidates) > paging.limit
        return {"object": "list", "data": copy.deepcopy(page), "has_more": has_more, "url": url}

    def _line_items_list(self, session_id: str) -> dict[str, Any]:
        return {
            "object": "list",
            "data": copy.deepcopy(self.store.line_items[session_id]),
            "has_more": False,
            "url": f"/v1/checkout/sessions/{session_id}/line_items",
        }

    def expand(self, obj: dict[str, Any], paths: list[str]) -> dict[str, Any]:
        """Replace ids by objects along each (already checked) path, e.g. line_items.data.price.product."""
        for path in paths:
            self._expand(obj, path.split("."))
        return obj

    def _expand(self, obj: Any, parts: list[str]) -> None:
        if not isinstance(obj, dict):
            return  # e.g. payment_intent is still null on an unpaid session
        head, rest = parts[0], parts[1:]
        if obj.get("object") == "list" and head == "data":
            for item in obj["data"]:
                if rest:
                    self._expand(item, rest)
            return
        value = obj.get(head)
        if head == "line_items" and value is None:
            obj[head] = self._line_items_list(obj["id"])
        elif isinstance(value, str):
            table = {
                "payment_intent": self.store.payment_intents,
                "latest_charge": self.store.charges,
                "charge": self.store.charges,
                "product": self.store.products,
                "customer": self.store.catalog.customers,
            }[head]
            obj[head] = copy.deepcopy(table[value])
        if rest:
            self._expand(obj[head], rest)

    # ---- operations -----------------------------------------------------------------------------------

    def create_session(self, call: Call) -> tuple[int, dict[str, Any]]:
        spec, expand = p.session_create(call.params, self.sim.clock.timestamp())
        check_redirect(spec.success_url, "success_url", self.sim.redirect_origins)
        check_redirect(spec.cancel_url, "cancel_url", self.sim.redirect_origins)
        check_expand("checkout.session", expand)
        return 200, self.expand(self.store.create_session(spec), expand)

    def list_sessions(self, call: Call) -> tuple[int, dict[str, Any]]:
        paging, filters = p.session_list(call.params)
        check_expand("list:checkout.session", paging.expand)
        page = self._list(
            self.store.sessions_newest_first(), paging, "/v1/checkout/sessions", filters.matches
        )
        return 200, self.expand(page, paging.expand)

    def retrieve_session(self, call: Call) -> tuple[int, dict[str, Any]]:
        expand = check_expand("checkout.session", p.expand_only(call.params))
        return 200, self.expand(copy.deepcopy(self.store.session(call.path["id"])), expand)

    def list_line_items(self, call: Call) -> tuple[int, dict[str, Any]]:
        session_id = call.path["id"]
        self.store.session(session_id)
        paging = p.list_params(call.params)
        check_expand("list:item", paging.expand)
        page = self._list(
            self.store.line_items[session_id], paging, f"/v1/checkout/sessions/{session_id}/line_items"
        )
        return 200, self.expand(page, paging.expand)

    def expire_session(self, call: Call) -> tuple[int, dict[str, Any]]:
        expand = check_expand("checkout.session", p.expand_only(call.params))
        return 200, self.expand(self.store.expire_session(call.path["id"], request=call.request), expand)

    def retrieve_payment_intent(self, call: Call) -> tuple[int, dict[str, Any]]:
        expand = check_expand("payment_intent", p.expand_only(call.params))
        return 200, self.expand(copy.deepcopy(self.store.payment_intent(call.path["id"])), expand)

    def retrieve_charge(self, call: Call) -> tuple[int, dict[str, Any]]:
        expand = check_expand("charge", p.expand_only(call.params))
        return 200, self.expand(copy.deepcopy(self.store.charge(call.path["id"])), expand)

    def create_refund(self, call: Call) -> tuple[int, dict[str, Any]]:
        spec = p.refund_create(call.params)
        check_expand("refund", spec.expand)
        refund = self.store.create_refund(
            payment_intent=spec.payment_intent,
            charge=spec.charge,
            amount=spec.amount,
            reason=spec.reason,
            metadata=spec.metadata,
            request=call.request,
        )
        return 200, self.expand(refund, spec.expand)

    def retrieve_refund(self, call: Call) -> tuple[int, dict[str, Any]]:
        expand = check_expand("refund", p.expand_only(call.params))
        return 200, self.expand(copy.deepcopy(self.store.refund(call.path["id"])), expand)


# What each object type can expand, and into what: the expandable fields the simulator implements.
_EXPANDABLE = {
    "checkout.session": {
        "line_items": "list:item",
        "payment_intent": "payment_intent",
        "customer": "customer",
    },
    "item": {"price": "price"},
    "price": {"product": "product"},
    "payment_intent": {"latest_charge": "charge", "customer": "customer"},
    "charge": {"payment_intent": "payment_intent", "customer": "customer"},
    "refund": {"charge": "charge", "payment_intent": "payment_intent"},
}


def check_expand(kind: str, paths: list[str]) -> list[str]:
    """Refuse an unknown expand path before anything changes, with Stripe's wording."""
    for path in paths:
        parts = path.split(".")
        if len(parts) > 4:
            raise invalid(
                f"You cannot expand more than 4 levels of a property. Property: {path}", param="expand"
            )
        current = kind
        for part in parts:
            if current.startswith("list:") and part == "data":
                current = current.removeprefix("list:")
                continue
            following = _EXPANDABLE.get(current, {}).get(part)
            if following is None:
                raise invalid(f"This property cannot be expanded ({path}).", param="expand")
            current = following
    return paths


def _object_name(url: str) -> str:
    return "line_item" if url.endswith("/line_items") else "checkout.session"
