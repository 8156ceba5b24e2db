"""POST /admin-session and /admin-session/end: the backend sets and clears the owner's own HttpOnly cookie.

A Reflex state cannot set an HttpOnly cookie, so the sign-in handler checks the password and hands the page a
one-time grant (rxshop.admin.sessions); the page posts it here, from the browser it was made for (its visitor
credential), and gets the admin cookie: a fresh random token, HttpOnly, SameSite=Strict, Secure and
`__Host-`-prefixed under https, for at most SESSION_LIFETIME. The visitor cookie alone never signs anyone in.
"""

from __future__ import annotations

import json
import logging
import time

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from rxshop.admin.sessions import SESSION_LIFETIME, cookie_name, redeem_grant, sign_out, token_from_cookies
from rxshop.core import routes
from rxshop.core.db import in_session
from rxshop.core.settings import Settings, get_settings
from rxshop.domain.identity import credential_from_cookies
from rxshop.web.limits import capped

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 1024


def _answer(body: dict, status_code: int = 200) -> JSONResponse:
    response = JSONResponse(body, status_code=status_code)
    response.headers["Cache-Control"] = "no-store"
    return response


def _cross_site(settings: Settings, request: Request) -> bool:
    """Only the shop's own pages may ask (a cross-site page must not sign a browser in or out)."""
    if request.headers.get("origin") in settings.allowed_origins:
        return False
    log.warning("Admin session request refused: origin %r", request.headers.get("origin"))
    return True


async def open_session(request: Request) -> JSONResponse:
    """Trade `{"grant": ...}` for the admin cookie, in the browser the grant was made for."""
    settings = get_settings()
    if _cross_site(settings, request):
        return _answer({"error": "forbidden"}, 403)
    try:
        body = await request.body()  # past MAX_BODY_BYTES Starlette answers 413
        grant = json.loads(body).get("grant") if body else None
    except (ValueError, AttributeError):
        return _answer({"error": "body must be a JSON object"}, 400)
    credential = credential_from_cookies(
        request.headers.get("cookie"), key=settings.signing_key(), now=time.time()
    )
    visitor_id = credential.visitor_id if credential is not None else ""
    token = await in_session(redeem_grant, grant=grant, visitor_id=visitor_id)
    if not token:
        return _answer({"error": "This sign-in has expired; please sign in again."}, 403)
    response = _answer({"ok": True})  # never the token itself
    response.set_cookie(
        cookie_name(settings.secure_cookies),
        token,
        max_age=int(SESSION_LIFETIME.total_seconds()),
        path="/",
        httponly=True,
        samesite="strict",
        secure=settings.secure_cookies,
    )
    return response


async def close_session(request: Request) -> JSONResponse:
    """Sign this browser out: its session ends in the database and the cookie is deleted."""
    settings = get_settings()
    if _cross_site(settings, request):
        return _answer({"error": "forbidden"}, 403)
    token = token_from_cookies(request.headers.get("cookie"), secure=settings.secure_cookies)
    if token:
        await in_session(sign_out, admin=token)
    response = _answer({"ok": True})
    response.delete_cookie(
        cookie_name(settings.secure_cookies),
        path="/",
        httponly=True,
        samesite="strict",
        secure=settings.secure_cookies,
    )
    return response


# Served beside the visitor routes (rxshop.rxshop.backend_routes); 413 past MAX_BODY_BYTES.
ADMIN_SESSION_ROUTES = [
    Route(routes.ADMIN_SESSION, capped(open_session, MAX_BODY_BYTES), methods=["POST"]),
    Route(routes.ADMIN_SESSION_END, capped(close_session, MAX_BODY_BYTES), methods=["POST"]),
]
