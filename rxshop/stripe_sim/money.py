"""Currencies Stripe accepts, their minor-unit exponents and minimum charge amounts; amounts stay integers."""

from __future__ import annotations

# Stripe's presentment currencies (lower-case ISO 4217), as listed on docs.stripe.com/currencies.
CURRENCIES = frozenset(
    """
usd aed afn all amd ang aoa ars aud awg azn bam bbd bdt bgn bhd bif bmd bnd bob brl bsd bwp byn bzd cad cdf
chf clp cny cop crc cve czk djf dkk dop dzd egp etb eur fjd fkp gbp gel gip gmd gnf gtq gyd hkd hnl htg huf
idr ils inr isk jmd jod jpy kes kgs khr kmf krw kwd kyd kzt lak lbp lkr lrd lsl mad mdl mga mkd mmk mnt mop
mur mvr mwk mxn myr mzn nad ngn nio nok npr nzd omr pab pen pgk php pkr pln pyg qar ron rsd rub rwf sar sbd
scr sek sgd shp sle sos srd std szl thb tjs tnd top try ttd twd tzs uah ugx uyu uzs vnd vuv wst xaf xcd xof
xpf yer zar zmw
""".split()
)

ZERO_DECIMAL = frozenset("bif clp djf gnf jpy kmf krw mga pyg rwf ugx vnd vuv xaf xof xpf".split())
THREE_DECIMAL = frozenset("bhd jod kwd omr tnd".split())

# Minimum amount a Checkout Session in payment mode may charge, in minor units (Stripe's published table).
MINIMUM_CHARGE = {
    "usd": 50,
    "aed": 200,
    "aud": 50,
    "bgn": 100,
    "brl": 50,
    "cad": 50,
    "chf": 50,
    "czk": 1500,
    "dkk": 250,
    "eur": 50,
    "gbp": 30,
    "hkd": 400,
    "huf": 17500,
    "inr": 50,
    "jpy": 50,
    "mxn": 1000,
    "myr": 200,
    "nok": 300,
    "nzd": 50,
    "pln": 200,
    "ron": 200,
    "sek": 300,
    "sgd": 50,
    "thb": 1000,
}

# Stripe refuses amounts above eight digits in minor units.
MAXIMUM_AMOUNT = 99_999_999


def exponent(currency: str) -> int:
    if currency in ZERO_DECIMAL:
        return 0
    if currency in THREE_DECIMAL:
        return 3
    return 2


def format_amount(amount: int, currency: str) -> str:
    """`1999, "usd"` -> `"19.99 USD"`; integer arithmetic only."""
    places = exponent(currency)
    sign = "-" if amount < 0 else ""
    amount = abs(amount)
    if places == 0:
        text = f"{amount:,}"
    else:
        major, minor = divmod(amount, 10**places)
        text = f"{major:,}.{minor:0{places}d}"
    return f"{sign}{text} {currency.upper()}"
