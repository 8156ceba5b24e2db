"""Where the backend's time goes under the Buy burst and under webhook load: py-spy on the running worker.

The same stack as the benchmarks (granian, one worker, SQLite WAL, simulator with L ms): py-spy
(`record --threads --gil --format raw`, 250 Hz) attaches to the backend worker just before the load and
stops right after it. --gil keeps only samples of the thread holding the GIL: that is what bounds a
CPU-bound asyncio worker (without it, threads queued on the GIL count as busy); SQLite's own C work
releases the GIL and is not in them. The collapsed stacks are kept under test-artifacts/bench/profile/
and summarised here: share of GIL samples per thread, per area (inclusive: a sample counts for every
area its stack passes through) and the heaviest functions (self and inclusive).

    python bench/profile.py --scenario buy|webhook [--app rxshop|bare] [--bursts 3] [--seconds 8]
    python bench/profile.py --scenario census   # SQL statements and commits per Buy and per webhook event
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import random
import re
import shutil
import signal
import subprocess
import time
from pathlib import Path

from _support import (
    BIN,
    LOGS,
    cpu_seconds,
    group_pids,
    new_database,
    processes,
    start_backend,
    start_simulator,
    stop_backend,
)

OUT = LOGS / "profile"
# (area, regular expression on a frame "function (file:line)", how): "incl" counts a sample when any frame of
# its stack matches (areas overlap), "self" only when its innermost frame does. Frames every sample of a
# thread passes through (granian's worker loop, asyncio's run_forever) are deliberately not areas.
AREAS = [
    ("stripe SDK (request building, response parsing; not the wait)", r"\(stripe/", "incl"),
    ("httpx / httpcore / anyio transport (under the SDK)", r"\((httpx|httpcore|anyio)/", "incl"),
    (
        "  of which httpcore's failed `import sniffio` per lock/event",
        r"current_async_library \(httpcore/",
        "incl",
    ),
    ("SQLAlchemy ORM + sqlmodel (Session, ORM statements, loading)", r"\((sqlalchemy/orm|sqlmodel)/", "incl"),
    (
        "SQLAlchemy Core + engine (compile, execute, pool)",
        r"\(sqlalchemy/(engine|sql|pool|dialects)/",
        "incl",
    ),
    ("database driver itself (innermost frame do_execute/do_commit)", r"^DefaultDialect\.do_", "self"),
    ("logging", r"\(logging/", "incl"),
    (
        "Reflex state manager (load/save/lock state: disk or Redis, pickle)",
        r"\(reflex/istate/manager/",
        "incl",
    ),
    (
        "Reflex state + delta (get_state, dirty vars, computed vars)",
        r"\(reflex/(state|istate/(proxy|delta|data|shared))\.py",
        "incl",
    ),
    ("socket.io / engine.io (emit, encode)", r"\((socketio|engineio)/", "incl"),
    ("Starlette + Reflex HTTP middleware (webhook requests)", r"\(starlette/", "incl"),
    ("asyncio / selectors themselves (innermost frame)", r"\((asyncio|selectors)/|\(selectors\.py", "self"),
    ("JSON", r"\(json/", "incl"),
    ("signature check (hmac)", r"hmac|verify_header|compute_signature", "incl"),
    ("rxshop.orders.checkout (start_checkout)", r"\(rxshop/orders/checkout\.py", "incl"),
    ("rxshop.web.webhook (_record, stripe_webhook)", r"\(rxshop/web/webhook\.py", "incl"),
    ("rxshop.orders.records (order service)", r"\(rxshop/orders/records\.py", "incl"),
    (
        "rxshop.state.live (push to My Orders after a webhook: modify_state)",
        r"\(rxshop/state/live\.py",
        "incl",
    ),
    (
        "rxshop.state.orders._read (the push's re-read of My Orders)",
        r"_read \(rxshop/state/orders\.py",
        "incl",
    ),
    ("rxshop.state.checkout (CheckoutState.buy)", r"\(rxshop/state/checkout\.py", "incl"),
    ("rxshop.orders.carts (the server-side cart)", r"\(rxshop/orders/carts\.py", "incl"),
    ("rxshop.orders.stock (holds at Buy)", r"\(rxshop/orders/stock", "incl"),
    ("rxshop.core.throttle (Buy's per-address limit)", r"\(rxshop/core/throttle\.py", "incl"),
    ("rxshop.core.db + db_deadline (sessions, deadline threads)", r"\(rxshop/core/db", "incl"),
    ("rxshop.mail (outbox sender)", r"\(rxshop/mail/", "incl"),
    ("redis client", r"\(redis/", "incl"),
    ("bare app code", r"\(bare/", "incl"),
]


IDLE_LEAVES = {
    "_worker (concurrent/futures/thread.py)",
    "Condition.wait (threading.py)",
    "EpollSelector.select (selectors.py)",
    "Queue.get (queue.py)",
    # rxshop's SQLite thread waiting in SimpleQueue.get (C code, so the wait shows as _run's own frame).
    "_SQLiteWorker._run (rxshop/db.py)",
}


def worker_pid(group: int) -> int:
    """The busiest process of the backend's group after warm-up: granian's worker, not its supervisor."""
    pids = [p for p in group_pids(group) if p != group]
    return max(pids or [group], key=lambda p: cpu_seconds_of(p))


def worker_pids(group: int, n: int) -> list[int]:
    """The n busiest processes of the backend's group: granian's workers."""
    pids = [p for p in group_pids(group) if p != group]
    return sorted(pids or [group], key=cpu_seconds_of, reverse=True)[:n]


def cpu_seconds_of(pid: int) -> int:
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])


class Recorder:
    def __init__(self, pid: int, name: str) -> None:
        OUT.mkdir(parents=True, exist_ok=True)
        self.path = OUT / f"{name}.txt"
        self.proc = subprocess.Popen(
            [
                str(BIN / "py-spy"),
                "record",
                "--pid",
                str(pid),
                "--threads",
                "--gil",
                "--rate",
                "250",
                "--format",
                "raw",
            ]
            + ["--output", str(self.path), "--duration", "120"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        time.sleep(1.0)  # attached

    def stop(self) -> Path:
        self.proc.send_signal(signal.SIGINT)
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        return self.path


def summarise(paths: list[Path], top: int = 25) -> str:
    stacks: collections.Counter[tuple[str, ...]] = collections.Counter()
    idle = 0
    for path in paths:
        if not path.exists():
            continue
        for line in path.read_text().splitlines():
            stack, _, count = line.rpartition(" ")
            if not (stack and count.isdigit()):
                continue
            frames = tuple(stack.split(";"))
            if re.sub(r":\d+\)", ")", frames[-1]) in IDLE_LEAVES:
                idle += int(count)
            else:
                stacks[frames] += int(count)
    total = sum(stacks.values()) or 1
    lines = [
        f"{total} GIL-holding samples at 250 Hz ({total / 250:.1f} s); left out as idle (a pool thread waiting"
        f" for work, which py-spy's GIL detection counts): {idle}",
        "",
        "By thread (a thread without Python frames is granian's runtime calling into Python):",
    ]
    threads: collections.Counter[str] = collections.Counter()
    for stack, n in stacks.items():
        threads[re.sub(r"0x[0-9a-f]+", "", stack[0])] += n
    lines += [f"  {n / total:6.1%}  {name}" for name, n in threads.most_common(6)]
    lines += ["", "By area (inclusive):"]
    area_counts = []
    for area, pattern, how in AREAS:
        rx = re.compile(pattern)
        n = sum(
            c
            for stack, c in stacks.items()
            if (rx.search(stack[-1]) if how == "self" else any(rx.search(f) for f in stack[1:]))
        )
        area_counts.append((n, area))
    frameless = sum(c for stack, c in stacks.items() if len(stack) == 1)
    area_counts.append((frameless, "granian's runtime (a thread without Python frames: HTTP/websocket I/O)"))
    lines += [f"  {n / total:6.1%}  {area}" for n, area in area_counts if n]
    self_time: collections.Counter[str] = collections.Counter()
    inclusive: collections.Counter[str] = collections.Counter()
    for stack, n in stacks.items():
        self_time[re.sub(r":\d+\)", ")", stack[-1])] += n
        for frame in {re.sub(r":\d+\)", ")", f) for f in stack[1:]}:
            inclusive[frame] += n
    lines += ["", f"Top {top} functions by self time:"]
    lines += [f"  {n / total:6.1%}  {f}" for f, n in self_time.most_common(top)]
    lines += ["", f"Top {top} app/framework functions by inclusive time:"]
    interesting = [
        (f, n)
        for f, n in inclusive.most_common()
        if re.search(r"\((rxshop|reflex|stripe|sqlalchemy/orm|sqlmodel|bare)/", f)
    ]
    lines += [f"  {n / total:6.1%}  {f}" for f, n in interesting[:top]]
    return "\n".join(lines)


def profile_buy(
    procs, app: str, sim: str, bursts: int, tabs: int, mode: str = "sqlite", stock: int = 0
) -> list[Path]:
    """py-spy on the worker (sqlite) or on each of the two workers (postgres: PostgreSQL + Redis)."""
    from buy_burst import press_buy, ready_tabs
    from reflex_client import close_tabs

    pg = mode == "postgres"
    backend = start_backend(
        procs, app, sim_url=sim, database=new_database(mode, app), workers=2 if pg else 1, use_redis=pg
    )
    if app == "rxshop" and stock:
        from buy_burst import count_stock

        count_stock(backend.database.url, stock)
    paths = []
    try:

        async def burst(i: int, record: bool) -> None:
            tab_list = await ready_tabs(app, backend.url, tabs)
            pids = worker_pids(backend.group, 2 if pg else 1) if record else []
            recorders = [Recorder(pid, f"buy-{app}-{mode}-{i}-{n}") for n, pid in enumerate(pids)]
            cpu = cpu_seconds(backend.group)
            try:
                latencies = await press_buy(app, tab_list)
            finally:
                paths.extend(recorder.stop() for recorder in recorders)
                await close_tabs(tab_list)
            print(
                f"  burst {i}: p95 {sorted(latencies)[int(len(latencies) * 0.95) - 1] * 1000:.0f} ms,"
                f" backend CPU {(cpu_seconds(backend.group) - cpu) / tabs * 1000:.1f} ms/Buy (py-spy attached)",
                flush=True,
            )

        asyncio.run(burst(-1, False))
        for i in range(bursts):
            asyncio.run(burst(i, True))
    finally:
        stop_backend(procs, backend)
    return paths


def profile_webhook(procs, app: str, sim: str, seconds: float) -> list[Path]:
    from _http import post_all
    from _webhook_mixes import signed
    from webhooks import plan

    backend = start_backend(procs, app, sim_url=sim, database=new_database("sqlite", app))
    try:
        # mix (a) of bench/webhooks.py: a new completed event for each pending order (units held, email on)
        _stories, _before, bodies = plan(app, backend.database.url, "new", 15000, random.Random(3))
        requests = [signed(b) for b in bodies]
        url = f"{backend.url}/stripe/webhook"
        asyncio.run(post_all(url, requests[:200], 20))  # warm-up
        recorder = Recorder(worker_pid(backend.group), f"webhook-{app}")
        elapsed, latencies, statuses = asyncio.run(post_all(url, requests[200:], 50, seconds))
        path = recorder.stop()
        print(f"  {len(statuses) / elapsed:,.0f} events/s with py-spy attached", flush=True)
    finally:
        stop_backend(procs, backend)
    return [path]


def census(procs, sim: str, n: int = 10) -> str:
    """SQL statements and commits per Buy and per webhook event, for each app (sequential, so nothing
    else runs meanwhile): the query log of bench/_hooks inside the backend."""
    import tempfile

    from _http import post_all
    from _support import BENCH, RXSHOP_DIR
    from _webhook_mixes import signed
    from buy_burst import APPS, ready_tabs
    from my_orders import query_lines
    from reflex_client import close_tabs, script_of
    from webhooks import plan

    out = []
    for app in ("rxshop", "bare"):
        log = Path(tempfile.mkdtemp(prefix="bench-census-")) / "queries"
        cwd = RXSHOP_DIR if app == "rxshop" else BENCH / "bare_app"
        backend = start_backend(
            procs,
            app,
            sim_url=sim,
            database=new_database("sqlite", app),
            extra_env={"BENCH_QUERY_LOG": str(log), "PYTHONPATH": f"{cwd}:{BENCH / '_hooks'}"},
        )
        try:

            async def buys(app: str, backend, log: Path) -> list[str]:
                tabs = await ready_tabs(app, backend.url, n)
                try:
                    start = len(query_lines(log))
                    for tab in tabs:
                        await tab.call(APPS[app]["checkout"], "buy", lambda u: bool(script_of(u)), 30)
                    await asyncio.sleep(0.3)
                    return query_lines(log)[start:]
                finally:
                    await close_tabs(tabs)

            buy = asyncio.run(buys(app, backend, log))
            _stories, _before, bodies = plan(app, backend.database.url, "new", n, random.Random(1))
            requests = [signed(b) for b in bodies]
            start = len(query_lines(log))
            asyncio.run(post_all(f"{backend.url}/stripe/webhook", requests, 1))
            time.sleep(0.5)  # rxshop's live push runs after the answer
            hook = query_lines(log)[start:]
            dup_start = len(query_lines(log))
            asyncio.run(post_all(f"{backend.url}/stripe/webhook", requests, 1))
            time.sleep(0.3)
            dup = query_lines(log)[dup_start:]
        finally:
            stop_backend(procs, backend)
            shutil.rmtree(log.parent, ignore_errors=True)
        for label, lines in (("Buy", buy), ("webhook, new event", hook), ("webhook, repeated event", dup)):
            commits = lines.count("COMMIT")
            out.append(
                f"{app} per {label}: {(len(lines) - commits) / n:.1f} statements, {commits / n:.1f} commits"
            )
            if label != "webhook, repeated event":
                one = lines[: len(lines) // n]
                out += [f"    {q[:120]}" for q in one]
    return "\n".join(out)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--scenario", choices=("buy", "webhook", "census"), required=True)
    parser.add_argument("--app", choices=("rxshop", "bare"), default="rxshop")
    parser.add_argument("--bursts", type=int, default=3)
    parser.add_argument("--tabs", type=int, default=100)
    parser.add_argument("--seconds", type=float, default=8)
    parser.add_argument("--latency-ms", type=int, default=200)
    parser.add_argument("--mode", choices=("sqlite", "postgres"), default="sqlite", help="buy scenario")
    parser.add_argument("--stock", type=int, default=0, help="buy scenario: units counted per product")
    parser.add_argument("--summarise", nargs="+", type=Path, help="only summarise these raw py-spy files")
    args = parser.parse_args()
    if args.summarise:
        print(summarise(args.summarise))
        return
    with processes() as procs:
        sim = start_simulator(procs, args.latency_ms if args.scenario == "buy" else 0)
        if args.scenario == "census":
            report = census(procs, sim)
            (OUT / "census.txt").parent.mkdir(parents=True, exist_ok=True)
            (OUT / "census.txt").write_text(report + "\n")
            print(report)
            return
        if args.scenario == "buy":
            paths = profile_buy(procs, args.app, sim, args.bursts, args.tabs, args.mode, args.stock)
        else:
            paths = profile_webhook(procs, args.app, sim, args.seconds)
    report = summarise(paths)
    out = OUT / f"summary-{args.scenario}-{args.app}.txt"
    out.write_text(report + "\n")
    print(report)
    print(f"\n(raw stacks: {', '.join(str(p) for p in paths)}; summary: {out})")


if __name__ == "__main__":
    main()
