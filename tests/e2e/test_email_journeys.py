"""Email, as a buyer lives it, against a real SMTP server (aiosmtpd, the `mail` fixture): the confirmation
arrives and its link opens the order in a fresh browser, live; the owner ships and the buyer's email has the
tracking link; the owner revokes the link and a new one arrives; "Find my orders" with the emailed code in a
fresh browser.
"""

from __future__ import annotations

import re
import secrets
from email.message import EmailMessage

from playwright.sync_api import Browser, Page, expect

from tests.fixtures.admin import sign_in
from tests.fixtures.browser import (
    PAID_HEADING,
    RETURN_PAGE,
    axe_problems,
    choose,
    fill_delivery,
    open_shop,
    overflow,
    press_buy,
)
from tests.fixtures.servers import RunningShop
from tests.fixtures.smtp import OWNER_EMAIL, SmtpSink, html_of, order_link_in, text_of

CODE = re.compile(r"\b(\d{6})\b")


def new_address() -> str:
    return f"buyer-{secrets.token_hex(4)}@example.com"


def buy_as(page: Page, shop: RunningShop, email: str) -> str:
    """Buy a mug, paying with `email` on the hosted page; returns the order number shown on the return page."""
    open_shop(page, shop)
    choose(page, "Morning Mug", 1)
    press_buy(page)
    expect(page.get_by_text("Test checkout")).to_be_visible()
    page.get_by_label("Email").fill(email)
    fill_delivery(page)
    page.get_by_label("Card number").fill("4242 4242 4242 4242")
    page.get_by_role("button", name="Pay").click()
    page.wait_for_url(RETURN_PAGE)
    expect(page.get_by_role("heading", name=PAID_HEADING)).to_be_visible()
    number = page.locator(".order-item[aria-current='true'] .order-number").inner_text()
    assert number.startswith("RX-")
    return number


def kind(message: EmailMessage) -> str:
    return str(message["X-Rxshop-Kind"])


def test_the_confirmation_link_opens_the_order_anywhere_and_follows_shipping(
    browser: Browser, page: Page, shop: RunningShop, mail: SmtpSink
):
    email = new_address()
    number = buy_as(page, shop, email)

    confirmation = mail.wait_for(lambda m: m["To"] == email and kind(m) == "order_confirmed")
    assert confirmation["Subject"] == f"Order {number} confirmed · rxshop"
    assert "help@shop.test" in text_of(confirmation) and "help@shop.test" in html_of(confirmation)
    notice = mail.wait_for(lambda m: m["To"] == OWNER_EMAIL and number in str(m["Subject"]))
    assert kind(notice) == "owner_new_order"
    link = order_link_in(confirmation)
    assert link.startswith(shop.url + "/order?key=")

    phone = browser.new_context(
        viewport={"width": 375, "height": 800}
    )  # another device: no cookie of the buyer's
    try:
        elsewhere = phone.new_page()
        elsewhere.goto(link)
        item = elsewhere.locator(".order-item")
        expect(item.locator(".order-number")).to_have_text(number)
        expect(item).to_have_attribute("data-status", "paid")
        expect(item).to_contain_text("Paid — preparing your order")
        expect(item.locator(".ship-to")).to_contain_text("1 Main Street")
        assert axe_problems(elsewhere, "order link page") == []
        assert overflow(elsewhere, "order link page at 375 px") == []
        elsewhere.evaluate("window.__rxshop_not_reloaded = true")

        owner = browser.new_context()
        try:
            desk = owner.new_page()
            sign_in(desk, shop, "/admin/orders")
            desk.locator(".admin-order-row", has_text=number).get_by_role("link", name=number).click()
            expect(desk.locator("#order-number")).to_have_text(number)
            messages = desk.locator("section[aria-labelledby='messages-heading']")
            expect(messages.locator(".admin-message-row[data-status='sent']")).to_have_count(
                2
            )  # buyer, owner
            desk.get_by_label("Carrier").select_option("ups")
            desk.get_by_label("Tracking number").fill("1Z999AA10123456784")
            desk.get_by_role("button", name="Mark shipped").click()

            shipped = mail.wait_for(lambda m: m["To"] == email and kind(m) == "shipped")
            assert f"Order {number} has shipped" in shipped["Subject"]
            assert "https://www.ups.com/track?tracknum=1Z999AA10123456784" in text_of(shipped)
            assert 'href="https://www.ups.com/track?tracknum=1Z999AA10123456784"' in html_of(shipped)
            # The order's page on the other device followed, without a reload.
            expect(item).to_have_attribute("data-fulfillment", "shipped")
            expect(item.get_by_role("link", name="track the parcel")).to_have_attribute(
                "href", "https://www.ups.com/track?tracknum=1Z999AA10123456784"
            )
            assert elsewhere.evaluate("window.__rxshop_not_reloaded === true")
            expect(messages.locator(".admin-message-row[data-status='sent']")).to_have_count(3)  # live too

            # The owner revokes the link: the open page stops showing the order, a new link arrives.
            desk.get_by_role("button", name="Revoke links and send a new one").click()
            desk.get_by_role("button", name="Revoke and send").click()
            expect(desk.locator("#messages-result")).to_contain_text(
                "link(s) revoked. A new link is on its way"
            )
            expect(elsewhere.locator("#order-link-invalid")).to_be_visible()
            expect(elsewhere.locator(".order-item")).to_have_count(0)
            renewed = mail.wait_for(lambda m: m["To"] == email and kind(m) == "order_link")
            new_link = order_link_in(renewed)
            assert new_link != link
            elsewhere.goto(link)
            expect(elsewhere.locator("#order-link-invalid")).to_be_visible()
            elsewhere.goto(new_link)
            expect(elsewhere.locator(".order-item .order-number")).to_have_text(number)

            # Sent again by the owner: a second copy, recorded beside the first.
            desk.locator(".admin-message-row", has_text="Order confirmation").first.get_by_role(
                "button", name=re.compile("Send again")
            ).click()
            expect(desk.locator("#messages-result")).to_have_text("Order confirmation queued again.")
            mail.wait_for(
                lambda m: m["To"] == email and kind(m) == "order_confirmed" and m is not confirmation
            )
            assert len([m for m in mail.to(email) if kind(m) == "order_confirmed"]) == 2
        finally:
            owner.close()
    finally:
        phone.close()
    assert len([m for m in mail.to(email) if kind(m) == "shipped"]) == 1  # never twice


def test_find_my_orders_with_the_emailed_code_in_a_fresh_browser(
    browser: Browser, page: Page, shop: RunningShop, mail: SmtpSink
):
    email = new_address()
    number = buy_as(page, shop, email)

    fresh = browser.new_context()  # cleared cookies, or another browser
    try:
        mine = fresh.new_page()
        mine.goto(shop.url + "/orders")
        expect(mine.locator(".orders-empty")).to_be_visible()
        section = mine.locator("section[aria-labelledby='find-orders-heading']")

        # An address without orders gets the very same answer, and no email.
        stranger = new_address()
        section.get_by_label("Email you used at checkout").fill(stranger)
        section.get_by_role("button", name="Email me a code").click()
        expect(mine.locator("#find-orders-notice")).to_have_text(
            f"If {stranger} has orders with us, a 6-digit code is on its way to it. "
            "It works for 10 minutes, in this browser."
        )
        section.get_by_role("button", name="Use another address").click()

        section.get_by_label("Email you used at checkout").fill(email.upper())  # as typed
        section.get_by_role("button", name="Email me a code").click()
        expect(mine.locator("#find-orders-notice")).to_contain_text(f"If {email} has orders with us")
        message = mail.wait_for(lambda m: m["To"] == email and kind(m) == "sign_in_code")
        [code] = CODE.findall(text_of(message))
        assert mail.to(stranger) == []

        wrong = f"{(int(code) + 1) % 1_000_000:06d}"
        section.get_by_label("6-digit code from the email").fill(wrong)
        section.get_by_role("button", name="Show my orders").click()
        expect(mine.locator("#find-orders-error")).to_have_text("That code is not right. 4 tries left.")
        section.get_by_label("6-digit code from the email").fill(code)
        section.get_by_role("button", name="Show my orders").click()
        found = section.locator(".found-orders .order-item")
        expect(found.locator(".order-number")).to_have_text([number])
        expect(found).to_have_attribute("data-status", "paid")
        expect(section.locator("#found-emails")).to_contain_text(email)
        assert axe_problems(mine, "My Orders with orders found by email") == []

        mine.reload()  # kept for this browser (its server-side visitor), not for the page
        expect(section.locator(".found-orders .order-item .order-number")).to_have_text([number])
        section.get_by_role("button", name="Stop showing these here").click()
        expect(section.locator(".found-orders")).to_have_count(0)
    finally:
        fresh.close()
