"""Quantities in every form the API writes them (values checked against the apimachinery grammar)."""

from __future__ import annotations

import pytest

from spendpilot.adapters.kubernetes.quantity import (
    QuantityError,
    format_cpu,
    format_memory,
    parse_quantity,
)


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("500m", 0.5), ("2", 2.0), ("0.5", 0.5), (".5", 0.5), ("250000000n", 0.25), ("1500u", 0.0015),
        ("2Gi", 2 * 2**30), ("512Mi", 512 * 2**20), ("1048576Ki", 2**30), ("1Ti", 2**40), ("1.5Gi", 1.5 * 2**30),
        ("1e3", 1000.0), ("1E3", 1000.0), ("5e-3", 0.005), ("1k", 1000.0), ("129M", 129e6), ("1G", 1e9),
        ("128974848", 128974848.0), ("+1", 1.0), ("1Ei", 2.0**60), ("2P", 2e15),
    ],
)  # fmt: skip
def test_parses_the_api_suffixes(text: str, value: float) -> None:
    assert parse_quantity(text) == pytest.approx(value)


@pytest.mark.parametrize("text", ["", "lots", "1K", "2gi", "1.2.3", "Mi", "1 Gi", "1iB", "e3"])
def test_refuses_what_the_api_refuses(text: str) -> None:
    with pytest.raises(QuantityError, match="quantity"):
        parse_quantity(text)


def test_numbers_pass_through() -> None:
    assert parse_quantity(3) == 3.0 and parse_quantity(0.25) == 0.25


def test_formats_as_the_api_writes() -> None:
    assert [format_cpu(c) for c in (2.0, 0.25, 1.5, 0.0015)] == ["2", "250m", "1500m", "2m"]
    assert [format_memory(b) for b in (2**30, 300 * 2**20, 300 * 2**20 + 1)] == [
        "1Gi",
        "300Mi",
        "301Mi",
    ]
