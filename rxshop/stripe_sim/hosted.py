"""The hosted checkout page (GET/POST {public_url}/pay/{id}): plain server-rendered HTML, no JavaScript.

Status codes: 200 for a page, 303 to success_url/cancel_url, 400 when a field is wrong, 402 when the card
is declined (the page re-renders with the message; the session stays open), 404 for an unknown session,
410 when paying an expired session. Every user-supplied string is escaped.
"""

from __future__ import annotations

from html import escape
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from rxshop.stripe_sim import buyer, cards, page
from rxshop.stripe_sim.catalog import CodeRefused
from rxshop.stripe_sim.money import format_amount

if TYPE_CHECKING:
    from rxshop.stripe_sim.app import Simulator

_FORM_FIELDS = (
    "email",
    "name",
    "phone",
    "shipping_rate",
    *(f"shipping_{key}" for key in ("name", "line1", "line2", "city", "state", "postal_code", "country")),
)
_HEADERS = {
    "Cache-Control": "no-store",
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; "
    "frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
}


def routes(sim: Simulator) -> list[Route]:
    async def show(request: Request) -> Response:
        sim.store.sweep()
        session = sim.store.sessions.get(request.path_params["id"])
        if session is None:
            return _not_found(request.path_params["id"])
        return _page(sim, session)

    async def pay(request: Request) -> Response:
        form = await request.form()
        sim.store.sweep()
        session_id = request.path_params["id"]
        session = sim.store.sessions.get(session_id)
        if session is None:
            return _not_found(session_id)
        if session["status"] == "expired":
            return _page(sim, session, status=410)
        if session["status"] == "complete":  # a second Pay charges nothing
            return RedirectResponse(success_redirect(session), status_code=303)

        values = {key: str(form.get(key, "")).strip()[:200] for key in _FORM_FIELDS}
        values["card_number"] = str(form.get("card_number", ""))[:40]
        given = buyer.check(
            session,
            email=values["email"],
            name=values["name"],
            phone=values["phone"],
            shipping={key: values[f"shipping_{key}"] for key in buyer.SHIPPING_FIELDS},
            shipping_rate=values["shipping_rate"],
        )
        errors = dict(given.errors)
        digits = cards.normalize(values["card_number"])
        if digits is None:
            errors["card_number"] = "Your card number is invalid."
        if errors:
            return _page(
                sim,
                session,
                values=values,
                errors=errors,
                status=400,
                alert="Please correct the fields marked below.",
            )
        assert digits is not None
        result = sim.store.pay(
            session_id,
            card_digits=digits,
            email=given.email,
            name=given.name,
            phone=given.phone,
            shipping=given.shipping,
            shipping_rate=given.shipping_rate,
        )
        if result.outcome == "declined":
            assert result.card is not None
            return _page(
                sim,
                session,
                values=values,
                status=402,
                alert=result.card.message,
                errors={"card_number": result.card.message},
            )
        return RedirectResponse(success_redirect(result.session), status_code=303)

    async def promotion_code(request: Request) -> Response:
        """Apply (or remove) a code; the page comes back with the new total, or the code's error."""
        form = await request.form()
        sim.store.sweep()
        session = sim.store.sessions.get(request.path_params["id"])
        if session is None:
            return _not_found(request.path_params["id"])
        if session["status"] != "open" or not session["allow_promotion_codes"]:
            return RedirectResponse(f"{sim.public_url}/pay/{session['id']}", status_code=303)
        if form.get("remove"):
            sim.store.remove_promotion_code(session["id"])
            return _page(sim, session, alert="")
        code = str(form.get("promotion_code", "")).strip()[:500]
        if not code:
            message = "Enter a promotion code."
        else:
            try:
                sim.store.apply_promotion_code(session["id"], code)
            except CodeRefused as refused:
                message = refused.message
            else:
                return _page(sim, session, status_line=f"Code {code.upper()} applied.")
        return _page(
            sim,
            session,
            values={"promotion_code": code},
            errors={"promotion_code": message},
            status=400,
            alert=message,
        )

    async def cancel(request: Request) -> Response:
        session = sim.store.sessions.get(request.path_params["id"])
        if session is None:
            return _not_found(request.path_params["id"])
        if session["cancel_url"]:
            return RedirectResponse(session["cancel_url"], status_code=303)
        return RedirectResponse(f"{sim.public_url}/pay/{session['id']}", status_code=303)

    return [
        Route("/pay/{id}", show, methods=["GET"]),
        Route("/pay/{id}", pay, methods=["POST"]),
        Route("/pay/{id}/cancel", cancel, methods=["POST"]),
        Route("/pay/{id}/promotion_code", promotion_code, methods=["POST"]),
    ]


def success_redirect(session: dict[str, Any]) -> str:
    """success_url with Stripe's literal {CHECKOUT_SESSION_ID} template filled in."""
    return session["success_url"].replace("{CHECKOUT_SESSION_ID}", session["id"])


def _not_found(session_id: str) -> Response:
    body = page.document(
        "Checkout not found",
        f"""
<h1>Checkout not found</h1>
<p class="notice">There is no checkout session <code>{escape(session_id)}</code>. It may belong to another
simulator run (state lives in memory and is lost on restart).</p>""",
    )
    return HTMLResponse(body, status_code=404, headers=_HEADERS)


def _page(
    sim: Simulator,
    session: dict[str, Any],
    *,
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    alert: str = "",
    status: int = 200,
    status_line: str = "",
) -> Response:
    values = values or {}
    errors = errors or {}
    currency = session["currency"]
    total = format_amount(session["amount_total"], currency)
    lines = sim.store.line_items[session["id"]]
    rows = "\n".join(_line_row(sim, line) for line in lines)
    summary = f"""
<section class="card" aria-labelledby="summary-heading">
  <h2 id="summary-heading">Order summary</h2>
  <table>
    <thead><tr><th scope="col">Item</th><th scope="col" class="num">Qty</th>
      <th scope="col" class="num">Amount</th></tr></thead>
    <tbody>
{rows}
    </tbody>
    <tfoot>{_total_rows(sim, session)}<tr><th scope="row" colspan="2">Total</th><td class="num">{escape(total)}</td></tr></tfoot>
  </table>
</section>"""

    status_text = session["status"]
    if status_text == "expired":
        back = ""
        if session["cancel_url"]:
            back = f'<p><a class="button secondary" href="{escape(session["cancel_url"])}">Back to the shop</a></p>'
        content = f"""
<h1>This checkout has expired</h1>
<p class="notice" role="status">The checkout session expired, so nothing can be paid here and nothing was
charged. Return to the shop to start again.</p>
{back}{summary}"""
        return HTMLResponse(page.document("Checkout expired", content), status_code=status, headers=_HEADERS)

    if status_text == "complete":
        intent = sim.store.payment_intents.get(session["payment_intent"] or "", {})
        if session["payment_status"] == "paid":
            heading, text = (
                "Payment received",
                f"This checkout is already paid ({escape(total)}). Nothing more will be charged.",
            )
        elif intent.get("status") == "requires_payment_method":
            heading, text = (
                "Payment failed",
                "The delayed payment for this checkout failed. Nothing was charged.",
            )
        else:
            heading, text = (
                "Payment processing",
                "The payment is processing; the shop will hear when it "
                "settles. Nothing more will be charged.",
            )
        content = f"""
<h1>{heading}</h1>
<p class="notice" role="status">{text}</p>
<p><a class="button primary" href="{escape(success_redirect(session))}">Return to the shop</a></p>
{summary}"""
        return HTMLResponse(page.document(heading, content), status_code=status, headers=_HEADERS)

    action = f"{sim.public_url}/pay/{session['id']}"
    locked_email = session["customer_email"]
    email_value = locked_email or values.get("email", "")
    # Cancel posts its own (empty) form, so pressing Enter in a field still means Pay.
    cancel_button = cancel_form = ""
    if session["cancel_url"]:
        cancel_button = '\n      <button type="submit" form="cancel-form" class="secondary">Cancel</button>'
        cancel_form = f'\n  <form method="post" action="{escape(action)}/cancel" id="cancel-form"></form>'
    card_rows = "\n".join(
        f"<tr><td><code>{cards.spaced(card.number)}</code></td><td>{escape(card.summary)}</td></tr>"
        for card in cards.TEST_CARDS
    )
    content = f"""
<h1>Pay {escape(total)}</h1>
<div id="alert" class="alert" role="alert" aria-live="assertive">{escape(alert)}</div>
<p class="notice" role="status">{escape(status_line)}</p>
{summary}{_promotion_form(sim, session, values, errors)}
<section class="card" aria-labelledby="payment-heading">
  <h2 id="payment-heading">Payment details</h2>
  <form method="post" action="{escape(action)}" id="pay-form" novalidate>
    {
        page.field(
            "email",
            "Email",
            email_value,
            errors,
            input_type="email",
            autocomplete="email",
            required=True,
            readonly=bool(locked_email),
        )
    }
    {_buyer_fields(sim, session, values, errors)}
    {
        page.field(
            "card_number",
            "Card number",
            values.get("card_number", ""),
            errors,
            autocomplete="cc-number",
            inputmode="numeric",
            required=True,
            hint="Test card: 4242 4242 4242 4242 pays. More below.",
        )
    }
    {
        page.field(
            "name", "Name on card", values.get("name", ""), errors, autocomplete="cc-name", optional=True
        )
    }
    {_custom_text(session, "terms_of_service_acceptance")}{_custom_text(session, "submit")}
    <div class="actions">
      <button type="submit" class="primary">Pay</button>{cancel_button}
    </div>
  </form>{cancel_form}
</section>
<details>
  <summary>Test cards</summary>
  <table>
    <thead><tr><th scope="col">Number</th><th scope="col">What happens</th></tr></thead>
    <tbody>
{card_rows}
    </tbody>
  </table>
  <p class="hint">Any other valid card number pays.</p>
</details>"""
    return HTMLResponse(page.document(f"Pay {total}", content), status_code=status, headers=_HEADERS)


def _line_row(sim: Simulator, line: dict[str, Any]) -> str:
    product = sim.store.products.get(line["price"]["product"], {})
    description = product.get("description")
    desc_html = f'<span class="desc">{escape(description)}</span>' if description else ""
    unit = format_amount(line["price"]["unit_amount"], line["currency"])
    return (
        f'      <tr><td>{escape(line["description"])} <span class="desc">{escape(unit)} each</span>{desc_html}'
        f'</td><td class="num">× {line["quantity"]}</td>'
        f'<td class="num">{escape(format_amount(line["amount_total"], line["currency"]))}</td></tr>'
    )


def _custom_text(session: dict[str, Any], key: str) -> str:
    text = session["custom_text"][key]
    return f'<p class="custom-text">{escape(text["message"])}</p>' if text else ""


def _total_rows(sim: Simulator, session: dict[str, Any]) -> str:
    """Subtotal, discount and shipping rows, shown when the session has them."""
    details, currency = session["total_details"], session["currency"]
    if not details["amount_discount"] and not session["shipping_cost"]:
        return ""
    rows = [("Subtotal", format_amount(session["amount_subtotal"], currency))]
    if details["amount_discount"]:
        promo_id = (session["discounts"] or [{}])[0].get("promotion_code")
        promo = sim.store.catalog.promotion_codes.get(promo_id or "")
        label = f"Discount ({promo['code']})" if promo else "Discount"
        rows.append((label, "−" + format_amount(details["amount_discount"], currency)))
    if session["shipping_cost"]:
        rate = sim.store.catalog.shipping_rates[session["shipping_cost"]["shipping_rate"]]
        rows.append(
            (f"Shipping ({rate['display_name']})", format_amount(details["amount_shipping"], currency))
        )
    return "".join(
        f'<tr><th scope="row" colspan="2">{escape(label)}</th><td class="num">{escape(amount)}</td></tr>'
        for label, amount in rows
    )


def _promotion_form(
    sim: Simulator, session: dict[str, Any], values: dict[str, str], errors: dict[str, str]
) -> str:
    """Its own form (Enter in a payment field still means Pay): apply a code, or remove the applied one."""
    if not session["allow_promotion_codes"]:
        return ""
    action = escape(f"{sim.public_url}/pay/{session['id']}/promotion_code")
    if session["discounts"]:
        return f"""
<section class="card" aria-labelledby="promo-heading">
  <h2 id="promo-heading">Promotion code</h2>
  <form method="post" action="{action}">
    <input type="hidden" name="remove" value="1">
    <button type="submit" class="secondary">Remove promotion code</button>
  </form>
</section>"""
    code_field = page.field(
        "promotion_code", "Promotion code", values.get("promotion_code", ""), errors, optional=True
    )
    return f"""
<section class="card" aria-labelledby="promo-heading">
  <h2 id="promo-heading">Promotion code</h2>
  <form method="post" action="{action}" class="inline">
    {code_field}
    <button type="submit" class="secondary">Apply</button>
  </form>
</section>"""


def _buyer_fields(
    sim: Simulator, session: dict[str, Any], values: dict[str, str], errors: dict[str, str]
) -> str:
    """Phone, shipping address and shipping method, when the session asks for them."""
    parts = []
    if session["phone_number_collection"]["enabled"]:
        parts.append(
            page.field(
                "phone",
                "Phone number",
                values.get("phone", ""),
                errors,
                input_type="tel",
                autocomplete="tel",
                required=True,
            )
        )
    collection = session["shipping_address_collection"]
    if collection:
        countries = collection["allowed_countries"]

        def text(key: str, label: str, auto: str, *, required: bool = True) -> str:
            return page.field(
                f"shipping_{key}",
                label,
                values.get(f"shipping_{key}", ""),
                errors,
                autocomplete=f"shipping {auto}",
                required=required,
                optional=not required,
            )

        country = page.select(
            "shipping_country",
            "Country",
            [(c, _country_name(c)) for c in countries],
            values.get("shipping_country") or countries[0],
            errors,
        )
        parts.append(
            '<fieldset class="field"><legend>Shipping address</legend>'
            + _custom_text(session, "shipping_address")
            + text("name", "Full name", "name")
            + text("line1", "Address line 1", "address-line1")
            + text("line2", "Address line 2", "address-line2", required=False)
            + text("city", "City", "address-level2")
            + text("state", "State, province or region", "address-level1", required=False)
            + text("postal_code", "Postal code", "postal-code")
            + country
            + "</fieldset>"
        )
    if session["shipping_options"]:
        chosen = values.get("shipping_rate") or (session["shipping_cost"] or {}).get("shipping_rate", "")
        choices = []
        for option in session["shipping_options"]:
            rate = sim.store.catalog.shipping_rates[option["shipping_rate"]]
            label = (
                f"{rate['display_name']} — {format_amount(option['shipping_amount'], session['currency'])}"
            )
            estimate = _estimate(rate["delivery_estimate"])
            choices.append((rate["id"], f"{label} ({estimate})" if estimate else label))
        parts.append(page.radios("shipping_rate", "Shipping method", choices, chosen, errors))
    return "\n    ".join(parts)


def _estimate(estimate: dict[str, Any] | None) -> str:
    if not estimate:
        return ""
    low, high = estimate["minimum"], estimate["maximum"]
    unit = (high or low)["unit"].replace("_", " ")
    if low and high:
        return f"{low['value']}–{high['value']} {unit}s"
    bound = low or high
    return f"{'at least' if low else 'up to'} {bound['value']} {unit}s"


_COUNTRY_NAMES = {
    "US": "United States",
    "CA": "Canada",
    "GB": "United Kingdom",
    "DE": "Germany",
    "FR": "France",
    "NL": "Netherlands",
    "AU": "Australia",
    "IE": "Ireland",
    "ES": "Spain",
    "IT": "Italy",
    "BE": "Belgium",
    "AT": "Austria",
    "CH": "Switzerland",
    "SE": "Sweden",
    "DK": "Denmark",
    "NO": "Norway",
    "FI": "Finland",
    "PT": "Portugal",
    "PL": "Poland",
    "JP": "Japan",
    "NZ": "New Zealand",
    "MX": "Mexico",
    "BR": "Brazil",
}


def _country_name(code: str) -> str:
    return f"{_COUNTRY_NAMES[code]} ({code})" if code in _COUNTRY_NAMES else code
