"""SQLite durability: what `synchronous=FULL` (an fsync of the WAL at every COMMIT) costs the webhook over
`synchronous=NORMAL` (an fsync only at checkpoints), measured in-process on this machine's disk.

Each round takes a fresh SQLite file beside the repository (the disk the app's .data/ lives on), migrated,
with pending orders cloned from a real one (bench/_seed.py), and applies checkout.session.completed events,
parsed by the shop's own reader, through the webhook's own function (`webhook_batch.apply_webhook_events`,
what the endpoint's group commit calls), on one thread as the app's SQLite worker does:

- `single`: one event per transaction (one COMMIT each): what a lone delivery waits for;
- `batch20`: twenty per transaction: a burst under group commit.

Rounds alternate NORMAL / FULL (ABBA). Reports events/s and per-transaction p50 / p95 for each.

    python bench/sqlite_durability.py [--events 300] [--rounds 2]
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

from _seed import rxshop_orders
from _support import REPO, percentile
from webhooks import event_for

from rxshop.core import db
from rxshop.orders.webhook_batch import apply_webhook_events
from rxshop.payments.wire import event_from_json

MODES = ("NORMAL", "FULL")
SHAPES = {"single": 1, "batch20": 20}


def run(mode: str, batch: int, events: int) -> dict[str, float]:
    db.SQLITE_SYNCHRONOUS = mode  # read by every new connection's PRAGMAs
    with tempfile.TemporaryDirectory(dir=REPO / ".data" if (REPO / ".data").is_dir() else REPO) as folder:
        url = f"sqlite:///{Path(folder) / 'durability.db'}"
        db.migrate(url)
        orders = rxshop_orders(url, events)
        parsed = [event_from_json(json.dumps(event_for(order)).encode()) for order in orders]
        engine = db.get_engine(url)
        with engine.connect() as connection:
            assert connection.exec_driver_sql("PRAGMA synchronous").scalar() == {"NORMAL": 1, "FULL": 2}[mode]
        took: list[float] = []
        cpu = time.process_time()
        started = time.perf_counter()
        for start in range(0, len(parsed), batch):
            chunk = parsed[start : start + batch]
            t0 = time.perf_counter()
            with db.new_session(engine) as session:
                results = apply_webhook_events(session=session, events=chunk)
            took.append(time.perf_counter() - t0)
            assert all(r.outcome == "fulfilled" for r in results), results  # type: ignore[union-attr]
        elapsed = time.perf_counter() - started
        cpu = time.process_time() - cpu
        db.reset_engines(url)
    return {
        "events_per_s": len(parsed) / elapsed,
        "p50_ms": statistics.median(took) * 1000,
        "p95_ms": percentile(took, 95) * 1000,
        "cpu_ms_per_event": cpu * 1000 / len(parsed),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--events", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    found: dict[tuple[str, str], list[dict[str, float]]] = {}
    for round_ in range(args.rounds):
        order = MODES if round_ % 2 == 0 else MODES[::-1]
        for shape, batch in SHAPES.items():
            for mode in order:
                found.setdefault((shape, mode), []).append(run(mode, batch, args.events))
    print(
        f"{'shape':8} {'mode':7} {'events/s':>9} {'p50 ms':>8} {'p95 ms':>8} {'CPU ms/event':>13}"
        f"   (median of {args.rounds} rounds)"
    )
    for (shape, mode), runs in sorted(found.items()):
        med = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
        print(
            f"{shape:8} {mode:7} {med['events_per_s']:9.0f} {med['p50_ms']:8.2f} {med['p95_ms']:8.2f}"
            f" {med['cpu_ms_per_event']:13.3f}"
        )


if __name__ == "__main__":
    main()
