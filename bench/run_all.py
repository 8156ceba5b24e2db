"""`make bench`: every benchmark in turn, then bench/RESULTS.md from their results (bench/results/*.json).

    python bench/run_all.py [--quick] [--only buy_burst,webhooks,...] [--soak]

RESULTS.md keeps what follows its generated part (the hand-written profile findings) and gains one row per
run in its history table (the before / after record). Exits non-zero when a target is missed or a
benchmark fails; benchmarks never run in `make test`.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
RESULTS = HERE / "results"
MARKDOWN = HERE / "RESULTS.md"
BENCHMARKS = ("buy_burst", "webhooks", "my_orders", "memory_tabs", "page_weight", "admin_scale", "soak")
SOAK = "soak"  # 20 minutes: only with --soak (after the others) or --only soak; never in `make test`
GENERATED_END = "<!-- end of the generated part: everything below is kept by bench/run_all.py -->"
HISTORY_HEAD = (
    "| date | commit | buy p95 ratio SQLite | buy p95 ratio PG+Redis | webhooks ratio new / dup30 |"
)


def git(*args: str) -> str:
    return subprocess.run(["git", *args], cwd=REPO, capture_output=True, text=True).stdout.strip()


def machine() -> str:
    model = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    mem = next(
        int(line.split()[1])
        for line in Path("/proc/meminfo").read_text().splitlines()
        if line.startswith("MemTotal")
    )
    return f"{os.cpu_count()} cores ({model}), {mem / 1024 / 1024:.1f} GiB memory, Python {platform.python_version()}"


def ms(seconds: float) -> str:
    return f"{seconds * 1000:,.0f} ms"


def targets_md(result: dict) -> list[str]:
    return [
        f"- {'met' if t['met'] else '**MISSED**'}: {t['name']} = {t['value']:,.2f} (target {t['op']} {t['limit']:,})"
        for t in result.get("targets", [])
    ]


def buy_md(r: dict) -> list[str]:
    out = ["## Buy burst (`bench/buy_burst.py`)", ""]
    for mode, m in r["modes"].items():
        lat = m["latency_ms"] / 1000
        out += [
            f"**{mode}**: {m['tabs']} tabs, {m['workers']} worker(s) each, L = {m['latency_ms']} ms, "
            f"{'stock counted (' + format(m['stock'], ',') + ' units each: every Buy holds units)' if m.get('stock') else 'stock untracked'}"
            ", email on (the outbox's sender delivering to an SMTP sink); "
            f"median p95 rxshop {ms(m['rxshop_p95_median'])} ({m['rxshop_p95_median'] / lat:.1f} × L), bare "
            f"{ms(m['bare_p95_median'])} ({m['bare_p95_median'] / lat:.1f} × L): **rxshop / bare = "
            f"{m['p95_ratio']:.2f}** (per round: {', '.join(f'{x:.2f}' for x in m['p95_ratio_per_round'])}). "
            f"Backend CPU per Buy (median): rxshop {m['rxshop_cpu_ms_median']:.1f} ms, bare {m['bare_cpu_ms_median']:.1f} ms.",
            "",
            "| round | app | p50 | p95 | max | backend CPU / Buy | load avg (1, 5, 15 min) |",
            "| --- | --- | --- | --- | --- | --- | --- |",
        ]
        rows = sorted((x["round"], app, x) for app in ("rxshop", "bare") for x in m["rounds"][app])
        out += [
            f"| {rnd} | {app} | {ms(x['p50'])} | {ms(x['p95'])} | {ms(x['max'])} | "
            f"{x['backend_cpu_ms_per_buy']:.1f} ms | {', '.join(map(str, x['loadavg']))} |"
            for rnd, app, x in rows
        ]
        out.append("")
    return out + targets_md(r) + [""]


_MIX_NAMES = {
    "new": "new events for pending orders",
    "paid": "new events for orders the return page already paid",
    "redeliver": "redeliveries of recorded events",
    "day": "a realistic day (20 % after the return page, 3 % delayed, 5 % expired, 2 % refunds, 10 % repeats)",
}


def webhooks_md(r: dict) -> list[str]:
    out = [
        f"## Webhooks (`bench/webhooks.py`): {r['senders']} senders, {r['seconds']:g} s per round, {r['db']}",
        "",
    ]
    for mix, m in r["mixes"].items():
        out += [
            f"**{_MIX_NAMES.get(mix, mix)}**: median rxshop "
            f"{m['rxshop_rate_median']:,.0f} events/s (p95 {m['rxshop_p95_median']:.1f} ms), bare "
            f"{m['bare_rate_median']:,.0f} events/s (p95 {m['bare_p95_median']:.1f} ms): **rxshop / bare = "
            f"{m['rate_ratio']:.2f}, p95 {m.get('p95_ratio', 0):.2f}**. Backend CPU per event: rxshop "
            f"{m['rxshop_cpu_ms_median']:.2f} ms, bare {m['bare_cpu_ms_median']:.2f} ms. Every order checked "
            f"right in the database: {m['correct']}.",
            "",
            "| round | app | events/s | p50 | p95 | max | CPU / event | sent | orders checked | wrong | load avg |",
            "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
        ]
        rows = sorted((x["round"], app, x) for app in ("rxshop", "bare") for x in m["rounds"][app])
        out += [
            f"| {rnd} | {app} | {x['events_per_s']:,.0f} | {x['p50_ms']:.1f} ms | {x['p95_ms']:.1f} ms | "
            f"{x['max_ms']:.0f} ms | {x['backend_cpu_ms_per_event']:.2f} ms | {x['sent']:,} | "
            f"{x.get('stories_checked', 0):,} | {x.get('wrong', 0)} | {', '.join(map(str, x['loadavg']))} |"
            for rnd, app, x in rows
        ]
        out.append("")
    return out + targets_md(r) + [""]


def my_orders_md(r: dict) -> list[str]:
    out = [
        f"## My Orders (`bench/my_orders.py`): {r['orders']:,} orders + {r['mine']} of one visitor, {r['db']}",
        "",
        f"Page read (OrdersState.go_to_page, websocket round trip): median {r['read_ms_median']:.1f} ms, "
        f"p95 {r['read_ms_p95']:.1f} ms, **{r['queries_per_read']:.0f} queries**; opening /orders "
        f"(hydrate_and_load + on_load): {r['open_ms']:.1f} ms, {r['open_queries']} queries. Load avg "
        f"{', '.join(map(str, r['loadavg']))}. The statements of one read:",
        "",
        "```",
        *[s[:140] for s in r["statements_of_one_read"]],
        "```",
        "",
    ]
    return out + targets_md(r) + [""]


def memory_md(r: dict) -> list[str]:
    out = [
        f"## Memory per idle tab (`bench/memory_tabs.py`): {r['tabs']} tabs, rxshop {r['pages']['rxshop']}, bare /",
        "",
        f"Median: rxshop **{r['rxshop_kib_per_tab']:.0f} KiB** per tab (backend idle {r['rxshop_idle_mib']:.0f} MiB), "
        f"bare {r['bare_kib_per_tab']:.0f} KiB (idle {r['bare_idle_mib']:.0f} MiB); rxshop / bare = {r['ratio']:.2f}.",
        "",
        "| round | app | RSS before | RSS with tabs | KiB / tab | load avg |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    rows = sorted((x["round"], app, x) for app in ("rxshop", "bare") for x in r["rounds"][app])
    out += [
        f"| {rnd} | {app} | {x['rss_before_kib'] / 1024:.0f} MiB | {x['rss_after_kib'] / 1024:.0f} MiB | "
        f"{x['kib_per_tab']:.0f} | {', '.join(map(str, x['loadavg']))} |"
        for rnd, app, x in rows
    ]
    return out + [""] + targets_md(r) + [""]


def page_md(r: dict) -> list[str]:
    first = r["rounds"][0]
    fcps = ", ".join(f"{x['fcp_ms']:.0f}" for x in r["rounds"])
    documents = ", ".join(str(x["documents"]) for x in r["rounds"])
    served = r.get("served_by", "a static server imitating deploy/nginx.conf")
    split = (
        f" ({r['body_kib']:.0f} KiB gzip bodies + {r['kib'] - r['body_kib']:.0f} KiB headers)"
        if "body_kib" in r
        else ""
    )
    out = [
        "## Page `/` on a cold first visit (`bench/page_weight.py`)",
        "",
        f"Served by {served}, the backend behind it. {first['requests']} requests, **{r['kib']:.0f} KiB** on "
        f"the wire{split}, first contentful paint median **{r['fcp_ms']:.0f} ms** (rounds: {fcps} ms), "
        f"ready (Buy can be pressed) median {r.get('ready_ms', 0):.0f} ms, document loads per round: "
        f"{documents} (cold cache, loopback, chromium). Largest responses (bytes on the wire):",
        "",
        *[f"- {size / 1024:.1f} KiB {'gzip' if gz else 'raw'} `{name}`" for name, size, gz in first["files"]],
        "",
    ]
    return out + targets_md(r) + [""]


def admin_md(r: dict) -> list[str]:
    page, rev, small, full = r["orders_page"], r["revenue"], r["csv"]["small"], r["csv"]["full"]
    out = [
        f"## Admin at scale (`bench/admin_scale.py`): {r['orders']:,} orders ({r['per_day']:,} a day), {r['db']}",
        "",
        f"Orders page (websocket round trip per event, median of {r['reads']}; worst: **{r['worst']}**). Revenue "
        f"over 90 days: report **{rev['median_ms']:.0f} ms** (backend CPU {rev['cpu_ms']:.0f} ms), with product totals {rev['with_products_median_ms']:.0f} ms, "
        f"{rev['queries']} queries. CSV of every order: **{full['rows']:,} rows, {full['mib']:.1f} MiB in "
        f"{full['seconds']:.2f} s**, backend RSS +{full['rss_growth_mib']:.1f} MiB (20 days, {small['rows']:,} rows: "
        f"{small['seconds']:.2f} s, +{small['rss_growth_mib']:.1f} MiB). Load avg {', '.join(map(str, r['loadavg']))}.",
        "",
        "| event | median round trip | max | backend CPU | queries | orders |",
        "| --- | --- | --- | --- | --- | --- |",
        *[
            f"| {s['name']} | {s['median_ms']:.1f} ms | {s['max_ms']:.1f} ms | {s['cpu_ms']:.1f} ms | {s['queries']} "
            f"| {s['rows_total']:,} |"
            for s in page["scenarios"]
        ],
        "",
    ]
    return out + targets_md(r) + [""]


def soak_md(r: dict) -> list[str]:
    """The soak: one summary paragraph, then a row per minute (drift and leaks show as a trend there)."""
    w, c, mem = r["windows"], r["check"], r["memory"]
    growth = ", ".join(f"{x['growth_pct']:+.1f} %" for x in mem["workers"])
    out = [
        f"## Soak (`bench/soak.py`, {r['finished']}): {r['minutes']:g} min, {r['setup']}",
        "",
        f"{r['buyers']} buyer loops (mean pause {r['think_s']:g} s), {r['tabs']} idle My Orders tabs, "
        f"L = {r['latency_ms']} ms: **{r['buys']:,} Buys** (p95 {r['buy_p95_ms']:.0f} ms) and "
        f"**{r['webhooks']:,} webhooks** (p95 {r['webhook_p95_ms']:.0f} ms). p95 of the last {w['seconds'] / 60:g} min "
        f"against the first: Buy {w['buy']['last_p95_ms']:.0f} / {w['buy']['first_p95_ms']:.0f} ms "
        f"(**{w['buy']['ratio']:.2f}**), webhook {w['webhook']['last_p95_ms']:.0f} / "
        f"{w['webhook']['first_p95_ms']:.0f} ms (**{w['webhook']['ratio']:.2f}**). Worker RSS from minute "
        f"{mem['warm_up_s'] / 60:g} to the end: **{growth}**. {c['orders_in_database']:,} orders "
        f"({', '.join(f'{k} {v:,}' for k, v in sorted(c['orders_by_status'].items()))}), "
        f"{c['order_mismatches']} not as expected; {c['outbox_rows']:,} emails queued, {c['emails_received']:,} "
        f"received, {c['email_mismatches']} not exactly once; {r['errors']} failed requests; idle tabs still "
        f"open at the end {r['idle_tabs_open_at_end']}, owner dashboard signed in {r['owner_signed_in_at_end']}.",
        "",
        "| minute | Buys | Buy p50 / p95 | webhooks | webhook p50 / p95 | backend CPU / order | worker RSS | Redis connections | load (1 min) |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    out += [
        f"| {m['minute']} | {m['buys']} | {m.get('buy_p50_ms', float('nan')):.0f} / {m['buy_p95_ms']:.0f} ms | "
        f"{m['webhooks']} | {m.get('webhook_p50_ms', float('nan')):.0f} / {m['webhook_p95_ms']:.0f} ms | "
        f"{m.get('cpu_ms_per_buy', float('nan')):.0f} ms | "
        f"{' / '.join(f'{x:.0f}' for x in m['rss_mib'])} MiB | {m.get('redis_clients', '–')} | {m['load']} |"
        for m in r["per_minute"]
    ]
    return out + [""] + targets_md(r) + [""]


RENDER = {
    "buy_burst": buy_md,
    "webhooks": webhooks_md,
    "my_orders": my_orders_md,
    "memory_tabs": memory_md,
    "page_weight": page_md,
    "admin_scale": admin_md,
    "soak": soak_md,
}


def history_row(results: dict, commit: str) -> str:
    buy = results.get("buy_burst", {}).get("modes", {})
    hooks = results.get("webhooks", {}).get("mixes", {})

    def ratio(d: dict, key: str) -> str:
        return f"{d[key]:.2f}" if d and key in d else "–"

    return (
        f"| {time.strftime('%Y-%m-%d %H:%M', time.gmtime())} | {commit} | {ratio(buy.get('sqlite', {}), 'p95_ratio')} | "
        f"{ratio(buy.get('postgres', {}), 'p95_ratio')} | "
        + " · ".join(
            f"{mix} {ratio(m, 'rate_ratio')} (p95 {ratio(m, 'p95_ratio')})" for mix, m in hooks.items()
        )
        + " |"
    )


def write_markdown(
    results: dict,
    failed: list[str],
    loads: tuple[list, list],
    quick: bool,
    started: float,
    history: bool = True,
) -> None:
    dirty = git("status", "--porcelain", "--", ".", ":!bench/results", ":!bench/RESULTS.md")
    commit = git("rev-parse", "--short", "HEAD") + (" (+ uncommitted changes)" if dirty else "")
    app_commit = git("log", "-1", "--format=%h", "--", "rxshop", "rxconfig.py", "alembic")
    other = os.environ.get("BENCH_RXSHOP_DIR")
    rxshop_dir = f"; **rxshop measured from BENCH_RXSHOP_DIR={other}**" if other else ""
    lines = [
        "# Benchmark results",
        "",
        f"Written by `make bench` (`bench/run_all.py{' --quick' if quick else ''}`) on "
        f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, {(time.time() - started) / 60:.0f} min.",
        "",
        f"- Commit: `{commit}` (branch `{git('rev-parse', '--abbrev-ref', 'HEAD')}`); the app measured is rxshop as"
        f" of `{app_commit}` (the last commit touching it){rxshop_dir}",
        f"- Machine: {machine()}; shared with other work, so every figure is side by side with the bare app "
        "(bench/bare_app) in alternating rounds, medians and ratios.",
        f"- Load average (1, 5, 15 min) before: {', '.join(map(str, loads[0]))}; after: {', '.join(map(str, loads[1]))}",
        f"- Benchmarks that did not finish: {', '.join(failed) if failed else 'none'}",
        "",
    ]
    for name in BENCHMARKS:
        if name in results:
            lines += RENDER[name](results[name])
    kept = ""
    if MARKDOWN.exists() and GENERATED_END in MARKDOWN.read_text():
        kept = MARKDOWN.read_text().split(GENERATED_END, 1)[1]
    if HISTORY_HEAD not in kept:
        kept = (
            "\n\n## History (one row per `make bench`: the before / after of every change)\n\n"
            f"{HISTORY_HEAD}\n| --- | --- | --- | --- | --- |\n" + kept
        )
    head, sep, rest = kept.partition(HISTORY_HEAD + "\n| --- | --- | --- | --- | --- |\n")
    table_end = rest.find("\n\n")
    table, after = (rest, "") if table_end < 0 else (rest[: table_end + 1], rest[table_end + 1 :])
    if history:
        table += history_row(results, commit.split()[0]) + "\n"
    kept = head + sep + table + after
    MARKDOWN.write_text("\n".join(lines) + "\n" + GENERATED_END + kept)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="each benchmark's --quick (no history row)")
    parser.add_argument("--only", default=",".join(b for b in BENCHMARKS if b != SOAK))
    parser.add_argument("--soak", action="store_true", help="also the 20-minute soak (bench/soak.py), last")
    parser.add_argument("--render", action="store_true", help="only rewrite RESULTS.md from bench/results")
    args = parser.parse_args()
    started = time.time()
    before = [round(x, 2) for x in os.getloadavg()]
    if before[0] > (os.cpu_count() or 1) and not args.render:
        print(
            f"warning: load average {before} on {os.cpu_count()} cores: absolute figures will be noisy",
            flush=True,
        )
    RESULTS.mkdir(exist_ok=True)
    failed, missed = [], []
    names = args.only.split(",") + ([SOAK] if args.soak and SOAK not in args.only.split(",") else [])
    for name in [] if args.render else names:
        (RESULTS / f"{name}.json").unlink(missing_ok=True)
        print(f"\n######## {name}", flush=True)
        argv = [sys.executable, str(HERE / f"{name}.py"), *(["--quick"] if args.quick else [])]
        code = subprocess.run(argv, cwd=REPO).returncode
        if not (RESULTS / f"{name}.json").exists():
            failed.append(name)
        elif code:
            missed.append(name)
    after = [round(x, 2) for x in os.getloadavg()]
    results = {
        name: json.loads((RESULTS / f"{name}.json").read_text())
        for name in BENCHMARKS
        if (RESULTS / f"{name}.json").exists()
    }
    if args.render:  # the figures of the last run, as they were: its header and history row stand
        started = min(os.path.getmtime(RESULTS / f"{name}.json") for name in results) if results else started
    write_markdown(
        results, failed, (before, after), args.quick, started, history=not (args.quick or args.render)
    )
    print(
        f"\nwrote {MARKDOWN.relative_to(REPO)}; targets missed in: {', '.join(missed) or 'none'};"
        f" did not finish: {', '.join(failed) or 'none'}"
    )
    sys.exit(1 if failed or missed else 0)


if __name__ == "__main__":
    main()
