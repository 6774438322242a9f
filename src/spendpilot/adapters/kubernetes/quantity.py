"""Kubernetes resource quantities ("500m", "2Gi", "1e3", "128974848") as numbers.

The grammar is the API's (``k8s.io/apimachinery/pkg/api/resource``): a signed decimal number,
then a binary suffix (Ki Mi Gi Ti Pi Ei), a decimal SI suffix (n u m "" k M G T P E) or a
decimal exponent (e3, E-2). Anything else is refused with the text that failed, so a bad
manifest is named instead of read as zero.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

_BINARY = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "Pi": 2**50, "Ei": 2**60}
_DECIMAL = {"n": Decimal("1e-9"), "u": Decimal("1e-6"), "m": Decimal("1e-3"), "": Decimal(1),
            "k": Decimal("1e3"), "M": Decimal("1e6"), "G": Decimal("1e9"), "T": Decimal("1e12"),
            "P": Decimal("1e15"), "E": Decimal("1e18")}  # fmt: skip
_GRAMMAR = re.compile(
    r"^(?P<num>[+-]?(?:\d+(?:\.\d*)?|\.\d+))(?P<suffix>Ki|Mi|Gi|Ti|Pi|Ei|[numkMGTPE]|[eE][+-]?\d+)?$"
)


class QuantityError(ValueError):
    """A quantity string that is not in the API's grammar."""


def parse_quantity_decimal(value: str | int | float) -> Decimal:
    if isinstance(value, bool):
        raise QuantityError(f"not a quantity: {value!r}")
    if isinstance(value, int | float):
        return Decimal(str(value))
    match = _GRAMMAR.match(value.strip())
    if not match:
        raise QuantityError(f"not a Kubernetes quantity: {value!r}")
    try:
        number = Decimal(match["num"])
    except InvalidOperation as exc:  # pragma: no cover - the grammar admits only numbers
        raise QuantityError(f"not a Kubernetes quantity: {value!r}") from exc
    suffix = match["suffix"] or ""
    if suffix in _BINARY:
        return number * _BINARY[suffix]
    if suffix in _DECIMAL:
        return number * _DECIMAL[suffix]
    return number * Decimal(10) ** int(suffix[1:])


def parse_quantity(value: str | int | float) -> float:
    """The quantity as a float: cores for CPU, bytes for memory, a count for extended resources."""
    return float(parse_quantity_decimal(value))


def parse_resources(values: dict[str, str] | None) -> dict[str, float]:
    """A requests/limits/allocatable map with every quantity parsed."""
    return {name: parse_quantity(q) for name, q in (values or {}).items()}


def format_cpu(cores: float) -> str:
    """Cores as the API writes them: whole cores plain, else millicores ("250m")."""
    milli = round(cores * 1000)
    return str(milli // 1000) if milli % 1000 == 0 else f"{milli}m"


def format_memory(num_bytes: float) -> str:
    """Bytes as Mi (rounded up), or Gi when whole."""
    mib = -(-int(num_bytes) // 2**20)
    return f"{mib // 1024}Gi" if mib % 1024 == 0 and mib else f"{mib}Mi"
