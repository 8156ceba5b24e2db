"""Webhooks as Stripe sends them: 50 concurrent senders, rxshop and the bare app side by side (issue 22).

Four mixes, each event carrying the full object Stripe sends (bench/_webhook_mixes.py), every order's
units held as Buy holds them (products counted) and email on:
- new: a checkout.session.completed (paid) for each pending order;
- paid: the same for orders the return page already paid (a new event id: the buyer came back first);
- redeliver: redeliveries of events already recorded (the same id and body, re-signed, as Stripe retries);
- day: a realistic day: for each order one completed event, 20 % after the return page paid it, 3 % delayed
  payments succeeded or failed, 5 % expired sessions, 2 % refunds (charge.refunded), 10 % redeliveries.
Each app on granian, one worker, SQLite WAL (or --db postgres: PostgreSQL + Redis + 2 workers); rounds
alternate; sending stops after --seconds (requests in flight finish). Afterwards the database must show
every story answered in full right: each order paid once (one fulfilled event, one confirmation email),
refunds applied once, expired and failed checkouts' holds given back, failed payments not paid.

Targets per mix: events/s rxshop / bare >= 0.75, p95 rxshop / bare <= 1.5 (same run), rxshop correct.

    python bench/webhooks.py [--rounds 3] [--seconds 8] [--senders 50] [--db sqlite|postgres] [--mixes day]
    python bench/webhooks.py --quick      # one round, 3 s
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import time

from _http import post_all
from _seed import bare_orders, rxshop_orders
from _support import (
    abba,
    check,
    cpu_seconds,
    finish,
    loadavg,
    new_database,
    percentile,
    processes,
    start_backend,
    start_simulator,
    stop_backend,
)
from _webhook_mixes import Story, arrange, day_kind, problems, signed

MIXES = ("new", "paid", "redeliver", "day")
REDELIVERED = 500  # events recorded before a redeliver round, then sent again and again


def _seed(app: str, url: str, kinds: list[str]) -> list[Story]:
    """One order per story of these kinds: pending, or paid by the return page for "return"."""
    paid = sum(k == "return" for k in kinds)

    def seeded(n: int, status: str) -> list[dict]:
        if n == 0:
            return []
        if app == "rxshop":
            return rxshop_orders(url, n, status=status, hold=True)
        return bare_orders(url, n, status=status)

    pools = {False: iter(seeded(len(kinds) - paid, "pending")), True: iter(seeded(paid, "paid"))}
    return [Story(kind, next(pools[kind == "return"])) for kind in kinds]


def plan(
    app: str, url: str, mix: str, total: int, rng: random.Random
) -> tuple[list[Story], list[bytes], list]:
    """(stories, bodies sent before the clock starts, bodies timed) for one round."""
    if mix == "redeliver":
        stories = _seed(app, url, ["paid"] * REDELIVERED)
        first = arrange(stories, 0, rng)
        return stories, first, [rng.choice(first) for _ in range(total)]
    kinds = {"new": lambda: "paid", "paid": lambda: "return", "day": lambda: day_kind(rng)}[mix]
    stories = _seed(app, url, [kinds() for _ in range(total)])
    return stories, [], arrange(stories, 0.10 if mix == "day" else 0, rng)


def one_round(app: str, backend, mix: str, args, rng: random.Random) -> dict:
    url = f"{backend.url}/stripe/webhook"
    stories, before, bodies = plan(app, backend.database.url, mix, args.deliveries, rng)
    if before:
        _e, _l, statuses = asyncio.run(post_all(url, [signed(b) for b in before], args.senders))
        assert statuses.count(200) == len(before), "the events to redeliver were not all recorded"
    requests = [signed(b) for b in bodies]
    load = loadavg()
    cpu_before = cpu_seconds(backend.group)
    elapsed, latencies, statuses = asyncio.run(post_all(url, requests, args.senders, args.seconds))
    cpu = cpu_seconds(backend.group) - cpu_before
    sent = len(statuses)
    time.sleep(0.5)  # rxshop's live pushes run after the answers
    wrong = problems(app, backend.database.url, stories, len(before) if before else sent)
    ok = statuses.count(200)
    if wrong:
        print(f"    {len(wrong)} wrong, e.g. {wrong[:3]}", flush=True)
    return {
        "events_per_s": sent / elapsed,
        "p50_ms": percentile(latencies, 50) * 1000,
        "p95_ms": percentile(latencies, 95) * 1000,
        "max_ms": max(latencies) * 1000,
        "sent": sent,
        "ok": ok,
        "stories_checked": sum(0 <= s.last < (len(before) or sent) for s in stories),
        "wrong": len(wrong),
        "correct": ok == sent and not wrong,
        "backend_cpu_ms_per_event": cpu / max(sent, 1) * 1000,
        "loadavg": load,
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=8)
    parser.add_argument("--senders", type=int, default=50)
    parser.add_argument("--deliveries", type=int, default=24000, help="upper bound per round")
    parser.add_argument("--db", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--quick", action="store_true", help="one round of 3 s")
    parser.add_argument("--mixes", default=",".join(MIXES), help="comma-separated, of: " + ", ".join(MIXES))
    args = parser.parse_args()
    if args.quick:
        args.rounds, args.seconds, args.deliveries = 1, 3, 9000
    kind, workers, use_redis = ("sqlite", 1, False) if args.db == "sqlite" else ("postgresql", 2, True)
    rng = random.Random(12)
    results: dict = {"db": args.db, "senders": args.senders, "seconds": args.seconds, "mixes": {}}
    targets = []
    with processes() as procs:
        sim = start_simulator(procs, 0)
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
        try:
            for mix in args.mixes.split(","):
                print(f"== webhooks, {mix}: {args.senders} senders, {args.seconds} s, {args.db}", flush=True)
                per_app: dict[str, list[dict]] = {"rxshop": [], "bare": []}
                for r, app in abba(args.rounds):
                    res = one_round(app, backends[app], mix, args, rng)
                    res["round"] = r
                    per_app[app].append(res)
                    print(
                        f"  round {r} {app:6}: {res['events_per_s']:7,.0f} events/s  p50 {res['p50_ms']:6.1f} ms"
                        f"  p95 {res['p95_ms']:6.1f} ms  CPU {res['backend_cpu_ms_per_event']:5.2f} ms/event"
                        f"  {res['sent']} sent, {res['stories_checked']} orders checked"
                        f"{'' if res['correct'] else '  INCORRECT'}  load {res['loadavg']}",
                        flush=True,
                    )
                summary: dict = {"rounds": per_app}
                for app in per_app:
                    summary[f"{app}_rate_median"] = statistics.median(x["events_per_s"] for x in per_app[app])
                    summary[f"{app}_p95_median"] = statistics.median(x["p95_ms"] for x in per_app[app])
                    summary[f"{app}_cpu_ms_median"] = statistics.median(
                        x["backend_cpu_ms_per_event"] for x in per_app[app]
                    )
                summary["rate_ratio"] = summary["rxshop_rate_median"] / summary["bare_rate_median"]
                summary["p95_ratio"] = summary["rxshop_p95_median"] / summary["bare_p95_median"]
                summary["correct"] = all(x["correct"] for x in per_app["rxshop"])
                summary["bare_correct"] = all(x["correct"] for x in per_app["bare"])
                results["mixes"][mix] = summary
                print(
                    f"  median: rxshop {summary['rxshop_rate_median']:,.0f}/s p95 {summary['rxshop_p95_median']:.1f} ms;"
                    f" bare {summary['bare_rate_median']:,.0f}/s p95 {summary['bare_p95_median']:.1f} ms;"
                    f" rxshop / bare = {summary['rate_ratio']:.2f} (p95 {summary['p95_ratio']:.2f})",
                    flush=True,
                )
                targets += [
                    check(
                        f"webhooks ({mix}) events/s rxshop / bare", summary["rate_ratio"], 0.75, at_least=True
                    ),
                    check(f"webhooks ({mix}) p95 rxshop / bare", summary["p95_ratio"], 1.5),
                    check(
                        f"webhooks ({mix}) every order right once",
                        float(summary["correct"]),
                        1,
                        at_least=True,
                    ),
                ]
        finally:
            for backend in backends.values():
                stop_backend(procs, backend)
    finish("webhooks", results, targets)


if __name__ == "__main__":
    main()
