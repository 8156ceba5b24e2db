"""Email without I/O: every kind renders as plain text and HTML from its templates (escaped, nothing fetched,
the shop's name and support address in each), SMTP_URL and the mail settings, and the back-off."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest

from rxshop.core.mail_settings import MailSettingError, normalize_email, parse_smtp_url
from rxshop.core.settings import SettingsError, parse_settings
from rxshop.domain.addresses import ShippingAddress
from rxshop.domain.lifecycle import OrderStatus
from rxshop.mail.compose import build_message, order_context
from rxshop.mail.outbox import Claimed, Kind
from rxshop.mail.render import render
from rxshop.mail.sender import Backoff
from rxshop.orders.views import OrderLineView, OrderView

NOW = datetime(2026, 12, 7, 9, 30, tzinfo=UTC)
HOSTILE = '<img src="https://evil.example/p.gif" onerror="alert(1)">'


def an_order(**changes) -> OrderView:
    values = dict(
        id="ord_0123456789abcdef01234567",
        visitor_id="a" * 32,
        status=OrderStatus.PAID,
        currency="usd",
        amount_total=5370,
        amount_refunded=0,
        lines=(
            OrderLineView("mug", "Morning Mug", 1800, 1),
            OrderLineView("notebook", "Dot-Grid Notebook", 1250, 2),
        ),
        created_at=NOW,
        updated_at=NOW,
        paid_at=NOW,
        stripe_session_id="cs_test_1",
        checkout_url=None,
        session_expires_at=None,
        payment_intent_id="pi_1",
        customer_email="ada@example.com",
        number="RX-7K2M9Q",
        amount_subtotal=4300,
        amount_shipping=1500,
        amount_discount=430,
        shipping_rate_name="Express",
        shipping=ShippingAddress(
            name=HOSTILE,
            line1="12 Rue de Rivoli",
            line2=None,
            city="Paris",
            state=None,
            postal_code="75001",
            country="FR",
        ),
    )
    values.update(changes)
    return OrderView(**values)  # type: ignore[arg-type]


def context(kind: Kind, params: dict | None = None, **extra) -> dict:
    return {
        "shop": {"name": "rxshop", "url": "https://shop.example", "support": "help@shop.example"},
        "order": order_context(an_order()),
        "params": params or {},
        "link": "https://shop.example/order?key=" + "A" * 22,
        **extra,
    }


KINDS = {
    Kind.ORDER_CONFIRMED: context(Kind.ORDER_CONFIRMED),
    Kind.PAYMENT_PROCESSING: context(Kind.PAYMENT_PROCESSING),
    Kind.PAYMENT_FAILED: context(Kind.PAYMENT_FAILED),
    Kind.SHIPPED: context(
        Kind.SHIPPED,
        {"carrier": HOSTILE, "tracking_number": "1Z999"},
        tracking_url="https://www.ups.com/track?tracknum=1Z999",
    ),
    Kind.REFUNDED: context(
        Kind.REFUNDED, {"amount": 1000}, amount="$10.00", refunded_total="$10.00", full=False
    ),
    Kind.ORDER_LINK: context(Kind.ORDER_LINK),
    Kind.SIGN_IN_CODE: context(Kind.SIGN_IN_CODE, {"email": "ada@example.com", "code": "042917"}, minutes=10),
    Kind.OWNER_NEW_ORDER: context(
        Kind.OWNER_NEW_ORDER, admin_url="https://shop.example/admin/order?id=ord_1"
    ),
    Kind.OWNER_EXCEPTION: context(
        Kind.OWNER_EXCEPTION,
        {"kind": "mismatch", "reference": "cs_1", "detail": HOSTILE},
        label="A payment does not match its order",
        amount="$53.70",
        admin_url="https://shop.example/admin/exceptions",
    ),
}


def test_every_kind_has_its_templates():
    assert set(KINDS) == set(Kind)


@pytest.mark.parametrize("kind", list(Kind))
def test_each_message_is_text_and_html_with_the_shop_and_its_support_address(kind: Kind):
    rendered = render(kind, KINDS[kind])
    assert "\n" not in rendered.subject and rendered.subject.endswith(" · rxshop")
    for body in (rendered.text, rendered.html):
        assert "rxshop" in body and "help@shop.example" in body and "https://shop.example" in body
    assert "<" not in rendered.text.replace(HOSTILE, "")  # plain text, no markup of ours
    # Nothing fetched: no image, no external style or script, no tracking pixel; escaped input stays text.
    assert not re.search(r"<(img|script|link|iframe|object)\b", rendered.html, re.I), rendered.html
    assert "url(" not in rendered.html and "@import" not in rendered.html
    assert 'name="viewport"' in rendered.html and "max-width:600px" in rendered.html


def test_what_buyers_and_owners_typed_is_escaped_in_html():
    shipped = render(Kind.SHIPPED, KINDS[Kind.SHIPPED])
    assert "&lt;img src=&#34;https://evil.example/p.gif&#34;" in shipped.html
    assert HOSTILE in shipped.text  # the plain text shows it as it was typed
    confirmed = render(Kind.ORDER_CONFIRMED, KINDS[Kind.ORDER_CONFIRMED])
    assert HOSTILE not in confirmed.html and "&lt;img" in confirmed.html  # the address's name


def test_the_confirmation_says_what_was_bought_for_how_much_and_links_the_order():
    rendered = render(Kind.ORDER_CONFIRMED, KINDS[Kind.ORDER_CONFIRMED])
    assert rendered.subject == "Order RX-7K2M9Q confirmed · rxshop"
    for line in (
        "1 × Morning Mug: $18.00",
        "2 × Dot-Grid Notebook: $25.00",
        "Subtotal: $43.00",
        "Shipping (Express): $15.00",
        "Discount: \u2212$4.30",
        "Total: $53.70",
        "https://shop.example/order?key=" + "A" * 22,
        "75001 Paris",
    ):
        assert line in rendered.text, line
    assert 'href="https://shop.example/order?key=' in rendered.html


def test_a_code_and_a_refund_read_right():
    code = render(Kind.SIGN_IN_CODE, KINDS[Kind.SIGN_IN_CODE])
    assert "042917" in code.text and "042917" not in code.subject and "10 minutes" in code.text
    refund = render(Kind.REFUNDED, KINDS[Kind.REFUNDED])
    assert refund.subject == "Order RX-7K2M9Q: refund of $10.00 · rxshop"
    assert "partial refund" in refund.text and "$10.00 of $53.70" in refund.text


def test_the_message_is_multipart_with_stable_headers():
    settings = parse_settings(
        {"MAIL_FROM": "rxshop <orders@shop.example>", "SUPPORT_EMAIL": "help@shop.example"}
    )
    claimed = Claimed(42, Kind.ORDER_CONFIRMED, "ord_1", {}, 1, NOW, "t")
    message = build_message(
        claimed, "ada@example.com", render(Kind.ORDER_CONFIRMED, KINDS[Kind.ORDER_CONFIRMED]), settings, NOW
    )
    assert message.get_content_type() == "multipart/alternative"
    assert [p.get_content_type() for p in message.get_payload()] == ["text/plain", "text/html"]
    assert message["Message-ID"] == f"<rxshop.42.{int(NOW.timestamp())}@shop.example>"  # the same on a retry
    assert (message["Reply-To"], message["Auto-Submitted"]) == ("help@shop.example", "auto-generated")


# --- Settings ---------------------------------------------------------------------------------------------------

PROD = {"REFLEX_ENV_MODE": "prod", "PAYMENTS_MODE": "simulator", "SECRET_KEY": "s" * 40}


def test_smtp_urls():
    starttls = parse_smtp_url("smtp://user%40x:p%3Ass@mail.example.com")
    assert (starttls.host, starttls.port, starttls.implicit_tls, starttls.starttls_required) == (
        "mail.example.com",
        587,
        False,
        True,
    )
    assert (starttls.username, starttls.password) == ("user@x", "p:ss") and "p:ss" not in repr(starttls)
    tls = parse_smtp_url("smtps://mail.example.com")
    assert (tls.port, tls.implicit_tls, tls.describe()) == (465, True, "mail.example.com:465 (TLS)")
    local = parse_smtp_url("smtp://127.0.0.1:1025")
    assert not local.starttls_required and local.describe() == "127.0.0.1:1025 (STARTTLS if offered)"
    for bad in (
        "http://mail.example.com",
        "smtp://",
        "smtp://host:99999",
        "smtp://host/path",
        "smtp://h?tls=0",
    ):
        with pytest.raises(MailSettingError):
            parse_smtp_url(bad)


def test_development_sends_to_the_mailbox_without_smtp_url():
    settings = parse_settings({})
    assert settings.mail_mode == "mailbox" and settings.mailbox_url == "http://localhost:8000/dev/mailbox"
    assert parse_settings({"SMTP_URL": "smtp://127.0.0.1:1025"}).mail_mode == "smtp"
    assert parse_settings({"MAIL_MODE": "OFF"}).describe_mail().startswith("Email: OFF")


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        (
            {},
            "SMTP_URL is not set in production: set it (smtp://user:password@host:587 or smtps://...:465) so buyers get their confirmations, or set MAIL_MODE=off to send no email.",
        ),
        ({"MAIL_MODE": "mailbox"}, "MAIL_MODE=mailbox is for development only"),
        ({"MAIL_MODE": "smtp"}, "MAIL_MODE=smtp needs SMTP_URL"),
        ({"SMTP_URL": "smtps://mail.example.com"}, "MAIL_FROM is required in production"),
        ({"SMTP_URL": "mail.example.com"}, "SMTP_URL must look like smtp://"),
        (
            {"MAIL_MODE": "carrier-pigeon", "MAIL_FROM": "x"},
            "MAIL_MODE must be smtp, mailbox or off, got 'carrier-pigeon'.",
        ),
    ],
)
def test_production_refuses_to_drop_email_in_silence(env, expected):
    with pytest.raises(SettingsError) as refused:
        parse_settings({**PROD, **env})
    assert expected in refused.value.one_line()


def test_production_starts_with_smtp_or_with_email_off():
    on = parse_settings(
        {**PROD, "SMTP_URL": "smtps://u:secret@mail.example.com", "MAIL_FROM": "Shop <o@shop.example>"}
    )
    assert on.mail_mode == "smtp" and on.support_address == "o@shop.example"
    assert "secret" not in on.describe_mail() and on.mailbox_url == ""
    assert parse_settings({**PROD, "MAIL_MODE": "off"}).mail_mode == "off"


def test_addresses():
    with pytest.raises(SettingsError, match="OWNER_EMAIL must be an email address"):
        parse_settings({"OWNER_EMAIL": "owner"})
    with pytest.raises(SettingsError, match="MAIL_FROM must be an address"):
        parse_settings({"MAIL_FROM": "a@b.example\nBcc: x@y.example"})
    assert normalize_email("  Ada@Example.COM ") == "ada@example.com"
    for bad in ("", "ada", "a b@c.d", "<a@b.c>", "a@b.c, d@e.f", "x" * 400 + "@a.b"):
        assert normalize_email(bad) is None, bad


def test_back_off_doubles_up_to_its_cap():
    backoff = Backoff(first=10, factor=2, cap=60, jitter=0)
    assert [backoff.delay(n) for n in range(1, 6)] == [10, 20, 40, 60, 60]
    jittered = Backoff(first=10, jitter=0.1)
    assert all(9 <= jittered.delay(1) <= 11 for _ in range(50))


def test_a_long_subject_and_a_named_sender_read_back_as_written():
    import email
    import email.policy

    settings = parse_settings({"MAIL_FROM": "Café Crème <orders@shop.example>"})
    claimed = Claimed(7, Kind.PAYMENT_PROCESSING, "ord_1", {}, 1, NOW, "t")
    rendered = render(Kind.PAYMENT_PROCESSING, KINDS[Kind.PAYMENT_PROCESSING])
    raw = build_message(claimed, "ada@example.com", rendered, settings, NOW).as_bytes()
    assert raw.isascii()  # 7-bit on the wire, whatever the text
    read = email.message_from_bytes(raw, policy=email.policy.default)
    assert read["Subject"] == "Order RX-7K2M9Q received: payment processing · rxshop"
    assert read["From"] == "Café Crème <orders@shop.example>"
    assert "1 × Morning Mug: $18.00" in read.get_body(("plain",)).get_content()
