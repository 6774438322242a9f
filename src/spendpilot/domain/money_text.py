"""How money is written: the one formatter for every front-end, importable without pydantic.

``money`` (the pydantic ``Money`` model) re-exports these; they live apart so that a listing
(``spendpilot proposals``) formats 30,000 amounts without importing pydantic at all.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

CENT = Decimal("0.01")
_ONE = Decimal(1)

_SYMBOLS = {"USD": "$", "EUR": "€", "GBP": "£", "JPY": "¥"}


def format_money(amount: Decimal | float | int, currency: str, *, whole: bool = False) -> str:
    """The one way money is written in the CLI, the TUI, evidence and chat: ``$1,234.50``,
    ``€1,234.50``, ``CHF 1,234.50``; ``whole`` drops the cents (dashboards)."""
    value = amount if type(amount) is Decimal else Decimal(str(amount))
    q = value.quantize(_ONE if whole else CENT, rounding=ROUND_HALF_UP)
    symbol = _SYMBOLS.get(currency)
    sign = "-" if q < 0 else ""
    body = f"{abs(q):,}"  # abs: -0.00 is written 0.00
    return f"{sign}{symbol}{body}" if symbol else f"{sign}{currency} {body}"


def per_unit(amount: Decimal | float, currency: str, unit: str) -> str:
    """A rate such as ``$32.77/h`` without rounding away the digits a price has."""
    symbol = _SYMBOLS.get(currency)
    return f"{symbol}{amount}/{unit}" if symbol else f"{currency} {amount}/{unit}"
