"""What the soak (bench/soak.py) watches besides its own timings: an SMTP server that counts every message by
its Message-ID, each backend worker's resident memory, and the shop's database at the end.

The SMTP server is aiosmtpd in a thread of the benchmark (as tests/fixtures/smtp.py runs it for the e2e
suite): it keeps no message, only how often each Message-ID arrived. rxshop's Message-ID names the outbox
row (`<rxshop.<row id>.<created>@domain>`, rxshop.mail.compose), so "every queued message delivered exactly
once" is checked row by row.
"""

from __future__ import annotations

import os
import re
import threading
import time
from collections import Counter
from email.parser import BytesHeaderParser

import sqlalchemy as sa
from _support import free_port, group_pids

MESSAGE_ID = re.compile(r"<rxshop\.(\d+)\.")


class _Counting:
    """aiosmtpd handler: count the Message-ID, keep nothing else (a 20-minute run sends thousands)."""

    def __init__(self, sink: CountingSmtp) -> None:
        self.sink = sink

    async def handle_DATA(self, server, session, envelope) -> str:
        headers = BytesHeaderParser().parsebytes(envelope.content)
        with self.sink.lock:
            self.sink.message_ids[str(headers.get("Message-ID", "")).strip()] += 1
        return "250 2.0.0 OK"


class CountingSmtp:
    """A local SMTP server (aiosmtpd) that accepts everything and counts Message-IDs."""

    def __init__(self) -> None:
        self.port = free_port()
        self.lock = threading.Lock()
        self.message_ids: Counter[str] = Counter()
        self._controller = None

    @property
    def url(self) -> str:
        """SMTP_URL for the shop."""
        return f"smtp://127.0.0.1:{self.port}"

    def start(self) -> CountingSmtp:
        """Listen in a thread of this process."""
        from aiosmtpd.controller import Controller

        self._controller = Controller(_Counting(self), hostname="127.0.0.1", port=self.port)
        self._controller.start()
        return self

    def stop(self) -> None:
        """Stop listening."""
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def by_row(self) -> tuple[Counter[int], int]:
        """(outbox row id -> times received, messages whose Message-ID names no row)."""
        rows: Counter[int] = Counter()
        strangers = 0
        with self.lock:
            for message_id, times in self.message_ids.items():
                found = MESSAGE_ID.match(message_id)
                if found:
                    rows[int(found.group(1))] += times
                else:
                    strangers += times
        return rows, strangers


def workers(group: int) -> list[int]:
    """granian's worker processes: the children of its supervisor (the group's leader)."""
    found = []
    for pid in group_pids(group):
        try:
            with open(f"/proc/{pid}/stat") as stat:
                parent = int(stat.read().rsplit(")", 1)[1].split()[1])
        except OSError:
            continue
        if pid != group and parent == group:
            found.append(pid)
    return found


def rss_kib(pid: int) -> int:
    """Resident memory of one process (0 once it is gone)."""
    try:
        with open(f"/proc/{pid}/status") as status:
            return next(int(line.split()[1]) for line in status if line.startswith("VmRSS:"))
    except (OSError, StopIteration):
        return 0


def loadavg() -> float:
    """The 1-minute load: the machine is shared, so each minute's figures say how busy it was."""
    return round(os.getloadavg()[0], 2)


def mail_drained(url: str, timeout: float) -> dict[str, int]:
    """Wait until no outbox message is queued or being sent (at most `timeout` s); the count per status."""
    engine = sa.create_engine(url)
    deadline = time.monotonic() + timeout
    try:
        while True:
            with engine.connect() as conn:
                counts = dict(
                    conn.execute(sa.text("SELECT status, count(*) FROM mail_outbox GROUP BY status")).all()
                )
            if not counts.get("queued") and not counts.get("sending") or time.monotonic() > deadline:
                return {str(k): int(v) for k, v in counts.items()}
            time.sleep(1)
    finally:
        engine.dispose()


def database_check(url: str, expected: dict[str, str], smtp: CountingSmtp) -> dict:
    """Each session of the day: exactly one order, in the status its fate calls for; each outbox row: sent
    and received exactly once. Returns the mismatches, counted and the first few named."""
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            orders = conn.execute(sa.text("SELECT stripe_session_id, status FROM orders")).all()
            outbox = conn.execute(sa.text("SELECT id, status, kind FROM mail_outbox")).all()
            tables = conn.execute(
                sa.text(
                    "SELECT relname, n_live_tup, n_dead_tup, n_tup_upd, n_tup_hot_upd, autovacuum_count"
                    " FROM pg_stat_user_tables WHERE schemaname = current_schema() AND n_tup_upd > 0"
                )
            ).all()
    finally:
        engine.dispose()
    per_session: dict[str, list[str]] = {}
    for session_id, status in orders:
        per_session.setdefault(session_id, []).append(status)
    bad_orders = [
        f"{sid}: expected one {want}, found {per_session.get(sid, [])}"
        for sid, want in expected.items()
        if per_session.get(sid) != [want]
    ]
    bad_orders += [
        f"{sid}: an order of no Buy of the day ({st})"
        for sid, st in per_session.items()
        if sid not in expected
    ]
    received, strangers = smtp.by_row()
    rows = {row_id for row_id, _status, _kind in outbox}
    bad_mail = [
        f"row {i} ({s}, {k}): received {received.get(i, 0)} times"
        for i, s, k in outbox
        if received.get(i) != 1
    ]
    bad_mail += [f"Message-ID of no row {i}" for i in received if i not in rows]
    return {
        "orders_in_database": len(orders),
        "sessions_checked": len(expected),
        "orders_by_status": dict(Counter(status for _sid, status in orders)),
        "order_mismatches": len(bad_orders),
        "order_mismatch_examples": bad_orders[:10],
        "outbox_rows": len(outbox),
        "outbox_by_kind": dict(Counter(kind for _i, _s, kind in outbox)),
        "emails_received": sum(received.values()) + strangers,
        "email_mismatches": len(bad_mail) + strangers,
        "email_mismatch_examples": bad_mail[:10],
        # Updated tables at the end (a hot row that bloats would slow every Buy down over the day).
        "tables": {
            r[0]: dict(zip(("live", "dead", "updates", "hot_updates", "autovacuums"), r[1:], strict=True))
            for r in tables
        },
    }


def autovacuum_on(url: str) -> bool:
    """Whether the server vacuums by itself (the shared test server runs with autovacuum off)."""
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            return conn.exec_driver_sql("SHOW autovacuum").scalar_one() == "on"
    finally:
        engine.dispose()


def vacuum_schema(url: str) -> float:
    """VACUUM (ANALYZE) every table of the soak's schema, as autovacuum would on a production server (where
    dead rows of the day's updates are cleaned up every minute or so); seconds it took."""
    engine = sa.create_engine(url)
    started = time.monotonic()
    try:
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            tables = conn.execute(
                sa.text("SELECT tablename FROM pg_tables WHERE schemaname = current_schema()")
            ).scalars()
            for table in list(tables):
                conn.exec_driver_sql(f'VACUUM (ANALYZE) "{table}"')
    finally:
        engine.dispose()
    return time.monotonic() - started
