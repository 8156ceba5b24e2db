"""AdminMessagesState: the Messages section of the owner's order page: each email about the order with what
became of it (queued, retrying, sent, failed and why), sending one again, and revoking the order's links.

A substate of AdminState like the page's own (rxshop.state.admin_order), so sign-out empties it and the
live dashboard refreshes it; rxshop.state.mail_push also refreshes it when the sender records an outcome.
"""

from __future__ import annotations

import dataclasses
import logging

import reflex as rx

from rxshop.admin.actions import ActionRefused
from rxshop.admin.messages import MessageView, order_messages, resend, revoke_links
from rxshop.core import notify
from rxshop.mail import sender
from rxshop.mail.outbox import Status
from rxshop.state.admin import UNEXPECTED, AdminState
from rxshop.state.admin_order import ORDER_ID

log = logging.getLogger(__name__)


def _when(value) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S UTC") if value else ""


@dataclasses.dataclass(frozen=True)
class MessageRow:
    id: int
    kind: str
    recipient: str
    status: str  # queued | sending | sent | failed
    status_text: str
    created: str
    can_resend: bool


def _row(message: MessageView, buyer_email: str) -> MessageRow:
    if message.status == Status.SENT:
        text = f"Sent {_when(message.sent_at)}"
    elif message.status == Status.FAILED:
        text = f"Failed after {message.attempts} attempt(s): {message.last_error}"
    elif message.status == Status.SENDING:
        text = f"Being sent (attempt {message.attempts})"
    elif message.attempts:
        text = f"Not sent yet (attempt {message.attempts}: {message.last_error}); next try {_when(message.next_attempt_at)}"
    else:
        text = "Queued"
    recipient = message.recipient or ("the owner" if message.kind.to_owner else buyer_email or "the buyer")
    copy = f" (copy of #{message.resend_of})" if message.resend_of else ""
    return MessageRow(
        message.id,
        message.kind.label + copy,
        recipient,
        message.status,
        text,
        _when(message.created_at),
        message.can_resend,
    )


class AdminMessagesState(AdminState):
    order_id: str = ""
    loaded: bool = False
    mail_mode: str = ""
    active_links: int = 0
    rows: list[MessageRow] = []
    result: str = ""

    async def _refresh(self, admin: str) -> None:
        if not self.order_id:
            return
        found = await self._service(order_messages, admin, order_id=self.order_id)
        self.loaded = True
        if found is None:
            self.rows = []
            return
        self.mail_mode, self.active_links = found.mail_mode, found.active_links
        self.rows = [_row(message, found.buyer_email) for message in found.messages]

    @rx.event
    async def load(self):
        """On the order page's load: the messages of ?id=."""
        order_id = self.router.url.query_parameters.get("id", "")
        self.result = ""
        admin = await self._admin_token()
        if not admin:
            return
        self.order_id = order_id if isinstance(order_id, str) and ORDER_ID.fullmatch(order_id) else ""
        await self._refresh(admin)

    async def _act(self, fn, **kwargs):
        """One admin action on this order: its result, or None with the refusal shown."""
        admin = await self._admin_token()
        if not admin or not self.order_id:
            return None, ""
        try:
            return await self._service(fn, admin, order_id=self.order_id, **kwargs), admin
        except ActionRefused as err:
            self.result = str(err)
        except Exception:
            log.exception("An email action on order %s failed", self.order_id)
            self.result = UNEXPECTED
        return None, admin

    @rx.event
    async def resend(self, message_id: int):
        """Send a sent or failed message of this order again (the id comes from the browser: checked)."""
        if isinstance(message_id, bool) or not isinstance(message_id, int) or message_id <= 0:
            return
        copy, admin = await self._act(resend, message_id=message_id)
        if copy is not None:
            sender.wake()
            self.result = f"{copy.kind.label} queued again."
        if admin:
            await self._refresh(admin)

    @rx.event
    async def revoke_links(self):
        """Every link to this order stops working; the buyer is emailed a new one."""
        revoked, admin = await self._act(revoke_links)
        if revoked is not None:
            sender.wake()
            notify.order_changed(revoked.visitor_id, self.order_id)  # open link pages re-check theirs
            sent = (
                "A new link is on its way to the buyer."
                if revoked.new_link_sent
                else "No new link was sent (email is off or the order has no address)."
            )
            self.result = f"{revoked.revoked} link(s) revoked. {sent}"
        if admin:
            await self._refresh(admin)
