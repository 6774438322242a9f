"""Money is a Decimal with a currency, never a bare float; one formatter for every front-end."""

from __future__ import annotations

from collections.abc import Iterable
from decimal import ROUND_HALF_UP, Decimal
from typing import Annotated

from pydantic import BaseModel, ConfigDict, PlainSerializer, field_validator

from spendpilot.domain.money_text import CENT, format_money, per_unit

__all__ = ["CENT", "DAYS_PER_MONTH", "HOURS_PER_MONTH", "DecimalStr", "Money", "format_money", "per_unit", "totals_by_currency"]

HOURS_PER_MONTH = Decimal("730")
"""AWS's own convention for monthly figures (8,760 h / 12)."""

DAYS_PER_MONTH = Decimal("30.4167")


# Serialised as a string so JSON consumers never see binary-float rounding.
DecimalStr = Annotated[Decimal, PlainSerializer(lambda d: str(d), return_type=str, when_used="json")]


class Money(BaseModel):
    model_config = ConfigDict(frozen=True)

    amount: DecimalStr
    currency: str = "USD"

    @field_validator("currency")
    @classmethod
    def _iso_4217(cls, value: str) -> str:
        code = value.strip().upper()
        if len(code) != 3 or not code.isalpha():
            raise ValueError(f"currency {value!r} is not an ISO 4217 code (e.g. USD, EUR)")
        return code

    @classmethod
    def usd(cls, amount: Decimal | int | str) -> Money:
        return cls(amount=Decimal(amount), currency="USD")

    @classmethod
    def of(cls, amount: Decimal | int | str, currency: str) -> Money:
        return cls(amount=Decimal(amount), currency=currency)

    def rounded(self) -> Money:
        return Money(amount=self.amount.quantize(CENT, rounding=ROUND_HALF_UP), currency=self.currency)

    def __add__(self, other: Money) -> Money:
        self._same_currency(other)
        return Money(amount=self.amount + other.amount, currency=self.currency)

    def __sub__(self, other: Money) -> Money:
        self._same_currency(other)
        return Money(amount=self.amount - other.amount, currency=self.currency)

    def __mul__(self, factor: Decimal | int) -> Money:
        return Money(amount=self.amount * Decimal(factor), currency=self.currency)

    def _same_currency(self, other: Money) -> None:
        if other.currency != self.currency:
            raise ValueError(f"cannot combine {self.currency} with {other.currency}")

    def __str__(self) -> str:
        return format_money(self.amount, self.currency)


def totals_by_currency(amounts: Iterable[Money]) -> list[Money]:
    """Sum per currency (never across them), largest first."""
    sums: dict[str, Money] = {}
    for m in amounts:
        sums[m.currency] = sums[m.currency] + m if m.currency in sums else m
    return sorted((m.rounded() for m in sums.values()), key=lambda m: -m.amount)
