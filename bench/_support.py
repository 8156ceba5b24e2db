"""Shared bits of the benchmarks: servers in their own process groups, databases, rounds, results.

Every benchmark runs rxshop and the bare app (bench/bare_app) side by side on one machine and one Stripe
simulator, in alternating rounds (ABBA order), and reports medians and ratios. Each writes its figures to
bench/results/<name>.json; run_all.py turns them into bench/RESULTS.md.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
BARE_DIR = BENCH / "bare_app"
RESULTS_DIR = Path(os.environ.get("BENCH_RESULTS_DIR") or BENCH / "results")
LOGS = REPO / "test-artifacts" / "bench"
BIN = Path(sys.executable).parent
POSTGRES_URL = os.environ.get("BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
BENCH_SECRET_KEY = "bench-" + "0" * 58  # production requires a SECRET_KEY of 32+ characters
REDIS_BASE = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379")
REDIS_DBS = {"rxshop": 10, "bare": 11}  # our own databases on the shared Redis, flushed before and after
API_KEY = "sk_test_bench"
WEBHOOK_SECRET = "whsec_bench_side_by_side"
APPS = ("rxshop", "bare")
# Another checkout of rxshop to measure instead of this one (a candidate change, side by side with the bare
# app as always): BENCH_RXSHOP_DIR=/path/to/tree python bench/webhooks.py
RXSHOP_DIR = Path(os.environ.get("BENCH_RXSHOP_DIR") or REPO).resolve()


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def loadavg() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def abba(rounds: int) -> list[tuple[int, str]]:
    """(round, app) in alternating order: rxshop, bare, bare, rxshop, rxshop, bare, ..."""
    order = []
    for r in range(rounds):
        pair = APPS if r % 2 == 0 else APPS[::-1]
        order += [(r, app) for app in pair]
    return order


def rss_kib(group: int) -> int:
    """Resident memory of every process in a process group (granian's supervisor and its workers)."""
    total = 0
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            if os.getpgid(int(pid)) != group:
                continue
            with open(f"/proc/{pid}/status") as status:
                total += next(int(line.split()[1]) for line in status if line.startswith("VmRSS:"))
        except (OSError, StopIteration):
            continue
    return total


def group_pids(group: int) -> list[int]:
    pids = []
    for pid in os.listdir("/proc"):
        if pid.isdigit():
            try:
                if os.getpgid(int(pid)) == group:
                    pids.append(int(pid))
            except OSError:
                continue
    return sorted(pids)


def cpu_seconds(group: int) -> float:
    """User + system CPU seconds used so far by every process of a process group."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in group_pids(group):
        try:
            with open(f"/proc/{pid}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])
        except OSError:
            continue
    return total / tick


def stop(proc: subprocess.Popen) -> None:
    """Stop a process started with start_new_session=True, and its whole group."""
    if proc.poll() is None:
        try:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        except ProcessLookupError:
            pass
    try:  # workers left behind by a supervisor that died first
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


class Processes:
    """Processes started by one benchmark: each in its own group, all stopped at the end, newest first."""

    def __init__(self) -> None:
        self.procs: list[subprocess.Popen] = []
        LOGS.mkdir(parents=True, exist_ok=True)

    def start(self, name: str, argv: list[str], *, cwd: Path, env: dict[str, str]) -> subprocess.Popen:
        with open(LOGS / f"{name}.log", "w") as log:
            proc = subprocess.Popen(
                argv, cwd=cwd, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
        self.procs.append(proc)
        return proc

    def wait_http(self, proc: subprocess.Popen, url: str, name: str, timeout: float = 90) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                log = (LOGS / f"{name}.log").read_text()[-3000:]
                raise RuntimeError(f"{name} exited with {proc.returncode}:\n{log}")
            try:
                if httpx.get(url, timeout=2).status_code < 500:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"{name} did not answer {url} within {timeout} s")

    def stop(self, proc: subprocess.Popen) -> None:
        stop(proc)
        if proc in self.procs:
            self.procs.remove(proc)

    def stop_all(self) -> None:
        for proc in reversed(self.procs):
            stop(proc)
        self.procs.clear()


@contextmanager
def processes() -> Iterator[Processes]:
    procs = Processes()
    try:
        yield procs
    finally:
        procs.stop_all()


def base_env(**extra: str) -> dict[str, str]:
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("STRIPE_", "REFLEX_", "DATABASE_", "REDIS_"))
    }
    env.update(RXSHOP_ENV_FILE="", PYTHONUNBUFFERED="1")
    env["PATH"] = f"{REPO / '.tools/node_modules/.bin'}:{BIN}:{env.get('PATH', '')}"
    env.update(extra)
    return env


def start_simulator(procs: Processes, latency_ms: int) -> str:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    argv = [str(BIN / "python"), "-m", "rxshop.stripe_sim", "--port", str(port)]
    argv += ["--latency-ms", str(latency_ms), "--async-settle-seconds", "0", "--log-level", "warning"]
    proc = procs.start("stripe-sim", argv, cwd=REPO, env=base_env(PYTHONPATH=str(REPO)))
    procs.wait_http(proc, f"{url}/_sim/config", "stripe-sim")
    return url


# --- databases ------------------------------------------------------------------------------------------


@dataclass
class Database:
    url: str
    kind: str  # sqlite | postgresql
    cleanup: list[Any] = field(default_factory=list)

    def drop(self) -> None:
        for fn in self.cleanup:
            fn()


def new_database(kind: str, label: str) -> Database:
    """A fresh, empty SQLite file or PostgreSQL schema (dropped by .drop())."""
    if kind == "sqlite":
        folder = Path(tempfile.mkdtemp(prefix=f"bench-{label}-"))
        return Database(f"sqlite:///{folder / 'bench.db'}", kind, [lambda: shutil.rmtree(folder, True)])
    import secrets

    import sqlalchemy as sa
    from sqlalchemy.engine import make_url

    schema = f"bench_{label}_{secrets.token_hex(4)}"
    admin = sa.create_engine(POSTGRES_URL)
    with admin.begin() as conn:
        conn.exec_driver_sql(f"CREATE SCHEMA {schema}")
    url = make_url(POSTGRES_URL).update_query_dict({"options": f"-csearch_path={schema}"})

    def drop() -> None:
        with admin.begin() as conn:
            conn.exec_driver_sql(f"DROP SCHEMA {schema} CASCADE")
        admin.dispose()

    return Database(url.render_as_string(hide_password=False), kind, [drop])


def migrate_rxshop(database_url: str) -> None:
    """rxshop's own migrations, through its CLI (`python -m rxshop migrate`)."""
    subprocess.run(
        [str(BIN / "python"), "-m", "rxshop", "migrate"],
        cwd=RXSHOP_DIR,
        env=base_env(DATABASE_URL=database_url),
        check=True,
        capture_output=True,
        timeout=120,
    )


def redis_url(app: str) -> str:
    return f"{REDIS_BASE}/{REDIS_DBS[app]}"


def flush_redis(app: str) -> None:
    import redis

    client = redis.Redis.from_url(redis_url(app))
    try:
        client.flushdb()
    finally:
        client.close()


# --- the two backends -----------------------------------------------------------------------------------


@dataclass
class Backend:
    app: str
    url: str
    proc: subprocess.Popen
    database: Database
    redis: bool

    @property
    def group(self) -> int:
        return self.proc.pid


def start_backend(
    procs: Processes,
    app: str,
    *,
    sim_url: str,
    database: Database,
    workers: int = 1,
    use_redis: bool = False,
    extra_env: dict[str, str] | None = None,
    wrapper: list[str] | None = None,
    port: int | None = None,
) -> Backend:
    """rxshop or the bare app on granian, prod mode without compiling (as deploy/rxshop-backend.service)."""
    port = port or free_port()
    url = f"http://127.0.0.1:{port}"
    cwd = RXSHOP_DIR if app == "rxshop" else BARE_DIR
    shutil.rmtree(cwd / ".states", ignore_errors=True)  # the disk state manager's files of earlier runs
    env = base_env(
        REFLEX_ENV_MODE="prod",
        __REFLEX_SKIP_COMPILE="true",
        DATABASE_URL=database.url,
        STRIPE_SECRET_KEY=API_KEY,
        STRIPE_API_BASE=sim_url,
        STRIPE_WEBHOOK_SECRET=WEBHOOK_SECRET,
        APP_URL=url,
        BACKEND_URL=url,
        PAYMENTS_MODE="simulator",  # production refuses STRIPE_API_BASE otherwise
        SECRET_KEY=BENCH_SECRET_KEY,  # signs visitor credentials; production requires one
        PYTHONPATH=f"{cwd}:{BENCH / '_hooks'}",  # inert unless a BENCH_ variable asks (bench/_hooks)
    )
    # Experiments: BENCH_ENV_X=1 sets X=1 for both backends, BENCH_RXSHOP_ENV_X / BENCH_BARE_ENV_X for one.
    for prefix in ("BENCH_ENV_", f"BENCH_{app.upper()}_ENV_"):
        env.update({k.removeprefix(prefix): v for k, v in os.environ.items() if k.startswith(prefix)})
    if use_redis:
        flush_redis(app)
        env["REDIS_URL"] = redis_url(app)
    env.update(extra_env or {})
    if app == "rxshop":
        env.setdefault(
            "TRUSTED_PROXY_HOPS", "1"
        )  # as behind nginx: the benchmarks' X-Forwarded-For is believed
        if "SMTP_URL" not in env and env.get("MAIL_MODE") != "off":
            env.update(SMTP_URL=start_smtp_sink(procs), MAIL_FROM="bench@rxshop.test")  # email on, as shipped
        migrate_rxshop(database.url)
    target = "rxshop.rxshop:app" if app == "rxshop" else "bare.bare:app"
    argv = [*(wrapper or []), str(BIN / "granian"), "--interface", "asgi", "--factory", "--host", "127.0.0.1"]
    argv += ["--port", str(port), "--workers", str(workers), "--log-level", "warning", target]
    proc = procs.start(f"{app}-backend", argv, cwd=cwd, env=env)
    procs.wait_http(proc, f"{url}/ping", f"{app}-backend")
    return Backend(app, url, proc, database, use_redis)


def start_smtp_sink(procs: Processes) -> str:
    """A real SMTP server that accepts and discards (aiosmtpd's Sink): the outbox's sender delivers every
    confirmation to it during the benchmark, as it would to a relay. BENCH_RXSHOP_ENV_MAIL_MODE=off skips it."""
    port = free_port()
    argv = [
        str(BIN / "python"),
        "-m",
        "aiosmtpd",
        "-n",
        "-l",
        f"127.0.0.1:{port}",
        "-c",
        "aiosmtpd.handlers.Sink",
    ]
    procs.start("smtp-sink", argv, cwd=BENCH, env=base_env())
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return f"smtp://127.0.0.1:{port}"
        except OSError:
            time.sleep(0.1)
    raise RuntimeError("the benchmark's SMTP sink did not start")


def stop_backend(procs: Processes, backend: Backend) -> None:
    procs.stop(backend.proc)
    backend.database.drop()
    shutil.rmtree((RXSHOP_DIR if backend.app == "rxshop" else BARE_DIR) / ".states", ignore_errors=True)
    if backend.redis:
        flush_redis(backend.app)


# --- results --------------------------------------------------------------------------------------------


def check(name: str, value: float, limit: float, *, at_least: bool = False) -> dict[str, Any]:
    """Print one target line: the measured value against its limit, and whether it is met."""
    met = value >= limit if at_least else value <= limit
    sign = ">=" if at_least else "<="
    print(f"  target {name}: {value:,.2f} {sign} {limit:,} -> {'met' if met else 'MISSED'}", flush=True)
    return {"name": name, "value": value, "limit": limit, "op": sign, "met": met}


def save(name: str, result: dict[str, Any]) -> None:
    RESULTS_DIR.mkdir(exist_ok=True)
    result = {"benchmark": name, "finished": time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime()), **result}
    (RESULTS_DIR / f"{name}.json").write_text(json.dumps(result, indent=1) + "\n")


def finish(name: str, result: dict[str, Any], targets: list[dict[str, Any]]) -> None:
    save(name, {**result, "targets": targets})
    sys.exit(0 if all(t["met"] for t in targets) else 1)
