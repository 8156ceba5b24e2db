"""GET /admin/orders.csv: the owner's CSV of every order matching the list's filters, streamed.

A plain HTTP download rather than a Reflex event: an event's answer is one websocket message holding the
whole file (and the state's copy of it), which at 100,000 orders is tens of megabytes in memory at once.
Here the owner's HttpOnly admin cookie signs the request in (rxshop.admin.sessions; SameSite=Strict, so a
cross-site page cannot fetch it with the owner's cookie), and rxshop.admin.export.csv_pieces yields the file a
chunk of orders at a time from one read transaction; each chunk is read off the event loop through
db.run_sync (on SQLite the one database thread, so other work interleaves between chunks).
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator, Generator

from sqlmodel import Session
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response, StreamingResponse
from starlette.routing import Route

from rxshop.admin.export import csv_pieces, parse_export_query
from rxshop.admin.sessions import NotSignedIn, token_from_cookies
from rxshop.core import routes
from rxshop.core.db import new_session, run_sync
from rxshop.core.models import utcnow
from rxshop.core.settings import get_settings

log = logging.getLogger(__name__)


def _refusal(text: str, status_code: int) -> Response:
    return PlainTextResponse(text, status_code=status_code, headers={"Cache-Control": "no-store"})


def _close(pieces: Generator[str], session: Session) -> None:
    pieces.close()
    session.close()


async def _stream(first: str, pieces: Generator[str], session: Session) -> AsyncIterator[str]:
    """The pieces after the first, each read in a database thread; the session is closed however it ends."""
    try:
        yield first
        while (piece := await run_sync(next, pieces, None)) is not None:
            yield piece
    finally:
        with contextlib.suppress(Exception):  # the download was cut: the session still closes
            await run_sync(_close, pieces, session)


async def orders_csv(request: Request) -> Response:
    """The CSV for the signed-in owner; 400 for a malformed address, 403 without a live sign-in."""
    settings = get_settings()
    token = token_from_cookies(request.headers.get("cookie"), secure=settings.secure_cookies)
    wanted = parse_export_query(request.query_params)
    if wanted is None:
        return _refusal("That export address is not one the orders page makes.", 400)
    if not token or not settings.admin_enabled:
        return _refusal("Sign in to the dashboard first.", 403)
    session = new_session()
    pieces = csv_pieces(session=session, admin=token, filters=wanted.filters, sort=wanted.sort,
                        descending=wanted.descending)  # fmt: skip
    try:
        first = await run_sync(next, pieces)  # the sign-in check, then the header
    except BaseException as err:
        await run_sync(_close, pieces, session)
        if isinstance(err, NotSignedIn):
            return _refusal("Sign in to the dashboard first.", 403)
        raise
    log.info("Owner's CSV export started")
    filename = f"orders-{utcnow():%Y%m%d-%H%M}.csv"
    return StreamingResponse(
        _stream(first, pieces, session),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"', "Cache-Control": "no-store"},
    )


ADMIN_EXPORT_ROUTES = [Route(routes.ADMIN_ORDERS_CSV, orders_csv, methods=["GET"])]
