"""GET /dev/mailbox: the built-in mailbox in the browser, for development (MAIL_MODE=mailbox).

Lists every message the shop "sent", newest first, and shows one with its headers, its plain text and its
HTML (in a sandboxed frame: no scripts, nothing fetched). Mounted only outside production, and production
refuses MAIL_MODE=mailbox anyway: whoever opens it reads every buyer's mail, codes and links included.
"""

from __future__ import annotations

import asyncio
import re
from html import escape

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from rxshop.core import routes
from rxshop.mail.mailbox import Letter, Mailbox

_HEADERS = {
    "Cache-Control": "no-store",
    # The message's own HTML is shown in a sandboxed srcdoc frame, which inherits this policy.
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; frame-src 'self'",
    "Referrer-Policy": "no-referrer",
}
_STYLE = """body{font-family:system-ui,sans-serif;margin:0 auto;max-width:960px;padding:1em;color:#1f1e1b}
table{border-collapse:collapse;width:100%}td,th{text-align:left;padding:.4em;border-bottom:1px solid #ddd}
pre{white-space:pre-wrap;background:#f6f6f3;padding:1em}iframe{width:100%;height:70vh;border:1px solid #ccc}
.phone{width:375px;max-width:100%}"""


def _page(title: str, body: str, *, refresh: bool = False) -> HTMLResponse:
    meta = '<meta http-equiv="refresh" content="5">' if refresh else ""
    html = (
        f'<!doctype html><html lang="en"><head><meta charset="utf-8">{meta}'
        f'<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(title)}</title><style>{_STYLE}</style></head><body>{body}</body></html>"
    )
    return HTMLResponse(html, headers=_HEADERS)


_URL = re.compile(r"https?://[^\s<>\"]+")
# Links in a message open in a new tab (the frame itself runs no scripts, so the shop cannot load in it).
_FRAME = 'sandbox="allow-popups allow-popups-to-escape-sandbox"'


def _linked(text: str) -> str:
    """Plain text, escaped, with its web addresses as links (the order link of a confirmation)."""
    return _URL.sub(
        lambda m: f'<a href="{m.group(0)}" target="_blank" rel="noreferrer">{m.group(0)}</a>', escape(text)
    )


def _frame(html: str, title: str, extra: str = "") -> str:
    document = '<base target="_blank">' + html
    return f'<iframe {_FRAME} {extra} title="{title}" srcdoc="{escape(document)}"></iframe>'


def _when(letter: Letter) -> str:
    return letter.date.strftime("%Y-%m-%d %H:%M:%S") if letter.date else ""


async def mailbox_index(request: Request) -> Response:
    letters = await asyncio.to_thread(Mailbox.default().letters)
    rows = "".join(
        f'<tr><td>{escape(_when(x))}</td><td>{escape(x.to)}</td><td><a href="{routes.DEV_MAILBOX}/'
        f'{escape(x.key)}">{escape(x.subject) or "(no subject)"}</a></td></tr>'
        for x in letters
    )
    table = (
        f"<table><thead><tr><th>Date</th><th>To</th><th>Subject</th></tr></thead><tbody>{rows}</tbody></table>"
        if letters
        else "<p>No messages yet. Buy something: the confirmation lands here.</p>"
    )
    intro = (
        "<h1>Development mailbox</h1><p>Every email rxshop sends in development lands here instead of "
        "going out (MAIL_MODE=mailbox; set SMTP_URL to send for real). This page reloads every 5 s.</p>"
    )
    return _page("Mailbox · rxshop", intro + table, refresh=True)


async def mailbox_message(request: Request) -> Response:
    key = request.path_params.get("key", "")
    letter = await asyncio.to_thread(Mailbox.default().letter, key)
    if letter is None:
        return _page("Not found · rxshop", "<h1>No such message</h1>")
    phone = _frame(letter.html, "The message at 375 px", 'class="phone"')
    body = (
        f'<p><a href="{routes.DEV_MAILBOX}">← All messages</a></p>'
        f"<h1>{escape(letter.subject)}</h1>"
        f"<p>From {escape(letter.sender)} to {escape(letter.to)}, {escape(_when(letter))}</p>"
        f"<h2>Plain text</h2><pre>{_linked(letter.text)}</pre>"
        f"<h2>HTML</h2>{_frame(letter.html, 'The message as HTML')}"
        f"<h2>At 375 px</h2>{phone}"
    )
    return _page(f"{letter.subject} · Mailbox · rxshop", body)
