"""/v1 operations on the catalog: coupons, promotion codes, shipping rates and customers.

They run through Api.handle like the checkout endpoints: same keys, idempotency, errors and faults.
"""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING, Any

from rxshop.stripe_sim.api.call import Call, Operation, Result
from rxshop.stripe_sim.api.listing import page_of
from rxshop.stripe_sim.errors import invalid
from rxshop.stripe_sim.ids import new_id
from rxshop.stripe_sim.objects import catalog as shapes
from rxshop.stripe_sim.params.catalog import coupon_create, promotion_code_create, promotion_code_update
from rxshop.stripe_sim.params.forms import as_bool, as_string
from rxshop.stripe_sim.params.lists import expand_only, list_params
from rxshop.stripe_sim.params.shipping import shipping_rate_data

if TYPE_CHECKING:
    from rxshop.stripe_sim.store import Store


class CatalogOperations:
    """POST/GET /v1/coupons, /v1/promotion_codes, /v1/shipping_rates; GET /v1/customers/{id}."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.catalog = store.catalog

    def table(self) -> list[tuple[str, str, Operation]]:
        return [
            ("/v1/coupons", "POST", self.create_coupon),
            ("/v1/coupons", "GET", self.lister("coupon", "/v1/coupons")),
            ("/v1/coupons/{id}", "GET", self.retriever("coupon")),
            ("/v1/promotion_codes", "POST", self.create_promotion_code),
            ("/v1/promotion_codes", "GET", self.list_promotion_codes),
            ("/v1/promotion_codes/{id}", "GET", self.retriever("promotion_code")),
            ("/v1/promotion_codes/{id}", "POST", self.update_promotion_code),
            ("/v1/shipping_rates", "POST", self.create_shipping_rate),
            ("/v1/shipping_rates", "GET", self.lister("shipping_rate", "/v1/shipping_rates")),
            ("/v1/shipping_rates/{id}", "GET", self.retriever("shipping_rate")),
            ("/v1/customers/{id}", "GET", self.retriever("customer")),
        ]

    def _table(self, kind: str) -> dict[str, dict[str, Any]]:
        return {
            "coupon": self.catalog.coupons,
            "promotion_code": self.catalog.promotion_codes,
            "shipping_rate": self.catalog.shipping_rates,
            "customer": self.catalog.customers,
        }[kind]

    def retriever(self, kind: str) -> Operation:
        def retrieve(call: Call) -> Result:
            expand_only(call.params)
            return 200, copy.deepcopy(self.catalog.find(kind, call.path["id"]))

        return retrieve

    def lister(self, kind: str, url: str) -> Operation:
        def list_(call: Call) -> Result:
            paging = list_params(call.params, {"active"} if kind == "shipping_rate" else set())
            active = as_bool(call.params.get("active"), "active")
            items = list(reversed(self._table(kind).values()))
            return 200, page_of(items, paging, url, lambda o: active is None or o["active"] == active)

        return list_

    def create_coupon(self, call: Call) -> Result:
        now = self.store.clock.timestamp()
        data, _ = coupon_create(call.params, now)
        coupon_id = data.pop("id") or new_id("", 8)
        if coupon_id in self.catalog.coupons:
            raise invalid("Coupon already exists.", param="id", code="resource_already_exists")
        coupon = shapes.coupon(coupon_id=coupon_id, now=now, data=data)
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
        data, _ = promotion_code_create(call.params, now)
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
        promo = shapes.promotion_code(
            promo_id=promo_id, now=now, code=code, coupon_id=coupon["id"], data=data
        )
        self.catalog.promotion_codes[promo_id] = promo
        return 200, copy.deepcopy(promo)

    def update_promotion_code(self, call: Call) -> Result:
        """Stripe's rules: a code turned on again must not clash with an active code of the same text."""
        changes, _ = promotion_code_update(call.params)
        promo = self.catalog.find("promotion_code", call.path["id"])
        if changes.get("active") and not promo["active"]:
            clash = self.catalog.promotion_by_code(promo["code"])
            if clash is not None and clash["active"] and clash["id"] != promo["id"]:
                raise invalid(
                    "An active promotion code with `code: " + promo["code"] + "` already exists.",
                    param="active",
                    code="resource_already_exists",
                )
        if "metadata" in changes:
            promo["metadata"] = {**promo["metadata"], **changes.pop("metadata")}
        promo.update(changes)
        return 200, copy.deepcopy(promo)

    def list_promotion_codes(self, call: Call) -> Result:
        paging = list_params(call.params, {"active", "code", "coupon"})
        active = as_bool(call.params.get("active"), "active")
        code = as_string(call.params.get("code"), "code")
        coupon = as_string(call.params.get("coupon"), "coupon")

        def keep(promo: dict[str, Any]) -> bool:
            return (
                (active is None or promo["active"] == active)
                and (code is None or promo["code"].lower() == code.lower())
                and (coupon is None or promo["promotion"]["coupon"] == coupon)
            )

        items = list(reversed(self.catalog.promotion_codes.values()))
        return 200, page_of(items, paging, "/v1/promotion_codes", keep)

    def create_shipping_rate(self, call: Call) -> Result:
        data = shipping_rate_data(call.params, "")
        rate_id = new_id("shr_")
        rate = shapes.shipping_rate(rate_id=rate_id, now=self.store.clock.timestamp(), data=data)
        self.catalog.shipping_rates[rate_id] = rate
        return 200, copy.deepcopy(rate)
