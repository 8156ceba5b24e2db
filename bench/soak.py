"""Soak: 20 minutes of a shop's mixed day on PostgreSQL + Redis + two workers; does anything drift or leak?

rxshop alone (nothing to compare side by side: the question is rxshop against itself over time), on granian
with 2 workers, PostgreSQL (a schema of its own) and Redis (database 14 of the shared server), email on
(SMTP_URL: an aiosmtpd server in this process that counts Message-IDs, bench/_soak_watch.py), the owner's
dashboard enabled. For the whole run:
- 200 idle My Orders tabs (`/orders`, one per browser profile with its visitor credential), connected;
- the owner's dashboard open: a tab of `/admin` signed in through the page's own sign-in (password, then the
  one-time grant traded for the HttpOnly cookie at /admin-session, then a new connection with that cookie);
- --buyers loops, each buying as one of those 200 browsers at a time, with a random pause (--think s)
  between orders: Buy through the websocket, payment in the simulator, the return page, and the webhooks of
  a realistic day (bench/_soak_day.py: 20 % after the return page, 3 % delayed payments, 5 % expired
  sessions, 2 % refunds, 10 % redelivered).
Each worker's RSS and the load are sampled every 5 s; Buy round trips and webhook POSTs are timed.
Where the PostgreSQL server runs with autovacuum off (the shared test server does), the soak vacuums its own
schema every minute instead, as autovacuum would in production: else dead rows of the day's updates pile up
and slow every query down, a drift of the test server rather than of rxshop.

Targets: each worker's RSS grows < 10 % from the end of the warm-up (minute 2; a quarter of a run shorter
than 8 minutes) to the end; the p95 of Buy and of the webhook in the last 5 minutes <= 1.2 x the first 5
(runs shorter than 15 minutes: the last quarter against the first); every session of the day has exactly
one order in the status its fate calls for; every outbox message reached the SMTP server exactly once; no
request failed. Not part of `make test`: `make bench ARGS="--soak"` (or `--only soak`).

    python bench/soak.py [--minutes 20] [--buyers 3] [--tabs 200] [--think 1.0] [--latency-ms 200]
    python bench/soak.py --quick          # 3 minutes
"""

from __future__ import annotations

import argparse
import asyncio
import random
import time

from _soak_day import Day, Tally
from _soak_watch import (
    CountingSmtp,
    autovacuum_on,
    database_check,
    loadavg,
    mail_drained,
    rss_kib,
    vacuum_schema,
    workers,
)
from _support import (
    REDIS_BASE,
    check,
    cpu_seconds,
    finish,
    new_database,
    percentile,
    processes,
    start_backend,
    start_simulator,
)
from buy_burst import RXSHOP_LOCAL_STORAGE, browsers_for, count_stock
from reflex_client import ADMIN_STATE, Browser, Tab, close_tabs, open_tabs, sign_in_owner

REDIS_DB = 14  # the soak's own database on the shared Redis, flushed before and after
ADMIN_PASSWORD = "soak owner password, long enough"
SAMPLE_SECONDS = 5


def flush_redis(url: str) -> None:
    """Empty the soak's own Redis database (states of an earlier run must not be read back)."""
    import redis

    client = redis.Redis.from_url(url)
    try:
        client.flushdb()
    finally:
        client.close()


async def owner_dashboard(url: str) -> Tab:
    """The owner signs in on /admin as the page does; the signed-in dashboard tab, left open."""
    owner = Browser(forwarded_for="127.9.0.1")
    await sign_in_owner(url, owner, ADMIN_PASSWORD)
    tab = Tab(url, owner, path="/admin")  # the page reloads: a new connection carries the admin cookie
    await tab.open(60)
    name = tab.state_name(ADMIN_STATE)
    if not tab.state[name].get("signed_in"):
        await asyncio.wait_for(tab.wait_for(lambda _u: tab.state[name].get("signed_in") is True), 60)
    return tab


def redis_clients(url: str) -> int:
    """Connections to the soak's Redis database (a pool that leaks would show here first)."""
    import redis

    client = redis.Redis.from_url(url)
    try:
        return sum(1 for c in client.client_list() if int(c.get("db", -1)) == REDIS_DB) - 1  # not this one
    finally:
        client.close()


async def sample(group: int, tally: Tally, samples: list[dict], stop: asyncio.Event) -> None:
    """Every SAMPLE_SECONDS: each worker's RSS, the backend's CPU, its Redis connections and the load,
    until `stop` (the memory target's series)."""
    while not stop.is_set():
        pids = workers(group)
        clients = await asyncio.to_thread(redis_clients, f"{REDIS_BASE}/{REDIS_DB}")
        samples.append(
            {
                "t": tally.now(),
                "load": loadavg(),
                "cpu_s": cpu_seconds(group),
                "rss_kib": {p: rss_kib(p) for p in pids},
                "redis_clients": clients,
            }
        )
        try:
            await asyncio.wait_for(stop.wait(), SAMPLE_SECONDS)
        except TimeoutError:
            pass


class Buyers:
    """Who buys next: one of the idle tabs' visitors (a regular: their My Orders tab hears the change) with
    probability `regulars`, else a first-time visitor (a new browser profile and address, as most of a
    shop's buyers in a day)."""

    def __init__(self, url: str, regulars: list[Browser], share: float, rng: random.Random) -> None:
        self.url, self.share, self.rng = url, share, rng
        self.free: asyncio.Queue[Browser] = asyncio.Queue()
        for browser in rng.sample(regulars, len(regulars)):
            self.free.put_nowait(browser)
        self.newcomers = 0

    async def take(self) -> tuple[Browser, bool]:
        """The next buyer's browser, and whether it is a regular's (given back to `free` after the order)."""
        if self.rng.random() < self.share:
            return await self.free.get(), True
        self.newcomers += 1
        n = self.newcomers
        browser = Browser(
            local_storage_vars=dict(RXSHOP_LOCAL_STORAGE),
            forwarded_for=f"127.{2 + n // 62500}.{n // 250 % 250}.{n % 250 + 1}",
        )
        await browser.claim_visitor(self.url)
        return browser, False


async def vacuum_every_minute(db_url: str, seconds: list[float], stop: asyncio.Event) -> None:
    """Stand in for autovacuum where the server has it off (autovacuum_naptime's default is a minute):
    without it, dead rows pile up all day, which no production server lets happen."""
    while not stop.is_set():
        try:
            await asyncio.wait_for(stop.wait(), 60)
        except TimeoutError:
            seconds.append(await asyncio.to_thread(vacuum_schema, db_url))


async def buyer(day: Day, buyers: Buyers, end: float, think: float, *, once: bool = False) -> None:
    """One buyer loop: an order, a pause, again until `end` (`once`: one order)."""
    while once or time.monotonic() < end:
        browser, regular = await buyers.take()
        try:
            await day.order(browser)
        except Exception as err:  # counted and reported: a failed order is a finding, not a crash
            day.tally.errors.append(f"order: {err!r}")
        finally:
            if regular:
                buyers.free.put_nowait(browser)
        if once:
            return
        await asyncio.sleep(day.rng.expovariate(1 / think))


async def day_of_load(args, url: str, sim: str, group: int, db_url: str, smtp: CountingSmtp) -> dict:
    """Open the idle tabs and the dashboard, warm up, run the buyer loops, then check the database and the mail."""
    browsers = browsers_for("rxshop", args.tabs)
    gate = asyncio.Semaphore(20)

    async def claim(browser: Browser) -> None:
        async with gate:
            await browser.claim_visitor(url)

    await asyncio.gather(*(claim(b) for b in browsers))
    idle = await open_tabs(url, browsers, path="/orders", timeout=120)
    dashboard = None if args.no_dashboard else await owner_dashboard(url)
    tally = Tally()
    day = Day(url, sim, random.Random(args.seed), tally)
    buyers = Buyers(url, browsers, args.regulars, random.Random(args.seed))
    day.timed = False  # warm-up: one order per loop (imports, pools, first sessions), not timed
    await asyncio.gather(*(buyer(day, buyers, time.monotonic(), 0.1, once=True) for _ in range(args.buyers)))
    day.timed, tally.started = True, time.monotonic()
    samples: list[dict] = []
    stop = asyncio.Event()
    sampler = asyncio.create_task(sample(group, tally, samples, stop))
    vacuums: list[float] = []
    autovacuum = await asyncio.to_thread(autovacuum_on, db_url)
    vacuum = None if autovacuum else asyncio.create_task(vacuum_every_minute(db_url, vacuums, stop))
    end = tally.started + args.minutes * 60
    await asyncio.gather(*(buyer(day, buyers, end, args.think) for _ in range(args.buyers)))
    await day.aclose()
    stop.set()
    await sampler
    if vacuum is not None:
        await vacuum
    still_open = sum(not t.closed.is_set() for t in idle)
    owner_open = (
        dashboard is not None and not dashboard.closed.is_set() and dashboard.var(ADMIN_STATE, "signed_in")
    )
    owner_updates = dashboard.updates if dashboard is not None else 0
    await close_tabs([*idle, *([dashboard] if dashboard else [])])
    mail = await asyncio.to_thread(mail_drained, db_url, 120)
    checked = await asyncio.to_thread(database_check, db_url, tally.expected, smtp)
    return {
        "tally": tally,
        "samples": samples,
        "autovacuum": "the server's"
        if autovacuum
        else f"off on the server: the soak vacuumed its schema {len(vacuums)} times",
        "vacuum_seconds": vacuums,
        "idle_tabs_open_at_end": still_open,
        "owner_signed_in_at_end": owner_open,
        "owner_tab_updates": owner_updates,
        "mail_status": mail,
        "check": checked,
    }


def p95_ms(values: list[float]) -> float:
    """p95 in ms (NaN for no values: a window without traffic says so instead of passing)."""
    return percentile(values, 95) * 1000 if values else float("nan")


def per_minute(tally: Tally, samples: list[dict], minutes: float) -> list[dict]:
    """One row per minute: Buys, webhooks, their p95s, each worker's RSS at the minute's end, the load."""
    rows = []
    for m in range(int(-(-minutes // 1))):
        lo, hi = m * 60, (m + 1) * 60
        buys = [s for t, s in tally.buys if lo <= t < hi]
        hooks = [s for t, s in tally.hooks if lo <= t < hi]
        inside = [s for s in samples if lo <= s["t"] < hi] or samples[-1:]
        last = inside[-1]
        before = [s for s in samples if s["t"] < lo] or samples[:1]
        cpu = last["cpu_s"] - before[-1]["cpu_s"]  # the backend's CPU (supervisor and workers) in this minute
        rows.append(
            {
                "minute": m + 1,
                "buys": len(buys),
                "buy_p50_ms": percentile(buys, 50) * 1000 if buys else float("nan"),
                "buy_p95_ms": p95_ms(buys),
                "webhooks": len(hooks),
                "webhook_p50_ms": percentile(hooks, 50) * 1000 if hooks else float("nan"),
                "webhook_p95_ms": p95_ms(hooks),
                "cpu_ms_per_buy": cpu * 1000 / len(buys) if buys else float("nan"),
                "rss_mib": [round(v / 1024, 1) for _p, v in sorted(last["rss_kib"].items())],
                "load": last["load"],
                "redis_clients": last["redis_clients"],
            }
        )
    return rows


def phases_per_minute(tally: Tally, minutes: float) -> dict[str, list[float]]:
    """Median of each step of an order, minute by minute: which step a slower day comes from."""
    out: dict[str, list[float]] = {}
    for name in sorted({p for p, _t, _s in tally.phases}):
        out[name] = [
            round(
                percentile([s for p, t, s in tally.phases if p == name and m * 60 <= t < (m + 1) * 60], 50)
                * 1000,
                1,
            )
            for m in range(int(-(-minutes // 1)))
        ]
    return out


def windows(tally: Tally, minutes: float) -> dict:
    """p95 of the first and the last window (5 minutes; a quarter of a run shorter than 15 minutes)."""
    span = 300.0 if minutes >= 15 else minutes * 60 / 4
    end = minutes * 60
    out: dict = {"seconds": span}
    for name, timings in (("buy", tally.buys), ("webhook", tally.hooks)):
        first = [s for t, s in timings if t < span]
        last = [s for t, s in timings if t >= end - span]
        out[name] = {
            "first_p95_ms": p95_ms(first),
            "last_p95_ms": p95_ms(last),
            "first_n": len(first),
            "last_n": len(last),
        }
        out[name]["ratio"] = out[name]["last_p95_ms"] / out[name]["first_p95_ms"]
    return out


def memory(samples: list[dict], minutes: float) -> dict:
    """Each worker's RSS at the end of the warm-up and at the end of the load, and its growth."""
    warm_up = 120.0 if minutes >= 8 else minutes * 60 / 4
    warm = next((s for s in samples if s["t"] >= warm_up), samples[-1])
    last = samples[-1]
    rows = []
    for pid in sorted(last["rss_kib"]):
        start = warm["rss_kib"].get(pid)
        if not start:  # a worker that was not there at the end of the warm-up: restarted
            rows.append(
                {"pid": pid, "warm_kib": None, "end_kib": last["rss_kib"][pid], "growth_pct": float("inf")}
            )
            continue
        end = last["rss_kib"][pid]
        rows.append({"pid": pid, "warm_kib": start, "end_kib": end, "growth_pct": (end / start - 1) * 100})
    return {"warm_up_s": warm_up, "workers": rows}


def summarize(args, found: dict) -> tuple[dict, list[dict]]:
    """The figures for bench/results/soak.json and the target lines."""
    tally: Tally = found.pop("tally")
    samples = found.pop("samples")
    result = {
        "minutes": args.minutes,
        "buyers": args.buyers,
        "think_s": args.think,
        "tabs": args.tabs,
        "regulars": args.regulars,
        "dashboard": not args.no_dashboard,
        "latency_ms": args.latency_ms,
        "setup": "rxshop on granian, 2 workers, PostgreSQL + Redis, SMTP (aiosmtpd), owner dashboard open",
        "buys": len(tally.buys),
        "webhooks": len(tally.hooks),
        "buy_p95_ms": p95_ms([s for _t, s in tally.buys]),
        "webhook_p95_ms": p95_ms([s for _t, s in tally.hooks]),
        "counts": dict(sorted(tally.counts.items())),
        "errors": len(tally.errors),
        "error_examples": tally.errors[:20],
        "per_minute": per_minute(tally, samples, args.minutes),
        "phase_p50_ms_per_minute": phases_per_minute(tally, args.minutes),
        # Every timing, (seconds since the start, seconds), for a closer look than minutes.
        "buy_timings": [(round(t, 2), round(x, 4)) for t, x in tally.buys],
        "webhook_timings": [(round(t, 2), round(x, 4)) for t, x in tally.hooks],
        "windows": windows(tally, args.minutes),
        "memory": memory(samples, args.minutes),
        **found,
    }
    c, w = result["check"], result["windows"]
    targets = [
        check(f"worker {i + 1} RSS growth after warm-up (%)", row["growth_pct"], 10)
        for i, row in enumerate(result["memory"]["workers"])
    ]
    targets += [
        check("Buy p95 last / first window", w["buy"]["ratio"], 1.2),
        check("webhook p95 last / first window", w["webhook"]["ratio"], 1.2),
        check("sessions without exactly one order in the right status", c["order_mismatches"], 0),
        check("outbox messages not received exactly once", c["email_mismatches"], 0),
        check("failed requests (Buy, return page, webhook)", len(tally.errors), 0),
        check("idle My Orders tabs dropped", args.tabs - found["idle_tabs_open_at_end"], 0),
    ]
    return result, targets


def main() -> None:
    """Start the simulator, the SMTP server and rxshop; run the day; record and check it."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--minutes", type=float, default=20)
    parser.add_argument("--buyers", type=int, default=3, help="buyer loops at once")
    parser.add_argument("--think", type=float, default=1.0, help="mean pause between one loop's orders (s)")
    parser.add_argument("--tabs", type=int, default=200, help="idle My Orders tabs")
    parser.add_argument(
        "--regulars",
        type=float,
        default=0.2,
        help="share of orders by the idle tabs' visitors (the rest: new ones)",
    )
    parser.add_argument(
        "--no-dashboard", action="store_true", help="leave the owner's dashboard closed (diagnosis)"
    )
    parser.add_argument("--latency-ms", type=int, default=200, help="the simulator's latency per API call")
    parser.add_argument("--seed", type=int, default=22)
    parser.add_argument("--quick", action="store_true", help="3 minutes")
    args = parser.parse_args()
    if args.quick:
        args.minutes = 3
    redis_url = f"{REDIS_BASE}/{REDIS_DB}"
    print(
        f"== soak: {args.minutes:g} min, {args.buyers} buyers, {args.tabs} idle tabs, L = {args.latency_ms} ms",
        flush=True,
    )
    smtp = CountingSmtp().start()
    flush_redis(redis_url)
    try:
        with processes() as procs:
            sim = start_simulator(procs, args.latency_ms)
            database = new_database("postgresql", "soak")
            try:
                env = {
                    "REDIS_URL": redis_url,
                    "SMTP_URL": smtp.url,
                    "MAIL_FROM": "rxshop <orders@soak.test>",
                    "OWNER_EMAIL": "owner@soak.test",
                    "ADMIN_PASSWORD": ADMIN_PASSWORD,
                }
                backend = start_backend(
                    procs, "rxshop", sim_url=sim, database=database, workers=2, extra_env=env
                )
                # Counted products: every Buy holds stock, an expired or failed payment frees it.
                count_stock(database.url, 1_000_000)
                found = asyncio.run(day_of_load(args, backend.url, sim, backend.group, database.url, smtp))
            finally:
                procs.stop_all()
                database.drop()
    finally:
        smtp.stop()
        flush_redis(redis_url)
    result, targets = summarize(args, found)
    w = result["windows"]
    print(
        f"  {result['buys']} Buys (p95 {result['buy_p95_ms']:.0f} ms), {result['webhooks']} webhooks "
        f"(p95 {result['webhook_p95_ms']:.0f} ms); first / last window p95: Buy {w['buy']['first_p95_ms']:.0f} / "
        f"{w['buy']['last_p95_ms']:.0f} ms, webhook {w['webhook']['first_p95_ms']:.0f} / {w['webhook']['last_p95_ms']:.0f} ms;"
        f" RSS {[(r['warm_kib'], r['end_kib']) for r in result['memory']['workers']]} KiB; {result['errors']} errors",
        flush=True,
    )
    finish("soak", result, targets)


if __name__ == "__main__":
    main()
