"""The hosted page for a session in each of its states: open (the forms), paid or processing, expired.

Every user-supplied string is escaped; the answer forbids caching, framing and scripts.
"""

from __future__ import annotations

from html import escape
from typing import TYPE_CHECKING, Any

from starlette.responses import HTMLResponse, Response

from rxshop.stripe_sim.hosted import html
from rxshop.stripe_sim.hosted.form import payment_form
from rxshop.stripe_sim.hosted.summary import order_summary
from rxshop.stripe_sim.money import format_amount
from rxshop.stripe_sim.params.checkout import link

if TYPE_CHECKING:
    from rxshop.stripe_sim.store import Store

HEADERS = {
    "Cache-Control": "no-store",
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; "
    "frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
}


def success_redirect(session: dict[str, Any]) -> str:
    """success_url with Stripe's literal {CHECKOUT_SESSION_ID} template filled in, percent-encoded."""
    return link(session["success_url"].replace("{CHECKOUT_SESSION_ID}", session["id"]))


def cancel_redirect(session: dict[str, Any]) -> str:
    """cancel_url as written into the page and the redirect (no template, as on Stripe), percent-encoded."""
    return link(session["cancel_url"] or "")


def not_found(session_id: str) -> Response:
    """404: no such session (perhaps one from an earlier run: state lives in memory)."""
    body = html.document(
        "Checkout not found",
        f"""
<h1>Checkout not found</h1>
<p class="notice">There is no checkout session <code>{escape(session_id)}</code>. It may belong to another
simulator run (state lives in memory and is lost on restart).</p>""",
    )
    return HTMLResponse(body, status_code=404, headers=HEADERS)


def session_page(
    public_url: str,
    store: Store,
    session: dict[str, Any],
    *,
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    alert: str = "",
    status: int = 200,
    status_line: str = "",
) -> Response:
    """The page for `session` as it is now; `values`, `errors` and `alert` re-render a refused form."""
    summary = order_summary(store, session)
    if session["status"] == "expired":
        title, content = _expired(session, summary)
    elif session["status"] == "complete":
        title, content = _complete(store, session, summary)
    else:
        total = format_amount(session["amount_total"], session["currency"])
        title = f"Pay {total}"
        content = f"""
<h1>Pay {escape(total)}</h1>
<div id="alert" class="alert" role="alert" aria-live="assertive">{escape(alert)}</div>
<p class="notice" role="status">{escape(status_line)}</p>
{summary}{payment_form(public_url, store, session, values or {}, errors or {})}"""
    return HTMLResponse(html.document(title, content), status_code=status, headers=HEADERS)


def _expired(session: dict[str, Any], summary: str) -> tuple[str, str]:
    back = ""
    if session["cancel_url"]:
        back = f'<p><a class="button secondary" href="{escape(cancel_redirect(session))}">Back to the shop</a></p>'
    content = f"""
<h1>This checkout has expired</h1>
<p class="notice" role="status">The checkout session expired, so nothing can be paid here and nothing was
charged. Return to the shop to start again.</p>
{back}{summary}"""
    return "Checkout expired", content


def _complete(store: Store, session: dict[str, Any], summary: str) -> tuple[str, str]:
    """Paid, still processing (delayed payment) or failed after processing: no form, nothing more to pay."""
    total = format_amount(session["amount_total"], session["currency"])
    intent = store.payment_intents.get(session["payment_intent"] or "", {})
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
            "The payment is processing; the shop will hear when it settles. Nothing more will be charged.",
        )
    content = f"""
<h1>{heading}</h1>
<p class="notice" role="status">{text}</p>
<p><a class="button primary" href="{escape(success_redirect(session))}">Return to the shop</a></p>
{summary}"""
    return heading, content
