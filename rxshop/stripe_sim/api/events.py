"""/v1 operations on events: every event the simulator recorded, whatever the webhook endpoint subscribes to."""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING, Any

from rxshop.stripe_sim.api.call import Call, Operation, Result
from rxshop.stripe_sim.api.listing import page_of
from rxshop.stripe_sim.errors import no_such
from rxshop.stripe_sim.params.forms import as_string
from rxshop.stripe_sim.params.lists import SessionFilter, created_filter, expand_only, list_params

if TYPE_CHECKING:
    from rxshop.stripe_sim.webhooks import WebhookDispatcher


class EventOperations:
    """GET /v1/events (newest first; `type`, also `prefix.*`, and `created` filters) and /v1/events/{id}."""

    def __init__(self, webhooks: WebhookDispatcher) -> None:
        self.webhooks = webhooks

    def table(self) -> list[tuple[str, str, Operation]]:
        return [
            ("/v1/events", "GET", self.list_events),
            ("/v1/events/{id}", "GET", self.retrieve_event),
        ]

    def list_events(self, call: Call) -> Result:
        paging = list_params(call.params, {"type", "types", "created", "delivery_success"})
        wanted = as_string(call.params.get("type"), "type")
        created = SessionFilter(created_filter(call.params.get("created")), None, None)
        events = [r.event for r in reversed(self.webhooks.events.values())]

        def keep(event: dict[str, Any]) -> bool:
            if not created.matches({"created": event["created"], "status": None, "payment_intent": None}):
                return False
            if wanted is None:
                return True
            if wanted.endswith(".*"):
                return event["type"].startswith(wanted[:-1])
            return event["type"] == wanted

        return 200, page_of(events, paging, "/v1/events", keep)

    def retrieve_event(self, call: Call) -> Result:
        expand_only(call.params)
        record = self.webhooks.events.get(call.path["id"])
        if record is None:
            raise no_such("event", call.path["id"])
        return 200, copy.deepcopy(record.event)
