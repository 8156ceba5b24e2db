"""Backend memory per open tab: RSS of the running app (prod, one port) before and after 40 idle tabs.

Each tab is a real chromium page on My Orders (websocket connected, linked to its visitor's shared state).
Target on this machine: <= 1 MiB of backend RSS per idle tab (the notes measured ~200 kB).
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _support import check

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
from tests.e2e.conftest import CHROMIUM, CHROMIUM_ARGS, app_env, free_port, stop, wait_until_up  # noqa: E402

TABS = 40


def backend_rss_kib(group: int) -> int:
    """Resident memory of every process of the app's process group (CLI, server, workers)."""
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


def main() -> None:
    from playwright.sync_api import sync_playwright

    port = free_port()
    url = f"http://127.0.0.1:{port}"
    tmp = Path(tempfile.mkdtemp(prefix="rxshop-bench-"))
    env = app_env(DATABASE_URL=f"sqlite:///{tmp / 'bench.db'}", APP_URL=url, BACKEND_URL=url)
    subprocess.run(
        [sys.executable, "-m", "rxshop", "migrate"], cwd=REPO, env=env, check=True, capture_output=True
    )
    log = tmp / "app.log"
    with open(log, "w") as out:
        proc = subprocess.Popen(
            [
                str(Path(sys.executable).parent / "reflex"),
                "run",
                "--env",
                "prod",
                "--single-port",
                "--backend-port",
                str(port),
            ],
            cwd=REPO,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        wait_until_up(url, proc, log)
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            warm = browser.new_page()
            warm.goto(url + "/orders")
            warm.get_by_text("No orders yet").wait_for()
            time.sleep(1)
            before = backend_rss_kib(proc.pid)
            pages = []
            for _ in range(TABS):
                page = browser.new_context().new_page()  # a visitor each: its own token and shared state
                page.goto(url + "/orders")
                page.get_by_text("No orders yet").wait_for()
                pages.append(page)
            time.sleep(2)
            after = backend_rss_kib(proc.pid)
            browser.close()
    finally:
        stop(proc)
    per_tab = (after - before) / TABS
    print(
        f"backend RSS {before / 1024:.0f} MiB idle, {after / 1024:.0f} MiB with {TABS} more tabs: "
        f"{per_tab:.0f} KiB per tab"
    )
    sys.exit(0 if check("KiB per idle tab", per_tab, 1024) else 1)


if __name__ == "__main__":
    main()
