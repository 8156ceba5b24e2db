"""The three products the shop sells; prices in integer minor units (cents)."""

from __future__ import annotations

from dataclasses import dataclass

CURRENCY = "usd"
MAX_QUANTITY = 20  # per product, per order


@dataclass(frozen=True)
class Product:
    id: str
    name: str
    description: str
    unit_amount: int  # minor units of CURRENCY
    image: str  # path under assets/, served at the site root


PRODUCTS: tuple[Product, ...] = (
    Product(
        id="mug",
        name="Morning Mug",
        description="Hand-glazed stoneware mug, 350 ml. Keeps coffee warm through the first email.",
        unit_amount=1800,
        image="/products/mug.svg",
    ),
    Product(
        id="tote",
        name="Canvas Tote",
        description="Heavy cotton tote with a long strap and an inside pocket for keys.",
        unit_amount=2400,
        image="/products/tote.svg",
    ),
    Product(
        id="notebook",
        name="Dot-Grid Notebook",
        description="A5, 160 pages of 100 gsm paper that fountain pens love. Lays flat.",
        unit_amount=1250,
        image="/products/notebook.svg",
    ),
)

_BY_ID = {p.id: p for p in PRODUCTS}


class UnknownProduct(ValueError):
    """A product id that is not in the catalog (a browser can send anything)."""


def get_product(product_id: str) -> Product:
    """The product with this id, or UnknownProduct."""
    try:
        return _BY_ID[product_id]
    except (KeyError, TypeError):
        raise UnknownProduct("That product is not in the shop.") from None


def format_money(amount: int, currency: str = CURRENCY) -> str:
    """'$18.00' for 1800 usd; integer arithmetic only, never floats."""
    symbol = {"usd": "$", "eur": "€", "gbp": "£"}.get(currency.lower(), "")
    sign = "-" if amount < 0 else ""
    whole, cents = divmod(abs(int(amount)), 100)
    text = f"{sign}{symbol}{whole:,}.{cents:02d}"
    return text if symbol else f"{text} {currency.upper()}"


def shipping_amount_text(amount: int, currency: str = CURRENCY) -> str:
    """'Free' when nothing was charged for shipping, else the amount."""
    return "Free" if amount == 0 else format_money(amount, currency)


def discount_text(amount: int, currency: str = CURRENCY) -> str:
    """A discount as taken off the total: '−$4.30' (a real minus sign); '' when there was none."""
    return "\u2212" + format_money(amount, currency) if amount > 0 else ""
