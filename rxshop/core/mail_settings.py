"""Email settings, read and checked: where mail goes (SMTP_URL, MAIL_MODE) and whose name it carries.

Pure parsing, no I/O: settings_env checks each variable with these, settings_policy refuses the combinations
that would lose a buyer's confirmation in production, and rxshop.mail.transport connects with `SmtpTarget`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from email.utils import parseaddr
from typing import Literal, get_args
from urllib.parse import unquote, urlsplit

MailMode = Literal["smtp", "mailbox", "off"]
MAIL_MODES: tuple[str, ...] = get_args(MailMode)
SHOP_NAME = "rxshop"
DEVELOPMENT_FROM = "rxshop <shop@localhost>"  # development only: the mailbox accepts any sender
LOOPBACK_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})
# One address, as a person types it: no spaces, one @, a dot in the domain (or localhost in development).
_ADDRESS = re.compile(r"[^@\s<>\"',;]{1,64}@[A-Za-z0-9.-]{1,253}")


class MailSettingError(ValueError):
    """A mail setting that cannot be used; settings_env words it for the person fixing `.env`."""


@dataclass(frozen=True)
class SmtpTarget:
    """What SMTP_URL says: where to connect, how to secure it, and who to log in as."""

    host: str
    port: int
    implicit_tls: bool  # smtps:// (TLS from the first byte, usually port 465)
    username: str | None
    password: str | None = field(repr=False)

    @property
    def starttls_required(self) -> bool:
        """smtp:// upgrades with STARTTLS and refuses a server that cannot, except on this machine itself
        (a local relay or a test server), where a server without STARTTLS is used as it is."""
        return not self.implicit_tls and self.host not in LOOPBACK_HOSTS

    def describe(self) -> str:
        """'mail.example.com:587 (STARTTLS)': for the start-up log, never the password."""
        how = (
            "TLS" if self.implicit_tls else ("STARTTLS" if self.starttls_required else "STARTTLS if offered")
        )
        return f"{self.host}:{self.port} ({how})"


def parse_smtp_url(url: str) -> SmtpTarget:
    """smtp://[user[:password]@]host[:port] (STARTTLS, default port 587) or smtps://... (TLS, 465)."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError as err:
        raise MailSettingError(str(err)) from None
    if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
        raise MailSettingError("not an smtp:// or smtps:// URL with a host")
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise MailSettingError("nothing may follow the host and port")
    implicit = parts.scheme == "smtps"
    return SmtpTarget(
        host=parts.hostname,
        port=port or (465 if implicit else 587),
        implicit_tls=implicit,
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password is not None else None,
    )


def checked_address(value: str) -> str:
    """'Name <a@b.example>' or 'a@b.example', as given (a header value: never a line break)."""
    if "\n" in value or "\r" in value:
        raise MailSettingError("a line break in an address")
    _name, address = parseaddr(value)
    if not _ADDRESS.fullmatch(address):
        raise MailSettingError("not an email address")
    return value.strip()


def address_of(value: str) -> str:
    """The bare address of 'Name <a@b.example>'."""
    return parseaddr(value)[1]


def normalize_email(value: str) -> str | None:
    """A buyer's address as typed into a form, trimmed and lower-cased; None when it is not one."""
    if not isinstance(value, str) or len(value) > 320:
        return None
    value = value.strip().lower()
    return value if _ADDRESS.fullmatch(value) else None
