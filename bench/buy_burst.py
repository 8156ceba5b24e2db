"""Buy burst: N browser tabs press Buy at once, through Reflex's websocket, rxshop and the bare app side by side.

Each tab is its own browser profile (token, websocket, localStorage, cart): it opens `/` (hydrate_and_load,
on_load), sets its cart through the app's own cart handlers, then every tab sends Buy in the same instant.
Timed per tab: from sending the Buy event to receiving the update that carries the redirect
(`rx.call_script` with window.location.assign). Both backends run on granian, prod mode, against one
simulator with L ms on every Stripe call; rounds alternate rxshop, bare, bare, rxshop, ...

Modes: `sqlite` = one worker each, SQLite WAL, disk state manager (Reflex's default without Redis);
`postgres` = PostgreSQL + Redis + 2 granian workers each. Target: p95 rxshop / bare <= 1.2 in each mode,
the median of 5 alternating rounds (at least 3; per-round ratios scatter by ±0.15 on a shared 2-core machine).

    python bench/buy_burst.py [--rounds 5] [--tabs 100] [--latency-ms 200] [--mode sqlite|postgres|both]
    python bench/buy_burst.py --quick       # one round, 30 tabs, SQLite only
    python bench/buy_burst.py --stock 0     # products untracked (by default each is counted, 1,000,000
                                            # units: every Buy holds units, as a shop with stock does)
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import subprocess
import time

from _support import (
    BIN,
    LOGS,
    RXSHOP_DIR,
    abba,
    base_env,
    check,
    cpu_seconds,
    finish,
    group_pids,
    loadavg,
    new_database,
    percentile,
    processes,
    start_backend,
    start_simulator,
    stop_backend,
)
from reflex_client import Browser, Tab, changes, close_tabs, open_tabs, script_of

# The apps' states, by the suffix of their full names, and what their carts look like.
RXSHOP_LOCAL_STORAGE = {
    "reflex___state____state.rxshop___state___visitor____visitor_state.visitor_id_rx_state_": "rxshop_visitor"
}
APPS = {
    "rxshop": {
        "cart": "___cart____cart_state",
        "cart_var": "quantities",
        "checkout": "___checkout____checkout_state",
        "error_var": "error",
        "local_storage": RXSHOP_LOCAL_STORAGE,
    },
    "bare": {
        "cart": "___bare____buy_state",
        "cart_var": "cart",
        "checkout": "___bare____buy_state",
        "error_var": None,
        "local_storage": {},
    },
}
CART = (("mug", 2), ("notebook", 1))


def browsers_for(app: str, n: int) -> list[Browser]:
    """N buyers, each from its own address (as behind nginx: rxshop caps open checkouts per address)."""
    return [
        Browser(
            local_storage_vars=dict(APPS[app]["local_storage"]),
            forwarded_for=f"127.1.{i // 250}.{i % 250 + 1}",
        )
        for i in range(n)
    ]


async def ready_tabs(app: str, url: str, n: int) -> list[Tab]:
    """N hydrated tabs of `/`, each with the cart filled through the app's own handlers."""
    spec = APPS[app]
    browsers = browsers_for(app, n)
    if app == "rxshop":  # the server-issued credential first, as a browser's first visit does (untimed)
        await asyncio.gather(*(b.claim_visitor(url) for b in browsers))
    tabs = await open_tabs(url, browsers, path="/")
    if app == "rxshop":
        ready = [t.var("___visitor____visitor_state", "ready") for t in tabs]
        assert all(ready), f"{ready.count(False)} tabs have no visitor credential"

    async def fill(tab: Tab) -> None:
        for product, quantity in CART:
            await tab.call(
                spec["cart"],
                "set_quantity",
                changes(spec["cart"], spec["cart_var"]),
                30,
                **{
                    "product_id": product,
                    "value": quantity,
                },
            )

    await asyncio.wait_for(asyncio.gather(*(fill(t) for t in tabs)), 120)
    return tabs


async def press_buy(app: str, tabs: list[Tab], timeout: float = 90) -> list[float]:
    """Every tab sends Buy now; seconds from each send to the redirect script (raises on a missing one)."""
    spec = APPS[app]
    error_var = spec["error_var"]

    def done(update: dict) -> bool:
        if script_of(update):
            return True
        errors = [
            d.get(f"{error_var}_rx_state_") for n, d in (update.get("delta") or {}).items() if error_var
        ]
        return any(errors)

    async def one(tab: Tab) -> float:
        seconds, update = await tab.call(spec["checkout"], "buy", done, timeout)
        script = script_of(update)
        assert script and "window.location.assign" in script, f"no redirect: {update}"
        return seconds

    return list(await asyncio.wait_for(asyncio.gather(*(one(t) for t in tabs)), timeout + 30))


def dump_stacks(app: str, group: int) -> None:
    """A Buy that never answered: every process of the backend's stacks (py-spy dump) into the bench logs,
    so that the hang can be read afterwards (the backend log alone shows nothing)."""
    out = LOGS / f"{app}-hang-{time.strftime('%H%M%S')}.txt"
    with out.open("w") as f:
        for pid in group_pids(group):
            f.write(f"===== pid {pid}\n")
            f.flush()
            subprocess.run([str(BIN / "py-spy"), "dump", "--locals", "--pid", str(pid)], stdout=f, stderr=f)
    print(f"  {app}: a Buy did not answer; stacks in {out}", flush=True)


async def burst(app: str, url: str, n: int, group: int) -> dict:
    tabs = await ready_tabs(app, url, n)
    try:
        await asyncio.sleep(0.5)  # let the ramp's deltas settle
        load = loadavg()
        cpu_before = cpu_seconds(group)
        started = time.perf_counter()
        try:
            latencies = await press_buy(app, tabs)
        except TimeoutError:
            dump_stacks(app, group)
            raise
        wall = time.perf_counter() - started
        cpu = cpu_seconds(group) - cpu_before
    finally:
        await close_tabs(tabs)
    return {
        "p50": percentile(latencies, 50),
        "p95": percentile(latencies, 95),
        "max": max(latencies),
        "wall_s": wall,
        "backend_cpu_ms_per_buy": cpu / n * 1000,
        "loadavg": load,
        "n": len(latencies),
    }


def count_stock(database_url: str, units: int) -> None:
    """rxshop's own command line: the cart's products counted, so every Buy holds its units first."""
    for product, _quantity in CART:
        subprocess.run(
            [str(BIN / "python"), "-m", "rxshop", "stock", "set", product, str(units)],
            cwd=RXSHOP_DIR,
            env=base_env(DATABASE_URL=database_url),
            check=True,
            capture_output=True,
            timeout=60,
        )


def run_mode(mode: str, rounds: int, n: int, latency_ms: int, stock: int | None = None) -> dict:
    kind, workers, use_redis = ("sqlite", 1, False) if mode == "sqlite" else ("postgresql", 2, True)
    print(
        f"== buy burst, {mode}: {n} tabs, L = {latency_ms} ms, {workers} worker(s), {rounds} rounds",
        flush=True,
    )
    per_app: dict[str, list[dict]] = {"rxshop": [], "bare": []}
    with processes() as procs:
        sim = start_simulator(procs, latency_ms)
        backends = {
            app: start_backend(
                procs,
                app,
                sim_url=sim,
                database=new_database(kind, app),
                workers=workers,
                use_redis=use_redis,
            )
            for app in ("rxshop", "bare")
        }
        if stock is not None:
            count_stock(backends["rxshop"].database.url, stock)
        try:
            # Warm-up, not timed: imports, first sessions, and every pool (database, Redis, HTTP) grown to
            # the burst's size, as in a server that has run for a while (a first burst of 100 opens ~50
            # Redis and database connections per worker: a one-off cost, not the steady one).
            for app, backend in backends.items():
                asyncio.run(burst(app, backend.url, n, backend.group))
            for r, app in abba(rounds):
                backend = backends[app]
                result = asyncio.run(burst(app, backend.url, n, backend.group))
                result["round"] = r
                per_app[app].append(result)
                print(
                    f"  round {r} {app:6}: p50 {result['p50'] * 1000:6.0f} ms  p95 {result['p95'] * 1000:6.0f} ms"
                    f"  max {result['max'] * 1000:6.0f} ms  CPU {result['backend_cpu_ms_per_buy']:5.1f} ms/Buy"
                    f"  load {result['loadavg']}",
                    flush=True,
                )
        finally:
            for backend in backends.values():
                stop_backend(procs, backend)
    summary: dict = {"mode": mode, "rounds": per_app, "latency_ms": latency_ms, "tabs": n, "workers": workers}
    summary["stock"] = stock
    for app in ("rxshop", "bare"):
        summary[f"{app}_p95_median"] = statistics.median(x["p95"] for x in per_app[app])
        summary[f"{app}_p50_median"] = statistics.median(x["p50"] for x in per_app[app])
        summary[f"{app}_cpu_ms_median"] = statistics.median(x["backend_cpu_ms_per_buy"] for x in per_app[app])
    pairs = [a["p95"] / b["p95"] for a, b in zip(per_app["rxshop"], per_app["bare"], strict=True)]
    summary["p95_ratio_per_round"] = pairs
    summary["p95_ratio"] = summary["rxshop_p95_median"] / summary["bare_p95_median"]
    lat = latency_ms / 1000
    print(
        f"  median p95: rxshop {summary['rxshop_p95_median'] * 1000:.0f} ms ({summary['rxshop_p95_median'] / lat:.1f} x L),"
        f" bare {summary['bare_p95_median'] * 1000:.0f} ms ({summary['bare_p95_median'] / lat:.1f} x L);"
        f" rxshop / bare = {summary['p95_ratio']:.2f} (per round {', '.join(f'{p:.2f}' for p in pairs)});"
        f" CPU/Buy rxshop {summary['rxshop_cpu_ms_median']:.1f} ms, bare {summary['bare_cpu_ms_median']:.1f} ms",
        flush=True,
    )
    return summary


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--tabs", type=int, default=100)
    parser.add_argument("--latency-ms", type=int, default=200)
    parser.add_argument("--mode", choices=("sqlite", "postgres", "both"), default="both")
    parser.add_argument("--quick", action="store_true", help="one round, 30 tabs, SQLite only")
    parser.add_argument(
        "--stock",
        type=int,
        default=1_000_000,
        help="rxshop counts the cart's products with this many units each: every Buy holds units (issue 22:"
        " Buy with stock reservations in place); 0 leaves them untracked",
    )
    args = parser.parse_args()
    if args.quick:
        args.rounds, args.tabs, args.mode = 1, 30, "sqlite"
    modes = ("sqlite", "postgres") if args.mode == "both" else (args.mode,)
    stock = args.stock or None
    results = {mode: run_mode(mode, args.rounds, args.tabs, args.latency_ms, stock) for mode in modes}
    targets = [
        check(f"buy burst p95 rxshop / bare ({mode})", result["p95_ratio"], 1.2)
        for mode, result in results.items()
    ]
    finish("buy_burst", {"modes": results}, targets)


if __name__ == "__main__":
    main()
