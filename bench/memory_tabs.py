"""Backend memory per idle tab: RSS of the backend before and after 500 connected, hydrated tabs.

Side by side: rxshop's My Orders (/orders: VisitorState.ensure + OrdersState.load, each tab a visitor of
its own, listening for its order changes) and the bare app's page; each tab is a websocket of the load client
(bench/reflex_client.py) that hydrated the page and then sits idle. A fresh backend per round (RSS never
shrinks back), granian with one worker, SQLite; RSS summed over the backend's process group. Rounds
alternate.

Target: <= 250 KiB of backend RSS per idle tab at 500 tabs (rxshop).

    python bench/memory_tabs.py [--rounds 3] [--tabs 500]
    python bench/memory_tabs.py --quick      # one round, 200 tabs
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time

from _support import (
    abba,
    check,
    finish,
    loadavg,
    new_database,
    processes,
    rss_kib,
    start_backend,
    start_simulator,
    stop_backend,
)
from buy_burst import RXSHOP_LOCAL_STORAGE
from reflex_client import Browser, close_tabs, open_tabs

PAGES = {"rxshop": "/orders", "bare": "/"}


async def browsers(app: str, url: str, n: int) -> list[Browser]:
    """N browser profiles; rxshop's each with its server-issued visitor credential (untimed)."""
    storage = RXSHOP_LOCAL_STORAGE if app == "rxshop" else {}
    profiles = [Browser(local_storage_vars=dict(storage)) for _ in range(n)]
    if app == "rxshop":
        gate = asyncio.Semaphore(20)

        async def claim(browser: Browser) -> None:
            async with gate:
                await browser.claim_visitor(url)

        await asyncio.gather(*(claim(b) for b in profiles))
    return profiles


async def tabs_rss(app: str, url: str, group: int, n: int) -> dict:
    warm = await open_tabs(url, await browsers(app, url, 10), path=PAGES[app])
    await asyncio.sleep(1)
    before = rss_kib(group)
    tabs = await open_tabs(url, await browsers(app, url, n), path=PAGES[app], timeout=120)
    await asyncio.sleep(3)
    after = rss_kib(group)
    await close_tabs(tabs + warm)
    return {"rss_before_kib": before, "rss_after_kib": after, "kib_per_tab": (after - before) / n}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--tabs", type=int, default=500)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    if args.quick:
        args.rounds, args.tabs = 1, 200
    print(
        f"== memory: {args.tabs} idle tabs, {args.rounds} rounds (rxshop {PAGES['rxshop']}, bare /)",
        flush=True,
    )
    per_app: dict[str, list[dict]] = {"rxshop": [], "bare": []}
    with processes() as procs:
        sim = start_simulator(procs, 0)
        for r, app in abba(args.rounds):
            backend = start_backend(procs, app, sim_url=sim, database=new_database("sqlite", app))
            try:
                time.sleep(1)
                load = loadavg()
                res = asyncio.run(tabs_rss(app, backend.url, backend.group, args.tabs))
            finally:
                stop_backend(procs, backend)
            res.update(round=r, loadavg=load)
            per_app[app].append(res)
            print(
                f"  round {r} {app:6}: {res['rss_before_kib'] / 1024:6.0f} MiB idle,"
                f" {res['rss_after_kib'] / 1024:6.0f} MiB with the tabs: {res['kib_per_tab']:6.0f} KiB per tab"
                f"  load {load}",
                flush=True,
            )
    summary: dict = {"tabs": args.tabs, "rounds": per_app, "pages": PAGES}
    for app in per_app:
        summary[f"{app}_kib_per_tab"] = statistics.median(x["kib_per_tab"] for x in per_app[app])
        summary[f"{app}_idle_mib"] = statistics.median(x["rss_before_kib"] for x in per_app[app]) / 1024
    summary["ratio"] = summary["rxshop_kib_per_tab"] / summary["bare_kib_per_tab"]
    print(
        f"  median: rxshop {summary['rxshop_kib_per_tab']:.0f} KiB/tab (idle {summary['rxshop_idle_mib']:.0f} MiB),"
        f" bare {summary['bare_kib_per_tab']:.0f} KiB/tab (idle {summary['bare_idle_mib']:.0f} MiB);"
        f" rxshop / bare = {summary['ratio']:.2f}",
        flush=True,
    )
    finish("memory_tabs", summary, [check("KiB per idle tab (rxshop)", summary["rxshop_kib_per_tab"], 250)])


if __name__ == "__main__":
    main()
