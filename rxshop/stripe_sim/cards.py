"""Stripe's test card numbers and what each does in the simulator; any other well-formed number pays."""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class TestCard:
    __test__ = False  # not a pytest test class

    number: str
    outcome: str  # "succeeds" | "declines" | "delayed"
    summary: str
    message: str = ""  # what the buyer sees on a decline (Stripe's wording)
    code: str = ""  # error code on a decline
    decline_code: str = ""


# The delayed card is the simulator's own choice: real Stripe test mode pays 4000 0000 0000 0077 at once.
DELAYED_CARD = "4000000000000077"

TEST_CARDS: tuple[TestCard, ...] = (
    TestCard("4242424242424242", "succeeds", "Pays at once."),
    TestCard(
        "4000000000000002",
        "declines",
        "Generic decline.",
        "Your card was declined.",
        "card_declined",
        "generic_decline",
    ),
    TestCard(
        "4000000000009995",
        "declines",
        "Insufficient funds.",
        "Your card has insufficient funds.",
        "card_declined",
        "insufficient_funds",
    ),
    TestCard(
        "4000000000009987", "declines", "Lost card.", "Your card was declined.", "card_declined", "lost_card"
    ),
    TestCard(
        "4000000000000069",
        "declines",
        "Expired card.",
        "Your card has expired.",
        "expired_card",
        "expired_card",
    ),
    TestCard(
        DELAYED_CARD,
        "delayed",
        "Delayed payment: the session completes unpaid, then settles (automatically after "
        "async_settle_seconds, or through POST /_sim/sessions/{id}/settle).",
    ),
)

_BY_NUMBER = {card.number: card for card in TEST_CARDS}
_SUCCESS = TEST_CARDS[0]


def normalize(number: str) -> str | None:
    """Digits of a well-formed card number (13-19 digits, spaces or dashes allowed, Luhn-valid), else None."""
    digits = re.sub(r"[\s-]", "", number or "")
    if not re.fullmatch(r"\d{13,19}", digits):
        return None
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = int(char)
        if position % 2:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return digits if total % 10 == 0 else None


def behaviour(digits: str) -> TestCard:
    return _BY_NUMBER.get(digits, _SUCCESS)


def brand(digits: str) -> str:
    if digits.startswith("4"):
        return "visa"
    if digits[:2] in {"51", "52", "53", "54", "55"} or "2221" <= digits[:4] <= "2720":
        return "mastercard"
    if digits[:2] in {"34", "37"}:
        return "amex"
    if digits.startswith(("6011", "65")):
        return "discover"
    return "unknown"


def spaced(digits: str) -> str:
    return " ".join(digits[i : i + 4] for i in range(0, len(digits), 4))
