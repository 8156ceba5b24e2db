"""POST /visitor and POST /visitor/forget: the backend issues, refreshes and clears the visitor credential.

Only the server writes the credential (an HttpOnly, SameSite=Lax cookie; Secure under https), so page
scripts can neither read nor forge it. The Reflex states read it from the websocket handshake
(`router.headers.cookie`); a browser without a valid one is sent here once, then reloads.
"""

from __future__ import annotations

import json
import logging
import time

from starlette.requests import Request
from starlette.responses import JSONResponse

from rxshop.core.db import in_session
from rxshop.core.settings import Settings, get_settings
from rxshop.domain.identity import (
    COOKIE_NAME,
    CREDENTIAL_LIFETIME,
    credential_from_cookies,
    is_visitor_id,
    issue_credential,
    new_visitor_id,
)
from rxshop.orders import records
from rxshop.web.limits import capped

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 1024


def _refused(settings: Settings, request: Request) -> JSONResponse | None:
    """Only the shop's own pages may ask (a cross-site page must not reset or adopt an identity)."""
    if request.headers.get("origin") not in settings.allowed_origins:
        log.warning("Visitor request refused: origin %r", request.headers.get("origin"))
        return JSONResponse({"error": "forbidden"}, status_code=403)
    return None


def _private(response: JSONResponse) -> JSONResponse:
    response.headers["Cache-Control"] = "no-store"
    return response


async def claim(request: Request) -> JSONResponse:
    """Issue a credential (a new visitor, or this browser's own renewed for another year).

    The body may name the browser's old localStorage id (`{"legacy": "<id>"}`): its orders move to this
    credential's visitor once, and the page then deletes the old key.
    """
    settings = get_settings()
    if (refused := _refused(settings, request)) is not None:
        return refused
    try:
        body = await request.body()  # past MAX_BODY_BYTES Starlette answers 413 (`claim_visitor`)
        legacy = json.loads(body).get("legacy") if body else None
    except (ValueError, AttributeError):
        return JSONResponse({"error": "body must be a JSON object"}, status_code=400)
    now = time.time()
    key = settings.signing_key()
    current = credential_from_cookies(request.headers.get("cookie"), key=key, now=now)
    visitor_id = current.visitor_id if current is not None else new_visitor_id()
    moved = 0
    if is_visitor_id(legacy) and legacy != visitor_id:
        moved = await in_session(records.transfer_orders, from_visitor=legacy, to_visitor=visitor_id)
        log.info("Visitor %s… took over %d order(s) of its old browser id", visitor_id[:8], moved)
    response = _private(JSONResponse({"ok": True, "orders_moved": moved}))  # never the credential itself
    response.set_cookie(
        COOKIE_NAME,
        issue_credential(visitor_id, key=key, now=now),
        max_age=int(CREDENTIAL_LIFETIME.total_seconds()),
        path="/",
        httponly=True,
        samesite="lax",
        secure=settings.secure_cookies,
    )
    return response


# The endpoint to route at routes.VISITOR (POST): 413 past MAX_BODY_BYTES, declared or streamed.
claim_visitor = capped(claim, MAX_BODY_BYTES)


async def forget_visitor(request: Request) -> JSONResponse:
    """Forget this browser: the cookie is deleted; its orders stay in the shop's records."""
    settings = get_settings()
    if (refused := _refused(settings, request)) is not None:
        return refused
    response = _private(JSONResponse({"ok": True}))
    response.delete_cookie(
        COOKIE_NAME, path="/", httponly=True, samesite="lax", secure=settings.secure_cookies
    )
    return response
