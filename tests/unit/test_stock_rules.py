"""Stock rules (rxshop.domain.stock): free units, what the shop says, the buyer's refusal, the owner's input."""

import pytest

from rxshop.domain.catalog import MAX_QUANTITY
from rxshop.domain.stock import (
    InvalidStock,
    Shortage,
    StockLevel,
    StockStatus,
    cart_limit_notice,
    crossed_low,
    parse_count,
    shortage_message,
    shown,
)


@pytest.mark.parametrize(
    ("level", "status", "badge", "orderable"),
    [
        (StockLevel("mug"), StockStatus.UNTRACKED, "", MAX_QUANTITY),
        (StockLevel("mug", True, 50, 10, 3), StockStatus.IN_STOCK, "", MAX_QUANTITY),
        (StockLevel("mug", True, 10, 6, 3), StockStatus.IN_STOCK, "", 4),
        (StockLevel("mug", True, 5, 2, 3), StockStatus.LOW, "Only 3 left", 3),
        (StockLevel("mug", True, 1, 0, 3), StockStatus.LOW, "Only 1 left", 1),
        (StockLevel("mug", True, 4, 4, 3), StockStatus.SOLD_OUT, "Sold out", 0),
        # The owner counted fewer than are held: sold out, never a negative count.
        (StockLevel("mug", True, 1, 3, 3), StockStatus.SOLD_OUT, "Sold out", 0),
        (StockLevel("mug", True, 3, 0, 0), StockStatus.IN_STOCK, "", 3),
    ],
)
def test_free_units_status_badge_and_cart_limit(level, status, badge, orderable):
    assert (level.status, level.badge, level.orderable) == (status, badge, orderable)
    assert level.free >= 0


def test_what_the_tabs_show_ignores_changes_nobody_can_see():
    plenty = [StockLevel("mug", True, 500, 1), StockLevel("tote")]
    assert shown(plenty) == shown([StockLevel("mug", True, 400, 9), StockLevel("tote")])
    assert shown(plenty) != shown([StockLevel("mug", True, 3, 0), StockLevel("tote")])


def test_the_refusal_names_each_product_and_what_is_left():
    message = shortage_message([Shortage("mug", 4, 3), Shortage("tote", 1, 0), Shortage("notebook", 2, 1)])
    assert "only 3 Morning Mug are left (you asked for 4)" in message
    assert "Canvas Tote is sold out" in message
    assert "only 1 Dot-Grid Notebook is left (you asked for 2)" in message
    assert message.startswith("Sorry, ") and "nothing was charged" in message
    assert "sold out" in shortage_message([])


def test_cart_notice():
    assert cart_limit_notice("mug", 0) == "Morning Mug is sold out."
    assert cart_limit_notice("tote", 2) == "Only 2 left of Canvas Tote."


@pytest.mark.parametrize(
    ("before", "after", "threshold", "crossed"),
    [
        (5, 3, 3, True),
        (4, 2, 3, True),
        (3, 2, 3, False),
        (10, 4, 3, False),
        (1, 0, 0, True),
        (0, 0, 0, False),
    ],
)
def test_crossing_the_low_threshold(before, after, threshold, crossed):
    assert crossed_low(before, after, threshold) is crossed


@pytest.mark.parametrize("value", ["12", " 12 ", "1,000", 0, 1_000_000, "007"])
def test_counts_the_owner_may_type(value):
    assert parse_count(value) == int(str(value).replace(",", ""))


@pytest.mark.parametrize(
    "value", ["", "-1", "1.5", "1e3", "²", "x", True, None, 1.0, 1_000_001, "9" * 20, -3]
)
def test_counts_refused_with_a_message(value):
    with pytest.raises(InvalidStock, match="whole number from 0 to 1,000,000"):
        parse_count(value)
