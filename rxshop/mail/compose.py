"""Claimed outbox rows into ready email: who it goes to, what it says (from the order as it is now), and
the order link it carries (made here, so the webhook's transaction never writes one).

One transaction per batch (`compose_all`): the orders are read and the links written together. A message
that can never be sent (no address, the order gone, a code past its expiry) comes back with its reason.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from email.header import Header
from email.message import Message
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.utils import format_datetime, formataddr, parseaddr
from typing import Any, cast

from sqlmodel import Session, col, select

from rxshop.core import routes
from rxshop.core.mail_settings import SHOP_NAME
from rxshop.core.models import RefundRequest
from rxshop.core.settings import Settings, get_settings
from rxshop.domain.catalog import discount_text, format_money, shipping_amount_text
from rxshop.domain.lifecycle import RefundStatus
from rxshop.domain.refunds import reason_text
from rxshop.domain.shipping import tracking_url
from rxshop.mail.outbox import Claimed, Kind
from rxshop.mail.render import Rendered, render
from rxshop.orders import links
from rxshop.orders.records import transaction, views_by_id
from rxshop.orders.views import OrderView

CODE_LIFETIME = timedelta(minutes=10)  # rxshop.orders.email_access checks the same
LINKED = frozenset({Kind.ORDER_CONFIRMED, Kind.PAYMENT_PROCESSING, Kind.ORDER_LINK})
EXCEPTION_LABELS = {
    "mismatch": "A payment does not match its order",
    "unknown_session": "A payment without an order",
    "unprocessable": "A Stripe event that could not be applied",
    "ship_overdue": "An order not shipped in time",
}


@dataclass(frozen=True)
class Composed:
    claimed: Claimed
    recipient: str | None
    message: Message | None  # None: nothing can be sent, `problem` says why
    problem: str | None = None


class CannotSend(Exception):
    """This message can never be sent (its reason is recorded for the owner)."""


def order_context(order: OrderView) -> dict[str, Any]:
    """The order as every message shows it: text ready to print, money formatted from minor units."""
    currency = order.currency
    return {
        "number": order.number,
        "date": order.created_at.strftime("%d %b %Y"),
        "items": [
            {"text": line.text, "amount": format_money(line.quantity * line.unit_amount, currency)}
            for line in order.lines
        ],
        "subtotal": format_money(order.amount_subtotal, currency),
        "shipping_name": order.shipping_rate_name or "",
        "shipping": shipping_amount_text(order.amount_shipping, currency),
        "discount": discount_text(order.amount_discount, currency),
        "total": order.total_text,
        "refunded": order.refunded_text if order.amount_refunded else "",
        "ship_to": list(order.shipping.lines) if order.shipping else [],
        "status": order.status.label,
        "email": order.customer_email or "",
    }


def _recipient(claimed: Claimed, order: OrderView | None, settings: Settings) -> str:
    if claimed.kind.to_owner:
        if not settings.owner_email:
            raise CannotSend("OWNER_EMAIL is not set")
        return settings.owner_email
    if claimed.kind == Kind.SIGN_IN_CODE:
        return str(claimed.params["email"])
    if order is None or not order.customer_email:
        raise CannotSend("the order has no email address")
    return order.customer_email


def _kind_values(claimed: Claimed, order: OrderView | None, settings: Settings) -> dict[str, Any]:
    """What one kind shows beyond the order and the shop."""
    params, currency = claimed.params, order.currency if order else "usd"
    if claimed.kind == Kind.SHIPPED:
        return {"tracking_url": tracking_url(params.get("carrier"), params.get("tracking_number"))}
    if claimed.kind == Kind.REFUNDED:
        assert order is not None
        total = int(params["refunded_total"])
        return {
            "amount": format_money(int(params["amount"]), currency),
            "refunded_total": format_money(total, currency),
            "full": total >= order.amount_total,
            "reason": "",  # why, when the owner said (read from the refund request in _compose)
        }
    if claimed.kind == Kind.SIGN_IN_CODE:
        return {"minutes": int(CODE_LIFETIME.total_seconds() // 60)}
    if claimed.kind == Kind.OWNER_NEW_ORDER:
        assert order is not None
        return {"admin_url": settings.app_url + routes.ADMIN_ORDER_LINK + order.id}
    if claimed.kind == Kind.OWNER_EXCEPTION:
        label = EXCEPTION_LABELS.get(str(params.get("kind")), "Something needs a look")
        amount = params.get("amount")
        return {
            "label": label,
            "amount": format_money(int(amount), params.get("currency") or "usd") if amount else "",
            "admin_url": settings.app_url + routes.ADMIN_EXCEPTIONS,
        }
    return {}


def _refund_reason(session: Session, order_id: str, amount: int) -> str:
    """Why the owner refunded this amount ('requested by customer', the note for "other"), from the newest
    refund request of that amount that did not fail; '' for a refund made outside the dashboard."""
    request = session.exec(
        select(RefundRequest)
        .where(
            col(RefundRequest.order_id) == order_id,
            col(RefundRequest.amount) == amount,
            col(RefundRequest.status) != RefundStatus.FAILED,  # Stripe's event may beat the success
        )
        .order_by(col(RefundRequest.requested_at).desc())
    ).first()
    return reason_text(request.reason, request.note) if request is not None else ""


def _compose(
    session: Session, claimed: Claimed, settings: Settings, now: datetime, orders: dict[str, OrderView]
) -> Composed:
    order = orders.get(claimed.order_id) if claimed.order_id is not None else None
    recipient: str | None = None
    try:
        if claimed.order_id is not None and order is None:
            raise CannotSend(f"there is no order {claimed.order_id}")
        recipient = _recipient(claimed, order, settings)
        if claimed.kind == Kind.SIGN_IN_CODE and now - claimed.created_at > CODE_LIFETIME:
            raise CannotSend("the code expired before it could be sent")
        context: dict[str, Any] = {
            "shop": {"name": SHOP_NAME, "url": settings.app_url, "support": settings.support_address},
            "order": order_context(order) if order is not None else None,
            "params": claimed.params,
            **_kind_values(claimed, order, settings),
        }
        if claimed.kind == Kind.REFUNDED and order is not None:
            context["reason"] = _refund_reason(session, order.id, int(claimed.params["amount"]))
        if claimed.kind in LINKED and order is not None:
            context["link"] = links.link_url(links.issue(session, order.id, now))
        message = build_message(claimed, recipient, render(claimed.kind, context), settings, now)
    except CannotSend as err:
        return Composed(claimed, recipient, None, str(err))
    return Composed(claimed, recipient, message)


def _header(text: str) -> str | Header:
    """A header value as is when ASCII, else RFC 2047 encoded (a Header: the generator folds it right)."""
    return text if text.isascii() else Header(text, "utf-8")


def build_message(
    claimed: Claimed, recipient: str, rendered: Rendered, settings: Settings, now: datetime
) -> Message:
    """Multipart/alternative: the plain text first, the HTML preferred by mail programs that show it.

    The classic MIME classes, not EmailMessage: its header parsing cost 3 ms a message, 15 times these
    (measured while a webhook burst queued thousands of confirmations).
    """
    message = MIMEMultipart("alternative")
    name, address = parseaddr(settings.mail_from)
    message["From"] = formataddr((name, address), charset="utf-8")
    message["To"] = recipient
    message["Reply-To"] = settings.support_address
    message["Subject"] = cast(str, _header(rendered.subject))  # typeshed types header values as str
    message["Date"] = format_datetime(now)
    # The same id on every attempt: a mail program that got it twice shows it once.
    domain = address.rpartition("@")[2] or "localhost"
    message["Message-ID"] = f"<rxshop.{claimed.id}.{int(claimed.created_at.timestamp())}@{domain}>"
    message["Auto-Submitted"] = "auto-generated"  # RFC 3834: no vacation replies to this
    message["X-Rxshop-Kind"] = str(claimed.kind)
    # UTF-8 in base64: quoted-printable would keep the raw text readable, at four times the encoding time.
    message.attach(MIMEText(rendered.text, "plain", "utf-8"))
    message.attach(MIMEText(rendered.html, "html", "utf-8"))
    return message


def compose_all(*, session: Session, claimed: list[Claimed], now: datetime) -> list[Composed]:
    """Compose a claimed batch in one transaction (the links it makes commit with it)."""
    settings = get_settings()
    with transaction(session):
        # Each order read once for the batch (a paid order's confirmation and the owner's notice share it).
        orders = views_by_id(session, {one.order_id for one in claimed if one.order_id is not None})
        return [_compose(session, one, settings, now, orders) for one in claimed]
