"""The order summary on the hosted page: each line, subtotal, discount and shipping rows, and the total."""

from __future__ import annotations

from html import escape
from typing import TYPE_CHECKING, Any

from rxshop.stripe_sim.money import format_amount

if TYPE_CHECKING:
    from rxshop.stripe_sim.store import Store


def order_summary(store: Store, session: dict[str, Any]) -> str:
    """The summary card every state of the page shows."""
    total = format_amount(session["amount_total"], session["currency"])
    rows = "\n".join(_line_row(store, line) for line in store.line_items[session["id"]])
    return f"""
<section class="card" aria-labelledby="summary-heading">
  <h2 id="summary-heading">Order summary</h2>
  <table>
    <thead><tr><th scope="col">Item</th><th scope="col" class="num">Qty</th>
      <th scope="col" class="num">Amount</th></tr></thead>
    <tbody>
{rows}
    </tbody>
    <tfoot>{_total_rows(store, session)}<tr><th scope="row" colspan="2">Total</th><td class="num">{escape(total)}</td></tr></tfoot>
  </table>
</section>"""


def _line_row(store: Store, line: dict[str, Any]) -> str:
    product = store.products.get(line["price"]["product"], {})
    description = product.get("description")
    desc_html = f'<span class="desc">{escape(description)}</span>' if description else ""
    unit = format_amount(line["price"]["unit_amount"], line["currency"])
    return (
        f'      <tr><td>{escape(line["description"])} <span class="desc">{escape(unit)} each</span>{desc_html}'
        f'</td><td class="num">× {line["quantity"]}</td>'
        f'<td class="num">{escape(format_amount(line["amount_total"], line["currency"]))}</td></tr>'
    )


def _total_rows(store: Store, session: dict[str, Any]) -> str:
    """Subtotal, discount and shipping rows, shown when the session has them."""
    details, currency = session["total_details"], session["currency"]
    if not details["amount_discount"] and not session["shipping_cost"]:
        return ""
    rows = [("Subtotal", format_amount(session["amount_subtotal"], currency))]
    if details["amount_discount"]:
        promo_id = (session["discounts"] or [{}])[0].get("promotion_code")
        promo = store.catalog.promotion_codes.get(promo_id or "")
        label = f"Discount ({promo['code']})" if promo else "Discount"
        rows.append((label, "−" + format_amount(details["amount_discount"], currency)))
    if session["shipping_cost"]:
        rate = store.catalog.shipping_rates[session["shipping_cost"]["shipping_rate"]]
        rows.append(
            (f"Shipping ({rate['display_name']})", format_amount(details["amount_shipping"], currency))
        )
    return "".join(
        f'<tr><th scope="row" colspan="2">{escape(label)}</th><td class="num">{escape(amount)}</td></tr>'
        for label, amount in rows
    )
