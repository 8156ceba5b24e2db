"""Page `/` on a cold first visit through the nginx deployment: bytes on the wire, requests, document loads,
first contentful paint (Debian's chromium).

`reflex export --env prod --frontend-only` of a private copy of rxshop (cached under test-artifacts/bench/
export, keyed by the sources' git tree) with the nginx URL baked in, and its rxshop-csp.conf (deploy/csp.py,
as `make export`). Debian's nginx serves it with deploy/nginx.conf (bench/_nginx.py: the deployment test's
own rendering), and proxies the websocket, /ping and /visitor.js to the rxshop backend, run as
deploy/rxshop-backend.service runs it (granian, two workers sharing state through Redis, prod mode without
compiling). One origin, as in production.

Each round is a fresh browser context (cold cache) opening `/` once. Chromium's own network events (CDP
Network.loadingFinished: encoded bytes received, headers included) count every HTTP response of the page
load, and the target is on that; Resource Timing's encodedBodySize (the gzip bodies alone) and transferSize
are recorded beside it, and the websocket's frames apart (the app's state, not the page). Over plain
HTTP/1.1 on loopback every response repeats its headers in full (the Content-Security-Policy alone is about
1.5 KiB): HTTP/2 behind TLS would compress them, so the headers here are the worst case. The page's
blocking <head> script (GET /visitor.js) gives the first visit its credential before the app connects, so
the page loads once: the round counts document loads and the time until the page is ready (its connection
carries the credential: Buy can be pressed) and checks that it hydrated over the websocket. FCP from the
Paint Timing API. A first round warms the servers (not counted).

Targets: <= 300 KiB gzip for `/` (the response bodies; the bytes on the wire with headers are reported too), FCP < 1 s, one document load (median of the rounds).

    python bench/page_weight.py [--rounds 3]
    python bench/page_weight.py --quick      # one round
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import time
import zipfile
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from _nginx import start_nginx
from _support import (
    BIN,
    LOGS,
    REDIS_BASE,
    REPO,
    base_env,
    check,
    finish,
    loadavg,
    new_database,
    processes,
    start_backend,
    start_simulator,
    stop_backend,
)

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
APP_SOURCES = ("rxconfig.py", "rxshop", "assets", "alembic", "alembic.ini", "reflex.lock", "requirements.txt")
EXPORTS = LOGS / "export"
NGINX_PORT = 18765  # fixed: the export bakes nginx's URL in, and is cached for it
WORKERS = 2  # as deploy/rxshop-backend.service
REDIS_URL = f"{REDIS_BASE}/14"  # this benchmark's own Redis database, flushed before and after
READY = "main[data-visitor-ready='true']"


def sources_key() -> str:
    tree = subprocess.run(
        ["git", "rev-parse", "HEAD^{tree}"], cwd=REPO, capture_output=True, text=True
    ).stdout.strip()
    dirty = subprocess.run(
        ["git", "status", "--porcelain", "--", *APP_SOURCES], cwd=REPO, capture_output=True, text=True
    ).stdout
    return tree[:12] + ("-dirty" if dirty.strip() else "")


def export(public_url: str) -> tuple[Path, Path]:
    """The unzipped frontend.zip for this public URL and its rxshop-csp.conf (cached: an export takes a
    minute or two)."""
    key = f"{sources_key()}-{public_url.rsplit(':', 1)[1]}"
    target, csp_conf = EXPORTS / key / "frontend", EXPORTS / key / "rxshop-csp.conf"
    if target.exists() and csp_conf.exists():
        return target, csp_conf
    shutil.rmtree(EXPORTS, ignore_errors=True)
    app_dir = EXPORTS / key / "app"
    app_dir.mkdir(parents=True)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "*.db", "*.db-*")
    for name in APP_SOURCES:
        source = REPO / name
        if source.is_dir():
            shutil.copytree(source, app_dir / name, ignore=ignore)
        else:
            shutil.copy2(source, app_dir / name)
    dist = EXPORTS / key / "dist"
    dist.mkdir()
    result = subprocess.run(
        [str(BIN / "reflex"), "export", "--env", "prod", "--frontend-only", "--zip-dest-dir", str(dist)],
        cwd=app_dir,
        # RXSHOP_EXPORT_ONLY: the build serves nothing, so production asks for no keys (as `make export`).
        env=base_env(
            RXSHOP_EXPORT_ONLY="true", REFLEX_API_URL=public_url, APP_URL=public_url, BACKEND_URL=public_url
        ),
        capture_output=True,
        text=True,
        timeout=600,
    )
    (LOGS / "export.log").write_text(result.stdout + result.stderr)
    if result.returncode != 0:
        raise RuntimeError(f"reflex export failed:\n{(result.stdout + result.stderr)[-3000:]}")
    # As `make export`: the Content-Security-Policy with the hashes of THIS export's inline scripts.
    subprocess.run(
        [str(BIN / "python"), str(REPO / "deploy" / "csp.py"), str(dist / "frontend.zip")]
        + [str(app_dir / ".web" / "env.json"), str(csp_conf)],
        check=True,
        timeout=60,
    )
    with zipfile.ZipFile(dist / "frontend.zip") as archive:
        archive.extractall(target)
    return target, csp_conf


class Wire:
    """What chromium received for one page load, from its DevTools network events (CDP)."""

    def __init__(self, context: Any, page: Any) -> None:
        self.responses: dict[str, dict[str, Any]] = {}  # requestId -> url, gzip, bytes
        self.ws_bytes = 0
        cdp = context.new_cdp_session(page)
        cdp.on("Network.requestWillBeSent", self._sent)
        cdp.on("Network.responseReceived", self._response)
        cdp.on("Network.loadingFinished", self._finished)
        cdp.on("Network.loadingFailed", self._failed)
        cdp.on("Network.webSocketFrameReceived", self._frame)
        cdp.on("Network.webSocketFrameSent", self._frame)
        cdp.send("Network.enable")

    def _sent(self, event: dict[str, Any]) -> None:
        self.responses[event["requestId"]] = {"url": event["request"]["url"], "gzip": False, "bytes": None}

    def _response(self, event: dict[str, Any]) -> None:
        headers = {k.lower(): v for k, v in event["response"]["headers"].items()}
        entry = self.responses.setdefault(
            event["requestId"], {"url": event["response"]["url"], "bytes": None}
        )
        entry["gzip"] = headers.get("content-encoding") == "gzip"

    def _finished(self, event: dict[str, Any]) -> None:
        self.responses.setdefault(event["requestId"], {"url": "?", "gzip": False})["bytes"] = int(
            event["encodedDataLength"]
        )

    def _failed(self, event: dict[str, Any]) -> None:
        self.responses.setdefault(event["requestId"], {"url": "?", "gzip": False})["bytes"] = 0

    def _frame(self, event: dict[str, Any]) -> None:
        self.ws_bytes += len(event["response"]["payloadData"].encode())

    def files(self) -> list[tuple[str, int, bool]]:
        """(path, bytes on the wire with headers, sent gzipped) for every finished HTTP response."""
        return [
            (urlsplit(r["url"]).path or "/", r["bytes"], r["gzip"])
            for r in self.responses.values()
            if r.get("bytes") is not None
        ]


# Resource Timing's view of the same load: transferSize (the body plus a flat 300 bytes for headers, as
# chromium reports it) and encodedBodySize (the gzip bodies alone, the figure before nginx counted headers).
RESOURCE_TIMING = """() => performance.getEntriesByType('navigation')
    .concat(performance.getEntriesByType('resource')).reduce(
        ([transfer, body], e) => [transfer + e.transferSize, body + e.encodedBodySize], [0, 0])"""
FCP = "() => performance.getEntriesByName('first-contentful-paint')[0]?.startTime ?? -1"


def visit(browser: Any, url: str) -> dict[str, Any]:
    """One cold first visit of `url` in a fresh context: wire bytes, FCP, readiness, document loads."""
    load = loadavg()
    context = browser.new_context()
    try:
        page = context.new_page()
        wire = Wire(context, page)
        documents: list[str] = []
        page.on("request", lambda r: documents.append(r.url) if r.resource_type == "document" else None)
        frames: list[object] = []  # what the backend sent over the page's websocket
        page.on("websocket", lambda ws: ws.on("framereceived", lambda payload: frames.append(payload)))
        started = time.perf_counter()
        page.goto(url, wait_until="commit")
        # Ready: the page shows that its connection carries a credential (Buy can be pressed); timed from
        # the navigation's start, across a reload if there were one.
        page.wait_for_selector(READY, timeout=10_000)
        ready = (time.perf_counter() - started) * 1000
        page.wait_for_load_state("networkidle")
        for _ in range(50):  # the hydrate event's delta, within 5 s
            if any("delta" in str(f) for f in frames):
                break
            page.wait_for_timeout(100)
        else:
            raise RuntimeError("the page did not hydrate from the backend (see the backend log)")
        page.wait_for_timeout(500)  # a reload (the fallback), if one were under way
        page.wait_for_load_state("networkidle")
        fcp = page.evaluate(FCP)
        timing_bytes, body_bytes = page.evaluate(RESOURCE_TIMING)
        sent = wire.files()
    finally:
        context.close()
    return {
        "requests": len(sent),
        "bytes": sum(n for _, n, _ in sent),
        "gzip_served": sum(1 for *_, gz in sent if gz),
        "body_bytes": body_bytes,
        "resource_timing_bytes": timing_bytes,
        "ws_bytes": wire.ws_bytes,
        "fcp_ms": fcp,
        "ready_ms": ready,
        "documents": len(documents),
        "loadavg": load,
        "files": sorted(sent, key=lambda x: -x[1])[:8],
    }


def flush_page_redis() -> None:
    import redis

    client = redis.Redis.from_url(REDIS_URL)
    try:
        client.flushdb()
    finally:
        client.close()


def measure(rounds: int) -> list[dict[str, Any]]:
    """Stand up simulator, backend and nginx; `rounds` counted cold first visits after one warm-up."""
    from playwright.sync_api import sync_playwright

    url = f"http://127.0.0.1:{NGINX_PORT}"
    root, csp_conf = export(url)
    results = []
    flush_page_redis()
    with processes() as procs:
        sim = start_simulator(procs, 0)
        backend = start_backend(
            procs,
            "rxshop",
            sim_url=sim,
            database=new_database("sqlite", "rxshop"),
            workers=WORKERS,
            # The shop's public URL is nginx's: the backend accepts that origin and names it in links.
            extra_env={"APP_URL": url, "BACKEND_URL": url, "REDIS_URL": REDIS_URL},
        )
        try:
            start_nginx(
                procs, port=NGINX_PORT, frontend_root=root, backend_url=backend.url, csp_conf=csp_conf
            )
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
                try:
                    for r in range(rounds + 1):  # the first load warms the servers, not counted
                        figures = visit(browser, url + "/")
                        if r == 0:
                            continue
                        results.append({"round": r - 1, **figures})
                        print(
                            f"  round {r - 1}: {figures['requests']} requests, {figures['bytes'] / 1024:.0f} KiB on"
                            f" the wire (bodies {figures['body_bytes'] / 1024:.0f} KiB,"
                            f" websocket {figures['ws_bytes'] / 1024:.1f} KiB), FCP {figures['fcp_ms']:.0f} ms,"
                            f" ready {figures['ready_ms']:.0f} ms, {figures['documents']} document load(s)"
                            f"  load {figures['loadavg']}",
                            flush=True,
                        )
                finally:
                    browser.close()
        finally:
            stop_backend(procs, backend)
            flush_page_redis()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    rounds = measure(1 if args.quick else args.rounds)
    kib = statistics.median(x["bytes"] for x in rounds) / 1024
    body_kib = statistics.median(x["body_bytes"] for x in rounds) / 1024
    fcp = statistics.median(x["fcp_ms"] for x in rounds)
    ready_ms = statistics.median(x["ready_ms"] for x in rounds)
    documents = statistics.median(x["documents"] for x in rounds)
    print(
        f"  page / through nginx: {rounds[0]['requests']} requests, {kib:.0f} KiB on the wire"
        f" ({body_kib:.0f} KiB gzip bodies + {kib - body_kib:.0f} KiB headers),"
        f" FCP median {fcp:.0f} ms, ready {ready_ms:.0f} ms",
        flush=True,
    )
    for name, size, gz in rounds[0]["files"]:
        print(f"    {size / 1024:7.1f} KiB {'gz ' if gz else 'raw'} {name}")
    targets = [
        # The weight is the gzip page (bodies, as every earlier run counted it); the headers
        # (mostly the CSP repeated on each response over HTTP/1.1) are reported beside it.
        check("page / KiB gzip (response bodies)", body_kib, 300),
        check("page / FCP ms", fcp, 1000),
        check("page / document loads on a first visit", documents, 1),
    ]
    finish(
        "page_weight",
        {
            "rounds": rounds,
            "kib": kib,
            "body_kib": body_kib,
            "fcp_ms": fcp,
            "ready_ms": ready_ms,
            "served_by": "nginx (deploy/nginx.conf), HTTP/1.1 on loopback",
        },
        targets,
    )


if __name__ == "__main__":
    main()
