"""Small FOCUS and LLM usage inputs built in the test, so each case shows what it changes."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from pathlib import Path

FOCUS_HEADER = [
    "BilledCost", "BillingAccountId", "BillingCurrency", "BillingPeriodEnd", "BillingPeriodStart",
    "ChargeCategory", "ChargePeriodEnd", "ChargePeriodStart", "EffectiveCost", "ListCost",
    "ProviderName", "ServiceName", "ResourceId", "CommitmentDiscountId", "Tags",
]

USAGE_HEADER = [
    "day", "provider", "model", "feature", "project_id", "requests", "input_tokens",
    "cached_input_tokens", "output_tokens", "cost",
]


def focus_row(i: int = 0, **changes: str) -> dict[str, str]:
    """A valid FOCUS row (September 2024, AWS), numbered ``i``; ``changes`` override columns."""
    day = 1 + i % 28
    row = {
        "BilledCost": "1.50", "BillingAccountId": "acct-1", "BillingCurrency": "USD",
        "BillingPeriodEnd": "2024-10-01 00:00:00", "BillingPeriodStart": "2024-09-01 00:00:00",
        "ChargeCategory": "Usage", "ChargePeriodEnd": f"2024-09-{day:02d} 01:00:00",
        "ChargePeriodStart": f"2024-09-{day:02d} 00:00:00", "EffectiveCost": "1.50",
        "ListCost": "1.50", "ProviderName": "AWS", "ServiceName": "Amazon EC2",
        "ResourceId": f"i-{i:05d}", "CommitmentDiscountId": "NULL", "Tags": '{"team": "ml"}',
    }
    row.update(changes)
    return row


def usage_row(i: int = 0, **changes: str) -> dict[str, str]:
    """A valid LLM usage row (May 2025), numbered ``i``; ``changes`` override columns."""
    row = {
        "day": f"2025-05-{1 + i % 28:02d}", "provider": "openai", "model": "gpt-4.1",
        "feature": "support-bot", "project_id": "proj_1", "requests": "100",
        "input_tokens": "10000", "cached_input_tokens": "0", "output_tokens": "2000",
        "cost": "0.25",
    }
    row.update(changes)
    return row


def csv_text(rows: Iterable[dict[str, str]], header: Sequence[str] = FOCUS_HEADER,
             newline: str = "\n") -> str:
    """The rows as CSV (minimal quoting), with the given line ending."""
    out = io.StringIO()
    writer = csv.DictWriter(out, list(header), lineterminator=newline, extrasaction="ignore")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


def write_csv(path: Path, rows: Iterable[dict[str, str]], header: Sequence[str] = FOCUS_HEADER
              ) -> Path:
    path.write_text(csv_text(rows, header), encoding="utf-8")
    return path


def csv_lines(rows: Iterable[dict[str, str]], header: Sequence[str] = FOCUS_HEADER) -> list[str]:
    """Header line then one line per row (no field of these rows spans lines)."""
    return csv_text(rows, header).splitlines()
