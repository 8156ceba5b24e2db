"""Page `/` of the static export: requests, gzip bytes on the wire, first contentful paint (Debian's chromium).

`reflex export --env prod --frontend-only` of a private copy of rxshop (cached under test-artifacts/bench/
export, keyed by the sources' git tree), served the way deploy/nginx.conf serves it: the prebuilt .gz when
the browser accepts gzip (gzip_static), `try_files $uri $uri.html $uri/index.html /__spa-fallback.html`. A
small threaded static server does that here, with nginx's cache headers, and counts the bytes it sends per
page load. The rxshop backend runs beside it and accepts the page's origin: the page connects its websocket
and hydrates (checked). The page's blocking <head> script (GET /visitor.js from the backend) gives the first
visit its credential before the app connects, so the page loads once: the round counts document loads and
the time until the page is ready (its connection carries the credential: Buy can be pressed). Each round
is a fresh browser context (cold cache) on loopback; FCP from the Paint Timing API.

Targets: <= 300 KiB gzip for `/`, FCP < 1 s, one document load (median of the rounds).

    python bench/page_weight.py [--rounds 3]
    python bench/page_weight.py --quick      # one round
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import threading
import time
import zipfile
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from _support import (
    BIN,
    LOGS,
    REPO,
    base_env,
    check,
    finish,
    free_port,
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
BACKEND_PORT = 18765  # fixed: the export bakes the backend URL in, and is cached for it


def sources_key() -> str:
    tree = subprocess.run(
        ["git", "rev-parse", "HEAD^{tree}"], cwd=REPO, capture_output=True, text=True
    ).stdout.strip()
    dirty = subprocess.run(
        ["git", "status", "--porcelain", "--", *APP_SOURCES], cwd=REPO, capture_output=True, text=True
    ).stdout
    return tree[:12] + ("-dirty" if dirty.strip() else "")


def export(api_url: str) -> Path:
    """The unzipped frontend.zip for this backend URL (cached: an export takes a minute or two)."""
    key = f"{sources_key()}-{api_url.rsplit(':', 1)[1]}"
    target = EXPORTS / key / "frontend"
    if target.exists():
        return target
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
        env=base_env(RXSHOP_EXPORT_ONLY="true", REFLEX_API_URL=api_url, APP_URL=api_url, BACKEND_URL=api_url),
        capture_output=True,
        text=True,
        timeout=600,
    )
    (LOGS / "export.log").write_text(result.stdout + result.stderr)
    if result.returncode != 0:
        raise RuntimeError(f"reflex export failed:\n{(result.stdout + result.stderr)[-3000:]}")
    with zipfile.ZipFile(dist / "frontend.zip") as archive:
        archive.extractall(target)
    return target


class Counting(ThreadingHTTPServer):
    daemon_threads = True
    sent: list[tuple[str, int, bool]]


def static_server(root: Path, port: int) -> tuple[Counting, int]:
    class Handler(SimpleHTTPRequestHandler):
        def log_message(self, *args) -> None:
            pass

        def do_GET(self) -> None:
            path = self.path.split("?", 1)[0].split("#", 1)[0]
            for candidate in (path, path + ".html", path.rstrip("/") + "/index.html", "/__spa-fallback.html"):
                file = root / candidate.lstrip("/")
                if file.is_file():
                    break
            else:
                self.send_error(404)
                return
            gz = file.with_name(file.name + ".gz")
            use_gz = gz.is_file() and "gzip" in self.headers.get("Accept-Encoding", "")
            body = (gz if use_gz else file).read_bytes()
            self.send_response(200)
            self.send_header("Content-Type", self.guess_type(str(file)))
            if use_gz:
                self.send_header("Content-Encoding", "gzip")
            # As deploy/nginx.conf: hashed assets for a year, pages revalidated (they name the assets).
            immutable = path.startswith("/assets/")
            self.send_header(
                "Cache-Control", "public, max-age=31536000, immutable" if immutable else "no-cache"
            )
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            self.server.sent.append((path, len(body), use_gz))  # type: ignore[attr-defined]

    server = Counting(("127.0.0.1", port), Handler)
    server.sent = []
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, port


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    if args.quick:
        args.rounds = 1
    from playwright.sync_api import sync_playwright

    rounds = []
    with processes() as procs:
        sim = start_simulator(procs, 0)
        # The page's origin is the static server's: the backend must accept it (CORS on the websocket).
        port = free_port()
        url = f"http://127.0.0.1:{port}/"
        backend = start_backend(
            procs,
            "rxshop",
            sim_url=sim,
            database=new_database("sqlite", "rxshop"),
            port=BACKEND_PORT,
            extra_env={"APP_URL": url.rstrip("/")},
        )
        try:
            root = export(backend.url)
            server, port = static_server(root, port)
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
                try:
                    for r in range(args.rounds + 1):  # the first load warms the servers, not counted
                        server.sent.clear()
                        load = loadavg()
                        context = browser.new_context()
                        page = context.new_page()
                        documents: list[str] = []
                        page.on(
                            "request",
                            lambda r, d=documents: d.append(r.url) if r.resource_type == "document" else None,
                        )
                        frames: list[object] = []  # what the backend sent over the page's websocket
                        page.on(
                            "websocket",
                            lambda ws, frames=frames: ws.on(
                                "framereceived", lambda payload: frames.append(payload)
                            ),
                        )
                        started = time.perf_counter()
                        page.goto(url, wait_until="commit")
                        # Ready: the page shows that its connection carries a credential (Buy can be pressed);
                        # timed from the navigation's start, across a reload if there were one.
                        page.wait_for_selector("main[data-visitor-ready='true']", timeout=10_000)
                        ready = (time.perf_counter() - started) * 1000
                        page.wait_for_load_state("networkidle")
                        for _ in range(50):  # the hydrate event's delta, within 5 s
                            if any("delta" in str(f) for f in frames):
                                break
                            page.wait_for_timeout(100)
                        else:
                            raise RuntimeError(
                                "the page did not hydrate from the backend (see the backend log)"
                            )
                        page.wait_for_timeout(500)  # a reload (the fallback), if one were under way
                        page.wait_for_load_state("networkidle")
                        fcp = page.evaluate(
                            "() => performance.getEntriesByName('first-contentful-paint')[0]?.startTime ?? -1"
                        )
                        context.close()
                        if r == 0:
                            continue
                        sent = list(server.sent)
                        rounds.append(
                            {
                                "round": r - 1,
                                "requests": len(sent),
                                "bytes": sum(n for _, n, _ in sent),
                                "gzip_served": sum(1 for *_, gz in sent if gz),
                                "fcp_ms": fcp,
                                "ready_ms": ready,
                                "documents": len(documents),
                                "loadavg": load,
                                "files": sorted(sent, key=lambda x: -x[1])[:8],
                            }
                        )
                        print(
                            f"  round {r - 1}: {len(sent)} requests, {rounds[-1]['bytes'] / 1024:.0f} KiB on the wire,"
                            f" FCP {fcp:.0f} ms, ready {ready:.0f} ms, {len(documents)} document load(s)"
                            f"  load {load}",
                            flush=True,
                        )
                finally:
                    browser.close()
            server.shutdown()
        finally:
            stop_backend(procs, backend)
    kib = statistics.median(x["bytes"] for x in rounds) / 1024
    fcp = statistics.median(x["fcp_ms"] for x in rounds)
    ready_ms = statistics.median(x["ready_ms"] for x in rounds)
    documents = statistics.median(x["documents"] for x in rounds)
    print(
        f"  page /: {rounds[0]['requests']} requests, {kib:.0f} KiB gzip, FCP median {fcp:.0f} ms,"
        f" ready {ready_ms:.0f} ms",
        flush=True,
    )
    for name, size, gz in rounds[0]["files"]:
        print(f"    {size / 1024:7.1f} KiB {'gz ' if gz else 'raw'} {name}")
    targets = [
        check("page / KiB gzip", kib, 300),
        check("page / FCP ms", fcp, 1000),
        check("page / document loads on a first visit", documents, 1),
    ]
    finish("page_weight", {"rounds": rounds, "kib": kib, "fcp_ms": fcp, "ready_ms": ready_ms}, targets)


if __name__ == "__main__":
    main()
