"""reconcile: orders brought to Stripe's truth when webhooks were lost; idempotent; the CLI end to end."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta

import pytest

from rxshop.core.db import ROOT
from rxshop.domain.lifecycle import OrderStatus as S
from rxshop.orders.checkout import CHECKOUT_WINDOW_SECONDS, SESSION_LIFETIME_SECONDS
from rxshop.orders.reconcile import Repair, Report, format_report, parse_duration, reconcile
from rxshop.payments.gateway import PaymentUnavailable
from tests.fixtures.shop import DELAYED_CARD, Shop, new_visitor, session_id_of, wait_until

HOUR = 3600
# Later than any session a Buy asks for expires (31 minutes after the end of its 10-minute window).
PAST_ANY_EXPIRY = SESSION_LIFETIME_SECONDS + CHECKOUT_WINDOW_SECONDS + 60


async def _buy_many(shop: Shop, count: int):
    return [await shop.buy(new_visitor(), {"mug": i + 1}) for i in range(count)]


async def test_lost_webhooks_are_repaired_and_a_second_run_repairs_nothing(shop: Shop) -> None:
    # No webhook endpoint is configured: every event is lost, as if the shop had been down.
    paid, expired, processing, still_open, declined = await _buy_many(shop, 5)
    shop.pay(session_id_of(paid.url))
    await shop.gateway.expire_session(session_id_of(expired.url))
    shop.pay(session_id_of(processing.url), card=DELAYED_CARD)
    shop.sim.control(f"sessions/{session_id_of(declined.url)}/decline", {})
    assert {o.status for o in shop.orders()} == {S.PENDING}

    report = await reconcile(gateway=shop.gateway, since_seconds=HOUR)

    assert report.sessions_seen == 5 and report.skipped == 0 and report.expired_by_clock == ()
    assert sorted(report.repairs, key=lambda r: r.after) == [
        Repair(session_id_of(expired.url), expired.order_id, S.PENDING, S.EXPIRED, "expired"),
        Repair(session_id_of(paid.url), paid.order_id, S.PENDING, S.PAID, "fulfilled"),
        Repair(session_id_of(processing.url), processing.order_id, S.PENDING, S.PROCESSING, "processing"),
    ]
    status = {o.id: o.status for o in shop.orders()}
    assert status == {
        paid.order_id: S.PAID,
        expired.order_id: S.EXPIRED,
        processing.order_id: S.PROCESSING,
        still_open.order_id: S.PENDING,
        declined.order_id: S.PENDING,
    }
    assert shop.order(paid.order_id).payment_intent_id is not None

    repaired = shop.snapshot()
    second = await reconcile(gateway=shop.gateway, since_seconds=HOUR)
    assert second == Report(5, (), (), 0)
    assert shop.snapshot() == repaired

    # The delayed payment settles later, still without webhooks: the next run picks that up.
    shop.sim.control(f"sessions/{session_id_of(processing.url)}/settle", {"outcome": "succeeded"})
    third = await reconcile(gateway=shop.gateway, since_seconds=HOUR)
    assert [(r.order_id, r.before, r.after) for r in third.repairs] == [
        (processing.order_id, S.PROCESSING, S.PAID)
    ]


@pytest.mark.usefixtures("webhook_shop")
async def test_paused_webhooks_then_reconcile_then_late_deliveries_change_nothing(shop: Shop) -> None:
    shop.sim.control("webhooks/pause", {})
    paid, expired = await _buy_many(shop, 2)
    shop.pay(session_id_of(paid.url))
    shop.sim.control(f"sessions/{session_id_of(expired.url)}/expire", {})
    assert [e["delivery"]["status"] for e in shop.sim.events()] == ["paused", "paused"]

    report = await reconcile(gateway=shop.gateway, since_seconds=HOUR)
    assert {(r.order_id, r.after) for r in report.repairs} == {
        (paid.order_id, S.PAID),
        (expired.order_id, S.EXPIRED),
    }
    reconciled = {o.id: (o.status, o.paid_at) for o in shop.orders()}

    # The held events arrive after the repair: recorded, but nothing moves twice.
    assert shop.sim.control("webhooks/resume", {})["resumed"] == 2
    wait_until(lambda: len(shop.event_rows()) == 2)
    assert sorted(e.outcome for e in shop.event_rows().values()) == ["already_paid", "expired"]
    assert {o.id: (o.status, o.paid_at) for o in shop.orders()} == reconciled


async def test_sessions_of_others_are_skipped_and_the_window_is_respected(shop: Shop) -> None:
    foreign = shop.api.v1.checkout.sessions.create(shop.sim.session_params())
    shop.pay(foreign.id)
    [mine] = await _buy_many(shop, 1)
    shop.pay(session_id_of(mine.url))

    # A window that starts after both sessions were made sees neither.
    later = time.time() + 600
    assert await reconcile(gateway=shop.gateway, since_seconds=60, now=later) == Report(0, (), (), 0)
    assert shop.order(mine.order_id).status == S.PENDING

    report = await reconcile(gateway=shop.gateway, since_seconds=HOUR)
    assert report.sessions_seen == 2 and report.skipped == 1
    assert [(r.order_id, r.after) for r in report.repairs] == [(mine.order_id, S.PAID)]


async def test_pending_orders_past_expiry_with_no_session_outcome_expire_by_clock(shop: Shop) -> None:
    attached, open_later = await _buy_many(shop, 2)
    # Stripe answered 500 at Buy: it would replay that answer for the same key, so the order is given up
    # at once and the next Buy makes a new one.
    shop.sim.control("faults", {"kind": "500", "count": 1})
    with pytest.raises(PaymentUnavailable):
        await shop.buy(new_visitor(), {"notebook": 1})
    [refused] = shop.orders(stripe_session_id=None)
    assert refused.status == S.EXPIRED
    # The connection dropped at Buy: Stripe may have made the session, so the order waits for a retry with
    # the same key, until its planned expiry.
    shop.sim.control("faults", {"kind": "drop", "count": 1})
    with pytest.raises(PaymentUnavailable):
        await shop.buy(new_visitor(), {"tote": 1})
    [dropped] = [o for o in shop.orders(stripe_session_id=None) if o.id != refused.id]
    assert dropped.status == S.PENDING and dropped.session_expires_at is not None

    # Past any expiry a Buy asks for: the sessions are still open at "Stripe" (its clock did not move).
    soon = time.time() + PAST_ANY_EXPIRY
    shop.execute(
        "UPDATE orders SET session_expires_at = :t WHERE id = :id",
        t=datetime.now(UTC) + timedelta(hours=2),
        id=open_later.order_id,
    )
    report = await reconcile(gateway=shop.gateway, since_seconds=HOUR, now=soon)

    assert report.repairs == () and sorted(report.expired_by_clock) == sorted([attached.order_id, dropped.id])
    assert shop.order(attached.order_id).status == S.EXPIRED
    assert shop.order(dropped.id).status == S.EXPIRED
    assert shop.order(open_later.order_id).status == S.PENDING


async def test_a_paid_session_wins_over_an_expiry_by_clock(shop: Shop) -> None:
    [bought] = await _buy_many(shop, 1)
    await reconcile(gateway=shop.gateway, since_seconds=HOUR, now=time.time() + PAST_ANY_EXPIRY)
    assert shop.order(bought.order_id).status == S.EXPIRED

    shop.pay(session_id_of(bought.url))  # the buyer paid in the last seconds; the event was lost
    report = await reconcile(gateway=shop.gateway, since_seconds=HOUR)
    assert [(r.before, r.after, r.outcome) for r in report.repairs] == [(S.EXPIRED, S.PAID, "fulfilled")]


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
async def test_a_failed_delayed_payment_with_a_lost_webhook_becomes_failed(shop: Shop) -> None:
    [bought] = await _buy_many(shop, 1)
    shop.sim.control(f"sessions/{session_id_of(bought.url)}/fail", {})
    assert (
        shop.sim_session(session_id_of(bought.url))["payment_intent"]["status"] == "requires_payment_method"
    )

    await reconcile(gateway=shop.gateway, since_seconds=HOUR)

    assert shop.order(bought.order_id).status == S.FAILED


async def test_stripe_down_stops_reconciliation_without_writing(shop: Shop) -> None:
    [bought] = await _buy_many(shop, 1)
    shop.pay(session_id_of(bought.url))
    before = shop.snapshot()
    shop.sim.control("faults", {"kind": "500", "count": 1})
    with pytest.raises(PaymentUnavailable):
        await reconcile(gateway=shop.gateway, since_seconds=HOUR)
    assert shop.snapshot() == before


def test_format_report_prints_a_table_and_a_summary() -> None:
    report = Report(
        sessions_seen=7,
        repairs=(
            Repair("cs_test_aaa", "ord_1", "pending", "paid", "fulfilled"),
            Repair("cs_test_bbbbbbbb", "ord_22", "(unattached)", "expired", "expired"),
        ),
        expired_by_clock=("ord_333",),
        skipped=2,
    )
    lines = format_report(report).splitlines()

    assert lines[0].split() == ["SESSION", "ORDER", "BEFORE", "AFTER", "OUTCOME"]
    assert lines[1].split() == ["cs_test_aaa", "ord_1", "pending", "paid", "fulfilled"]
    assert lines[2].split() == ["cs_test_bbbbbbbb", "ord_22", "(unattached)", "expired", "expired"]
    assert lines[3].split() == ["-", "ord_333", "pending", "expired", "session", "expired", "(clock)"]
    # Columns line up: every cell starts where its header does.
    starts = [lines[0].index(h) for h in ("ORDER", "BEFORE", "AFTER", "OUTCOME")]
    for line in lines[1:3]:
        assert all(line[s - 2 : s] == "  " and line[s] != " " for s in starts), line
    assert lines[-1] == (
        "7 sessions checked, 2 orders repaired, 1 expired by clock, 0 refunds recorded, 2 sessions not ours."
    )
    assert format_report(Report(0, (), (), 0)).splitlines()[-1] == (
        "0 sessions checked, 0 orders repaired, 0 expired by clock, 0 refunds recorded, 0 sessions not ours."
    )


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("30m", 1800),
        ("72h", 259200),
        ("7d", 604800),
        ("1s", 1),
        (" 2H ", 7200),
        ("30d", 2592000),
        ("90 m", 5400),
    ],
)
def test_parse_duration(text: str, seconds: int) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "72", "h", "0s", "0h", "31d", "-5m", "1.5h", "72hours", "1w", "3h30m"])
def test_parse_duration_errors_say_what_to_type(text: str) -> None:
    with pytest.raises(ValueError) as raised:
        parse_duration(text)
    assert "--since" in str(raised.value)


def _run_cli(args: list[str], *, database_url: str, api_base: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("STRIPE_", "DATABASE_URL", "APP_URL"))}
    env.update(
        RXSHOP_ENV_FILE="", DATABASE_URL=database_url, STRIPE_SECRET_KEY="sk_test_x", STRIPE_API_BASE=api_base
    )
    return subprocess.run(
        [sys.executable, "-m", "rxshop", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
async def test_cli_reconciles_a_sqlite_database(shop: Shop) -> None:
    """`python -m rxshop reconcile --since 72h` in its own process, against the simulator over HTTP."""
    assert shop.db_url.startswith("sqlite:///")
    paid, expired, untouched = await _buy_many(shop, 3)
    shop.pay(session_id_of(paid.url))
    shop.sim.control(f"sessions/{session_id_of(expired.url)}/expire", {})

    done = _run_cli(["reconcile", "--since", "72h"], database_url=shop.db_url, api_base=shop.sim.url)

    assert done.returncode == 0, done.stderr
    lines = done.stdout.strip().splitlines()
    assert lines[0].split() == ["SESSION", "ORDER", "BEFORE", "AFTER", "OUTCOME"]
    assert {tuple(line.split()[1:4]) for line in lines[1:3]} == {
        (expired.order_id, "pending", "expired"),
        (paid.order_id, "pending", "paid"),
    }
    assert lines[-1] == (
        "3 sessions checked, 2 orders repaired, 0 expired by clock, 0 refunds recorded, 0 sessions not ours."
    )
    assert "sk_test_x" not in done.stdout + done.stderr
    assert {o.id: o.status for o in shop.orders()} == {
        paid.order_id: S.PAID,
        expired.order_id: S.EXPIRED,
        untouched.order_id: S.PENDING,
    }

    bad = _run_cli(["reconcile", "--since", "forever"], database_url=shop.db_url, api_base=shop.sim.url)
    assert bad.returncode == 2 and "--since takes a number and a unit" in bad.stdout
