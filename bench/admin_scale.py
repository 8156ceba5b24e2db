"""The owner's dashboard at 100,000 orders (issue 22, part 4): the orders page, the 90-day revenue report and
the CSV of every order, through the interfaces the owner's browser uses.

The database holds 100 days of 1,000 orders a day (bench/_admin_seed.py: statuses, refunds, shipping,
discounts, several lines each). The owner signs in as a browser does: the visitor credential from
GET /visitor.js, AdminState.sign_in over the websocket with ADMIN_PASSWORD, the one-time grant traded at
POST /admin-session for the HttpOnly admin cookie, which every later handshake and request carries.

- Orders page: a tab of /admin/orders sends each event the page offers (tabs, every status and shipped filter,
  dates, search by email and by number, every sort both ways, first / middle / last page, combinations);
  each is timed from sending the event to the delta with the rows (a websocket round trip on loopback: an
  upper bound of the server time, which includes waiting for a core on a busy machine) and by the backend's
  CPU time over that round trip (every thread's, from /proc schedstat: a lower bound), and its SQL
  statements are counted in the backend (bench/_hooks). Target: the worst scenario's median round trip
  < 50 ms.
- Revenue: /admin/revenue's set_range over 90 days: the report (revenue per day beside the 90 days before)
  arrives in a first delta, the totals per product in a second (the handler yields between them); both
  are timed. Target: the report's median < 200 ms (the time to the product totals is reported beside it).
- CSV: GET /admin/orders.csv with the admin cookie, every order of the All tab, read to the last byte. Target
  < 5 s; the backend's peak RSS over its RSS before (sampled every 5 ms) while exporting ~20k and ~100k orders
  shows whether memory grows with the number of orders (target: the 100k growth < 1.5 x the 20k one + 8 MiB).

    python bench/admin_scale.py [--orders 100000] [--reads 7] [--db sqlite|postgres]
    python bench/admin_scale.py --quick      # 3 reads per scenario
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import statistics
import tempfile
import threading
import time
from datetime import timedelta
from pathlib import Path

import httpx
from _admin_seed import seeded_database, utc_now
from _support import (
    BENCH,
    RXSHOP_DIR,
    check,
    finish,
    group_pids,
    loadavg,
    processes,
    rss_kib,
    start_backend,
    start_simulator,
    stop_backend,
)
from reflex_client import Browser, Tab, changes, sign_in_owner

ORDERS = "___admin_orders____admin_orders_state"
REVENUE = "___admin_reports____admin_revenue_state"
PASSWORD = "bench-owner-password-22"


def cpu_ms(group: int) -> float:
    """CPU time the backend's threads have run so far, in ms, to the nanosecond (/proc/<pid>/task/*/schedstat):
    the server's own work for an event, without the time it waited for a core on a busy machine."""
    total = 0
    for pid in group_pids(group):
        for stat in Path(f"/proc/{pid}/task").glob("*/schedstat"):
            try:
                total += int(stat.read_text().split()[0])
            except (OSError, ValueError, IndexError):
                continue
    return total / 1e6


def query_lines(log: Path) -> list[str]:
    lines: list[str] = []
    for path in sorted(log.parent.glob(log.name + ".*")):
        lines += path.read_text().splitlines()
    return lines


def scenarios(today) -> list[tuple[str, str, list[dict]]]:
    """(name, handler, the payloads it alternates between): every filter, tab, sort and page the page offers."""
    week = {"date_from": (today - timedelta(days=6)).isoformat(), "date_to": today.isoformat()}
    none = {"status": "", "fulfillment": "", "date_from": "", "date_to": "", "search": ""}
    out: list[tuple[str, str, list[dict]]] = [
        ("page 1 / 2 of All", "go_to_page", [{"page": 1}, {"page": 0}]),
        ("middle page of All", "go_to_page", [{"page": 1800}, {"page": 1801}]),
        ("last pages of All", "go_to_page", [{"page": 10**5}, {"page": 3700}]),
    ]
    for tab in ("awaiting", "to_ship", "shipped", "refunded", "all"):
        out.append((f"tab {tab}", "load", [{"_tab": tab}, {"_tab": tab}]))
    for status in ("pending", "processing", "paid", "failed", "expired", "partially_refunded", "refunded"):
        out.append((f"status {status}", "apply_filters", [{"form_data": {**none, "status": status}}] * 2))
    for fulfillment in ("unfulfilled", "shipped"):
        out.append(
            (f"{fulfillment}", "apply_filters", [{"form_data": {**none, "fulfillment": fulfillment}}] * 2)
        )
    out += [
        ("last 7 days", "apply_filters", [{"form_data": {**none, **week}}] * 2),
        ("search email part", "apply_filters", [{"form_data": {**none, "search": "buyer1234@"}}] * 2),
        ("search rare text", "apply_filters", [{"form_data": {**none, "search": "nobody-here"}}] * 2),
        ("search number", "apply_filters", [{"form_data": {**none, "search": "RX-AAAC2B"}}] * 2),
        ("paid + unshipped + 7 days", "apply_filters",
         [{"form_data": {**none, **week, "status": "paid", "fulfillment": "unfulfilled"}}] * 2),
    ]  # fmt: skip
    out.append(("clear filters", "clear_filters", [{}, {}]))
    for key in ("created_at", "number", "amount_total", "status", "customer_email"):
        out.append((f"sort {key} (both ways)", "sort_by", [{"key": key}, {"key": key}]))
    out.append(("sort by email, last page", "go_to_page", [{"page": 10**5}, {"page": 3000}]))
    out.append(("paid, sort by email", "apply_filters", [{"form_data": {**none, "status": "paid"}}] * 2))
    out.append(("paid, sort by email, last page", "go_to_page", [{"page": 10**5}, {"page": 2000}]))
    return out


async def time_event(
    tab: Tab, log: Path, group: int, handler: str, payload: dict
) -> tuple[float, float, list[str]]:
    before = len(query_lines(log))
    if "_tab" in payload:
        tab.query = {"tab": payload["_tab"]}
        payload = {}
    cpu = cpu_ms(group)
    seconds, _ = await tab.call(ORDERS, handler, changes(ORDERS, "rows"), 60, **payload)
    return seconds, cpu_ms(group) - cpu, [q for q in query_lines(log)[before:] if q != "COMMIT"]


async def orders_page(url: str, browser: Browser, reads: int, log: Path, today, group: int) -> dict:
    tab = Tab(url, browser, path="/admin/orders")
    started = time.perf_counter()
    await tab.open()
    open_ms = (time.perf_counter() - started) * 1000
    total = tab.var(ORDERS, "total_count")
    results = []
    try:
        for name, handler, payloads in scenarios(today):
            times, cpus, counts, statements = [], [], [], []
            for i in range(reads + 1):  # the first is a warm-up (a new plan, a cold page of the file)
                seconds, cpu, new = await time_event(tab, log, group, handler, payloads[i % len(payloads)])
                if i:
                    times.append(seconds * 1000)
                    cpus.append(cpu)
                    counts.append(len(new))
                    statements = new
            row = {"name": name, "median_ms": statistics.median(times), "max_ms": max(times),
                   "cpu_ms": statistics.median(cpus),
                   "queries": max(counts), "rows_total": tab.var(ORDERS, "total_count"), "statements": statements}  # fmt: skip
            results.append(row)
            print(f"  {name:32} median {row['median_ms']:6.1f} ms  max {row['max_ms']:6.1f} ms  "
                  f"backend CPU {row['cpu_ms']:5.1f} ms  "
                  f"{row['queries']} queries  ({row['rows_total']:,} orders)", flush=True)  # fmt: skip
    finally:
        await tab.close()
    return {"open_ms": open_ms, "all_orders": total, "scenarios": results}


async def revenue(url: str, browser: Browser, reads: int, log: Path, today, group: int) -> dict:
    tab = Tab(url, browser, path="/admin/revenue")
    await tab.open()
    times, page_times, cpus, counts, statements = [], [], [], [], []
    try:
        for i in range(reads + 1):
            end = today - timedelta(days=i % 2)
            form = {"start": (end - timedelta(days=89)).isoformat(), "end": end.isoformat()}
            before = len(query_lines(log))
            products = tab.wait_for(changes(REVENUE, "products"))
            started, cpu = time.perf_counter(), cpu_ms(group)
            seconds, _ = await tab.call(REVENUE, "set_range", changes(REVENUE, "days"), 60, form_data=form)
            report_cpu = cpu_ms(group) - cpu
            await asyncio.wait_for(products, 60)
            whole = time.perf_counter() - started
            new = [q for q in query_lines(log)[before:] if q != "COMMIT"]
            if i:
                times.append(seconds * 1000)
                page_times.append(whole * 1000)
                cpus.append(report_cpu)
                counts.append(len(new))
                statements = new
        orders = tab.var(REVENUE, "total_orders")
    finally:
        await tab.close()
    result = {"median_ms": statistics.median(times), "max_ms": max(times), "queries": max(counts),
              "cpu_ms": statistics.median(cpus),
              "with_products_median_ms": statistics.median(page_times), "with_products_max_ms": max(page_times),
              "paid_orders": orders, "statements": statements}  # fmt: skip
    print(f"  revenue 90 days: report median {result['median_ms']:.1f} ms (max {result['max_ms']:.1f}, backend CPU "
          f"{result['cpu_ms']:.1f} ms); with "
          f"product totals median {result['with_products_median_ms']:.1f} ms (max "
          f"{result['with_products_max_ms']:.1f}); {result['queries']} queries ({orders:,} paid orders)",
          flush=True)  # fmt: skip
    return result


def export_csv(url: str, browser: Browser, group: int, params: dict) -> dict:
    """Stream the CSV to the last byte while sampling the backend's RSS every 5 ms."""
    peak, stop = [rss_kib(group)], threading.Event()
    before = peak[0]

    def sample() -> None:
        while not stop.is_set():
            peak[0] = max(peak[0], rss_kib(group))
            time.sleep(0.005)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    started = time.perf_counter()
    size = lines = 0
    first_byte = 0.0
    with httpx.stream("GET", url + "/admin/orders.csv", params=params, headers=browser.cookie_header(),
                      timeout=120) as response:  # fmt: skip
        response.raise_for_status()
        for chunk in response.iter_bytes():
            first_byte = first_byte or time.perf_counter() - started
            size += len(chunk)
            lines += chunk.count(b"\r\n")
    seconds = time.perf_counter() - started
    stop.set()
    sampler.join()
    return {"seconds": seconds, "first_byte_ms": first_byte * 1000, "rows": lines - 1, "mib": size / 2**20,
            "rss_before_mib": before / 1024, "rss_growth_mib": (peak[0] - before) / 1024}  # fmt: skip


def csv_exports(url: str, browser: Browser, group: int, today) -> dict:
    recent = {"from": (today - timedelta(days=19)).isoformat()}
    export_csv(url, browser, group, {"from": today.isoformat()})  # warm-up: the code paths, one day
    small = export_csv(url, browser, group, recent)
    full = export_csv(url, browser, group, {})
    for label, r in (("20 days", small), ("every order", full)):
        print(f"  CSV {label}: {r['rows']:,} rows, {r['mib']:.1f} MiB in {r['seconds']:.2f} s (first byte "
              f"{r['first_byte_ms']:.0f} ms), backend RSS +{r['rss_growth_mib']:.1f} MiB", flush=True)  # fmt: skip
    return {"small": small, "full": full}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--orders", type=int, default=100_000)
    parser.add_argument("--per-day", type=int, default=1_000)
    parser.add_argument("--reads", type=int, default=7)
    parser.add_argument("--db", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    if args.quick:
        args.reads = 3
    kind = "sqlite" if args.db == "sqlite" else "postgresql"
    log = Path(tempfile.mkdtemp(prefix="bench-queries-")) / "queries"
    now = utc_now()
    started = time.perf_counter()
    database = seeded_database(kind, args.orders, args.per_day, now)
    print(f"== Admin at scale: {args.orders:,} orders ({args.db}), ready in {time.perf_counter() - started:.1f} s",
          flush=True)  # fmt: skip
    with processes() as procs:
        sim = start_simulator(procs, 0)
        env = {"ADMIN_PASSWORD": PASSWORD, "MAIL_MODE": "off", "BENCH_QUERY_LOG": str(log),
               "PYTHONPATH": f"{RXSHOP_DIR}:{BENCH / '_hooks'}"}  # fmt: skip
        backend = start_backend(procs, "rxshop", sim_url=sim, database=database, extra_env=env)
        try:
            browser = Browser()
            asyncio.run(sign_in_owner(backend.url, browser, PASSWORD))
            load = loadavg()
            page = asyncio.run(orders_page(backend.url, browser, args.reads, log, now.date(), backend.group))
            report = asyncio.run(revenue(backend.url, browser, args.reads, log, now.date(), backend.group))
            exports = csv_exports(backend.url, browser, backend.group, now.date())
        finally:
            stop_backend(procs, backend)
            shutil.rmtree(log.parent, ignore_errors=True)
    worst = max(page["scenarios"], key=lambda s: s["median_ms"])
    small, full = exports["small"], exports["full"]
    targets = [
        check(f"orders page worst median ms ({worst['name']})", worst["median_ms"], 50),
        check("revenue 90 days median ms", report["median_ms"], 200),
        check("CSV of every order seconds", full["seconds"], 5),
        check("CSV RSS growth 100k MiB (<= 1.5 x 20k + 8)", full["rss_growth_mib"],
              round(1.5 * small["rss_growth_mib"] + 8, 1)),
    ]  # fmt: skip
    result = {"db": args.db, "orders": args.orders, "per_day": args.per_day, "reads": args.reads, "loadavg": load,
              "orders_page": page, "worst": worst["name"], "revenue": report, "csv": exports}  # fmt: skip
    finish("admin_scale", result, targets)


if __name__ == "__main__":
    main()
