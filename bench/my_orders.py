"""My Orders with 100,000 orders in the database and a visitor with 50: server time and queries per read.

rxshop alone (the bare app has no order list). The database gets 100,000 paid orders of other visitors and
50 of ours (clones of a real order, spread over 90 days), seeded for the visitor of the credential our
browser got from the backend (GET /visitor.js, as a page's <head> does). A tab of that browser opens /orders
through the websocket: hydrate_and_load runs VisitorState.identify and OrdersState.load. Then the tab turns pages (OrdersState.go_to_page 0 / 1) repeatedly; each is timed from
sending the event to receiving the delta with the rows (websocket round trip on loopback: an upper bound of
the server time; Reflex's own share is ~2 ms). Queries are counted in the backend process itself: a
sitecustomize (bench/_hooks) registers a SQLAlchemy `before_cursor_execute` listener on every engine and
appends each statement to a log file; the bench counts the lines each event adds. (pg_stat_statements
would need a server restart with shared_preload_libraries on the shared PostgreSQL; the listener works the
same on SQLite and PostgreSQL and shows the statements themselves.)

Targets: median server time < 20 ms, at most 2 queries per My Orders read.

    python bench/my_orders.py [--orders 100000] [--reads 40] [--db sqlite|postgres]
    python bench/my_orders.py --quick      # 20,000 orders, 10 reads
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import statistics
import tempfile
import time
from pathlib import Path

from _seed import rxshop_orders
from _support import (
    BENCH,
    RXSHOP_DIR,
    check,
    finish,
    loadavg,
    new_database,
    percentile,
    processes,
    start_backend,
    start_simulator,
    stop_backend,
)
from reflex_client import Browser, Tab, changes

ORDERS = "___orders____orders_state"


def query_lines(log: Path) -> list[str]:
    lines: list[str] = []
    for path in sorted(log.parent.glob(log.name + ".*")):
        lines += path.read_text().splitlines()
    return lines


async def measure(url: str, browser: Browser, reads: int, log: Path) -> dict:
    tab = Tab(url, browser, path="/orders")
    before = len(query_lines(log))
    started = time.perf_counter()
    await tab.open()
    open_s = time.perf_counter() - started
    open_queries = len([q for q in query_lines(log)[before:] if q != "COMMIT"])
    rows = tab.var(ORDERS, "orders")
    total = tab.var(ORDERS, "total_count")
    times, counts, statements = [], [], []
    try:
        for i in range(reads):
            page = i % 2
            before_lines = query_lines(log)
            seconds, update = await tab.call(ORDERS, "go_to_page", changes(ORDERS, "orders"), 30, page=page)
            new = [q for q in query_lines(log)[len(before_lines) :] if q != "COMMIT"]
            times.append(seconds)
            counts.append(len(new))
            statements = new
    finally:
        await tab.close()
    return {
        "open_ms": open_s * 1000,
        "open_queries": open_queries,
        "rows_on_page": len(rows or []),
        "total_count": total,
        "read_ms_median": statistics.median(times) * 1000,
        "read_ms_p95": percentile(times, 95) * 1000,
        "queries_per_read": statistics.median(counts),
        "queries_max": max(counts),
        "statements_of_one_read": statements,
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--orders", type=int, default=100_000)
    parser.add_argument("--mine", type=int, default=50)
    parser.add_argument("--reads", type=int, default=40)
    parser.add_argument("--db", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    if args.quick:
        args.orders, args.reads = 20_000, 10
    kind = "sqlite" if args.db == "sqlite" else "postgresql"
    log = Path(tempfile.mkdtemp(prefix="bench-queries-")) / "queries"
    with processes() as procs:
        sim = start_simulator(procs, 0)
        database = new_database(kind, "rxshop")
        backend = start_backend(
            procs,
            "rxshop",
            sim_url=sim,
            database=database,
            extra_env={"BENCH_QUERY_LOG": str(log), "PYTHONPATH": f"{RXSHOP_DIR}:{BENCH / '_hooks'}"},
        )
        try:
            browser = Browser()
            asyncio.run(browser.claim_visitor(backend.url))
            visitor = browser.visitor_id()
            started = time.perf_counter()
            rxshop_orders(database.url, args.orders, status="paid", spread_days=90)
            rxshop_orders(database.url, args.mine, visitor_id=visitor, status="paid", spread_days=90)
            print(
                f"== My Orders: {args.orders:,} orders + {args.mine} of our visitor ({args.db}),"
                f" seeded in {time.perf_counter() - started:.1f} s",
                flush=True,
            )
            load = loadavg()
            result = asyncio.run(measure(backend.url, browser, args.reads, log))
            result["loadavg"] = load
        finally:
            stop_backend(procs, backend)
            shutil.rmtree(log.parent, ignore_errors=True)
    print(
        f"  open /orders (hydrate + on_load): {result['open_ms']:.1f} ms, {result['open_queries']} queries;"
        f" page read: median {result['read_ms_median']:.1f} ms, p95 {result['read_ms_p95']:.1f} ms,"
        f" {result['queries_per_read']:.0f} queries ({result['rows_on_page']} rows, total {result['total_count']})",
        flush=True,
    )
    for statement in result["statements_of_one_read"]:
        print(f"    {statement[:110]}")
    assert result["total_count"] == args.mine, (
        f"expected {args.mine} orders, the page says {result['total_count']}"
    )
    targets = [
        check("My Orders read ms (median round trip)", result["read_ms_median"], 20),
        check("My Orders queries per read", result["queries_per_read"], 2),
    ]
    finish("my_orders", {**result, "db": args.db, "orders": args.orders, "mine": args.mine}, targets)


if __name__ == "__main__":
    main()
