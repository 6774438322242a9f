"""Pure functions that turn service results into what the TUI shows.

Kept apart from the widgets so the ordering and wording can be tested without running an app,
and so no widget ever computes anything about money beyond adding up what it was given.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import Any

from rich.text import Text

from spendpilot.domain import Money, Proposal, ProposalStatus, format_money
from spendpilot.domain.reports import DailySpend, SpendLine, SweepReport

HASH_PREFIX_LEN = 12
"""How much of a plan hash a human is shown: enough to compare by eye with the CLI's output."""


def queue_order(proposals: Iterable[Proposal]) -> list[Proposal]:
    """Pending first (they are what a human must act on), then the biggest expected saving.

    The id breaks ties so the order is stable between refreshes and the cursor does not jump.
    """
    return sorted(
        proposals,
        key=lambda p: (
            p.status is not ProposalStatus.PENDING,
            -p.estimate.expected.amount,
            p.id,
        ),
    )


def short_hash(plan_hash: str) -> str:
    return plan_hash[:HASH_PREFIX_LEN]


def money(amount: Decimal, currency: str) -> str:
    return format_money(amount, currency)


def whole_money(value: Money) -> str:
    """A saving rounded to whole units: estimates are ranges, so cents in a table are noise."""
    return format_money(value.amount, value.currency, whole=True)


def spend_totals(days: Sequence[DailySpend]) -> str:
    """Total spend over the days given, one figure per currency (never adds across currencies)."""
    if not days:
        return "no spend data"
    totals: dict[str, Decimal] = {}
    for day in days:
        totals[day.currency] = totals.get(day.currency, Decimal(0)) + day.cost
    return " + ".join(money(amount, currency) for currency, amount in totals.items())


def spend_line(line: SpendLine) -> str:
    return f"{line.key} {money(line.cost, line.currency)}"


def sweep_summary(report: SweepReport) -> str:
    return (
        f"Sweep {report.sweep_id}: {len(report.new_proposals)} new, "
        f"{len(report.unchanged_proposals)} unchanged, {len(report.suppressed)} suppressed "
        f"from {report.findings} findings; expected {report.totals_text()}/mo"
        + (f"; {len(report.gaps)} source(s) NOT READ: {', '.join(g.label() for g in report.gaps)}" if report.gaps else "")
    )


def mapping_lines(mapping: dict[str, Any]) -> list[str]:
    """One ``key: value`` line per entry; values as compact JSON so nested data stays legible."""
    if not mapping:
        return ["(none)"]
    return [
        f"{key}: {json.dumps(value, sort_keys=True, default=str)}"
        for key, value in sorted(mapping.items())
    ]


def labelled_lines(rows: Sequence[tuple[str, str | Text]]) -> Text:
    """Aligned ``label  value`` lines; values are appended as text, never parsed as markup."""
    width = max((len(label) for label, _ in rows), default=0) + 2
    lines = [Text.assemble((label.ljust(width), "dim"), value) for label, value in rows]
    return Text("\n").join(lines)
