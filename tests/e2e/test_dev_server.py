"""`reflex run` as `make run` starts it: dev server, frontend and backend on two ports, built-in simulator.

Runs in a private copy of the app, so its .web/ never meets the production build the other tests serve.
"""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.fixtures.browser import pay_on_hosted_page, visitor_id_of
from tests.fixtures.servers import (
    ARTIFACTS,
    RunningShop,
    app_env,
    clean_copy,
    free_port,
    stop,
    wait_until_answering,
)


@pytest.fixture(scope="module")
def dev_shop(tmp_path_factory) -> Iterator[RunningShop]:
    app_dir = tmp_path_factory.mktemp("dev") / "app"
    clean_copy(app_dir)
    frontend, backend = free_port(), free_port()
    db_path = app_dir / ".data" / "rxshop.db"  # the default DATABASE_URL, as `make run` has it
    env = app_env(APP_URL=f"http://127.0.0.1:{frontend}", BACKEND_URL=f"http://127.0.0.1:{backend}")
    env.pop("DATABASE_URL", None)
    env.pop("ADMIN_PASSWORD", None)  # the owner's dashboard stays off here
    subprocess.run(
        [sys.executable, "-m", "rxshop", "migrate"], cwd=app_dir, env=env, check=True, capture_output=True
    )
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    log_path = ARTIFACTS / "dev-server.log"
    with open(log_path, "w") as log:
        proc = subprocess.Popen(
            [
                str(Path(sys.executable).parent / "reflex"),
                "run",
                "--frontend-port",
                str(frontend),
                "--backend-port",
                str(backend),
            ],
            cwd=app_dir,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        wait_until_answering(
            [f"http://127.0.0.1:{backend}/ping", f"http://127.0.0.1:{frontend}/"], proc, log_path
        )
        yield RunningShop(url=f"http://127.0.0.1:{frontend}", db_path=db_path, log_path=log_path)
    finally:
        stop(proc)


def test_the_dev_server_takes_a_payment_across_its_two_ports(page: Page, dev_shop: RunningShop):
    """Also a guard for the default database's place: a SQLite file beside the app made the dev server
    reload on every write (its -wal file), and the Buy redirect was lost in the reload."""
    documents: list[str] = []
    page.on("request", lambda r: documents.append(r.url) if r.resource_type == "document" else None)
    errors: list[str] = []  # React's development build reports invalid markup (a <p> inside a <p>) here
    page.on("console", lambda m: errors.append(f"{page.url}: {m.text}") if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(f"{page.url}: {e}"))
    page.goto(dev_shop.url + "/")
    visitor = visitor_id_of(page)
    # The dev server serves the page, the backend its <head> script: the credential is in place before the
    # app connects, so the first visit loads once here too.
    assert page.evaluate("performance.getEntriesByType('navigation')[0].type") == "navigate"
    assert documents == [dev_shop.url + "/"], documents
    page.get_by_label("Increase quantity of Canvas Tote").click()
    expect(page.locator("#cart-total")).to_have_text("$24.00")
    page.get_by_role("button", name="Buy").click()

    # The built-in simulator lives on the backend's port: another origin, as Stripe is.
    page.wait_for_url(re.compile(r":\d+/stripe-sim/pay/cs_test_"))
    assert not page.url.startswith(dev_shop.url)
    pay_on_hosted_page(page)

    page.wait_for_url(re.compile(re.escape(dev_shop.url) + r"/checkout/success/?\?session_id=cs_test_"))
    expect(page.get_by_role("heading", name="Thank you! Your order is paid.")).to_be_visible()
    expect(page.locator(".order-item")).to_have_count(1)
    assert errors == [], errors
    assert [(row["status"], row["amount_total"]) for row in dev_shop.orders(visitor)] == [
        ("paid", 2900)
    ]  # $24.00 + Standard shipping
    assert dev_shop.log_path.read_text().count("Compiling") == 1  # no hot reload along the way


def test_without_admin_password_the_dashboard_says_how_to_turn_it_on(page: Page, dev_shop: RunningShop):
    page.goto(dev_shop.url + "/admin/orders")
    visitor_id_of(page)
    expect(page.locator("#admin-disabled")).to_have_text("The owner's dashboard is turned off.")
    expect(page.get_by_text("set ADMIN_PASSWORD (at least 12 characters)")).to_be_visible()
    expect(page.get_by_label("Password")).to_have_count(0)


def test_without_smtp_url_the_mail_goes_to_the_built_in_mailbox(page: Page, dev_shop: RunningShop):
    """`make run` with no SMTP_URL: every page says where the emails went, and the mailbox shows them."""
    page.goto(dev_shop.url + "/")
    visitor_id_of(page)
    banner = page.get_by_role("note", name="Development mailbox")
    expect(banner).to_contain_text("Emails are not sent: read them in the built-in mailbox.")
    mailbox = banner.get_by_role("link", name="built-in mailbox").get_attribute("href")
    assert mailbox is not None and mailbox.endswith("/dev/mailbox") and not mailbox.startswith(dev_shop.url)

    page.get_by_label("Increase quantity of Morning Mug").click()
    page.get_by_role("button", name="Buy").click()
    page.wait_for_url(re.compile(r":\d+/stripe-sim/pay/cs_test_"))
    pay_on_hosted_page(page)
    page.wait_for_url(re.compile(re.escape(dev_shop.url) + r"/checkout/success/?\?session_id=cs_test_"))
    number = page.locator(".order-item[aria-current='true'] .order-number").inner_text()

    page.goto(mailbox)
    expect(page.get_by_role("heading", name="Development mailbox")).to_be_visible()
    confirmation = page.get_by_role("link", name=f"Order {number} confirmed · rxshop")
    expect(confirmation).to_be_visible(timeout=20_000)  # the page reloads itself every 5 s
    confirmation.click()
    order_link = page.locator("pre a[href*='/order?key=']").get_attribute("href")  # in the plain text
    assert order_link is not None and order_link.startswith(dev_shop.url + "/order?key=")
    page.goto(order_link)  # the order, as another browser would open it
    expect(page.locator(".order-item .order-number")).to_have_text(number)
