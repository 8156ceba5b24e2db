"""Messages from templates: each kind is a plain-text and an HTML Jinja2 template in templates/.

Autoescaping is on for the HTML (an address or a tracking number the buyer or owner typed is text, never
markup) and off for the plain text. The HTML is one column, at most 600 px and fluid below it, with inline
styles only: no images, no tracking pixels, nothing fetched from anywhere. Pure: the context is plain data
made by rxshop.mail.compose.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from rxshop.mail.outbox import Kind

SUBJECTS: dict[Kind, str] = {
    Kind.ORDER_CONFIRMED: "Order {number} confirmed",
    Kind.PAYMENT_PROCESSING: "Order {number} received: payment processing",
    Kind.PAYMENT_FAILED: "Order {number}: the payment failed",
    Kind.SHIPPED: "Order {number} has shipped",
    Kind.REFUNDED: "Order {number}: refund of {amount}",
    Kind.ORDER_LINK: "A new link to your order {number}",
    Kind.SIGN_IN_CODE: "Your code to find your orders",
    Kind.OWNER_NEW_ORDER: "New order {number}: {total}",
    Kind.OWNER_EXCEPTION: "Needs a look: {label}",
}


@dataclass(frozen=True)
class Rendered:
    subject: str
    text: str
    html: str


@functools.cache
def environment() -> Environment:
    return Environment(
        loader=PackageLoader("rxshop.mail", "templates"),
        autoescape=select_autoescape(enabled_extensions=("html",), default_for_string=False),
        undefined=StrictUndefined,  # a missing value is a bug in compose, not an empty line in a mail
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


def subject_of(kind: Kind, context: dict[str, Any]) -> str:
    # The kind's own text (a refund's formatted amount) over the order's, over the raw parameters.
    texts = {name: value for name, value in context.items() if isinstance(value, str)}
    values = {**context.get("params", {}), **(context.get("order") or {}), **texts}
    text = SUBJECTS[kind].format(**values)
    return " ".join(f"{text} · {context['shop']['name']}".split())  # one line, always


def render(kind: Kind, context: dict[str, Any]) -> Rendered:
    """The subject, plain text and HTML of one message of `kind`."""
    subject = subject_of(kind, context)
    env = environment()
    values = {**context, "subject": subject}
    return Rendered(
        subject=subject,
        text=env.get_template(f"{kind}.txt").render(values),
        html=env.get_template(f"{kind}.html").render(values),
    )
