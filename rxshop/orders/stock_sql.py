"""Stock's statements, prebuilt once (as rxshop.orders.buy_sql): each condition that guards a unit is written
here and nowhere else, so the Buy path, the webhook and the sweeps cannot disagree on what "free" means.

Every change of `stock.reserved` or `stock.quantity` is one conditional UPDATE of one row: concurrent
callers (threads, workers, hosts) are ordered by the row's lock on PostgreSQL and by the single writer on
SQLite, and a condition that no longer holds matches no row.
"""

from __future__ import annotations

import sqlalchemy as sa

from rxshop.core.models import StockReservation, UTCDateTime
from rxshop.domain.lifecycle import OrderStatus as S
from rxshop.domain.stock import ReservationStatus as R

RESERVATIONS = sa.inspect(StockReservation).local_table
_NOW = sa.bindparam("now", type_=UTCDateTime())
_IDS: sa.BindParameter = sa.bindparam("ids", expanding=True)

# What a new Buy may take of a product: counted, and enough not held by others.
FREE_ENOUGH = "tracked AND quantity - reserved >= :quantity"

# What a Buy batch's holds need, in one round trip: which of its orders can take no payment any more (paid
# or given up: a buyer back with the same cart in the same window; they hold nothing and skip Stripe, whose
# replay of the closed session cost a call), and which of its products are counted.
HOLD_CONTEXT = sa.text(
    f"SELECT 'closed' AS what, id AS name FROM orders WHERE id IN :ids AND status <> '{S.PENDING}'"
    " UNION ALL SELECT 'counted', product_id FROM stock WHERE tracked AND product_id IN :products"
).bindparams(_IDS, sa.bindparam("products", expanding=True))
LEVEL = sa.text("SELECT tracked, quantity, reserved FROM stock WHERE product_id = :product_id")
LEVELS = sa.text("SELECT product_id, tracked, quantity, reserved, low_threshold FROM stock")

# --- holding (the Buy path; its reservation rows are one multi-row INSERT, rxshop.orders.stock) ----------
TAKE = sa.text(
    f"UPDATE stock SET reserved = reserved + :quantity, updated_at = :now WHERE product_id = :product_id AND {FREE_ENOUGH}"
).bindparams(_NOW)
FORGET_HOLD = sa.text(
    "DELETE FROM stock_reservations WHERE order_id = :order_id AND product_id = :product_id"
    f" AND status = '{R.HELD}'"
)
# A hold given back (never below zero: a counter that drifted must not fail a webhook).
PUT_BACK = sa.text(
    "UPDATE stock SET reserved = CASE WHEN reserved > :quantity THEN reserved - :quantity ELSE 0 END,"
    " updated_at = :now WHERE product_id = :product_id"
).bindparams(_NOW)
# `status || ''`: by the key (order id), never by the status index (SQLite's planner picked it and walked
# every open checkout's hold for each expired one).
RELEASE = sa.text(
    f"UPDATE stock_reservations SET status = '{R.RELEASED}', updated_at = :now"
    f" WHERE order_id IN :ids AND status || '' = '{R.HELD}' RETURNING product_id, quantity"
).bindparams(_NOW, _IDS)
OPEN_ORDER = sa.text("SELECT status FROM orders WHERE id = :order_id")
# Holds nobody can pay any more: their order was given up, failed, expired, or paid without them (they are
# then a second press's, and the sale took what it needed), or was never written and its session is over.
SWEEP = sa.text(
    f"UPDATE stock_reservations SET status = '{R.RELEASED}', updated_at = :now WHERE status = '{R.HELD}' AND ("
    " EXISTS (SELECT 1 FROM orders o WHERE o.id = stock_reservations.order_id"
    "   AND o.status NOT IN ('pending', 'processing'))"
    " OR (expires_at < :now AND NOT EXISTS"
    "   (SELECT 1 FROM orders o WHERE o.id = stock_reservations.order_id)))"
    " RETURNING order_id, product_id, quantity"
).bindparams(_NOW)

# --- selling (payment) -----------------------------------------------------------------------------------
# The lines of paid orders that stock must hear of: a counted product, or a reservation (even of a product
# no longer counted: its hold must end).
TO_SELL = sa.text(
    "SELECT l.order_id, l.product_id, l.quantity, r.status AS held FROM order_lines l"
    " LEFT JOIN stock s ON s.product_id = l.product_id"
    " LEFT JOIN stock_reservations r ON r.order_id = l.order_id AND r.product_id = l.product_id"
    " WHERE l.order_id IN :ids AND (s.tracked OR r.status IS NOT NULL)"
).bindparams(_IDS)
MARK_SOLD = sa.text(
    f"UPDATE stock_reservations SET status = '{R.SOLD}', updated_at = :now"
    f" WHERE order_id = :order_id AND product_id = :product_id AND status = '{R.HELD}'"
).bindparams(_NOW)
_AFTER_SALE = " RETURNING tracked, quantity, low_threshold, generation"
# A held unit becomes a sale (a product no longer counted only gives its hold back).
SELL_HELD = sa.text(
    "UPDATE stock SET quantity = CASE WHEN tracked THEN quantity - :quantity ELSE quantity END,"
    " reserved = CASE WHEN reserved > :quantity THEN reserved - :quantity ELSE 0 END, updated_at = :now"
    " WHERE product_id = :product_id AND (NOT tracked OR quantity >= :quantity)" + _AFTER_SALE
).bindparams(_NOW)
# A payment for units no longer held (paid after its hold was released): from the free units, if any.
SELL_FREE = sa.text(
    "UPDATE stock SET quantity = quantity - :quantity, updated_at = :now"
    f" WHERE product_id = :product_id AND {FREE_ENOUGH}" + _AFTER_SALE
).bindparams(_NOW)
SET_OUTCOME = sa.text(
    "INSERT INTO stock_reservations (order_id, product_id, quantity, status, expires_at, created_at, updated_at)"
    " VALUES (:order_id, :product_id, :quantity, :status, :now, :now, :now)"
    " ON CONFLICT (order_id, product_id) DO UPDATE SET status = excluded.status, updated_at = excluded.updated_at"
).bindparams(_NOW)
ORDER_AMOUNT = sa.text("SELECT amount_total, currency FROM orders WHERE id = :order_id")

# --- the owner -------------------------------------------------------------------------------------------
RESTOCK_ORDER = sa.text(
    f"UPDATE stock_reservations SET status = '{R.RESTOCKED}', updated_at = :now"
    f" WHERE order_id = :order_id AND status = '{R.SOLD}' RETURNING product_id, quantity"
).bindparams(_NOW)
PUT_ON_SHELF = sa.text(
    "UPDATE stock SET quantity = quantity + :quantity, updated_at = :now WHERE product_id = :product_id AND tracked"
).bindparams(_NOW)
# The owner's count: an upsert, each of tracked / quantity / low_threshold kept when not given (NULL).
# A new count starts a new generation (one low-stock alert per restock).
SET_STOCK = sa.text(
    "INSERT INTO stock (product_id, tracked, quantity, reserved, low_threshold, generation, updated_at)"
    " VALUES (:product_id, COALESCE(:tracked, TRUE), COALESCE(:quantity, 0), 0,"
    " COALESCE(:low_threshold, :default_threshold), CASE WHEN :new_count THEN 1 ELSE 0 END, :now)"
    " ON CONFLICT (product_id) DO UPDATE SET tracked = COALESCE(:tracked, stock.tracked),"
    " quantity = COALESCE(:quantity, stock.quantity),"
    " low_threshold = COALESCE(:low_threshold, stock.low_threshold),"
    " generation = stock.generation + CASE WHEN :new_count THEN 1 ELSE 0 END, updated_at = :now"
).bindparams(_NOW, sa.bindparam("tracked", type_=sa.Boolean()), sa.bindparam("new_count", type_=sa.Boolean()))
