"""`python -m rxshop stock show` and `python -m rxshop stock set <product> <count|untracked> [--low N]`.

The owner's counts from a shell (a restock, a stocktake), through the same records as the Inventory page.
Open shop tabs show the new count within a few seconds (each worker re-reads stock regularly).
"""

from __future__ import annotations

from rxshop.core.db import new_session
from rxshop.domain.catalog import PRODUCTS, UnknownProduct, get_product
from rxshop.domain.stock import InvalidStock, StockLevel, parse_count
from rxshop.orders import stock

UNTRACKED = "untracked"


def table(levels: tuple[StockLevel, ...]) -> str:
    rows = [("PRODUCT", "NAME", "FOR SALE", "HELD", "FREE", "LOW AT", "STATUS")]
    for level in levels:
        name = get_product(level.product_id).name
        if level.tracked:
            counts = (str(level.quantity), str(level.reserved), str(level.free), str(level.low_threshold))
        else:
            counts = ("-", str(level.reserved) if level.reserved else "-", "-", str(level.low_threshold))
        rows.append((level.product_id, name, *counts, level.status.label))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)).rstrip() for row in rows)


def show() -> int:
    with new_session() as session:
        print(table(stock.levels(session=session)))
    return 0


def set_count(product_id: str, count: str, low: str | None = None) -> int:
    """Set a product's count (or `untracked`), and its low-stock threshold if given."""
    try:
        product = get_product(product_id)
        tracked = count.strip().lower() != UNTRACKED
        quantity = parse_count(count) if tracked else None
        threshold = parse_count(low, what="The low-stock threshold") if low is not None else None
    except UnknownProduct:
        print(f"No product {product_id!r}; the products are: {', '.join(p.id for p in PRODUCTS)}.")
        return 2
    except InvalidStock as err:
        print(f"{err} Or `{UNTRACKED}` to stop counting it.")
        return 2
    with new_session() as session:
        level = stock.set_stock(
            session=session,
            product_id=product.id,
            tracked=tracked,
            quantity=quantity,
            low_threshold=threshold,
        )
    print(stock.describe(level))
    return 0
