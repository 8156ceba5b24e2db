"""GET /admin/orders.csv served for real: the owner's admin cookie gets the CSV of the list's filters, streamed
(the same bytes as the whole-text export), as an attachment never cached; no cookie, a dead one or an
address the orders page does not make is refused. SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator

import httpx
import pytest
import sqlalchemy as sa
from starlette.applications import Starlette

from rxshop.admin.auth import sign_out
from rxshop.admin.export import EXPORT_CHUNK, ExportRequest, export_query, orders_csv
from rxshop.admin.queries import OrderFilters, SortKey
from rxshop.core import routes
from rxshop.core.db import new_session
from rxshop.core.models import Order
from rxshop.domain.lifecycle import OrderStatus
from rxshop.orders.fulfillment import fulfill_checkout
from rxshop.web.admin_export import ADMIN_EXPORT_ROUTES
from tests.fixtures.app import AppEnv
from tests.fixtures.db import bought_order, checkout_for, sample_cart
from tests.fixtures.shop import ADMIN_PASSWORD, new_visitor, signed_in_owner
from tests.fixtures.sim import serve_asgi


@pytest.fixture
def served(app_env: AppEnv, engine) -> Iterator[tuple[str, str]]:
    """The route on a real server, and a signed-in owner's admin token."""
    app_env(ADMIN_PASSWORD=ADMIN_PASSWORD)
    with serve_asgi(lambda base: Starlette(routes=ADMIN_EXPORT_ROUTES)) as base:
        yield base, signed_in_owner(engine, new_visitor())


def _orders(session, n: int) -> None:
    for i in range(n):
        order = bought_order(session, new_visitor(), sample_cart({"mug": 1, "tote": 1 + i % 2}))
        assert fulfill_checkout(session=session, checkout=checkout_for(order)).outcome == "fulfilled"


def _get(base: str, token: str | None, query: str = "") -> httpx.Response:
    cookies = {"rxshop_admin": token} if token else {}
    with httpx.Client(base_url=base, cookies=cookies) as client:
        return client.get(routes.ADMIN_ORDERS_CSV + ("?" + query if query else ""))


def test_the_owner_gets_every_matching_order_streamed(served, session, engine) -> None:
    base, token = served
    _orders(session, 3)
    response = _get(base, token)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert response.headers["content-disposition"].startswith('attachment; filename="orders-')
    assert response.headers["cache-control"] == "no-store"
    with new_session(engine) as other:
        assert response.text == orders_csv(session=other, admin=token)
    assert len(list(csv.DictReader(io.StringIO(response.text)))) == 3

    wanted = ExportRequest(OrderFilters(statuses=(OrderStatus.FAILED,)), SortKey.TOTAL, descending=False)
    only_failed = _get(base, token, export_query(wanted))
    assert only_failed.status_code == 200 and len(only_failed.text.splitlines()) == 1  # the header only


def test_more_orders_than_one_piece_come_whole_and_in_order(served, session) -> None:
    base, token = served
    _orders(session, 2)
    template = session.exec(sa.select(Order)).scalars().first()
    assert template is not None
    columns = {c.name: getattr(template, c.name) for c in Order.__table__.columns}  # type: ignore[attr-defined]
    clones = [
        {**columns, "id": f"ord_clone{i:06d}", "number": f"RX-C{i:05d}", "stripe_session_id": f"cs_clone{i}"}
        for i in range(EXPORT_CHUNK + 5)
    ]
    session.execute(sa.insert(Order), clones)
    session.commit()
    response = _get(base, token, "sort=number&order=asc")
    rows = list(csv.DictReader(io.StringIO(response.text)))
    numbers = [r["number"] for r in rows]
    assert len(rows) == EXPORT_CHUNK + 7 and numbers == sorted(numbers)


def test_refused_without_a_live_sign_in_or_with_a_strange_address(served, engine) -> None:
    base, token = served
    assert _get(base, None).status_code == 403
    assert _get(base, "x" * 43).status_code == 403
    for query in ("tab=everything", "status=lost", "fulfillment=maybe", "from=yesterday", "sort=visitor_id",
                  "order=sideways", "q=" + "x" * 201, "admin=1"):  # fmt: skip
        assert _get(base, token, query).status_code == 400, query
    with new_session(engine) as session:
        sign_out(session=session, admin=token)
    assert _get(base, token).status_code == 403
