"""The hosted page's routes (GET/POST {public_url}/pay/{id}...): what each button does.

Status codes: 200 for a page, 303 to success_url/cancel_url, 400 when a field is wrong, 402 when the card
is declined (the page re-renders with the message; the session stays open), 404 for an unknown session,
410 when paying an expired session.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from rxshop.stripe_sim import buyer, cards
from rxshop.stripe_sim.catalog import CodeRefused
from rxshop.stripe_sim.hosted.render import cancel_redirect, not_found, session_page, success_redirect

if TYPE_CHECKING:
    from rxshop.stripe_sim.app import Simulator

_FORM_FIELDS = (
    "email",
    "name",
    "phone",
    "shipping_rate",
    *(f"shipping_{key}" for key in ("name", "line1", "line2", "city", "state", "postal_code", "country")),
)


def routes(sim: Simulator) -> list[Route]:
    """The hosted page's routes, served from the simulator's root (they take no API key)."""
    page = HostedPage(sim)
    return [
        Route("/pay/{id}", page.show, methods=["GET"]),
        Route("/pay/{id}", page.pay, methods=["POST"]),
        Route("/pay/{id}/cancel", page.cancel, methods=["POST"]),
        Route("/pay/{id}/promotion_code", page.promotion_code, methods=["POST"]),
    ]


def _form_values(form: FormData) -> dict[str, str]:
    """What the buyer typed, trimmed and cut to a sane length (the page echoes it back when refused)."""
    values = {key: str(form.get(key, "")).strip()[:200] for key in _FORM_FIELDS}
    values["card_number"] = str(form.get("card_number", ""))[:40]
    return values


class HostedPage:
    """The handlers, sharing the simulator's store and public URL."""

    def __init__(self, sim: Simulator) -> None:
        self.sim = sim
        self.store = sim.store

    def _page(self, session: dict[str, Any], **kwargs: Any) -> Response:
        return session_page(self.sim.public_url, self.store, session, **kwargs)

    def _own_page(self, session: dict[str, Any]) -> Response:
        return RedirectResponse(f"{self.sim.public_url}/pay/{session['id']}", status_code=303)

    async def show(self, request: Request) -> Response:
        self.store.sweep()
        session = self.store.sessions.get(request.path_params["id"])
        if session is None:
            return not_found(request.path_params["id"])
        return self._page(session)

    async def pay(self, request: Request) -> Response:
        """Pay: check the fields, charge the card, then 303 to success_url (or the page with what failed)."""
        form = await request.form()
        self.store.sweep()
        session = self.store.sessions.get(request.path_params["id"])
        if session is None:
            return not_found(request.path_params["id"])
        if session["status"] == "expired":
            return self._page(session, status=410)
        if session["status"] == "complete":  # a second Pay charges nothing
            return RedirectResponse(success_redirect(session), status_code=303)
        return self._charge(session, _form_values(form))

    def _charge(self, session: dict[str, Any], values: dict[str, str]) -> Response:
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
        if errors or digits is None:
            alert = "Please correct the fields marked below."
            return self._page(session, values=values, errors=errors, status=400, alert=alert)
        result = self.store.pay(
            session["id"],
            card_digits=digits,
            email=given.email,
            name=given.name,
            phone=given.phone,
            shipping=given.shipping,
            shipping_rate=given.shipping_rate,
        )
        if result.outcome == "declined" and result.card is not None:
            message = result.card.message
            return self._page(
                session, values=values, status=402, alert=message, errors={"card_number": message}
            )
        return RedirectResponse(success_redirect(result.session), status_code=303)

    async def promotion_code(self, request: Request) -> Response:
        """Apply (or remove) a code; the page comes back with the new total, or the code's error."""
        form = await request.form()
        self.store.sweep()
        session = self.store.sessions.get(request.path_params["id"])
        if session is None:
            return not_found(request.path_params["id"])
        if session["status"] != "open" or not session["allow_promotion_codes"]:
            return self._own_page(session)
        if form.get("remove"):
            self.store.remove_promotion_code(session["id"])
            return self._page(session, alert="")
        code = str(form.get("promotion_code", "")).strip()[:500]
        if not code:
            message = "Enter a promotion code."
        else:
            try:
                self.store.apply_promotion_code(session["id"], code)
            except CodeRefused as refused:
                message = refused.message
            else:
                return self._page(session, status_line=f"Code {code.upper()} applied.")
        return self._page(
            session,
            values={"promotion_code": code},
            errors={"promotion_code": message},
            status=400,
            alert=message,
        )

    async def cancel(self, request: Request) -> Response:
        """Back to cancel_url (no template substitution, as on Stripe); the session stays open."""
        session = self.store.sessions.get(request.path_params["id"])
        if session is None:
            return not_found(request.path_params["id"])
        if session["cancel_url"]:
            return RedirectResponse(cancel_redirect(session), status_code=303)
        return self._own_page(session)
