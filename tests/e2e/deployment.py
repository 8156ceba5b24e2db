"""The `reflex export` deployment, stood up for real: static frontend behind Debian's nginx, prod backend.

`deployment` (session fixture) does what deploy/README.md tells an operator to do, on free ports in a
temporary directory:
  1. `reflex export --env prod` of a private copy of the app (its own .web/, so it never clashes with the
     other browser tests' `reflex run`), with REFLEX_API_URL = the nginx URL; unzip both archives;
  2. the standalone Stripe simulator as the payment service, delivering webhooks through nginx;
  3. a fresh database (PostgreSQL in a schema of its own when reachable, else SQLite), migrated;
  4. the backend from backend.zip with the commands and environment of deploy/rxshop-backend.service
     (migrations, then granian's workers, prod mode without compiling), Reflex state in Redis database 13
     (flushed before and after);
  5. nginx with deploy/nginx.conf rendered (placeholders replaced) inside a minimal main config.
Every process runs in its own process group and is stopped in teardown; logs, and the measured times
(timings.json: export, backend start, journey), go to test-artifacts/e2e/deployment/.
"""

from __future__ import annotations

import json
import os
import pickle
import re
import secrets
import shlex
import shutil
import subprocess
import sys
import time
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
import redis
import sqlalchemy as sa
import stripe
from sqlalchemy.engine import make_url

from tests.e2e.conftest import ARTIFACTS, REPO, app_env, free_port, stop
from tests.fixtures.db import POSTGRES_URL, postgres_unavailable, service_missing

NGINX = "/usr/sbin/nginx"
SITE_TEMPLATE = REPO / "deploy" / "nginx.conf"
UNIT = REPO / "deploy" / "rxshop-backend.service"
UNIT_VENV_BIN = "/srv/rxshop/venv/bin/"
UNIT_PORT = "--port 8000"
LOGS = ARTIFACTS / "deployment"
BIN = Path(sys.executable).parent
API_KEY = "sk_test_rxshop_deployment"
WEBHOOK_SECRET = "whsec_rxshop_deployment_" + secrets.token_hex(8)
REDIS_DB = 13  # this test's own database on the shared Redis: flushed before and after
# Reflex 0.10.1 keeps, per tab token, the id of the worker holding that tab's websocket here (a pickled
# reflex.utils.token_manager.SocketRecord); pushes for a tab on another worker go through Redis pub/sub.
TOKEN_OWNER_KEY = "token_manager_socket_record_{token}"


@dataclass
class Deployment:
    url: str  # nginx: where browsers, the simulator's webhooks and the tests reach the shop
    backend_url: str  # granian itself, bypassing nginx
    sim_url: str
    database_url: str
    redis_url: str
    frontend_dir: Path  # the unzipped frontend.zip nginx serves
    timings: dict[str, float] = field(default_factory=dict)

    def stripe(self) -> stripe.StripeClient:
        """The real Stripe SDK pointed at the simulator (the tests' hand as the Stripe Dashboard)."""
        return stripe.StripeClient(API_KEY, base_addresses={"api": self.sim_url}, max_network_retries=0)

    def control(self, path: str) -> Any:
        response = httpx.get(f"{self.sim_url}/_sim/{path.lstrip('/')}", timeout=10)
        response.raise_for_status()
        return response.json()

    def query(self, sql: str, **params: Any) -> list[dict[str, Any]]:
        engine = sa.create_engine(self.database_url)
        try:
            with engine.connect() as conn:
                return [dict(row._mapping) for row in conn.execute(sa.text(sql), params)]
        finally:
            engine.dispose()

    def orders(self, visitor_id: str) -> list[dict[str, Any]]:
        return self.query("SELECT * FROM orders WHERE visitor_id = :v ORDER BY created_at", v=visitor_id)

    def worker_of(self, tab_token: str) -> str | None:
        """Which backend worker holds this tab's websocket (Reflex's instance id), None if none does."""
        client = redis.Redis.from_url(self.redis_url)
        try:
            raw = client.get(TOKEN_OWNER_KEY.format(token=tab_token))
        finally:
            client.close()
        return None if raw is None else pickle.loads(raw).instance_id


class Services:
    """Processes started for the deployment, each in its own process group, stopped in reverse order."""

    def __init__(self) -> None:
        self.procs: list[tuple[str, subprocess.Popen, Path, float]] = []

    def start(self, name: str, argv: list[str], *, cwd: Path, env: dict[str, str]) -> subprocess.Popen:
        log_path = LOGS / f"{name}.log"
        with open(log_path, "w") as log:
            proc = subprocess.Popen(
                argv, cwd=cwd, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
        self.procs.append((name, proc, log_path, time.monotonic()))
        return proc

    def wait_until(self, name: str, ready: Callable[[], bool], timeout: float = 60) -> float:
        """Poll `ready` until it holds; return the seconds since the process started. Fail with its log if
        it died or took longer than `timeout`."""
        _, proc, log_path, started = next(p for p in self.procs if p[0] == name)
        while time.monotonic() - started < timeout:
            if proc.poll() is not None:
                raise RuntimeError(f"{name} exited with {proc.returncode}:\n{log_path.read_text()[-4000:]}")
            try:
                if ready():
                    return time.monotonic() - started
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"{name} not ready after {timeout} s:\n{log_path.read_text()[-4000:]}")

    def stop_all(self) -> None:
        for _, proc, _, _ in reversed(self.procs):
            stop(proc)


def _ok(url: str, **kwargs: Any) -> Callable[[], bool]:
    return lambda: httpx.get(url, timeout=2, **kwargs).status_code == 200


def render_site(*, server_name: str, listen: str, frontend_root: Path, backend: str) -> str:
    """deploy/nginx.conf with its placeholders replaced, exactly as the README's sed command does."""
    text = SITE_TEMPLATE.read_text()
    for placeholder, value in (
        ("@SERVER_NAME@", server_name),
        ("@LISTEN@", listen),
        ("@FRONTEND_ROOT@", str(frontend_root)),
        ("@BACKEND@", backend),
    ):
        assert placeholder in text, f"{placeholder} missing from {SITE_TEMPLATE}"
        text = text.replace(placeholder, value)
    assert not re.search(r"@[A-Z_]+@", text), "an unreplaced placeholder is left"
    return text


@dataclass(frozen=True)
class BackendUnit:
    """The commands and environment of deploy/rxshop-backend.service, pointed at this venv and port."""

    environment: dict[str, str]
    migrate: list[str]  # ExecStartPre
    serve: list[str]  # ExecStart

    @classmethod
    def read(cls, port: int) -> BackendUnit:
        text = UNIT.read_text().replace("\\\n", " ")  # systemd's line continuations
        values: dict[str, list[str]] = {}
        for line in text.splitlines():
            key, sep, value = line.partition("=")
            if sep and not line.startswith("#"):
                values.setdefault(key.strip(), []).append(value.strip())

        def command(key: str) -> list[str]:
            [line] = values[key]
            assert UNIT_VENV_BIN in line, f"{key} does not run from {UNIT_VENV_BIN}"
            return shlex.split(line.replace(UNIT_VENV_BIN, f"{BIN}/").replace(UNIT_PORT, f"--port {port}"))

        serve = command("ExecStart")
        assert f"--port {port}" in " ".join(serve), f"ExecStart does not say {UNIT_PORT}"
        # The journey puts two tabs of one visitor on two different workers.
        assert int(serve[serve.index("--workers") + 1]) >= 2, "the deployment runs at least two workers"
        environment = dict(item.split("=", 1) for item in values.get("Environment", []))
        return cls(environment=environment, migrate=command("ExecStartPre"), serve=serve)


def nginx_main_conf(prefix: Path, site: Path) -> str:
    """A minimal stand-in for Debian's /etc/nginx/nginx.conf: every path writable lives under `prefix`."""
    # As root, workers would run as `nobody` and could not read pytest's 0700 temp dirs.
    user = "user root;\n" if os.geteuid() == 0 else ""
    temp = "\n".join(
        f"    {kind}_temp_path {prefix}/{kind};"
        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    return f"""{user}worker_processes 1;
pid {prefix}/nginx.pid;
error_log {LOGS}/nginx-error.log warn;
events {{ worker_connections 512; }}
http {{
    include /etc/nginx/mime.types;
    default_type application/octet-stream;
    sendfile on;
    access_log {LOGS}/nginx-access.log;
{temp}
    include {site};
}}
"""


def _postgres_schema() -> tuple[str, Callable[[], None]] | None:
    """A URL into a fresh PostgreSQL schema and the function dropping it; None without PostgreSQL (SQLite
    then), except under CI=true, where its absence is a failure."""
    if reason := postgres_unavailable():
        if os.environ.get("CI", "").lower() == "true":
            service_missing(reason)
        return None
    schema = "rxshop_deploy_" + secrets.token_hex(6)
    admin = sa.create_engine(POSTGRES_URL)
    with admin.begin() as conn:
        conn.exec_driver_sql(f"CREATE SCHEMA {schema}")
    url = make_url(POSTGRES_URL).update_query_dict({"options": f"-csearch_path={schema}"})

    def drop() -> None:
        with admin.begin() as conn:
            conn.exec_driver_sql(f"DROP SCHEMA {schema} CASCADE")
        admin.dispose()

    return url.render_as_string(hide_password=False), drop


def _redis_url() -> str:
    """Database REDIS_DB on the test Redis (TEST_REDIS_URL's host), flushed; skip when Redis is absent
    (a failure under CI=true)."""
    base = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
    parts = urlsplit(base)
    url = f"{parts.scheme}://{parts.netloc}/{REDIS_DB}"
    try:
        client = redis.Redis.from_url(url, socket_connect_timeout=3)
        client.flushdb()
        client.close()
    except redis.RedisError as exc:
        service_missing(f"Redis not reachable at {url}: {exc}")
    return url


def clean_copy(app_dir: Path) -> None:
    """A fresh copy of what git would commit, as a new user's clean clone has it: only the installed tools
    (.venv, bun) are borrowed, so a folder that only an earlier run made is missing here too."""
    tracked = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split("\0")
    for name in filter(None, tracked):
        source = REPO / name
        if source.is_file():  # tracked but deleted in the working tree: as a clone of it would be
            (app_dir / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, app_dir / name)  # mtimes kept: make's stamps stay fresh
    (app_dir / ".venv").symlink_to(REPO / ".venv")
    (app_dir / ".tools" / "node_modules").symlink_to(REPO / ".tools" / "node_modules")


def _export(app_dir: Path, dist: Path, env: dict[str, str]) -> None:
    """`make export` in a clean copy of the repository, as a new user runs it."""
    clean_copy(app_dir)
    result = subprocess.run(
        ["make", "export"], cwd=app_dir, env=env, capture_output=True, text=True, timeout=240
    )
    (LOGS / "export.log").write_text(result.stdout + result.stderr)
    if result.returncode != 0:
        raise RuntimeError(
            f"make export failed ({result.returncode}):\n{(result.stdout + result.stderr)[-4000:]}"
        )
    dist.mkdir()
    for archive in ("frontend.zip", "backend.zip"):
        shutil.move(app_dir / archive, dist / archive)


@pytest.fixture(scope="session", name="deployment")
def deployment_fixture(tmp_path_factory) -> Iterator[Deployment]:
    if not os.path.exists(NGINX):
        service_missing(f"{NGINX} missing: `make system-deps` installs Debian's nginx")
    redis_url = _redis_url()
    shutil.rmtree(LOGS, ignore_errors=True)
    LOGS.mkdir(parents=True)
    tmp = tmp_path_factory.mktemp("deployment")
    nginx_port, backend_port, sim_port = free_port(), free_port(), free_port()
    url = f"http://127.0.0.1:{nginx_port}"
    backend_url = f"http://127.0.0.1:{backend_port}"
    sim_url = f"http://127.0.0.1:{sim_port}"

    postgres = _postgres_schema()
    database_url = postgres[0] if postgres else f"sqlite:///{tmp / 'rxshop.db'}"
    env = app_env(
        APP_URL=url,
        BACKEND_URL=url,
        DATABASE_URL=database_url,
        REDIS_URL=redis_url,
        STRIPE_SECRET_KEY=API_KEY,
        STRIPE_API_BASE=sim_url,
        STRIPE_WEBHOOK_SECRET=WEBHOOK_SECRET,
    )
    services = Services()
    try:
        started = time.monotonic()
        _export(tmp / "app", tmp / "dist", {**env, "REFLEX_API_URL": url})
        export_s = time.monotonic() - started
        frontend_dir = tmp / "frontend"
        with zipfile.ZipFile(tmp / "dist" / "frontend.zip") as archive:
            archive.extractall(frontend_dir)
        backend_dir = tmp / "backend"
        with zipfile.ZipFile(tmp / "dist" / "backend.zip") as archive:
            archive.extractall(backend_dir)

        services.start(
            "stripe-sim",
            [
                str(BIN / "python"),
                "-m",
                "rxshop.stripe_sim",
                "--port",
                str(sim_port),
                "--webhook-url",
                f"{url}/stripe/webhook",
                "--webhook-secret",
                WEBHOOK_SECRET,
                "--log-level",
                "warning",
            ],
            cwd=backend_dir,
            env=env,
        )

        # The backend as deploy/rxshop-backend.service runs it: migrations, then granian's workers.
        unit = BackendUnit.read(backend_port)
        prod = {**env, **unit.environment}
        migrated = subprocess.run(
            unit.migrate, cwd=backend_dir, env=prod, capture_output=True, text=True, timeout=60
        )
        (LOGS / "migrate.log").write_text(migrated.stdout + migrated.stderr)
        assert migrated.returncode == 0, f"migrations failed:\n{migrated.stderr[-4000:]}"
        services.start("backend", unit.serve, cwd=backend_dir, env=prod)

        prefix = tmp / "nginx"
        prefix.mkdir()
        site = prefix / "rxshop-site.conf"
        site.write_text(
            render_site(
                server_name="127.0.0.1",
                listen=f"127.0.0.1:{nginx_port}",
                frontend_root=frontend_dir,
                backend=f"127.0.0.1:{backend_port}",
            )
        )
        main_conf = prefix / "nginx.conf"
        main_conf.write_text(nginx_main_conf(prefix, site))
        nginx = [NGINX, "-c", str(main_conf), "-p", str(prefix)]
        check = subprocess.run([*nginx, "-t"], capture_output=True, text=True)
        assert check.returncode == 0, f"nginx -t refused the rendered config:\n{check.stderr}"
        services.start("nginx", [*nginx, "-g", "daemon off;"], cwd=prefix, env=env)

        services.wait_until("stripe-sim", _ok(f"{sim_url}/_sim/config"))
        backend_start_s = services.wait_until("backend", _ok(f"{backend_url}/ping"))
        services.wait_until("nginx", _ok(f"{url}/ping"))
        deployment = Deployment(
            url=url,
            backend_url=backend_url,
            sim_url=sim_url,
            database_url=database_url,
            redis_url=redis_url,
            frontend_dir=frontend_dir,
            timings={"export_s": export_s, "backend_start_s": backend_start_s},
        )
        yield deployment
        (LOGS / "timings.json").write_text(json.dumps(deployment.timings, indent=1) + "\n")
    finally:
        services.stop_all()
        if postgres:
            postgres[1]()
        client = redis.Redis.from_url(redis_url)
        client.flushdb()
        client.close()
