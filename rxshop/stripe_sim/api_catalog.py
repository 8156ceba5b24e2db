"""/v1 endpoints for coupons, promotion codes, shipping rates, customers and events (create, retrieve, list).

They run through Api.handle like the checkout endpoints: same keys, idempotency, errors and faults.
"""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING, Any

from rxshop.stripe_sim import objects_catalog
from rxshop.stripe_sim import params as p
from rxshop.stripe_sim import params_extra as extra
from rxshop.stripe_sim.errors import invalid
from rxshop.stripe_sim.forms import as_string
from rxshop.stripe_sim.objects import new_id

if TYPE_CHECKING:
    from rxshop.stripe_sim.api import Api, Call

Result = tuple[int, dict[str, Any]]


class CatalogApi:
    def __init__(self, api: Api) -> None:
        self.api = api
        self.store = api.store
        self.catalog = api.store.catalog

    def table(self) -> list[tuple[str, str, Any]]:
        return [
            ("/v1/coupons", "POST", self.create_coupon),
            ("/v1/coupons", "GET", self.lister("coupon", "/v1/coupons")),
            ("/v1/coupons/{id}", "GET", self.retriever("coupon")),
            ("/v1/promotion_codes", "POST", self.create_promotion_code),
            ("/v1/promotion_codes", "GET", self.list_promotion_codes),
            ("/v1/promotion_codes/{id}", "GET", self.retriever("promotion_code")),
            ("/v1/shipping_rates", "POST", self.create_shipping_rate),
            ("/v1/shipping_rates", "GET", self.lister("shipping_rate", "/v1/shipping_rates")),
            ("/v1/shipping_rates/{id}", "GET", self.retriever("shipping_rate")),
            ("/v1/customers/{id}", "GET", self.retriever("customer")),
            ("/v1/events", "GET", self.list_events),
            ("/v1/events/{id}", "GET", self.retrieve_event),
        ]

    def _table(self, kind: str) -> dict[str, dict[str, Any]]:
        return {
            "coupon": self.catalog.coupons,
            "promotion_code": self.catalog.promotion_codes,
            "shipping_rate": self.catalog.shipping_rates,
            "customer": self.catalog.customers,
        }[kind]

    def retriever(self, kind: str) -> Any:
        def retrieve(call: Call) -> Result:
            p.expand_only(call.params)
            return 200, copy.deepcopy(self.catalog.find(kind, call.path["id"]))

        return retrieve

    def lister(self, kind: str, url: str) -> Any:
        def list_(call: Call) -> Result:
            paging = p.list_params(call.params, {"active"} if kind == "shipping_rate" else set())
            active = extra.as_bool(call.params.get("active"), "active")
            items = list(reversed(self._table(kind).values()))
            return 200, self.api._list(items, paging, url, lambda o: active is None or o["active"] == active)

        return list_

    def create_coupon(self, call: Call) -> Result:
        now = self.store.clock.timestamp()
        data, _ = extra.coupon_create(call.params, now)
        coupon_id = data.pop("id") or new_id("", 8)
        if coupon_id in self.catalog.coupons:
            raise invalid("Coupon already exists.", param="id", code="resource_already_exists")
        coupon = objects_catalog.coupon(coupon_id=coupon_id, now=now, data=data)
        if coupon["name"] is None:
            coupon["name"] = (
                f"{coupon['percent_off']:g}% off"
                if coupon["percent_off"] is not None
                else f"{coupon['amount_off']} {coupon['currency']} off"
            )
        self.catalog.coupons[coupon_id] = coupon
        return 200, copy.deepcopy(coupon)

    def create_promotion_code(self, call: Call) -> Result:
        now = self.store.clock.timestamp()
        data, _ = extra.promotion_code_create(call.params, now)
        coupon = self.catalog.find("coupon", data["coupon"], param="promotion[coupon]", in_params=True)
        code = data["code"] or new_id("", 8).upper()
        clash = self.catalog.promotion_by_code(code)
        if clash is not None and clash["active"]:
            raise invalid(
                "An active promotion code with `code: " + code + "` already exists.",
                param="code",
                code="resource_already_exists",
            )
        promo_id = new_id("promo_")
        promo = objects_catalog.promotion_code(
            promo_id=promo_id, now=now, code=code, coupon_id=coupon["id"], data=data
        )
        self.catalog.promotion_codes[promo_id] = promo
        return 200, copy.deepcopy(promo)

    def list_promotion_codes(self, call: Call) -> Result:
        paging = p.list_params(call.params, {"active", "code", "coupon"})
        active = extra.as_bool(call.params.get("active"), "active")
        code = as_string(call.params.get("code"), "code")
        coupon = as_string(call.params.get("coupon"), "coupon")

        def keep(promo: dict[str, Any]) -> bool:
            return (
                (active is None or promo["active"] == active)
                and (code is None or promo["code"].lower() == code.lower())
                and (coupon is None or promo["promotion"]["coupon"] == coupon)
            )

        items = list(reversed(self.catalog.promotion_codes.values()))
        return 200, self.api._list(items, paging, "/v1/promotion_codes", keep)

    def create_shipping_rate(self, call: Call) -> Result:
        data = extra.shipping_rate_data(call.params, "")
        rate_id = new_id("shr_")
        rate = objects_catalog.shipping_rate(rate_id=rate_id, now=self.store.clock.timestamp(), data=data)
        self.catalog.shipping_rates[rate_id] = rate
        return 200, copy.deepcopy(rate)

    def list_events(self, call: Call) -> Result:
        paging = p.list_params(call.params, {"type", "types", "created", "delivery_success"})
        wanted = as_string(call.params.get("type"), "type")
        created = p.SessionFilter(p.created_filter(call.params.get("created")), None, None)
        events = [r.event for r in reversed(self.api.sim.webhooks.events.values())]

        def keep(event: dict[str, Any]) -> bool:
            if not created.matches({"created": event["created"], "status": None, "payment_intent": None}):
                return False
            if wanted is None:
                return True
            if wanted.endswith(".*"):
                return event["type"].startswith(wanted[:-1])
            return event["type"] == wanted

        return 200, self.api._list(events, paging, "/v1/events", keep)

    def retrieve_event(self, call: Call) -> Result:
        p.expand_only(call.params)
        record = self.api.sim.webhooks.events.get(call.path["id"])
        if record is None:
            from rxshop.stripe_sim.errors import no_such

            raise no_such("event", call.path["id"])
        return 200, copy.deepcopy(record.event)
