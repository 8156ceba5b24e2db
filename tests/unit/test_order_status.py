"""The order lifecycle, written once in rxshop.domain.lifecycle.TRANSITIONS."""

import pytest

from rxshop.domain.lifecycle import (
    STATUS_LABELS,
    TRANSITIONS,
    OrderStatus,
    remaining_to_refund,
    sources_of,
    transition_table_markdown,
)
from rxshop.domain.lifecycle import OrderStatus as S

STATUSES = tuple(OrderStatus)

# The lifecycle from the brief, plus expired -> processing|paid (a late completion after our own
# expiry sweep must not lose money; Stripe never expires a completed session).
EXPECTED = {
    (S.PENDING, S.PROCESSING),
    (S.PENDING, S.PAID),
    (S.PENDING, S.FAILED),
    (S.PENDING, S.EXPIRED),
    (S.PROCESSING, S.PAID),
    (S.PROCESSING, S.FAILED),
    (S.PAID, S.PARTIALLY_REFUNDED),
    (S.PAID, S.REFUNDED),
    (S.PARTIALLY_REFUNDED, S.PARTIALLY_REFUNDED),
    (S.PARTIALLY_REFUNDED, S.REFUNDED),
    (S.EXPIRED, S.PROCESSING),
    (S.EXPIRED, S.PAID),
}


def can_transition(current: OrderStatus, target: OrderStatus) -> bool:
    return target in TRANSITIONS[current]


def test_every_status_is_in_the_table():
    assert set(TRANSITIONS) == set(STATUSES)
    assert len(STATUSES) == 7
    assert all(target in STATUSES for targets in TRANSITIONS.values() for target in targets)


@pytest.mark.parametrize("current", STATUSES)
@pytest.mark.parametrize("target", STATUSES)
def test_transitions_match_the_lifecycle(current, target):
    assert can_transition(current, target) == ((current, target) in EXPECTED)


def test_out_of_order_events_change_nothing():
    assert not can_transition(S.PAID, S.EXPIRED)  # expired delivered after paid
    assert not can_transition(S.PAID, S.PAID)  # a second completion
    assert not can_transition(S.PAID, S.PROCESSING)
    assert not can_transition(S.REFUNDED, S.PARTIALLY_REFUNDED)  # an older refund event, delivered late
    assert not can_transition(S.FAILED, S.PAID)
    assert not any(can_transition(s, S.PENDING) for s in STATUSES)
    assert TRANSITIONS[S.REFUNDED] == TRANSITIONS[S.FAILED] == frozenset()  # final


def test_statuses_are_the_strings_stored_and_shown():
    assert S("paid") is S.PAID and S.PAID == "paid" and f"{S.PARTIALLY_REFUNDED}" == "partially_refunded"
    with pytest.raises(ValueError):
        S("bogus")


def test_sources_of_gives_the_where_clause_of_each_conditional_update():
    assert sources_of(S.PAID) == (S.PENDING, S.PROCESSING, S.EXPIRED)
    assert sources_of(S.PROCESSING) == (S.PENDING, S.EXPIRED)
    assert sources_of(S.EXPIRED) == (S.PENDING,)
    assert sources_of(S.FAILED) == (S.PENDING, S.PROCESSING)
    assert sources_of(S.REFUNDED) == (S.PAID, S.PARTIALLY_REFUNDED)
    assert sources_of(S.PENDING) == ()


@pytest.mark.parametrize("status", STATUSES)
def test_every_status_has_a_readable_label(status):
    assert status.label and status.label != status and status.label[0].isupper()


def test_markdown_table_shows_every_transition():
    table = transition_table_markdown()
    lines = table.splitlines()
    assert len(lines) == 2 + len(STATUSES)
    for status in STATUSES:
        row = next(line for line in lines if line.startswith(f"| `{status}` |"))
        for target in STATUSES:
            assert (f"`{target}`" in row.split("|")[3]) == can_transition(status, target)
    assert STATUS_LABELS[S.PAID] in table


def test_what_remains_to_refund_counts_the_larger_of_reported_and_requested_refunds():
    assert remaining_to_refund(5000, 0, 0) == 5000
    assert remaining_to_refund(5000, 1000, 0) == 4000  # a refund made in Stripe's Dashboard, no request
    assert remaining_to_refund(5000, 0, 1500) == 3500  # requested, not reported yet
    assert remaining_to_refund(5000, 1500, 1500) == 3500  # the same refund, reported and requested
    assert remaining_to_refund(5000, 2000, 1500) == 3000
    assert remaining_to_refund(5000, 5000, 0) == 0
    assert remaining_to_refund(5000, 6000, 0) == 0  # never negative
