"""The owner's pure rules: tracking numbers per carrier, refund reasons, a new promotion code's form, and the
order timeline in plain words (no database, no browser)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import pytest

from rxshop.admin.actions import ActionRefused
from rxshop.admin.discounts import parse_discount
from rxshop.admin.timeline import OrderFacts, plain_timeline
from rxshop.domain.lifecycle import RefundStatus
from rxshop.domain.refunds import ReasonRefused, RefundReason, check_reason, reason_text
from rxshop.domain.shipping import (
    CARRIERS,
    TrackingRefused,
    carrier_id_of,
    check_tracking,
    tracking_url,
)


@pytest.mark.parametrize(
    ("carrier", "typed", "stored"),
    [
        ("ups", "1z 999 aa1 01 2345 6784", "1Z999AA10123456784"),
        ("usps", "9400 1000 0000 0000 0000 00", "9400100000000000000000"),  # 22 digits
        ("usps", "92001901755477000000000", None),  # 23 digits: too long
        ("usps", "EA123456789US", "EA123456789US"),  # the international format
        ("fedex", "1234-5678-9012", "123456789012"),
        ("fedex", "123456789012345", "123456789012345"),
        ("fedex", "12345678901", None),  # 11 digits
        ("dhl", "12345 67890", "1234567890"),
        ("dhl", "JJD000390007882865098", "JJD000390007882865098"),  # DHL Parcel
        ("dhl", "123456789", None),
        ("royal mail", "ab 123 456 789 gb", "AB123456789GB"),
        ("royal mail", "AB123456789US", None),  # not GB
        ("other", "ZX-9", None),  # 3 characters
        ("other", "PF12345678", "PF12345678"),
        ("other", "A" * 41, None),
    ],
)
def test_tracking_numbers_are_checked_per_carrier(carrier: str, typed: str, stored: str | None) -> None:
    if stored is None:
        with pytest.raises(TrackingRefused, match="expected"):
            check_tracking(carrier, typed)
    else:
        chosen, number = check_tracking(carrier, typed)
        assert (chosen.id, number) == (carrier, stored)


def test_a_ups_number_without_1z_is_refused_saying_what_ups_numbers_look_like() -> None:
    with pytest.raises(TrackingRefused) as refused:
        check_tracking("ups", "999AA10123456784AB")
    assert str(refused.value) == (
        "That is not a UPS tracking number: expected 1Z followed by 16 letters or digits."
    )


@pytest.mark.parametrize("carrier", ["", "Hermes", None, "UPS; DROP TABLE"])
def test_a_carrier_not_in_the_list_is_refused(carrier) -> None:
    with pytest.raises(TrackingRefused, match="Choose the carrier from the list"):
        check_tracking(carrier, "1Z999AA10123456784")


def test_every_listed_carrier_but_other_has_a_tracking_link_and_ids_round_trip() -> None:
    assert [c.name for c in CARRIERS] == ["UPS", "USPS", "FedEx", "DHL", "Royal Mail", "Other"]
    for carrier in CARRIERS:
        assert carrier_id_of(carrier.name) == carrier.id
        assert bool(tracking_url(carrier.name, "AB123456789GB")) == (carrier.id != "other")
    assert carrier_id_of("Parcelforce") == "other"  # an older free-text carrier


def test_refund_reasons_and_notes() -> None:
    assert check_reason("requested_by_customer", "  asked  by phone ") == (
        RefundReason.REQUESTED_BY_CUSTOMER,
        "asked by phone",
    )
    assert check_reason("duplicate", None) == (RefundReason.DUPLICATE, "")
    with pytest.raises(ReasonRefused, match="Other"):
        check_reason("other", "   ")
    for bad in ("", "expired_uncaptured_charge", ["duplicate"], None):
        with pytest.raises(ReasonRefused, match="Choose a reason"):
            check_reason(bad, "")
    assert RefundReason.OTHER.stripe_reason is None and RefundReason.FRAUDULENT.stripe_reason == "fraudulent"
    assert reason_text("requested_by_customer", "") == "requested by customer"
    assert reason_text("other", "damaged in transit") == "damaged in transit"
    assert reason_text("duplicate", "charged twice") == "duplicate payment: charged twice"
    assert reason_text(None, None) == ""  # refunds from before reasons existed


TODAY = date(2026, 12, 7)


def test_a_new_code_form_is_checked() -> None:
    terms = parse_discount(
        code=" spring10 ",
        kind="percent",
        value="12.5",
        max_redemptions="100",
        expires_on="2026-12-31",
        today=TODAY,
    )
    assert (terms.code, terms.percent_off, terms.amount_off, terms.max_redemptions) == (
        "SPRING10",
        12.5,
        None,
        100,
    )
    assert datetime.fromtimestamp(terms.expires_at or 0, UTC) == datetime(
        2026, 12, 31, 23, 59, 59, tzinfo=UTC
    )
    amount = parse_discount(code="FIVE", kind="amount", value="$7.50", today=TODAY)
    assert (amount.amount_off, amount.percent_off, amount.max_redemptions, amount.expires_at) == (
        750,
        None,
        None,
        None,
    )


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"code": "AB"}, "3 to 40 letters"),
        ({"code": "TEN OFF"}, "3 to 40 letters"),
        ({"value": "0"}, "above 0 and at most 100"),
        ({"value": "101"}, "above 0 and at most 100"),
        ({"value": "ten"}, "above 0 and at most 100"),
        ({"kind": "amount", "value": "0.00"}, "amount above zero"),
        ({"kind": "free"}, "percent off or amount off"),
        ({"max_redemptions": "0"}, "whole number from 1"),
        ({"max_redemptions": "1.5"}, "whole number from 1"),
        ({"expires_on": "2026-12-06"}, "in the past"),
        ({"expires_on": "next week"}, "as a date"),
    ],
)
def test_a_bad_new_code_form_says_why(fields: dict[str, str], message: str) -> None:
    form = {"code": "TENOFF", "kind": "percent", "value": "10", **fields}
    with pytest.raises(ActionRefused, match=message):
        parse_discount(**form, today=TODAY)


# --- the timeline in plain words ------------------------------------------------------------------------


@dataclass(frozen=True)
class Row:
    at: datetime
    kind: str
    text: str
    actor: str


@dataclass(frozen=True)
class Asked:
    amount: int
    status: RefundStatus
    error: str | None
    requested_at: datetime
    reason: str | None
    note: str | None


T0 = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)


def at(minutes: int) -> datetime:
    return T0 + timedelta(minutes=minutes)


def test_the_timeline_reads_in_plain_words() -> None:
    rows = [
        Row(at(0), "created", "Order RX-7K2M9Q created", "buyer"),
        Row(at(2), "webhook", "checkout.session.completed: fulfilled", "webhook"),
        Row(at(2), "status", "pending -> paid", "webhook"),
        Row(at(30), "shipped", "UPS 1Z999AA10123456784", "owner"),
        Row(at(31), "tracking_changed", "Royal Mail AB123456789GB · buyer told", "owner"),
        Row(at(40), "refund_requested", "$10.00 — requested by customer (request d04ufIqb)", "owner"),
        Row(at(41), "webhook", "charge.refunded: partially_refunded", "webhook"),
        Row(at(41), "status", "paid -> partially_refunded", "webhook"),
        Row(at(50), "note", "Buyer called: the mug arrived chipped", "owner"),
        Row(at(51), "webhook", "checkout.session.completed: mismatch", "webhook"),
        Row(at(52), "email_sent", "Confirmation emailed to ada@example.com", "system"),
    ]
    refunds = [
        Asked(1000, RefundStatus.SUCCEEDED, None, at(40), "requested_by_customer", None),
        Asked(500, RefundStatus.FAILED, "Stripe refused this refund", at(45), "other", "goodwill"),
    ]
    lines = plain_timeline(rows, refunds, OrderFacts("RX-7K2M9Q", "usd", 4100, "SPRING10"))
    assert [(line.who, line.text) for line in lines] == [
        ("Buyer", "Checkout started (order RX-7K2M9Q)"),
        ("Stripe", "Paid $41.00 with code SPRING10"),
        ("You", "Shipped with UPS, 1Z999AA10123456784"),
        ("You", "Tracking changed to Royal Mail, AB123456789GB — the buyer will be emailed"),
        ("You", "Refunded $10.00 — requested by customer"),
        ("Stripe", "Stripe confirmed a refund: now partly refunded"),
        ("You", "Refund of $5.00 failed: Stripe refused this refund"),
        ("You", "Note: Buyer called: the mug arrived chipped"),
        (
            "Stripe",
            "A Stripe notice (checkout.session.completed) could not be applied: mismatch; see Exceptions",
        ),
        ("Shop", "Email sent: Confirmation emailed to ada@example.com"),
    ]
    assert all("->" not in line.text and "webhook" not in line.text for line in lines)


def test_a_refund_still_waiting_for_stripe_and_an_old_refund_without_a_reason() -> None:
    refunds = [
        Asked(2300, RefundStatus.REQUESTED, None, at(1), "fraudulent", None),
        Asked(700, RefundStatus.SUCCEEDED, None, at(2), None, None),
    ]
    lines = plain_timeline([], refunds, OrderFacts("RX-AAAAAA", "usd", 2300))
    assert [line.text for line in lines] == [
        "Refund of $23.00 asked of Stripe — fraudulent payment; waiting for its answer",
        "Refunded $7.00",
    ]
