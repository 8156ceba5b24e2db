"""The built-in mailbox (development, MAIL_MODE=mailbox): every message the shop "sends" lands here.

A Maildir under .data/mailbox (a hidden folder: `reflex run` does not reload on its writes), so it survives
restarts, any process may add to it, and any mail program can open it. rxshop.web.mailbox shows it in the
browser at /dev/mailbox; nothing in it ever leaves the machine.
"""

from __future__ import annotations

import email
import email.policy
import mailbox
import re
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage, Message
from email.utils import parsedate_to_datetime
from pathlib import Path

DEFAULT_PATH = Path(".data") / "mailbox"
KEY = re.compile(r"[A-Za-z0-9._:,-]{1,200}")  # a Maildir key (the file name), nothing that walks paths


@dataclass(frozen=True)
class Letter:
    """One message as the mailbox page shows it."""

    key: str
    to: str
    sender: str
    subject: str
    date: datetime | None
    text: str
    html: str


def _letter(key: str, message: EmailMessage) -> Letter:
    text = message.get_body(preferencelist=("plain",))
    html = message.get_body(preferencelist=("html",))
    try:
        date = parsedate_to_datetime(message["Date"]) if message["Date"] else None
    except (TypeError, ValueError):
        date = None
    return Letter(
        key=key,
        to=str(message["To"] or ""),
        sender=str(message["From"] or ""),
        subject=str(message["Subject"] or ""),
        date=date,
        text=text.get_content() if text is not None else "",
        html=html.get_content() if html is not None else "",
    )


class Mailbox:
    def __init__(self, path: Path) -> None:
        self.path = path

    @classmethod
    def default(cls) -> Mailbox:
        return cls(DEFAULT_PATH)

    def _maildir(self) -> mailbox.Maildir:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        return mailbox.Maildir(self.path, factory=None, create=True)

    def add_all(self, messages: list[Message]) -> list[str]:
        box = self._maildir()
        return [box.add(message.as_bytes()) for message in messages]

    def _parse(self, box: mailbox.Maildir, key: str) -> EmailMessage:
        with box.get_file(key) as file:
            parsed = email.message_from_bytes(file.read(), policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        return parsed

    def letters(self, limit: int = 200) -> list[Letter]:
        """The newest `limit` messages, newest first."""
        if not self.path.exists():
            return []
        box = self._maildir()
        found = [_letter(key, self._parse(box, key)) for key in box.keys()]
        found.sort(key=lambda letter: (letter.date or datetime.min.astimezone(), letter.key), reverse=True)
        return found[:limit]

    def letter(self, key: str) -> Letter | None:
        if not KEY.fullmatch(key) or not self.path.exists():
            return None
        box = self._maildir()
        try:
            return _letter(key, self._parse(box, key))
        except KeyError:
            return None
