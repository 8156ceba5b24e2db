"""The visitor credential over plain HTTP: the backend issues, renews and clears it.

Only the server writes the credential (an HttpOnly, SameSite=Lax cookie; Secure under https), so page
scripts can neither read nor forge it. The Reflex states read it from the websocket handshake
(`router.headers.cookie`), so it must be in the browser's jar before the app connects:

- GET /visitor.js is a parser-blocking <script> in every page's <head> (rxshop/rxshop.py). Its empty answer
  carries the credential (new, or this browser's own renewed), and the browser runs no module script, hence
  opens no websocket, before it has it: a first visit loads once, with its identity, whoever serves the
  HTML (the dev server, Reflex's single port, nginx's static export).
- POST /visitor does the same for the shop's own pages and tools that ask by script (the states' fallback
  when a page's <head> script could not run). Its body is ignored: a browser's old localStorage id (the
  first versions' "legacy" migration) moves nothing any more (the plain id was any cookie's middle part, so
  presenting one took that visitor's orders; the credential has been the only identity for a release).
- POST /visitor/forget deletes it ("Forget this browser").
"""

from __future__ import annotations

import logging
import time

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from rxshop.core.settings import Settings, get_settings
from rxshop.domain.identity import (
    COOKIE_NAME,
    CREDENTIAL_LIFETIME,
    credential_from_cookies,
    issue_credential,
    new_visitor_id,
)
from rxshop.web.limits import capped

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 1024  # POST /visitor ignores its body; a bigger one is refused (413) before anything else


def _refused(settings: Settings, request: Request) -> JSONResponse | None:
    """Only the shop's own pages may ask (a cross-site page must not reset or adopt an identity)."""
    if request.headers.get("origin") not in settings.allowed_origins:
        log.warning("Visitor request refused: origin %r", request.headers.get("origin"))
        return JSONResponse({"error": "forbidden"}, status_code=403)
    return None


def _private(response: Response) -> Response:
    response.headers["Cache-Control"] = "no-store"
    return response


def _issue(response: Response, request: Request, settings: Settings, *, only_if_needed: bool) -> None:
    """Set this browser's credential on `response`: its own visitor renewed, or a new visitor.

    With `only_if_needed`, a credential younger than a day is left as it is (no Set-Cookie at all)."""
    now = time.time()
    key = settings.signing_key()
    current = credential_from_cookies(request.headers.get("cookie"), key=key, now=now)
    if only_if_needed and current is not None and not current.needs_refresh(now):
        return
    visitor_id = current.visitor_id if current is not None else new_visitor_id()
    response.set_cookie(
        COOKIE_NAME,
        issue_credential(visitor_id, key=key, now=now),
        max_age=int(CREDENTIAL_LIFETIME.total_seconds()),
        path="/",
        httponly=True,
        samesite="lax",
        secure=settings.secure_cookies,
    )


async def visitor_script(request: Request) -> Response:
    """GET /visitor.js: an empty script whose answer puts the credential in place before the app connects.

    A page of another site can embed it too; its answer then sets nothing (`Sec-Fetch-Site: cross-site`;
    browsers also refuse a SameSite=Lax cookie from a cross-site subresource), so it can neither give a
    browser an identity nor replace one.
    """
    settings = get_settings()
    response = _private(Response("", media_type="text/javascript"))
    if request.headers.get("sec-fetch-site") == "cross-site":
        return response
    _issue(response, request, settings, only_if_needed=True)
    return response


async def claim(request: Request) -> Response:
    """POST /visitor: issue a credential (a new visitor, or this browser's own renewed for another year).

    Whatever the body names (an old localStorage id included) moves nothing: it is only drained, so
    the size cap holds for a streamed body too (past MAX_BODY_BYTES Starlette answers 413).
    """
    settings = get_settings()
    if (refused := _refused(settings, request)) is not None:
        return refused
    await request.body()
    response = _private(JSONResponse({"ok": True}))  # never the credential itself
    _issue(response, request, settings, only_if_needed=False)
    return response


# The endpoint to route at routes.VISITOR (POST): 413 past MAX_BODY_BYTES, declared or streamed.
claim_visitor = capped(claim, MAX_BODY_BYTES)


async def forget_visitor(request: Request) -> Response:
    """Forget this browser: the cookie is deleted; its orders stay in the shop's records."""
    settings = get_settings()
    if (refused := _refused(settings, request)) is not None:
        return refused
    response = _private(JSONResponse({"ok": True}))
    response.delete_cookie(
        COOKIE_NAME, path="/", httponly=True, samesite="lax", secure=settings.secure_cookies
    )
    return response
