"""The hosted page's forms while a session is open: promotion code, buyer details, card, Pay and Cancel.

Field names are the ones routes.py reads back (email, phone, shipping_*, shipping_rate, card_number, name,
promotion_code); every field has a real label, and a wrong one says why next to it.
"""

from __future__ import annotations

from html import escape
from typing import TYPE_CHECKING, Any

from rxshop.stripe_sim import cards
from rxshop.stripe_sim.hosted import html
from rxshop.stripe_sim.money import format_amount

if TYPE_CHECKING:
    from rxshop.stripe_sim.store import Store


def payment_form(
    public_url: str,
    store: Store,
    session: dict[str, Any],
    values: dict[str, str],
    errors: dict[str, str],
) -> str:
    """The promotion-code card (when allowed), the payment details card and the test-card list."""
    action = f"{public_url}/pay/{session['id']}"
    locked_email = session["customer_email"]
    email_field = html.field(
        "email",
        "Email",
        locked_email or values.get("email", ""),
        errors,
        input_type="email",
        autocomplete="email",
        required=True,
        readonly=bool(locked_email),
    )
    card_field = html.field(
        "card_number",
        "Card number",
        values.get("card_number", ""),
        errors,
        autocomplete="cc-number",
        inputmode="numeric",
        required=True,
        hint="Test card: 4242 4242 4242 4242 pays. More below.",
    )
    name_field = html.field(
        "name", "Name on card", values.get("name", ""), errors, autocomplete="cc-name", optional=True
    )
    # Cancel posts its own (empty) form, so pressing Enter in a field still means Pay.
    cancel_button = cancel_form = ""
    if session["cancel_url"]:
        cancel_button = '\n      <button type="submit" form="cancel-form" class="secondary">Cancel</button>'
        cancel_form = f'\n  <form method="post" action="{escape(action)}/cancel" id="cancel-form"></form>'
    return f"""{_promotion_form(action, session, values, errors)}
<section class="card" aria-labelledby="payment-heading">
  <h2 id="payment-heading">Payment details</h2>
  <form method="post" action="{escape(action)}" id="pay-form" novalidate>
    {email_field}
    {_buyer_fields(store, session, values, errors)}
    {card_field}
    {name_field}
    {custom_text(session, "terms_of_service_acceptance")}{custom_text(session, "submit")}
    <div class="actions">
      <button type="submit" class="primary">Pay</button>{cancel_button}
    </div>
  </form>{cancel_form}
</section>
{_test_cards()}"""


def _test_cards() -> str:
    card_rows = "\n".join(
        f"<tr><td><code>{cards.spaced(card.number)}</code></td><td>{escape(card.summary)}</td></tr>"
        for card in cards.TEST_CARDS
    )
    return f"""<details>
  <summary>Test cards</summary>
  <table>
    <thead><tr><th scope="col">Number</th><th scope="col">What happens</th></tr></thead>
    <tbody>
{card_rows}
    </tbody>
  </table>
  <p class="hint">Any other valid card number pays.</p>
</details>"""


def custom_text(session: dict[str, Any], key: str) -> str:
    """One of the session's `custom_text` messages (empty when it has none)."""
    text = session["custom_text"][key]
    return f'<p class="custom-text">{escape(text["message"])}</p>' if text else ""


def _promotion_form(
    pay_action: str, session: dict[str, Any], values: dict[str, str], errors: dict[str, str]
) -> str:
    """Its own form (Enter in a payment field still means Pay): apply a code, or remove the applied one."""
    if not session["allow_promotion_codes"]:
        return ""
    action = escape(f"{pay_action}/promotion_code")
    if session["discounts"]:
        return f"""
<section class="card" aria-labelledby="promo-heading">
  <h2 id="promo-heading">Promotion code</h2>
  <form method="post" action="{action}">
    <input type="hidden" name="remove" value="1">
    <button type="submit" class="secondary">Remove promotion code</button>
  </form>
</section>"""
    code_field = html.field(
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
    store: Store, session: dict[str, Any], values: dict[str, str], errors: dict[str, str]
) -> str:
    """Phone, shipping address and shipping method, when the session asks for them."""
    parts = []
    if session["phone_number_collection"]["enabled"]:
        parts.append(
            html.field(
                "phone",
                "Phone number",
                values.get("phone", ""),
                errors,
                input_type="tel",
                autocomplete="tel",
                required=True,
            )
        )
    if session["shipping_address_collection"]:
        parts.append(_shipping_address(session, values, errors))
    if session["shipping_options"]:
        parts.append(_shipping_methods(store, session, values, errors))
    return "\n    ".join(parts)


def _shipping_address(session: dict[str, Any], values: dict[str, str], errors: dict[str, str]) -> str:
    countries = session["shipping_address_collection"]["allowed_countries"]

    def text(key: str, label: str, auto: str, *, required: bool = True) -> str:
        return html.field(
            f"shipping_{key}",
            label,
            values.get(f"shipping_{key}", ""),
            errors,
            autocomplete=f"shipping {auto}",
            required=required,
            optional=not required,
        )

    country = html.select(
        "shipping_country",
        "Country",
        [(c, _country_name(c)) for c in countries],
        values.get("shipping_country") or countries[0],
        errors,
    )
    return (
        '<fieldset class="field"><legend>Shipping address</legend>'
        + custom_text(session, "shipping_address")
        + text("name", "Full name", "name")
        + text("line1", "Address line 1", "address-line1")
        + text("line2", "Address line 2", "address-line2", required=False)
        + text("city", "City", "address-level2")
        + text("state", "State, province or region", "address-level1", required=False)
        + text("postal_code", "Postal code", "postal-code")
        + country
        + "</fieldset>"
    )


def _shipping_methods(
    store: Store, session: dict[str, Any], values: dict[str, str], errors: dict[str, str]
) -> str:
    chosen = values.get("shipping_rate") or (session["shipping_cost"] or {}).get("shipping_rate", "")
    choices = []
    for option in session["shipping_options"]:
        rate = store.catalog.shipping_rates[option["shipping_rate"]]
        label = f"{rate['display_name']} — {format_amount(option['shipping_amount'], session['currency'])}"
        estimate = _estimate(rate["delivery_estimate"])
        choices.append((rate["id"], f"{label} ({estimate})" if estimate else label))
    return html.radios("shipping_rate", "Shipping method", choices, chosen, errors)


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
