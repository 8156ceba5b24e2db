"""/v1 operations on checkout sessions and the payments they make: payment intents, charges, refunds.

Each operation is synchronous and runs inside Api.handle (keys, idempotency, errors, faults).
"""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING

from rxshop.stripe_sim.access import check_redirect
from rxshop.stripe_sim.api.call import Call, Operation, Result
from rxshop.stripe_sim.api.expand import Expander, check_expand
from rxshop.stripe_sim.api.listing import page_of
from rxshop.stripe_sim.params.checkout import session_create
from rxshop.stripe_sim.params.lists import expand_only, list_params, session_list
from rxshop.stripe_sim.params.refunds import refund_create

if TYPE_CHECKING:
    from rxshop.stripe_sim.app import Simulator


class CheckoutOperations:
    """POST/GET /v1/checkout/sessions[...], GET /v1/payment_intents|charges/{id}, POST/GET /v1/refunds."""

    def __init__(self, sim: Simulator) -> None:
        self.sim = sim
        self.store = sim.store
        self.expander = Expander(sim.store)

    def table(self) -> list[tuple[str, str, Operation]]:
        return [
            ("/v1/checkout/sessions", "POST", self.create_session),
            ("/v1/checkout/sessions", "GET", self.list_sessions),
            ("/v1/checkout/sessions/{id}", "GET", self.retrieve_session),
            ("/v1/checkout/sessions/{id}/line_items", "GET", self.list_line_items),
            ("/v1/checkout/sessions/{id}/expire", "POST", self.expire_session),
            ("/v1/payment_intents/{id}", "GET", self.retrieve_payment_intent),
            ("/v1/charges/{id}", "GET", self.retrieve_charge),
            ("/v1/refunds", "POST", self.create_refund),
            ("/v1/refunds/{id}", "GET", self.retrieve_refund),
        ]

    def create_session(self, call: Call) -> Result:
        spec, expand = session_create(call.params, self.sim.clock.timestamp())
        check_redirect(spec.success_url, "success_url", self.sim.redirect_origins)
        check_redirect(spec.cancel_url, "cancel_url", self.sim.redirect_origins)
        check_expand("checkout.session", expand)
        return 200, self.expander.expand(self.store.create_session(spec), expand)

    def list_sessions(self, call: Call) -> Result:
        paging, filters = session_list(call.params)
        check_expand("list:checkout.session", paging.expand)
        page = page_of(self.store.sessions_newest_first(), paging, "/v1/checkout/sessions", filters.matches)
        return 200, self.expander.expand(page, paging.expand)

    def retrieve_session(self, call: Call) -> Result:
        expand = check_expand("checkout.session", expand_only(call.params))
        return 200, self.expander.expand(copy.deepcopy(self.store.session(call.path["id"])), expand)

    def list_line_items(self, call: Call) -> Result:
        session_id = call.path["id"]
        self.store.session(session_id)
        paging = list_params(call.params)
        check_expand("list:item", paging.expand)
        page = page_of(
            self.store.line_items[session_id], paging, f"/v1/checkout/sessions/{session_id}/line_items"
        )
        return 200, self.expander.expand(page, paging.expand)

    def expire_session(self, call: Call) -> Result:
        expand = check_expand("checkout.session", expand_only(call.params))
        return 200, self.expander.expand(
            self.store.expire_session(call.path["id"], request=call.request), expand
        )

    def retrieve_payment_intent(self, call: Call) -> Result:
        expand = check_expand("payment_intent", expand_only(call.params))
        return 200, self.expander.expand(copy.deepcopy(self.store.payment_intent(call.path["id"])), expand)

    def retrieve_charge(self, call: Call) -> Result:
        expand = check_expand("charge", expand_only(call.params))
        return 200, self.expander.expand(copy.deepcopy(self.store.charge(call.path["id"])), expand)

    def create_refund(self, call: Call) -> Result:
        spec = refund_create(call.params)
        check_expand("refund", spec.expand)
        refund = self.store.create_refund(
            payment_intent=spec.payment_intent,
            charge=spec.charge,
            amount=spec.amount,
            reason=spec.reason,
            metadata=spec.metadata,
            request=call.request,
        )
        return 200, self.expander.expand(refund, spec.expand)

    def retrieve_refund(self, call: Call) -> Result:
        expand = check_expand("refund", expand_only(call.params))
        return 200, self.expander.expand(copy.deepcopy(self.store.refund(call.path["id"])), expand)
