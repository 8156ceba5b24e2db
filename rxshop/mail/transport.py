"""Where composed email goes: an SMTP server (aiosmtplib), or in development the built-in mailbox.

A transport takes a batch and answers, per message, None (accepted) or a `Refusal` that says whether a
later attempt could succeed. SMTP: one connection per batch; a refused recipient or message (5xx) is final,
everything else (no connection, a timeout, 4xx, a wrong password that a restart may fix) is retried.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from email.message import Message
from typing import Protocol

import aiosmtplib

from rxshop.core.mail_settings import SmtpTarget
from rxshop.core.settings import Settings
from rxshop.mail.mailbox import Mailbox

SMTP_TIMEOUT_SECONDS = 20


@dataclass(frozen=True)
class Refusal:
    reason: str
    final: bool  # True: sending it again would be refused again


class Transport(Protocol):
    async def deliver(self, messages: Sequence[Message]) -> list[Refusal | None]: ...


def _refusal(err: Exception) -> Refusal:
    """How an SMTP error reads for the owner, and whether it is final."""
    if isinstance(err, aiosmtplib.SMTPRecipientsRefused):
        codes = [r.code for r in err.recipients]
        text = "; ".join(f"{r.code} {r.message}" for r in err.recipients)
        return Refusal(f"the address was refused: {text}", final=all(500 <= c < 600 for c in codes))
    if isinstance(err, aiosmtplib.SMTPDataError | aiosmtplib.SMTPRecipientRefused):
        return Refusal(
            f"the server refused the message: {err.code} {err.message}", final=500 <= err.code < 600
        )
    if isinstance(err, aiosmtplib.SMTPResponseException):
        return Refusal(f"the server answered {err.code} {err.message}", final=False)
    if isinstance(err, aiosmtplib.SMTPException | OSError | asyncio.TimeoutError):
        return Refusal(f"could not reach the mail server: {err.__class__.__name__}: {err}", final=False)
    raise err


class SmtpTransport:
    """SMTP_URL: STARTTLS (required but on this machine itself) or TLS, with the login it names."""

    def __init__(self, target: SmtpTarget, timeout: float = SMTP_TIMEOUT_SECONDS) -> None:
        self.target = target
        self.timeout = timeout

    def _client(self) -> aiosmtplib.SMTP:
        target = self.target
        start_tls: bool | None = True  # refuse a server that cannot encrypt
        if target.implicit_tls:
            start_tls = False  # encrypted from the first byte already
        elif not target.starttls_required:
            start_tls = None  # this machine itself: upgrade if offered
        return aiosmtplib.SMTP(
            hostname=target.host,
            port=target.port,
            username=target.username,
            password=target.password,
            use_tls=target.implicit_tls,
            start_tls=start_tls,
            timeout=self.timeout,
        )

    async def deliver(self, messages: Sequence[Message]) -> list[Refusal | None]:
        client = self._client()
        try:
            await client.connect()
        except Exception as err:  # noqa: BLE001 (each message gets the reason; _refusal re-raises the unknown)
            refusal = _refusal(err)
            return [refusal] * len(messages)
        results: list[Refusal | None] = []
        try:
            for message in messages:
                if not client.is_connected:  # the server hung up: the rest wait for the next attempt
                    results.append(Refusal("the mail server closed the connection", final=False))
                    continue
                try:
                    await client.send_message(message)
                    results.append(None)
                except Exception as err:  # noqa: BLE001 (as above)
                    results.append(_refusal(err))
        finally:
            try:
                await client.quit()
            except Exception:  # noqa: BLE001 (everything is recorded; a failed goodbye changes nothing)
                client.close()
        return results


class MailboxTransport:
    """Development: every message goes into the built-in mailbox (never out of this machine)."""

    def __init__(self, mailbox: Mailbox) -> None:
        self.mailbox = mailbox

    async def deliver(self, messages: Sequence[Message]) -> list[Refusal | None]:
        await asyncio.to_thread(self.mailbox.add_all, list(messages))
        return [None] * len(messages)


def transport_for(settings: Settings) -> Transport | None:
    """The transport MAIL_MODE names; None when email is off."""
    if settings.mail_mode == "smtp":
        target = settings.smtp_target
        assert target is not None  # the policy refuses MAIL_MODE=smtp without SMTP_URL
        return SmtpTransport(target)
    if settings.mail_mode == "mailbox":
        return MailboxTransport(Mailbox.default())
    return None
