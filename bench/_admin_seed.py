"""100,000 realistic orders for bench/admin_scale.py, written fast and cached (set-up, never timed).

A shop's last 100 days at 1,000 orders a day: most paid (some partly or fully refunded), some still open,
processing, failed or expired; older paid orders mostly shipped; one to three lines each from the catalog,
a discount on some, standard or express shipping by rxshop's own rates, a buyer among ~40,000 emails. Rows
go in as bulk INSERTs through rxshop's own table definitions (rxshop.core.models' Order and OrderLine
tables, so the columns and their types are the app's), thousands per statement; never the ORM one at a time.

SQLite: the seeded file is cached under test-artifacts/bench/, keyed by the migrations and this file, and
copied for each run (seeding takes tens of seconds; a copy, one).
"""

from __future__ import annotations

import hashlib
import os
import random
import shutil
import sys
import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from _support import LOGS, REPO, Database, migrate_rxshop, new_database

sys.path[:0] = [str(REPO)]
os.environ["RXSHOP_ENV_FILE"] = ""  # never a developer's .env

SEED = 22  # the number: the same shop every run
NAMES = ("Ada Lovelace", "Grace Hopper", "Alan Turing", "Edsger Dijkstra", "Barbara Liskov", "Ken Thompson")
CITIES = (
    ("Berlin", "DE", "10115"),
    ("Lyon", "FR", "69001"),
    ("Austin", "US", "78701"),
    ("Leeds", "GB", "LS1"),
)


def _number(i: int) -> str:
    from rxshop.core.models import ORDER_NUMBER_ALPHABET as ALPHABET

    digits = []
    for _ in range(6):
        i, d = divmod(i, len(ALPHABET))
        digits.append(ALPHABET[d])
    return "RX-" + "".join(reversed(digits))


def _status(rng: random.Random, age_days: float) -> str:
    r = rng.random()
    if r < 0.06:
        return "expired"
    if r < 0.08:
        return "failed"
    if r < 0.09:
        return "pending" if age_days < 1 else "expired"
    if r < 0.10:
        return "processing" if age_days < 3 else "failed"
    if r < 0.13:
        return "refunded"
    if r < 0.17:
        return "partially_refunded"
    return "paid"


def _order(rng: random.Random, i: int, created: datetime, now: datetime) -> tuple[dict, list[dict]]:
    """One order row and its lines, priced by the catalog and rates, money as rxshop computes it."""
    from rxshop.domain.catalog import PRODUCTS
    from rxshop.domain.shipping import RATES

    order_id = f"ord_{rng.getrandbits(96):024x}"
    products = rng.sample(PRODUCTS, rng.choice((1, 1, 2, 2, 3)))
    lines = [
        {"order_id": order_id, "product_id": p.id, "name": p.name, "unit_amount": p.unit_amount,
         "quantity": rng.choice((1, 1, 1, 2, 3))}
        for p in products
    ]  # fmt: skip
    subtotal = sum(x["unit_amount"] * x["quantity"] for x in lines)
    status = _status(rng, (now - created).total_seconds() / 86400)
    row: dict[str, Any] = {
        "id": order_id, "visitor_id": f"{rng.getrandbits(128):032x}", "status": status, "currency": "usd",
        "amount_total": subtotal, "amount_refunded": 0, "amount_subtotal": subtotal, "amount_shipping": 0,
        "amount_discount": 0, "cart_fingerprint": f"{rng.getrandbits(64):016x}",
        "stripe_session_id": f"cs_test_{rng.getrandbits(160):040x}", "livemode": False,
        "created_at": created, "updated_at": created, "number": _number(i),
        "customer_email": f"buyer{rng.randrange(40_000)}@example.{rng.choice(('com', 'org', 'net'))}",
        "client_ip": f"10.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(256)}",
        "fulfillment_status": "unfulfilled",
    }  # fmt: skip
    if status in ("paid", "partially_refunded", "refunded", "processing"):
        rate = RATES[1] if rng.random() < 0.2 else RATES[0]
        discount = subtotal // 10 if rng.random() < 0.15 else 0
        name, (city, country, postal) = rng.choice(NAMES), rng.choice(CITIES)
        row.update(
            amount_discount=discount, amount_shipping=rate.amount_for(subtotal), shipping_rate_id=rate.id,
            shipping_rate_name=rate.name, ship_name=name, ship_line1=f"{rng.randrange(1, 200)} Main Street",
            ship_city=city, ship_country=country, ship_postal_code=postal, phone="+15550100",
            payment_intent_id=f"pi_{rng.getrandbits(96):024x}",
            promotion_code_id="promo_bench10" if discount else None,
        )  # fmt: skip
        row["amount_total"] = subtotal - discount + row["amount_shipping"]
    if status in ("paid", "partially_refunded", "refunded"):
        row["paid_at"] = row["updated_at"] = created + timedelta(seconds=rng.randrange(20, 600))
        if status == "refunded":
            row["amount_refunded"] = row["amount_total"]
        elif status == "partially_refunded":
            row["amount_refunded"] = lines[0]["unit_amount"]
        age = (now - created).total_seconds() / 86400
        if status != "refunded" and rng.random() < (0.95 if age > 3 else 0.3):
            row.update(fulfillment_status="shipped", carrier="DHL", tracking_number=f"JD{i:012d}",
                       shipped_at=row["paid_at"] + timedelta(hours=rng.randrange(2, 48)))  # fmt: skip
    return row, lines


def orders(n: int, per_day: int, now: datetime) -> Iterator[tuple[dict, list[dict]]]:
    """`n` orders, `per_day` a day, the newest today; the same ones every run (seeded)."""
    rng = random.Random(SEED)
    today = now.replace(hour=0, minute=0, second=0, microsecond=0)
    for i in range(n):
        day = today - timedelta(days=(n - 1 - i) // per_day)
        span = min(86400, max(1, int((now - day).total_seconds())))  # today: only the hours gone by
        created = day + timedelta(seconds=rng.randrange(span))
        yield _order(rng, i, created, now)


def seed(url: str, n: int, per_day: int, now: datetime, batch: int = 5000) -> None:
    """Bulk INSERTs through rxshop's own tables (their column types: UTC datetimes as the app stores them)."""
    from rxshop.core.models import Order, OrderLine

    orders_table, lines_table = Order.__table__, OrderLine.__table__  # type: ignore[attr-defined]
    columns = [c.name for c in orders_table.columns]
    engine = sa.create_engine(url)
    rows: list[dict] = []
    lines: list[dict] = []
    with engine.begin() as conn:
        for row, order_lines in orders(n, per_day, now):
            rows.append({c: row.get(c) for c in columns})
            lines += order_lines
            if len(rows) >= batch:
                conn.execute(orders_table.insert(), rows)
                conn.execute(lines_table.insert(), lines)
                rows, lines = [], []
        if rows:
            conn.execute(orders_table.insert(), rows)
            conn.execute(lines_table.insert(), lines)
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        # Planner statistics and (PostgreSQL) the visibility map, as autovacuum keeps them on a live database:
        # without it an index-only scan still reads every heap page it covers.
        conn.exec_driver_sql("ANALYZE" if engine.dialect.name == "sqlite" else "VACUUM ANALYZE")
    engine.dispose()


def _cache_key(n: int, per_day: int, day: str) -> str:
    digest = hashlib.sha256(f"{n}/{per_day}/{day}".encode())
    for path in sorted((REPO / "alembic" / "versions").glob("*.py")) + [Path(__file__)]:
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def seeded_database(kind: str, n: int, per_day: int, now: datetime) -> Database:
    """A database holding the migrated schema and the orders: SQLite from the cache, PostgreSQL fresh."""
    if kind != "sqlite":
        database = new_database(kind, "admin")
        migrate_rxshop(database.url)
        seed(database.url, n, per_day, now)
        return database
    cached = LOGS / f"admin_scale-{_cache_key(n, per_day, now.date().isoformat())}.db"
    if not cached.exists():
        LOGS.mkdir(parents=True, exist_ok=True)
        for old in LOGS.glob("admin_scale-*.db"):
            old.unlink()
        fresh = Path(tempfile.mkdtemp(prefix="bench-admin-seed-")) / "seed.db"
        migrate_rxshop(f"sqlite:///{fresh}")
        seed(f"sqlite:///{fresh}", n, per_day, now)
        shutil.move(fresh, cached)
        shutil.rmtree(fresh.parent, ignore_errors=True)
    folder = Path(tempfile.mkdtemp(prefix="bench-admin-"))
    shutil.copy(cached, folder / "bench.db")
    return Database(f"sqlite:///{folder / 'bench.db'}", "sqlite", [lambda: shutil.rmtree(folder, True)])


def utc_now() -> datetime:
    return datetime.now(UTC)
