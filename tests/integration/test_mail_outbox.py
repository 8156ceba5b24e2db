"""The outbox: every email is written in the transaction of its cause and delivered by the sender to a real
SMTP server (aiosmtpd), once, with retries and back-off; on SQLite and PostgreSQL.

Causes are produced through production's paths: the simulator's signed webhooks pay, settle and refund,
the owner's services ship, the return page's fulfillment, the exceptions inbox.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
import sqlalchemy as sa
from sqlmodel import select

from rxshop.core.db import new_session
from rxshop.core.mail_models import OutboxMessage
from rxshop.core.models import utcnow
from rxshop.domain.lifecycle import OrderStatus
from rxshop.mail.outbox import Kind, Status
from rxshop.mail.sender import Backoff, Sender
from rxshop.mail.transport import SmtpTransport
from rxshop.orders import webhook_batch, webhook_fast
from rxshop.orders.fulfillment import apply_checkout
from rxshop.orders.records import transaction
from rxshop.orders.stripe_events import record_unprocessable
from rxshop.orders.webhook_fast import Followups
from rxshop.payments.wire import event_from_json
from tests.fixtures.db import checkout_for
from tests.fixtures.shop import DELAYED_CARD, Owner, Shop
from tests.fixtures.smtp import SmtpSink, html_of, order_link_in, text_of

OWNER = "owner@shop.test"
BUYER = "buyer@example.com"  # the simulator's buyer


def mail_settings(shop: Shop, sink: SmtpSink, **extra: str) -> None:
    shop.configure(
        **{
            "SMTP_URL": sink.url,
            "MAIL_FROM": "rxshop <orders@shop.test>",
            "OWNER_EMAIL": OWNER,
            "SUPPORT_EMAIL": "help@shop.test",
            **extra,
        }
    )


def outbox(shop: Shop, **where) -> list[OutboxMessage]:
    with new_session(shop.engine) as session:
        query = select(OutboxMessage).order_by(OutboxMessage.id)
        for name, value in where.items():
            query = query.where(getattr(OutboxMessage, name) == value)
        return list(session.exec(query).all())


def sender(sink: SmtpSink, **kwargs) -> Sender:
    backoff = kwargs.pop("backoff", Backoff(first=0.2, factor=2, cap=5, max_attempts=6, jitter=0))
    return Sender(SmtpTransport(sink_target(sink), timeout=5), backoff=backoff, **kwargs)


def sink_target(sink: SmtpSink):
    from rxshop.core.mail_settings import parse_smtp_url

    return parse_smtp_url(sink.url)


async def drain(s: Sender) -> int:
    """Rounds until nothing is due now."""
    total = 0
    while handled := await s.send_due():
        total += handled
    return total


@pytest.fixture
def mailing(webhook_shop: Shop, smtp_sink: SmtpSink) -> Shop:
    mail_settings(webhook_shop, smtp_sink)
    return webhook_shop


async def paid(shop: Shop, card: str | None = None):
    purchase = await shop.purchase()
    if card is None:
        shop.pay(purchase)
        shop.delivered(shop.event("checkout.session.completed", purchase.session_id)["id"])
    else:
        shop.pay(purchase, card)
    return purchase


# --- Written with the change ---------------------------------------------------------------------------------


async def test_a_paid_order_sends_the_buyer_a_confirmation_and_the_owner_a_notice(mailing: Shop, smtp_sink):
    purchase = await paid(mailing)
    order = mailing.order(purchase.order_id)
    queued = outbox(mailing, order_id=order.id)
    assert [(m.kind, m.status) for m in queued] == [
        (Kind.ORDER_CONFIRMED, Status.QUEUED),
        (Kind.OWNER_NEW_ORDER, Status.QUEUED),
    ]
    assert await drain(sender(smtp_sink)) == 2

    [confirmation] = smtp_sink.to(BUYER)
    assert confirmation["Subject"] == f"Order {order.number} confirmed · rxshop"
    assert (
        confirmation["From"] == "rxshop <orders@shop.test>" and confirmation["Reply-To"] == "help@shop.test"
    )
    assert confirmation.get_content_type() == "multipart/alternative"
    for part in (text_of(confirmation), html_of(confirmation)):
        assert order.number in part and "$60.00" in part and "help@shop.test" in part and "rxshop" in part
    assert order_link_in(confirmation).startswith("http://shop.test/order?key=")
    [notice] = smtp_sink.to(OWNER)
    assert notice["Subject"] == f"New order {order.number}: $60.00 · rxshop"
    assert f"http://shop.test/admin/order?id={order.id}" in text_of(notice)
    assert {(m.status, m.recipient, m.attempts) for m in outbox(mailing)} == {
        (Status.SENT, BUYER, 1),
        (Status.SENT, OWNER, 1),
    }
    assert await drain(sender(smtp_sink)) == 0 and len(smtp_sink.messages) == 2  # never twice


async def test_a_repeated_or_late_payment_report_queues_nothing_more(mailing: Shop, smtp_sink):
    purchase = await paid(mailing)
    event = mailing.event("checkout.session.completed", purchase.session_id)
    mailing.deliver(event["id"], copies=3, concurrent=True)  # the webhook again, three times at once
    order = mailing.order(purchase.order_id)
    with new_session(mailing.engine) as session:
        apply_checkout(
            session, checkout_for(order, id=purchase.session_id), visitor_id=None
        )  # the return page
        session.commit()
    assert [m.kind for m in outbox(mailing)] == [Kind.ORDER_CONFIRMED, Kind.OWNER_NEW_ORDER]


async def test_a_rolled_back_payment_leaves_no_message(mailing: Shop):
    """The message is part of the transaction: if anything after it fails, neither the payment nor its email
    is there (the full path, and the webhook's fast path)."""
    for path in ("full", "fast"):
        purchase = await mailing.purchase()
        order = mailing.order(purchase.order_id)
        checkout = checkout_for(order, id=purchase.session_id, line_items=None)
        with new_session(mailing.engine) as session, pytest.raises(RuntimeError):
            with transaction(session):
                if path == "full":
                    apply_checkout(session, checkout, visitor_id=None)
                else:
                    event = event_from_json(_event_json(checkout))
                    assert (
                        webhook_fast.fast_step(session.connection(), event, "webhook", Followups())
                        is not None
                    )
                assert session.exec(select(sa.func.count()).select_from(OutboxMessage)).one() == 2
                raise RuntimeError("the rest of the transaction failed")
        assert mailing.order(order.id).status == OrderStatus.PENDING
        assert outbox(mailing) == []


def _event_json(checkout) -> bytes:
    import json

    from tests.fixtures.db import session_json

    return json.dumps(
        {
            "id": "evt_" + checkout.id[-20:],
            "object": "event",
            "type": "checkout.session.completed",
            "created": 1,
            "livemode": False,
            "data": {"object": session_json(checkout)},
        }
    ).encode()


async def test_the_webhook_fast_path_adds_one_prebuilt_insert(mailing: Shop):
    """Its speed: the paid webhook is still one transaction, with exactly one more statement (the emails)."""
    purchase = await mailing.purchase()
    order = mailing.order(purchase.order_id)
    event = event_from_json(_event_json(checkout_for(order, id=purchase.session_id, line_items=None)))
    statements: list[str] = []
    listener = lambda *args: statements.append(args[2])  # noqa: E731 (before_cursor_execute's statement)
    sa.event.listen(mailing.engine, "before_cursor_execute", listener)
    try:
        with new_session(mailing.engine) as session:
            [result] = webhook_batch.apply_webhook_events(session=session, events=[event])
    finally:
        sa.event.remove(mailing.engine, "before_cursor_execute", listener)
    assert result.outcome == "fulfilled"
    writes = [s for s in statements if s.lstrip().upper().startswith(("INSERT", "UPDATE", "DELETE"))]
    assert len(writes) == 4, writes  # the event row, the order, its timeline row, the emails
    [mail] = [s for s in writes if "mail_outbox" in s]
    assert (
        mail.count("'queued', 0") == 2 and "ON CONFLICT (dedupe_key) DO NOTHING" in mail
    )  # two rows, one INSERT
    assert [m.kind for m in outbox(mailing)] == [Kind.ORDER_CONFIRMED, Kind.OWNER_NEW_ORDER]


async def test_a_delayed_payment_says_processing_then_paid(mailing: Shop, smtp_sink):
    mailing.control("config", {"async_settle_seconds": 600})
    purchase = await paid(mailing, DELAYED_CARD)
    mailing.delivered(mailing.event("checkout.session.completed", purchase.session_id)["id"])
    await drain(sender(smtp_sink))
    [processing] = smtp_sink.to(BUYER)
    assert "payment processing" in processing["Subject"] and "/order?key=" in text_of(processing)
    mailing.control("clock/advance", {"seconds": 601})
    mailing.delivered(mailing.event("checkout.session.async_payment_succeeded", purchase.session_id)["id"])
    await drain(sender(smtp_sink))
    assert [str(m["Subject"]).split(" · ")[0].split(" ", 2)[2] for m in smtp_sink.to(BUYER)] == [
        "received: payment processing",
        "confirmed",
    ]


async def test_a_failed_delayed_payment_tells_the_buyer(mailing: Shop, smtp_sink):
    purchase = await paid(mailing, DELAYED_CARD)
    mailing.control(f"sessions/{purchase.session_id}/settle", {"outcome": "failed"})
    mailing.delivered(mailing.event("checkout.session.async_payment_failed", purchase.session_id)["id"])
    await drain(sender(smtp_sink))
    kinds = [m["X-Rxshop-Kind"] for m in smtp_sink.to(BUYER)]
    assert kinds == [Kind.PAYMENT_PROCESSING, Kind.PAYMENT_FAILED]
    assert "nothing was charged" in text_of(smtp_sink.to(BUYER)[1])
    assert smtp_sink.to(OWNER) == []  # no new paid order


@pytest.mark.usefixtures("webhook_shop")
async def test_shipping_and_refunds_reach_the_buyer(owner: Owner, smtp_sink):
    from rxshop.admin.actions import ActionRefused, mark_shipped, new_request_key, refund_order

    shop = owner.shop
    mail_settings(shop, smtp_sink, ADMIN_PASSWORD=shop.settings.admin_password or "")
    order = await owner.paid_order()
    owner.call(mark_shipped, order_id=order.id, carrier="UPS", tracking_number="1Z999AA10123456784")
    with pytest.raises(ActionRefused, match="already shipped"):  # again: refused, so no second email either
        owner.call(mark_shipped, order_id=order.id, carrier="UPS", tracking_number="1Z999AA10123456784")
    charge = shop.sim_session(order.stripe_session_id)["charge"]["id"]
    reasons = (("other", "a mug arrived chipped"), ("requested_by_customer", ""))
    for count, (amount, (reason, note)) in enumerate(
        zip((1000, order.amount_total - 1000), reasons, strict=True), start=1
    ):
        await refund_order(
            admin=owner.admin,
            order_id=order.id,
            amount=amount,
            request_key=new_request_key(),
            gateway=shop.gateway,
            reason=reason,
            note=note,
        )
        events = shop.events("charge.refunded", charge)
        assert len(events) == count
        shop.delivered(events[0]["id"])  # newest first
    await drain(sender(smtp_sink))
    buyer = {m["X-Rxshop-Kind"]: [] for m in smtp_sink.to(BUYER)}
    for m in smtp_sink.to(BUYER):
        buyer[m["X-Rxshop-Kind"]].append(m)
    [shipped] = buyer[Kind.SHIPPED]
    assert "https://www.ups.com/track?tracknum=1Z999AA10123456784" in text_of(shipped)
    assert 'href="https://www.ups.com/track?tracknum=1Z999AA10123456784"' in html_of(shipped)
    partial, full = buyer[Kind.REFUNDED]
    assert "refund of $10.00" in partial["Subject"] and "partial refund" in text_of(partial)
    assert "Reason: a mug arrived chipped." in text_of(partial) and "a mug arrived chipped" in html_of(
        partial
    )
    assert "Reason: requested by customer." in text_of(full)
    assert f"refund of ${(order.amount_total - 1000) // 100}.00" in full["Subject"]
    assert "refunded in full" in text_of(full)


@pytest.mark.usefixtures("webhook_shop")
async def test_an_edited_tracking_number_reaches_the_buyer_only_when_the_owner_asks(owner: Owner, smtp_sink):
    from rxshop.admin.actions import mark_shipped
    from rxshop.admin.order_edits import edit_tracking

    shop = owner.shop
    mail_settings(shop, smtp_sink, ADMIN_PASSWORD=shop.settings.admin_password or "")
    order = await owner.paid_order()
    owner.call(mark_shipped, order_id=order.id, carrier="UPS", tracking_number="1Z999AA10123456784")
    owner.call(edit_tracking, order_id=order.id, carrier="UPS", tracking_number="1Z999AA10123456785")
    owner.call(edit_tracking, order_id=order.id, carrier="DHL", tracking_number="1234567890", tell_buyer=True)
    await drain(sender(smtp_sink))
    shipped = [m for m in smtp_sink.to(BUYER) if m["X-Rxshop-Kind"] == Kind.SHIPPED]
    assert len(shipped) == 2  # the first shipment, then the edit the owner asked to send; not the quiet one
    assert "1234567890" in text_of(shipped[1]) and "1Z999AA10123456785" not in text_of(shipped[1])


async def test_a_new_exception_tells_the_owner_once(mailing: Shop, smtp_sink):
    for _ in range(2):  # Stripe repeats it
        with new_session(mailing.engine) as session:
            record_unprocessable(
                session=session,
                event_id="evt_broken1",
                event_type="checkout.session.completed",
                created=1,
                detail="no id",
            )
    await drain(sender(smtp_sink))
    [notice] = smtp_sink.messages
    assert (
        notice["To"] == OWNER
        and "Needs a look: A Stripe event that could not be applied" in notice["Subject"]
    )
    assert "evt_broken1" in text_of(notice) and "http://shop.test/admin/exceptions" in text_of(notice)


async def test_with_mail_off_nothing_is_queued(webhook_shop: Shop, smtp_sink):
    mail_settings(webhook_shop, smtp_sink, MAIL_MODE="off")
    await paid(webhook_shop)
    assert outbox(webhook_shop) == []


# --- Delivered once, whatever the server does ------------------------------------------------------------------


async def test_a_busy_server_is_retried_with_exponential_back_off(mailing: Shop, smtp_sink):
    await paid(mailing)
    smtp_sink.answer("451 4.3.0 Try again later")
    s = sender(smtp_sink, backoff=Backoff(first=60, factor=2, cap=600, max_attempts=5, jitter=0))
    start = utcnow()
    waits = []
    for attempt in range(1, 4):
        now = start + timedelta(seconds=sum(waits) + attempt)
        assert await s.send_due(now) == 2
        [row, _owner] = outbox(mailing)
        assert (row.status, row.attempts) == (Status.QUEUED, attempt)
        assert row.last_error and "451 4.3.0 Try again later" in row.last_error
        waits.append((row.next_attempt_at - utcnow()).total_seconds())
        assert await s.send_due(row.next_attempt_at - timedelta(seconds=1)) == 0  # not before it is due
    assert [round(w / 60) for w in waits] == [1, 2, 4]  # 60 s, then doubling
    smtp_sink.answer(None)
    assert await s.send_due(start + timedelta(hours=1)) == 2
    assert [(m.status, m.attempts, m.last_error) for m in outbox(mailing)] == [(Status.SENT, 4, None)] * 2
    assert len(smtp_sink.messages) == 2


async def test_a_refused_address_fails_with_the_reason_and_is_not_retried(mailing: Shop, smtp_sink):
    await paid(mailing)
    smtp_sink.answer("550 5.1.1 No such mailbox")
    await drain(sender(smtp_sink))
    assert {(m.status, m.attempts) for m in outbox(mailing)} == {(Status.FAILED, 1)}
    assert "550 5.1.1 No such mailbox" in (outbox(mailing)[0].last_error or "")
    assert await drain(sender(smtp_sink)) == 0


async def test_smtp_down_for_a_while_then_delivered_once_it_is_back(mailing: Shop, smtp_sink):
    await paid(mailing)
    smtp_sink.stop()  # connections refused
    s = sender(smtp_sink, poll_seconds=0.1)
    running = asyncio.create_task(s.run())
    try:
        await asyncio.sleep(1.0)
        down = outbox(mailing)
        assert all(m.status == Status.QUEUED and m.attempts >= 2 for m in down), down
        assert "could not reach the mail server" in (down[0].last_error or "")
        smtp_sink.start()
        for _ in range(200):
            if all(m.status == Status.SENT for m in outbox(mailing)):
                break
            await asyncio.sleep(0.05)
    finally:
        running.cancel()
    assert [m.status for m in outbox(mailing)] == [Status.SENT, Status.SENT]
    assert sorted(str(m["To"]) for m in smtp_sink.messages) == [BUYER, OWNER]  # exactly once each


async def test_a_message_held_by_a_sender_that_died_is_sent_after_its_lease(mailing: Shop, smtp_sink):
    from rxshop.mail import outbox as box

    await paid(mailing)
    now = utcnow()
    with new_session(mailing.engine) as session:  # a sender claims both, then its process dies
        assert len(box.claim_due(session=session, now=now, limit=10, lease=timedelta(minutes=5))) == 2
    s = sender(smtp_sink)
    assert await s.send_due(now + timedelta(minutes=4)) == 0  # still held
    assert await s.send_due(now + timedelta(minutes=6)) == 2
    assert {(m.status, m.attempts) for m in outbox(mailing)} == {(Status.SENT, 2)}
    assert len(smtp_sink.messages) == 2


def test_two_senders_at_once_send_each_message_once(shop: Shop, smtp_sink):
    """Two workers' senders (threads with their own event loops) drain one outbox: every message goes once."""
    from rxshop.orders import history
    from rxshop.orders.history import InboxKind

    mail_settings(shop, smtp_sink)
    with new_session(shop.engine) as session:
        for i in range(40):
            with transaction(session):
                history.flag(
                    session, kind=InboxKind.UNPROCESSABLE, reference=f"evt_{i}", detail=f"broken {i}"
                )
    counts: list[int] = []

    def worker() -> None:
        counts.append(asyncio.run(drain(sender(smtp_sink, batch_size=3))))

    import threading

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert sum(counts) == 40, counts
    ids = [m["Message-ID"] for m in smtp_sink.messages]
    assert len(ids) == 40 and len(set(ids)) == 40
    assert {(m.status, m.attempts) for m in outbox(shop)} == {(Status.SENT, 1)}


async def test_starttls_and_the_login_of_smtp_url(mailing: Shop, tmp_path, monkeypatch):
    """smtp://user:password@...: STARTTLS with a verified certificate, then the login, then the message."""
    sink = SmtpSink(tls_dir=tmp_path, login=("shop@relay", "p:ss w@rd")).start()
    try:
        await paid(mailing)
        mail_settings(mailing, sink, SMTP_URL=f"smtp://shop%40relay:p%3Ass%20w%40rd@127.0.0.1:{sink.port}")
        target = mailing.settings.smtp_target
        assert target is not None and target.password == "p:ss w@rd"
        untrusted = Sender(SmtpTransport(target, timeout=5))
        assert await untrusted.send_due() == 2  # the certificate is not trusted yet: refused, retried
        assert sink.messages == [] and "CERTIFICATE_VERIFY_FAILED" in (outbox(mailing)[0].last_error or "")
        monkeypatch.setenv("SSL_CERT_FILE", str(sink.trust_file))  # as an operator adds their relay's CA
        assert await Sender(SmtpTransport(target, timeout=5)).send_due(utcnow() + timedelta(minutes=1)) == 2
        assert len(sink.messages) == 2 and sink.logins == ["shop@relay"]  # one connection for the batch
        assert {m.status for m in outbox(mailing)} == {Status.SENT}
    finally:
        sink.stop()
