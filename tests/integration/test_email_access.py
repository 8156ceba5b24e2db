"""Secret order links and "find my orders" by email, through the services the pages call, on SQLite and
PostgreSQL: tokens and codes are stored only as hashes, links can be revoked (a new one is queued), a code
answers the same for any address, allows 5 tries for 10 minutes, and grants one visitor one address.
"""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import sqlalchemy as sa
from sqlmodel import select

from rxshop.admin.actions import ActionRefused
from rxshop.admin.messages import order_messages, resend, revoke_links
from rxshop.core.db import new_session
from rxshop.core.mail_models import EmailChallenge, EmailGrant, OrderLink, OutboxMessage
from rxshop.core.models import utcnow
from rxshop.mail.compose import compose_all
from rxshop.mail.outbox import Kind, Status, claim_due
from rxshop.orders import email_access, links
from rxshop.orders.email_access import Verdict
from tests.fixtures.shop import Owner, Shop, new_visitor
from tests.fixtures.smtp import LINK, as_received, text_of

KEY = b"k" * 32
BUYER = "buyer@example.com"


def composed(shop: Shop):
    """Claim and compose everything due, as the sender does (no delivery)."""
    now = utcnow()
    with new_session(shop.engine) as session:
        claimed = claim_due(session=session, now=now, limit=50, lease=timedelta(minutes=5))
    with new_session(shop.engine) as session:
        return compose_all(session=session, claimed=claimed, now=now)


def all_rows(shop: Shop, model) -> list:
    with new_session(shop.engine) as session:
        return list(session.exec(select(model)).all())


# --- Order links -----------------------------------------------------------------------------------------------


@pytest.mark.usefixtures("webhook_shop")
async def test_the_confirmation_carries_a_link_that_opens_only_its_order(owner: Owner):
    shop = owner.shop
    order, other = await owner.paid_order(), await owner.paid_order({"notebook": 1})
    [confirmation] = [
        c for c in composed(shop) if c.claimed.kind == Kind.ORDER_CONFIRMED and c.claimed.order_id == order.id
    ]
    assert confirmation.message is not None
    url = LINK.findall(text_of(as_received(confirmation.message)))[0]
    token = url.rsplit("=", 1)[1]
    with new_session(shop.engine) as session:
        opened = links.order_for_token(session=session, token=token)
    assert opened is not None and opened.id == order.id and opened.id != other.id
    # Only the token's hash is stored: nothing in the database opens the order.
    stored = [row.token_hash for row in all_rows(shop, OrderLink)]
    assert links.hash_token(token) in stored and all(token not in h for h in stored)
    with new_session(shop.engine) as session:
        for guess in (
            "",
            "x" * 22,
            token[:-1] + ("A" if token[-1] != "A" else "B"),
            token + "=",
            "../" + token,
        ):
            assert links.order_for_token(session=session, token=guess) is None


@pytest.mark.usefixtures("webhook_shop")
async def test_the_owner_revokes_the_links_and_a_new_one_is_sent(owner: Owner):
    shop = owner.shop
    order = await owner.paid_order()
    [first] = [c for c in composed(shop) if c.claimed.kind == Kind.ORDER_CONFIRMED]
    old_token = LINK.findall(text_of(as_received(first.message)))[0].rsplit("=", 1)[1]

    revoked = owner.call(revoke_links, order_id=order.id)
    assert (revoked.revoked, revoked.new_link_sent, revoked.visitor_id) == (1, True, order.visitor_id)
    with new_session(shop.engine) as session:
        assert links.order_for_token(session=session, token=old_token) is None
    [renewed] = [c for c in composed(shop) if c.claimed.kind == Kind.ORDER_LINK]
    assert renewed.recipient == BUYER and renewed.message is not None
    new_token = LINK.findall(text_of(as_received(renewed.message)))[0].rsplit("=", 1)[1]
    with new_session(shop.engine) as session:
        assert links.order_for_token(session=session, token=new_token).id == order.id
    detail = owner.call(order_messages, order_id=order.id)
    assert detail.active_links == 1 and [m.kind for m in detail.messages][0] == Kind.ORDER_LINK


@pytest.mark.usefixtures("webhook_shop")
async def test_the_owner_sends_a_message_again_once_per_click(owner: Owner):
    shop = owner.shop
    order = await owner.paid_order()
    [confirmation] = [
        m for m in owner.call(order_messages, order_id=order.id).messages if m.kind == Kind.ORDER_CONFIRMED
    ]
    with pytest.raises(ActionRefused, match="still on its way"):  # queued: not yet
        owner.call(resend, order_id=order.id, message_id=confirmation.id)
    shop.execute("UPDATE mail_outbox SET status = 'sent'")
    copy = owner.call(resend, order_id=order.id, message_id=confirmation.id)
    assert (copy.kind, copy.status, copy.resend_of) == (Kind.ORDER_CONFIRMED, Status.QUEUED, confirmation.id)
    with pytest.raises(ActionRefused, match="already on its way"):  # the double click
        owner.call(resend, order_id=order.id, message_id=confirmation.id)
    other = await owner.paid_order({"notebook": 1})
    with pytest.raises(ActionRefused, match="no such message"):  # another order's message
        owner.call(resend, order_id=other.id, message_id=confirmation.id)


# --- Find my orders by email -----------------------------------------------------------------------------------


async def _paid_with(owner: Owner, email: str, quantities=None):
    order = await owner.paid_order(quantities)
    owner.shop.execute("UPDATE orders SET customer_email = :e WHERE id = :id", e=email, id=order.id)
    return order


def _code_in(shop: Shop, email: str) -> str | None:
    """The code the outbox would send to `email` (the last one), read from the row, as the sender does."""
    rows = [r for r in all_rows(shop, OutboxMessage) if r.kind == Kind.SIGN_IN_CODE and email in r.params]
    return re.search(r'"code": "(\d{6})"', rows[-1].params).group(1) if rows else None


@pytest.mark.usefixtures("webhook_shop")
async def test_a_code_by_email_shows_that_addresses_orders_in_this_browser_only(owner: Owner):
    shop = owner.shop
    mine = await _paid_with(owner, "Ada@Example.com")
    also_mine = await _paid_with(owner, "ada@example.com", {"notebook": 1})
    await _paid_with(owner, "someone@example.com", {"tote": 1})
    browser, other_browser, now = new_visitor(), new_visitor(), utcnow()

    def call(fn, visitor=browser, **kw):
        with new_session(shop.engine) as session:
            return fn(session=session, visitor_id=visitor, **kw)

    call(email_access.request_code, email="ada@example.com", key=KEY, now=now)
    code = _code_in(shop, "ada@example.com")
    assert code is not None
    # The database keeps the code's keyed hash only (the outbox row carries it until it is sent).
    [challenge] = all_rows(shop, EmailChallenge)
    assert code not in challenge.code_hash and len(challenge.code_hash) == 64
    # Another browser cannot use it: the code belongs to the visitor who asked.
    assert (
        call(email_access.check_code, visitor=other_browser, code=code, key=KEY, now=now).verdict
        == Verdict.NO_CODE
    )
    assert call(email_access.found_orders, visitor=other_browser).orders == ()

    checked = call(email_access.check_code, code=code, key=KEY, now=now + timedelta(minutes=9))
    assert (checked.verdict, checked.email) == (Verdict.GRANTED, "ada@example.com")
    found = call(email_access.found_orders)
    assert found.emails == ("ada@example.com",)
    assert [o.id for o in found.orders] == [also_mine.id, mine.id]  # newest first, whatever the case
    assert call(email_access.check_code, code=code, key=KEY, now=now).verdict == Verdict.NO_CODE  # used
    assert call(email_access.forget_emails) == 1 and call(email_access.found_orders).orders == ()
    with new_session(shop.engine) as session:
        assert email_access.email_of_order(session=session, order_id=mine.id) == "ada@example.com"


@pytest.mark.usefixtures("webhook_shop")
async def test_the_same_answer_for_an_address_without_orders_and_no_email(owner: Owner):
    shop = owner.shop
    browser, now = new_visitor(), utcnow()
    with new_session(shop.engine) as session:
        email_access.request_code(
            session=session, visitor_id=browser, email="nobody@example.com", key=KEY, now=now
        )
    assert [r for r in all_rows(shop, OutboxMessage) if r.kind == Kind.SIGN_IN_CODE] == []
    [challenge] = all_rows(shop, EmailChallenge)  # a challenge like any other, that no code matches
    with new_session(shop.engine) as session:
        tries = [
            email_access.check_code(
                session=session, visitor_id=browser, code=f"{n:06d}", key=KEY, now=now
            ).verdict
            for n in range(5)
        ]
    assert tries == [Verdict.WRONG] * 4 + [Verdict.TOO_MANY]
    assert challenge.email == "nobody@example.com"


@pytest.mark.usefixtures("webhook_shop")
async def test_five_tries_ten_minutes_and_a_new_code_replaces_the_old(owner: Owner):
    shop = owner.shop
    await _paid_with(owner, "ada@example.com")
    browser, now = new_visitor(), utcnow()

    def check(code: str, at=now):
        with new_session(shop.engine) as session:
            return email_access.check_code(session=session, visitor_id=browser, code=code, key=KEY, now=at)

    def ask(at=now) -> str:
        with new_session(shop.engine) as session:
            email_access.request_code(
                session=session, visitor_id=browser, email="ada@example.com", key=KEY, now=at
            )
        return _code_in(shop, "ada@example.com")

    code = ask()
    wrong = f"{(int(code) + 1) % 10**6:06d}"
    assert [(c.verdict, c.tries_left) for c in (check(wrong), check(wrong))] == [
        (Verdict.WRONG, 4),
        (Verdict.WRONG, 3),
    ]
    assert check("12345").verdict == Verdict.WRONG  # not 6 digits: a try all the same
    # The 4th try is wrong, the 5th (the last) too: the right code comes too late.
    assert [check(wrong).verdict, check(wrong).verdict, check(code).verdict] == [
        Verdict.WRONG,
        Verdict.TOO_MANY,
        Verdict.TOO_MANY,
    ]
    code = ask()  # a new code, and five new tries
    assert len(all_rows(shop, EmailChallenge)) == 1
    assert check(code, now + timedelta(minutes=10, seconds=1)).verdict == Verdict.EXPIRED
    code = ask(now + timedelta(minutes=11))
    assert check(code, now + timedelta(minutes=12)).verdict == Verdict.GRANTED
    assert [g.email for g in all_rows(shop, EmailGrant)] == ["ada@example.com"]


@pytest.mark.usefixtures("webhook_shop")
async def test_a_code_is_blanked_once_sent_and_never_sent_after_it_expired(owner: Owner, smtp_sink):
    from rxshop.mail.sender import Sender
    from rxshop.mail.transport import SmtpTransport

    shop = owner.shop
    shop.configure(SMTP_URL=smtp_sink.url)
    await _paid_with(owner, "ada@example.com")
    shop.execute("DELETE FROM mail_outbox")
    now = utcnow()
    with new_session(shop.engine) as session:
        email_access.request_code(
            session=session, visitor_id=new_visitor(), email="ada@example.com", key=KEY, now=now
        )
        email_access.request_code(
            session=session,
            visitor_id=new_visitor(),
            email="ada@example.com",
            key=KEY,
            now=now - timedelta(minutes=11),
        )
    await Sender(SmtpTransport(shop.settings.smtp_target)).send_due()
    [sent] = smtp_sink.messages
    assert sent["To"] == "ada@example.com" and "find your orders" in sent["Subject"]
    rows = sorted(all_rows(shop, OutboxMessage), key=lambda r: r.created_at)
    assert [(r.status, r.last_error) for r in rows] == [
        (Status.FAILED, "the code expired before it could be sent"),
        (Status.SENT, None),
    ]
    assert all(re.search(r"\d{6}", r.params) is None for r in rows)  # no code left in the table
    with new_session(shop.engine) as session:
        assert session.exec(select(sa.func.count()).select_from(EmailChallenge)).one() == 2
