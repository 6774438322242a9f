"""Money is a Decimal with a currency, never a bare float."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import Annotated

from pydantic import BaseModel, ConfigDict, PlainSerializer

HOURS_PER_MONTH = Decimal("730")
"""AWS's own convention for monthly figures (8,760 h / 12)."""

DAYS_PER_MONTH = Decimal("30.4167")

CENT = Decimal("0.01")

# Serialised as a string so JSON consumers never see binary-float rounding.
DecimalStr = Annotated[Decimal, PlainSerializer(lambda d: str(d), return_type=str, when_used="json")]


class Money(BaseModel):
    model_config = ConfigDict(frozen=True)

    amount: DecimalStr
    currency: str = "USD"

    @classmethod
    def usd(cls, amount: Decimal | int | str) -> Money:
        return cls(amount=Decimal(amount), currency="USD")

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
        q = self.amount.quantize(CENT, rounding=ROUND_HALF_UP)
        symbol = "$" if self.currency == "USD" else f"{self.currency} "
        return f"{symbol}{q:,}"
