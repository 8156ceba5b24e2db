"""The order lifecycle, written once in rxshop.orders.TRANSITIONS."""

import pytest

from rxshop import orders
from rxshop.orders import (
    EXPIRED,
    FAILED,
    PAID,
    PARTIALLY_REFUNDED,
    PENDING,
    PROCESSING,
    REFUNDED,
    STATUSES,
    TRANSITIONS,
    can_transition,
    describe_status,
    sources_of,
    status_label,
    transition_table_markdown,
)

# The lifecycle from the brief, plus expired -> processing|paid (a late completion after our own
# expiry sweep must not lose money; Stripe never expires a completed session).
EXPECTED = {
    (PENDING, PROCESSING),
    (PENDING, PAID),
    (PENDING, FAILED),
    (PENDING, EXPIRED),
    (PROCESSING, PAID),
    (PROCESSING, FAILED),
    (PAID, PARTIALLY_REFUNDED),
    (PAID, REFUNDED),
    (PARTIALLY_REFUNDED, PARTIALLY_REFUNDED),
    (PARTIALLY_REFUNDED, REFUNDED),
    (EXPIRED, PROCESSING),
    (EXPIRED, PAID),
}


def test_every_status_is_in_the_table():
    assert set(TRANSITIONS) == set(STATUSES)
    assert len(STATUSES) == 7
    assert all(target in STATUSES for targets in TRANSITIONS.values() for target in targets)


@pytest.mark.parametrize("current", STATUSES)
@pytest.mark.parametrize("target", STATUSES)
def test_can_transition_matches_the_lifecycle(current, target):
    assert can_transition(current, target) == ((current, target) in EXPECTED)


def test_out_of_order_events_change_nothing():
    assert not can_transition(PAID, EXPIRED)  # expired delivered after paid
    assert not can_transition(PAID, PAID)  # a second completion
    assert not can_transition(PAID, PROCESSING)
    assert not can_transition(REFUNDED, PARTIALLY_REFUNDED)  # an older refund event, delivered late
    assert not can_transition(FAILED, PAID)
    assert not any(can_transition(s, PENDING) for s in STATUSES)
    assert TRANSITIONS[REFUNDED] == TRANSITIONS[FAILED] == frozenset()  # final


def test_unknown_statuses_never_move():
    assert not can_transition("bogus", PAID)


def test_sources_of_gives_the_where_clause_of_each_conditional_update():
    assert sources_of(PAID) == (PENDING, PROCESSING, EXPIRED)
    assert sources_of(PROCESSING) == (PENDING, EXPIRED)
    assert sources_of(EXPIRED) == (PENDING,)
    assert sources_of(FAILED) == (PENDING, PROCESSING)
    assert sources_of(REFUNDED) == (PAID, PARTIALLY_REFUNDED)
    assert sources_of(PENDING) == ()


@pytest.mark.parametrize("status", STATUSES)
def test_every_status_has_a_label_and_a_description(status):
    assert status_label(status) and status_label(status) != status
    assert describe_status(status).endswith((".", "!"))


def test_labels_for_unknown_statuses_are_readable():
    assert status_label("on_hold") == "On hold"
    assert describe_status("on_hold") == "On hold"


def test_markdown_table_shows_every_transition():
    table = transition_table_markdown()
    lines = table.splitlines()
    assert len(lines) == 2 + len(STATUSES)
    for status in STATUSES:
        row = next(line for line in lines if line.startswith(f"| `{status}` |"))
        for target in STATUSES:
            assert (f"`{target}`" in row.split("|")[3]) == can_transition(status, target)
    assert orders.STATUS_LABELS[PAID] in table
