"""The /v1 request pipeline: authentication, idempotency and errors as Stripe does them, around each operation.

Each endpoint is a synchronous operation run between the idempotency look-up and the idempotency save,
with no await in between, so concurrent requests with one key cannot both execute.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from stripe._api_version import _ApiVersion

from rxshop.stripe_sim.access import api_key_from, check_key
from rxshop.stripe_sim.api.call import Call, Operation, Result
from rxshop.stripe_sim.api.catalog import CatalogOperations
from rxshop.stripe_sim.api.checkout import CheckoutOperations
from rxshop.stripe_sim.api.events import EventOperations
from rxshop.stripe_sim.errors import StripeAPIError, idempotency, invalid, server_error
from rxshop.stripe_sim.faults import STORED_FAULT
from rxshop.stripe_sim.ids import new_id
from rxshop.stripe_sim.params.forms import decode_query

if TYPE_CHECKING:
    from rxshop.stripe_sim.app import Simulator

IDEMPOTENCY_WINDOW = 24 * 3600


@dataclass(frozen=True)
class IdempotentResult:
    """The first answer to a POST with an Idempotency-Key, replayed for the same key and parameters."""

    method: str
    path: str
    params: dict[str, Any]
    status: int
    body: str
    request_id: str
    saved_at: float


class Api:
    """The /v1 routes: every operation runs through `handle` (key, idempotency, errors, stored faults)."""

    def __init__(self, sim: Simulator) -> None:
        self.sim = sim
        self.store = sim.store
        self.idempotent: dict[tuple[str, str], IdempotentResult] = {}
        self.operations = [
            *CheckoutOperations(sim).table(),
            *CatalogOperations(sim.store).table(),
            *EventOperations(sim.webhooks).table(),
        ]

    def reset(self) -> None:
        self.idempotent.clear()

    def routes(self) -> list[Route]:
        def route(path: str, method: str, operation: Operation) -> Route:
            async def endpoint(request: Request) -> Response:
                return await self.handle(request, operation)

            return Route(path, endpoint, methods=[method])

        return [
            *(route(path, method, operation) for path, method, operation in self.operations),
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
            if request.scope.get(STORED_FAULT) == "500":
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

        def refuse(call: Call) -> Result:
            raise StripeAPIError(
                404,
                "invalid_request_error",
                f"Unrecognized request URL ({request.method}: /v1/{path}). The rxshop simulator implements only "
                "the endpoints listed in docs/stripe-simulator.md.",
            )

        return await self.handle(request, refuse)
