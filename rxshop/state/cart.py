"""CartState: the quantities a visitor picked; prices always come from the server's catalog."""

import reflex as rx

from rxshop.domain.cart import InvalidQuantity, parse_quantity, price_cart, set_quantity
from rxshop.domain.catalog import CURRENCY, MAX_QUANTITY, PRODUCTS, UnknownProduct, format_money, get_product
from rxshop.domain.shipping import shipping_summary
from rxshop.domain.stock import cart_limit_notice
from rxshop.state import live_stock


class CartState(rx.State):
    quantities: dict[str, int] = {}
    notice: str = ""  # the last refused input, shown beside the cart and announced

    @rx.event
    def set_quantity(self, product_id: str, value: str | int):
        """Typed into a quantity field: an empty field means 0; anything invalid changes nothing."""
        raw = value.strip() if isinstance(value, str) else value
        self._apply(product_id, 0 if raw == "" else raw)

    @rx.event
    def increment(self, product_id: str):
        self._step(product_id, +1)

    @rx.event
    def decrement(self, product_id: str):
        self._step(product_id, -1)

    @rx.event
    def clear(self):
        self._empty()

    def _empty(self):
        self.quantities = {}
        self.notice = ""

    def _step(self, product_id: str, delta: int):
        try:
            current = parse_quantity(self.quantities.get(get_product(product_id).id, 0))
        except (UnknownProduct, InvalidQuantity) as err:
            self.notice = str(err)
            return
        self._apply(product_id, min(max(current + delta, 0), MAX_QUANTITY))

    def _apply(self, product_id: object, raw: object):
        try:
            self.quantities = set_quantity(self.quantities, product_id, raw)  # type: ignore[arg-type]
            self.notice = ""
        except (UnknownProduct, InvalidQuantity) as err:
            self.notice = str(err)
            return
        # Never more than is free, by this worker's latest count (Buy then checks it exactly).
        limit = live_stock.orderable(str(product_id))
        if self.quantities.get(str(product_id), 0) > limit:
            self.quantities = set_quantity(self.quantities, product_id, limit)  # type: ignore[arg-type]
            self.notice = cart_limit_notice(str(product_id), limit)

    @rx.var
    def counts(self) -> dict[str, int]:
        """Every product's quantity, zeros included, for the quantity fields."""
        return {p.id: int(self.quantities.get(p.id, 0)) for p in PRODUCTS}

    @rx.var
    def subtotals(self) -> dict[str, str]:
        return {p.id: format_money(p.unit_amount * int(self.quantities.get(p.id, 0))) for p in PRODUCTS}

    @rx.var
    def summary_lines(self) -> list[dict[str, str]]:
        return [
            {"name": line.name, "quantity": str(line.quantity), "subtotal": format_money(line.subtotal)}
            for line in self._cart().lines
        ]

    @rx.var
    def total_label(self) -> str:
        return format_money(self._cart().total, CURRENCY)

    @rx.var
    def shipping_note(self) -> str:
        """What shipping this cart would be offered at checkout, from the server's rates (rxshop.domain.shipping)."""
        return shipping_summary(self._cart().total)

    @rx.var
    def item_count(self) -> int:
        return self._cart().item_count

    @rx.var
    def is_empty(self) -> bool:
        return self._cart().is_empty

    def _cart(self):
        try:
            return price_cart(self.quantities)
        except (UnknownProduct, InvalidQuantity):  # cannot happen through the handlers above
            return price_cart({})
