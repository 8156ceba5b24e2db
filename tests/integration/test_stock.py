"""Stock through the real Buy path, the simulator and its signed webhooks (SQLite and PostgreSQL): holds at Buy,
refusals before Stripe, the retry of one order, release on expiry / failure / refusal / cancel / sweep /
reconcile, sales, payments after a release (oversold, one-click refund), restock on refund, low stock."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from rxshop.__main__ import main as cli
from rxshop.admin.actions import ActionRefused, new_request_key, refund_order
from rxshop.admin.inventory import inventory, refund_oversold, update_stock
from rxshop.admin.reports import exceptions
from rxshop.core.db import new_session
from rxshop.domain.lifecycle import OrderStatus as S
from rxshop.domain.stock import ReservationStatus as R
from rxshop.domain.stock import StockLevel
from rxshop.orders import records, stock
from rxshop.orders.cancel import CancelOutcome, cancel_checkout
from rxshop.orders.checkout import CHECKOUT_WINDOW_SECONDS, CheckoutRefused
from rxshop.orders.history import InboxKind
from rxshop.orders.reconcile import reconcile
from rxshop.payments.gateway import CheckoutGateway, PaymentError, PaymentUnavailable
from tests.fixtures.shop import DELAYED_CARD, Owner, Shop, new_visitor, session_id_of

LATER = timedelta(hours=2)  # past any session's expiry (31 to 41 minutes after a Buy)


def set_stock(shop: Shop, product: str, quantity: int | None, **kwargs) -> StockLevel:
    with new_session(shop.engine) as session:
        return stock.set_stock(
            session=session, product_id=product, tracked=quantity is not None, quantity=quantity, **kwargs
        )


def level(shop: Shop, product: str) -> StockLevel:
    with new_session(shop.engine) as session:
        return next(x for x in stock.levels(session=session) if x.product_id == product)


def holds(shop: Shop) -> dict[tuple[str, str], tuple[int, str]]:
    """(order id, product) -> (quantity, status) of every reservation row."""
    with shop.engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT order_id, product_id, quantity, status FROM stock_reservations"))
        return {(r.order_id, r.product_id): (r.quantity, r.status) for r in rows}


def inbox(shop: Shop, kind: str) -> list[tuple[str, str]]:
    with shop.engine.connect() as conn:
        rows = conn.execute(
            sa.text("SELECT reference, detail FROM exceptions_inbox WHERE kind = :k ORDER BY id"), {"k": kind}
        )
        return [(r.reference, r.detail) for r in rows]


def expire_by_our_clock(shop: Shop) -> list[str]:
    """The worker's sweep, run later than every session's expiry (Stripe itself is not told)."""
    later = datetime.fromtimestamp(shop.now, UTC) + LATER
    with new_session(shop.engine) as session:
        expired = records.expire_stale_orders(session=session, now=later)
        released = stock.sweep(session=session, now=later)
    assert sorted(o.id for o in expired) == released
    return released


# --- Holding at Buy --------------------------------------------------------------------------------------


async def test_a_buy_holds_its_units_for_exactly_the_life_of_its_session(shop: Shop) -> None:
    set_stock(shop, "mug", 5)
    started = await shop.buy(new_visitor(), {"mug": 2, "tote": 1})

    assert (level(shop, "mug").reserved, level(shop, "mug").free) == (2, 3)
    assert holds(shop) == {(started.order_id, "mug"): (2, R.HELD)}  # the tote is not counted: no row
    order = shop.order(started.order_id)
    session = shop.sim_session(session_id_of(started.url))["session"]
    with shop.engine.connect() as conn:
        expires = conn.execute(sa.text("SELECT expires_at FROM stock_reservations")).scalar_one()
    hold_expiry = expires if isinstance(expires, datetime) else datetime.fromisoformat(str(expires))
    assert order.session_expires_at is not None
    assert int(hold_expiry.replace(tzinfo=UTC).timestamp()) == session["expires_at"]
    assert int(order.session_expires_at.timestamp()) == session["expires_at"]


async def test_more_than_is_free_is_refused_before_stripe_is_asked(shop: Shop) -> None:
    set_stock(shop, "mug", 3)
    set_stock(shop, "tote", 0)
    before = shop.snapshot()

    with pytest.raises(CheckoutRefused) as raised:
        await shop.buy(new_visitor(), {"mug": 4, "tote": 1, "notebook": 1})

    message = str(raised.value)
    assert "only 3 Morning Mug are left (you asked for 4)" in message
    assert "Canvas Tote is sold out" in message and "nothing was charged" in message
    assert shop.sim_sessions() == [] and shop.snapshot() == before
    assert holds(shop) == {} and level(shop, "mug").reserved == 0

    # What is left can be bought.
    await shop.buy(new_visitor(), {"mug": 3, "notebook": 1})
    assert level(shop, "mug").free == 0


async def test_the_retry_of_the_same_order_reuses_its_hold(shop: Shop) -> None:
    set_stock(shop, "mug", 3)
    visitor = new_visitor()
    first, second = await asyncio.gather(shop.buy(visitor, {"mug": 2}), shop.buy(visitor, {"mug": 2}))
    third = await shop.buy(visitor, {"mug": 2})

    assert first.order_id == second.order_id == third.order_id and first.url == third.url
    assert level(shop, "mug").reserved == 2
    assert holds(shop) == {(first.order_id, "mug"): (2, R.HELD)}


async def test_a_buyer_back_for_an_earlier_windows_checkout_gets_it_rather_than_a_refusal(shop: Shop) -> None:
    """Its session holds the last units: the same cart pressed again later is handed that session back."""
    set_stock(shop, "mug", 2)
    visitor = new_visitor()
    first = await shop.buy(visitor, {"mug": 2})
    again = await shop.buy(visitor, {"mug": 2}, now=shop.now + CHECKOUT_WINDOW_SECONDS + 5)

    assert (again.order_id, again.url, again.reused) == (first.order_id, first.url, True)
    assert level(shop, "mug").reserved == 2 and len(shop.sim_sessions()) == 1
    with pytest.raises(CheckoutRefused, match="Morning Mug is sold out"):
        await shop.buy(new_visitor(), {"mug": 1})


async def test_untracked_products_hold_nothing_and_buy_writes_nothing_before_stripe(shop: Shop) -> None:
    statements: list[str] = []

    def record(conn, cursor, statement, *args) -> None:
        statements.append(statement.lstrip().split()[0].upper())

    with new_session(shop.engine) as session:
        sa.event.listen(shop.engine, "before_cursor_execute", record)
        try:
            request = stock.HoldRequest("ord_" + "0" * 24, (("mug", 2), ("tote", 1)), datetime.now(UTC))
            [hold] = stock.reserve_batch(session=session, requests=[request], now=datetime.now(UTC))
        finally:
            sa.event.remove(shop.engine, "before_cursor_execute", record)
    assert hold == stock.Hold(request.order_id, counted=False, took=False)
    assert set(statements) <= {"SELECT", "BEGIN", "COMMIT"} and "SELECT" in statements

    await shop.buy(new_visitor(), {"mug": 2})
    assert holds(shop) == {}


async def test_30_buyers_for_5_units_get_5_sessions_and_25_refusals(shop: Shop) -> None:
    set_stock(shop, "mug", 5)
    results = await asyncio.gather(
        *(shop.buy(new_visitor(), {"mug": 1}) for _ in range(30)), return_exceptions=True
    )

    started = [r for r in results if not isinstance(r, BaseException)]
    refused = [r for r in results if isinstance(r, CheckoutRefused)]
    assert len(started) == 5 and len(refused) == 25
    assert all("Morning Mug is sold out" in str(r) for r in refused)
    assert len(shop.sim_sessions()) == 5 and len(shop.orders()) == 5
    assert (level(shop, "mug").reserved, level(shop, "mug").free) == (5, 0)


# --- Giving back -----------------------------------------------------------------------------------------


@pytest.mark.usefixtures("webhook_shop")
async def test_the_expired_session_gives_its_units_back(shop: Shop) -> None:
    set_stock(shop, "mug", 2)
    purchase = await shop.purchase({"mug": 2})
    expires_at = shop.order(purchase.order_id).session_expires_at
    assert expires_at is not None and level(shop, "mug").free == 0

    shop.control("clock/advance", {"seconds": expires_at.timestamp() - shop.now + 1})
    shop.delivered(shop.event("checkout.session.expired", purchase.session_id)["id"])

    assert shop.order(purchase.order_id).status == S.EXPIRED
    assert (level(shop, "mug").reserved, level(shop, "mug").free) == (0, 2)
    assert holds(shop) == {(purchase.order_id, "mug"): (2, R.RELEASED)}


@pytest.mark.usefixtures("webhook_shop")
async def test_a_delayed_payment_keeps_its_hold_until_it_fails(shop: Shop) -> None:
    set_stock(shop, "mug", 2)
    purchase = await shop.purchase({"mug": 1})
    shop.pay(purchase, DELAYED_CARD)
    shop.delivered(shop.event("checkout.session.completed", purchase.session_id)["id"])
    assert shop.order(purchase.order_id).status == S.PROCESSING
    assert expire_by_our_clock(shop) == [] and level(shop, "mug").reserved == 1  # processing: still held

    shop.control(f"sessions/{purchase.session_id}/settle", {"outcome": "failed"})
    shop.delivered(shop.event("checkout.session.async_payment_failed", purchase.session_id)["id"])

    assert shop.order(purchase.order_id).status == S.FAILED
    assert (level(shop, "mug").reserved, level(shop, "mug").quantity) == (0, 2)


@pytest.mark.parametrize("kind", ["500", "500-stored"])
async def test_stripe_refusing_the_create_gives_the_hold_back(shop: Shop, kind: str) -> None:
    set_stock(shop, "mug", 2)
    shop.sim.control("faults", {"kind": kind, "count": 1})
    with pytest.raises(PaymentUnavailable):
        await shop.buy(new_visitor(), {"mug": 2})
    assert level(shop, "mug").reserved == 0

    rejected = CheckoutGateway.connect("not-a-key", api_base=shop.sim.url, max_network_retries=0)
    with pytest.raises(PaymentError):
        await shop.buy(new_visitor(), {"mug": 2}, gateway=rejected)
    assert (level(shop, "mug").reserved, shop.sim_sessions()) == (0, [])


async def test_a_timeout_keeps_the_hold_for_the_retry_of_the_same_order(shop: Shop) -> None:
    set_stock(shop, "mug", 2)
    visitor = new_visitor()
    shop.sim.control("faults", {"kind": "drop", "count": 1})
    with pytest.raises(PaymentUnavailable):
        await shop.buy(visitor, {"mug": 2})
    assert level(shop, "mug").reserved == 2  # the same key may still make the session: kept for it

    retried = await shop.buy(visitor, {"mug": 2})
    assert level(shop, "mug").reserved == 2 and holds(shop) == {(retried.order_id, "mug"): (2, R.HELD)}


@pytest.mark.usefixtures("webhook_shop")
async def test_the_cancel_page_closes_the_session_at_stripe_first_then_gives_the_units_back(
    shop: Shop,
) -> None:
    set_stock(shop, "mug", 2)
    purchase = await shop.purchase({"mug": 2})
    stranger = await cancel_checkout(
        visitor_id=new_visitor(), order_id=purchase.order_id, gateway=shop.gateway
    )
    assert stranger.outcome == CancelOutcome.NOT_FOUND and level(shop, "mug").reserved == 2
    for order_id in ("", "ord_x", "../../etc", purchase.session_id):
        refused = await cancel_checkout(
            visitor_id=purchase.visitor_id, order_id=order_id, gateway=shop.gateway
        )
        assert refused.outcome == CancelOutcome.NOT_FOUND

    cancelled = await cancel_checkout(
        visitor_id=purchase.visitor_id, order_id=purchase.order_id, gateway=shop.gateway
    )

    assert cancelled.outcome == CancelOutcome.CANCELLED
    assert shop.sim_session(purchase.session_id)["session"]["status"] == "expired"
    assert shop.order(purchase.order_id).status == S.EXPIRED
    assert (level(shop, "mug").reserved, level(shop, "mug").free) == (0, 2)
    again = await cancel_checkout(
        visitor_id=purchase.visitor_id, order_id=purchase.order_id, gateway=shop.gateway
    )
    assert again.outcome == CancelOutcome.CLOSED

    # Buying the same cart again in the same window makes a new order that holds the units again.
    started = await shop.buy(purchase.visitor_id, {"mug": 2})
    assert started.order_id != purchase.order_id and level(shop, "mug").free == 0


async def test_the_sweep_gives_back_holds_of_buys_whose_order_was_never_written(shop: Shop) -> None:
    set_stock(shop, "mug", 3)
    now = datetime.fromtimestamp(shop.now, UTC)
    request = stock.HoldRequest("ord_" + "a" * 24, (("mug", 2),), now + timedelta(minutes=35))
    with new_session(shop.engine) as session:
        assert stock.reserve_batch(session=session, requests=[request], now=now)[0] == stock.Hold(
            request.order_id, counted=True, took=True
        )
        assert stock.sweep(session=session, now=now + timedelta(minutes=30)) == []  # its session may live
        assert stock.sweep(session=session, now=now + timedelta(minutes=36)) == [request.order_id]
    assert level(shop, "mug").reserved == 0


async def test_reconcile_gives_back_the_holds_of_sessions_stripe_reports_expired(shop: Shop) -> None:
    # No webhook endpoint: Stripe's expired events are lost.
    set_stock(shop, "mug", 3)
    started = await shop.buy(new_visitor(), {"mug": 2})
    await shop.gateway.expire_session(session_id_of(started.url))
    assert level(shop, "mug").reserved == 2

    report = await reconcile(gateway=shop.gateway, since_seconds=3600)

    assert [r.after for r in report.repairs] == [S.EXPIRED]
    assert level(shop, "mug").reserved == 0


# --- Selling ---------------------------------------------------------------------------------------------


@pytest.mark.usefixtures("webhook_shop")
async def test_paid_turns_the_hold_into_a_sale(shop: Shop) -> None:
    set_stock(shop, "mug", 5)
    purchase = await shop.purchase({"mug": 2})
    shop.pay(purchase)
    shop.delivered(shop.event("checkout.session.completed", purchase.session_id)["id"])

    assert shop.order(purchase.order_id).status == S.PAID
    assert (level(shop, "mug").quantity, level(shop, "mug").reserved) == (3, 0)
    assert holds(shop)[(purchase.order_id, "mug")] == (2, R.SOLD)
    assert inbox(shop, InboxKind.OVERSOLD) == []


@pytest.mark.usefixtures("webhook_shop")
async def test_a_payment_after_its_hold_was_released_is_kept_and_flagged_oversold(
    shop: Shop, owner: Owner
) -> None:
    set_stock(shop, "mug", 1)
    late = await shop.purchase({"mug": 1})
    assert expire_by_our_clock(shop) == [late.order_id]  # our clock, before Stripe's
    holder = await shop.purchase({"mug": 1})  # the unit is held for another buyer now

    shop.pay(late)  # Stripe's session was still open: the money is real
    shop.delivered(shop.event("checkout.session.completed", late.session_id)["id"])
    shop.pay(holder)
    shop.delivered(shop.event("checkout.session.completed", holder.session_id)["id"])

    assert shop.order(late.order_id).status == S.PAID and shop.order(holder.order_id).status == S.PAID
    assert (level(shop, "mug").quantity, level(shop, "mug").reserved) == (0, 0)
    assert holds(shop)[(late.order_id, "mug")] == (1, R.OVERSOLD)
    [(reference, detail)] = inbox(shop, InboxKind.OVERSOLD)
    assert reference == late.order_id and "1 × Morning Mug" in detail
    [entry] = [e for e in owner.call(exceptions) if e.kind == InboxKind.OVERSOLD]
    assert entry.order_id == late.order_id and entry.amount == shop.order(late.order_id).amount_total

    done = await refund_oversold(admin=owner.admin, order_id=late.order_id, gateway=shop.gateway)
    again = refund_oversold(admin=owner.admin, order_id=late.order_id, gateway=shop.gateway)
    with pytest.raises(ActionRefused, match="not waiting in the inbox"):
        await again

    assert done.amount == shop.order(late.order_id).amount_total
    refunds = shop.sim_session(late.session_id)["refunds"]
    assert [r["amount"] for r in refunds] == [done.amount]
    assert [e for e in owner.call(exceptions) if e.kind == InboxKind.OVERSOLD] == []
    assert level(shop, "mug").quantity == 0  # the oversold unit was never taken: nothing to put back


@pytest.mark.usefixtures("webhook_shop")
async def test_a_late_payment_takes_a_free_unit_when_there_is_one(shop: Shop) -> None:
    set_stock(shop, "mug", 3)
    late = await shop.purchase({"mug": 1})
    expire_by_our_clock(shop)
    shop.pay(late)
    shop.delivered(shop.event("checkout.session.completed", late.session_id)["id"])

    assert (level(shop, "mug").quantity, level(shop, "mug").reserved) == (2, 0)
    assert holds(shop)[(late.order_id, "mug")] == (1, R.SOLD) and inbox(shop, InboxKind.OVERSOLD) == []


@pytest.mark.usefixtures("webhook_shop")
async def test_a_count_lowered_below_the_holds_flags_the_sale_that_finds_no_unit(shop: Shop) -> None:
    set_stock(shop, "mug", 2)
    purchase = await shop.purchase({"mug": 2})
    set_stock(shop, "mug", 1)  # the owner counts again: one broke
    shop.pay(purchase)
    shop.delivered(shop.event("checkout.session.completed", purchase.session_id)["id"])

    assert (level(shop, "mug").quantity, level(shop, "mug").reserved) == (1, 0)
    assert [ref for ref, _ in inbox(shop, InboxKind.OVERSOLD)] == [purchase.order_id]


# --- The owner -------------------------------------------------------------------------------------------


@pytest.mark.usefixtures("webhook_shop")
async def test_a_refund_puts_the_items_back_when_the_owner_chooses_it(shop: Shop, owner: Owner) -> None:
    set_stock(shop, "mug", 5)
    kept = await owner.paid_order({"mug": 1})
    back = await owner.paid_order({"mug": 2})
    assert level(shop, "mug").quantity == 2

    await refund_order(
        admin=owner.admin,
        order_id=kept.id,
        amount=500,
        request_key=new_request_key(),
        gateway=shop.gateway,
    )
    assert level(shop, "mug").quantity == 2  # not chosen: nothing put back
    key = new_request_key()
    for _ in range(2):  # a second click: one refund, one restock
        await refund_order(
            admin=owner.admin,
            order_id=back.id,
            amount=back.amount_total,
            request_key=key,
            gateway=shop.gateway,
            restock=True,
        )
    assert level(shop, "mug").quantity == 4
    assert holds(shop)[(back.id, "mug")] == (2, R.RESTOCKED)


@pytest.mark.usefixtures("webhook_shop")
async def test_crossing_the_low_stock_threshold_tells_the_owner_once_per_restock(
    shop: Shop, owner: Owner
) -> None:
    set_stock(shop, "mug", 5, low_threshold=3)
    await owner.paid_order({"mug": 1})
    assert inbox(shop, InboxKind.LOW_STOCK) == []
    await owner.paid_order({"mug": 2})  # 4 -> 2: crosses 3
    await owner.paid_order({"mug": 1})  # 2 -> 1: below already, no second item
    [(reference, detail)] = inbox(shop, InboxKind.LOW_STOCK)
    assert reference == "mug:1" and detail.startswith("Morning Mug: 2 left for sale (low at 3)")

    owner.call(update_stock, product_id="mug", tracked=True, quantity=6, low_threshold=3)  # a restock
    await owner.paid_order({"mug": 3})
    assert [ref for ref, _ in inbox(shop, InboxKind.LOW_STOCK)] == ["mug:1", "mug:2"]
    assert {x.product_id: x.free for x in owner.call(inventory)}["mug"] == 3


async def test_untracking_a_product_with_holds_still_gives_them_back(shop: Shop) -> None:
    set_stock(shop, "mug", 4)
    started = await shop.buy(new_visitor(), {"mug": 3})
    set_stock(shop, "mug", None)  # no longer counted
    assert level(shop, "mug").badge == "" and level(shop, "mug").orderable == 20
    await shop.gateway.expire_session(session_id_of(started.url))
    await reconcile(gateway=shop.gateway, since_seconds=3600)
    assert level(shop, "mug").reserved == 0
    set_stock(shop, "mug", 4)
    assert level(shop, "mug").free == 4


async def test_the_command_line_sets_and_shows_stock(shop: Shop, capsys) -> None:
    assert cli(["stock", "set", "mug", "12", "--low", "4"]) == 0
    assert "mug  Morning Mug  12 for sale, 0 held, 12 free (low at 4): In stock" in capsys.readouterr().out
    assert cli(["stock", "set", "tote", "untracked"]) == 0
    assert cli(["stock", "set", "hat", "3"]) == 2
    assert "No product 'hat'" in capsys.readouterr().out
    assert cli(["stock", "set", "mug", "lots"]) == 2
    assert "whole number" in capsys.readouterr().out
    assert cli(["stock", "show"]) == 0
    shown = capsys.readouterr().out.splitlines()
    assert shown[0].split() == ["PRODUCT", "NAME", "FOR", "SALE", "HELD", "FREE", "LOW", "AT", "STATUS"]
    assert shown[1].split() == ["mug", "Morning", "Mug", "12", "0", "12", "4", "In", "stock"]
    assert shown[2].split()[-2:] == ["Not", "tracked"]
    assert level(shop, "mug") == StockLevel("mug", True, 12, 0, 4)
