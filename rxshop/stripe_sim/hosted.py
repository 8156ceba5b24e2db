"""The hosted checkout page (GET/POST {public_url}/pay/{id}): plain server-rendered HTML, no JavaScript.

Status codes: 200 for a page, 303 to success_url/cancel_url, 400 when a field is wrong, 402 when the card
is declined (the page re-renders with the message; the session stays open), 404 for an unknown session,
410 when paying an expired session. Every user-supplied string is escaped.
"""

from __future__ import annotations

import re
from html import escape
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from rxshop.stripe_sim import cards
from rxshop.stripe_sim.money import format_amount

if TYPE_CHECKING:
    from rxshop.stripe_sim.app import Simulator

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_HEADERS = {
    "Cache-Control": "no-store",
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; "
    "frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
}

_STYLE = """
*, *::before, *::after { box-sizing: border-box; }
body { margin: 0; font: 1rem/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif;
       color: #1a1a1a; background: #f6f7f9; }
.banner { background: #fff4c2; color: #3d2c00; border-bottom: 2px solid #8a6d00; padding: .75rem 1rem;
          text-align: center; }
.banner p { margin: 0; }
main { max-width: 34rem; margin: 0 auto; padding: 1.25rem 1rem 3rem; }
.card { background: #fff; border: 1px solid #d0d4da; border-radius: .5rem; padding: 1rem 1.25rem;
        margin-bottom: 1rem; }
h1 { font-size: 1.5rem; margin: .5rem 0 1rem; }
h2 { font-size: 1.15rem; margin: 0 0 .75rem; }
table { width: 100%; border-collapse: collapse; }
th, td { text-align: left; padding: .4rem .25rem; border-bottom: 1px solid #e3e6ea; vertical-align: top; }
td.num, th.num { text-align: right; white-space: nowrap; }
tfoot th, tfoot td { font-weight: 700; border-bottom: 0; }
.desc { display: block; color: #4a4f57; font-size: .9rem; }
.field { margin-bottom: 1rem; }
label { display: block; font-weight: 600; margin-bottom: .25rem; }
.optional { font-weight: 400; color: #4a4f57; }
input { width: 100%; font: inherit; padding: .6rem .7rem; border: 1px solid #6b7280; border-radius: .375rem;
        color: #1a1a1a; background: #fff; }
input[readonly] { background: #eef0f3; }
input[aria-invalid="true"] { border: 2px solid #b00020; }
.hint { margin: .25rem 0 0; color: #4a4f57; font-size: .9rem; }
.field-error { margin: .25rem 0 0; color: #b00020; font-weight: 600; }
.alert:empty { display: none; }
.alert { border: 2px solid #b00020; background: #fdecee; color: #7a0016; border-radius: .375rem;
         padding: .75rem 1rem; margin-bottom: 1rem; font-weight: 600; }
.notice { border-left: 4px solid #0a2540; padding: .5rem 1rem; background: #fff; }
.actions { display: flex; flex-wrap: wrap; gap: .75rem; align-items: center; }
button, .button { font: inherit; font-weight: 600; border-radius: .375rem; padding: .7rem 1.4rem; cursor: pointer;
                  min-height: 2.75rem; display: inline-block; text-decoration: none; }
.primary { background: #0a2540; color: #fff; border: 2px solid #0a2540; }
.primary:hover { background: #163a63; }
.secondary { background: #fff; color: #0a2540; border: 2px solid #0a2540; }
:focus-visible { outline: 3px solid #1d4ed8; outline-offset: 2px; }
details { margin-top: 1rem; }
summary { cursor: pointer; font-weight: 600; }
code { font-size: .95em; }
@media (max-width: 400px) { main { padding: 1rem .75rem 2rem; } .card { padding: .75rem; }
                            .actions button { width: 100%; } }
"""


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

        email = session["customer_email"] or str(form.get("email", "")).strip()
        card_input = str(form.get("card_number", ""))
        name = str(form.get("name", "")).strip()[:200] or None
        values = {"email": email, "card_number": card_input, "name": name or ""}
        errors: dict[str, str] = {}
        if not _EMAIL.match(email):
            errors["email"] = "Enter a valid email address, like name@example.com."
        digits = cards.normalize(card_input)
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
        result = sim.store.pay(session_id, card_digits=digits, email=email, name=name)
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
    ]


def success_redirect(session: dict[str, Any]) -> str:
    """success_url with Stripe's literal {CHECKOUT_SESSION_ID} template filled in."""
    return session["success_url"].replace("{CHECKOUT_SESSION_ID}", session["id"])


def _not_found(session_id: str) -> Response:
    body = _document(
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
    <tfoot><tr><th scope="row" colspan="2">Total</th><td class="num">{escape(total)}</td></tr></tfoot>
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
        return HTMLResponse(_document("Checkout expired", content), status_code=status, headers=_HEADERS)

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
        return HTMLResponse(_document(heading, content), status_code=status, headers=_HEADERS)

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
{summary}
<section class="card" aria-labelledby="payment-heading">
  <h2 id="payment-heading">Payment details</h2>
  <form method="post" action="{escape(action)}" id="pay-form" novalidate>
    {
        _field(
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
    {
        _field(
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
    {_field("name", "Name on card", values.get("name", ""), errors, autocomplete="cc-name", optional=True)}
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
    return HTMLResponse(_document(f"Pay {total}", content), status_code=status, headers=_HEADERS)


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


def _field(
    name: str,
    label: str,
    value: str,
    errors: dict[str, str],
    *,
    input_type: str = "text",
    autocomplete: str = "",
    inputmode: str = "",
    required: bool = False,
    readonly: bool = False,
    optional: bool = False,
    hint: str = "",
) -> str:
    error = errors.get(name)
    described = []
    hint_html = error_html = ""
    if hint:
        described.append(f"{name}-hint")
        hint_html = f'<p class="hint" id="{name}-hint">{escape(hint)}</p>'
    if error:
        described.append(f"{name}-error")
        error_html = f'<p class="field-error" id="{name}-error">{escape(error)}</p>'
    attributes = [f'id="{name}"', f'name="{name}"', f'type="{input_type}"', f'value="{escape(value)}"']
    if autocomplete:
        attributes.append(f'autocomplete="{autocomplete}"')
    if inputmode:
        attributes.append(f'inputmode="{inputmode}"')
    if required:
        attributes.append('required aria-required="true"')
    if readonly:
        attributes.append("readonly")
    if error:
        attributes.append('aria-invalid="true"')
    if described:
        attributes.append(f'aria-describedby="{" ".join(described)}"')
    optional_html = ' <span class="optional">(optional)</span>' if optional else ""
    return (
        f'<div class="field"><label for="{name}">{label}{optional_html}</label>'
        f"<input {' '.join(attributes)}>{hint_html}{error_html}</div>"
    )


def _document(title: str, content: str) -> str:
    return f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<title>{escape(title)} · Test checkout (simulated)</title>
<style>{_STYLE}</style>
</head>
<body>
<header class="banner">
  <p><strong>Test checkout — simulated, no money moves.</strong> This page is the rxshop Stripe simulator,
  not Stripe.</p>
</header>
<main id="main">
{content}
</main>
</body>
</html>
"""
