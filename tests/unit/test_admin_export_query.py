"""The CSV's address carries the order list's filters: what the page writes, the route reads back the same;
the whole list newest first is the bare address."""

from __future__ import annotations

from datetime import date

from rxshop.admin.export import ExportRequest, export_query, parse_export_query
from rxshop.admin.queries import OrderFilters, OrderTab, SortKey
from rxshop.domain.lifecycle import OrderStatus


def _read(query: str) -> ExportRequest | None:
    from urllib.parse import parse_qsl

    return parse_export_query(dict(parse_qsl(query)))


def test_every_filter_and_sort_survives_the_address() -> None:
    wanted = ExportRequest(
        OrderFilters(
            tab=OrderTab.TO_SHIP,
            statuses=(OrderStatus.PARTIALLY_REFUNDED,),
            fulfillment="unfulfilled",
            date_from=date(2026, 1, 2),
            date_to=date(2026, 2, 3),
            search="a&b=c %_",
        ),
        SortKey.EMAIL,
        descending=False,
    )
    assert _read(export_query(wanted)) == wanted
    assert export_query(ExportRequest()) == "" and _read("") == ExportRequest()
