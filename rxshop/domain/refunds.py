"""Why a refund was made: Stripe's three refund reasons, plus "other" with the owner's note (pure).

Stripe's `reason` takes only duplicate, fraudulent or requested_by_customer; "other" sends no reason and
the note goes in the refund's metadata. The wording here is what the timeline and the buyer's email say.
"""

from __future__ import annotations

from enum import StrEnum

NOTE_MAX = 500


class RefundReason(StrEnum):
    REQUESTED_BY_CUSTOMER = "requested_by_customer"
    DUPLICATE = "duplicate"
    FRAUDULENT = "fraudulent"
    OTHER = "other"

    @property
    def label(self) -> str:
        return _LABELS[self]

    @property
    def stripe_reason(self) -> str | None:
        """The value of Stripe's `reason` parameter (None: send none)."""
        return None if self is RefundReason.OTHER else self.value


_LABELS = {
    RefundReason.REQUESTED_BY_CUSTOMER: "requested by customer",
    RefundReason.DUPLICATE: "duplicate payment",
    RefundReason.FRAUDULENT: "fraudulent payment",
    RefundReason.OTHER: "other",
}


class ReasonRefused(ValueError):
    """A reason or note the form cannot have sent; the message is for the owner."""


def check_reason(reason: object, note: object) -> tuple[RefundReason, str]:
    """(the reason, the note trimmed) or ReasonRefused: "other" needs a note; any reason may carry one."""
    try:
        chosen = RefundReason(str(reason or ""))
    except ValueError:
        raise ReasonRefused("Choose a reason for the refund.") from None
    text = " ".join(str(note or "").split())[:NOTE_MAX] if isinstance(note, str | None) else ""
    if chosen is RefundReason.OTHER and not text:
        raise ReasonRefused('Say why in the note when the reason is "Other".')
    return chosen, text


def reason_text(reason: str | None, note: str | None) -> str:
    """'requested by customer', 'other: damaged in transit', 'duplicate payment: ...', '' when none."""
    try:
        label = RefundReason(reason or "").label
    except ValueError:
        label = ""
    if label == RefundReason.OTHER.label and note:
        return note
    return f"{label}: {note}" if label and note else label or (note or "")
