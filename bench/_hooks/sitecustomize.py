"""Loaded at start-up by every Python process whose PYTHONPATH includes this folder (the benchmarks put it on
a backend's when they need it); does nothing unless asked:

- BENCH_QUERY_LOG: each SQL statement any SQLAlchemy engine sends (and each COMMIT) is appended as one line
  to BENCH_QUERY_LOG.<pid>, so a benchmark counts the real queries of real websocket events.
- BENCH_SWITCH_INTERVAL: sys.setswitchinterval(seconds), for the GIL convoy experiment (bench/RESULTS.md).
"""

import os
import sys

if os.environ.get("BENCH_SWITCH_INTERVAL"):
    sys.setswitchinterval(float(os.environ["BENCH_SWITCH_INTERVAL"]))

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
