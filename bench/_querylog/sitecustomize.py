"""Loaded at start-up by every Python process whose PYTHONPATH includes this folder (bench/my_orders.py puts
it on the backend's): with BENCH_QUERY_LOG set, each SQL statement any SQLAlchemy engine sends is appended
as one line to BENCH_QUERY_LOG.<pid>, so the benchmark counts real queries of real websocket events."""

import os

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
