"""Loaded at start-up by every Python process whose PYTHONPATH includes this folder (the benchmarks put it on
a backend's when they need it); does nothing unless asked:

- BENCH_QUERY_LOG: each SQL statement any SQLAlchemy engine sends (and each COMMIT) is appended as one line
  to BENCH_QUERY_LOG.<pid>, so a benchmark counts the real queries of real websocket events.
- BENCH_SWITCH_INTERVAL: sys.setswitchinterval(seconds), for the GIL convoy experiment (bench/RESULTS.md).
- BENCH_GC_LOG: the garbage collector's passes and time, per generation, rewritten to BENCH_GC_LOG.<pid>
  about once a second (the GC threshold experiment, bench/RESULTS.md).
- BENCH_GC_THRESHOLD: gc.set_threshold(*numbers) at start-up, e.g. "700,10,10" (rxshop.core.heap sets its own later).
"""

import os
import sys

if os.environ.get("BENCH_SWITCH_INTERVAL"):
    sys.setswitchinterval(float(os.environ["BENCH_SWITCH_INTERVAL"]))

if os.environ.get("BENCH_GC_THRESHOLD"):
    import gc

    gc.set_threshold(*(int(n) for n in os.environ["BENCH_GC_THRESHOLD"].split(",")))

if os.environ.get("BENCH_GC_LOG"):
    import gc
    import time

    _gc = {"started": 0.0, "written": 0.0, "passes": [0, 0, 0], "seconds": [0.0, 0.0, 0.0]}

    def _gc_timer(phase, info):
        now = time.perf_counter()
        if phase == "start":
            _gc["started"] = now
            return
        generation = info["generation"]
        _gc["passes"][generation] += 1
        _gc["seconds"][generation] += now - _gc["started"]
        if now - _gc["written"] > 1:
            _gc["written"] = now
            with open(f"{os.environ['BENCH_GC_LOG']}.{os.getpid()}", "w") as out:
                out.write(f"passes {_gc['passes']} seconds {[round(s, 3) for s in _gc['seconds']]}\n")

    gc.callbacks.append(_gc_timer)

if os.environ.get("BENCH_QUERY_LOG"):
    import sqlalchemy as sa

    _log = None

    def _count(conn, cursor, statement, parameters, context, executemany):
        global _log
        if _log is None:
            _log = open(f"{os.environ['BENCH_QUERY_LOG']}.{os.getpid()}", "a", buffering=1)
        _log.write(" ".join(statement.split())[:160] + "\n")

    def _commit(conn):
        _count(conn, None, "COMMIT", None, None, False)

    sa.event.listen(sa.engine.Engine, "before_cursor_execute", _count)
    sa.event.listen(sa.engine.Engine, "commit", _commit)
