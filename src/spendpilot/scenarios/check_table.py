"""The cells of ``spendpilot eval``'s per-check table, apart from how a terminal draws them."""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING

from spendpilot.domain import format_money
from spendpilot.scenarios.score import TRUTH_CURRENCY, CheckTally, RealizedComparison

if TYPE_CHECKING:
    from rich.table import Table

NO_VALUE = "—"
"""Shown where a figure has nothing to be computed from (no truth recorded, nothing planted)."""

CHECK_TABLE_TITLE = "Per check (savings error: mean of (estimate - truth) / truth)"
CHECK_COLUMNS = ("check", "planted", "found", "missed", "traps", "unexpected", "recall", "precision",
                 "savings error", "truth in range")


def _percent(value: float | None, *, signed: bool = False) -> str:
    if value is None:
        return NO_VALUE
    return f"{value:+.1%}" if signed else f"{value:.0%}"


def check_cells(tally: CheckTally) -> tuple[str, ...]:
    """One row: counts, recall, precision, mean signed savings error over the found proposals with
    a recorded truth (how many, in brackets), and how many of those truths lie inside the estimate's
    low-high range."""
    compared = len(tally.savings)
    error = NO_VALUE if not compared else f"{_percent(tally.savings_error, signed=True)} (n={compared})"
    in_range = NO_VALUE if not compared else f"{tally.truths_in_range}/{compared}"
    return (tally.rule, str(tally.planted), str(tally.found), str(tally.missed), str(tally.traps_sprung),
            str(tally.unexpected), _percent(tally.recall), _percent(tally.precision), error, in_range)


def plain_lines(tallies: list[CheckTally]) -> list[str]:
    """The table as tab-free aligned text, for logs and pipes."""
    rows = [CHECK_COLUMNS, *(check_cells(t) for t in tallies)]
    widths = [max(len(row[i]) for row in rows) for i in range(len(CHECK_COLUMNS))]
    return ["  ".join(cell.ljust(w) if i == 0 else cell.rjust(w) for i, (cell, w) in enumerate(zip(row, widths, strict=True))).rstrip()
            for row in rows]


def check_table(tallies: list[CheckTally]) -> Table:
    """The table for a terminal: rule names stay whole, narrow terminals wrap the figures."""
    from rich import box
    from rich.table import Table

    table = Table(title=CHECK_TABLE_TITLE, box=box.SIMPLE_HEAD)
    for column in CHECK_COLUMNS:
        table.add_column(column, justify="left" if column == "check" else "right", no_wrap=column == "check")
    for tally in tallies:
        table.add_row(*check_cells(tally))
    return table


# --- estimate vs realized (scenarios with a realized.yaml) ------------------------------------

REALIZED_TITLE = "Estimate vs realized (post-execution billing; error: (estimate - realized) / estimate)"
REALIZED_COLUMNS = ("check", "scenario", "target", "estimate", "realized", "truth", "error", "status")


def _money(value: Decimal | None) -> str:
    return NO_VALUE if value is None else format_money(value, TRUTH_CURRENCY)


def realized_cells(row: RealizedComparison) -> tuple[str, ...]:
    """One executed proposal: its estimate, what the bill after it showed, the planted truth, the
    signed error of the estimate against the bill, and whether the measurement is right."""
    error = NO_VALUE if row.error is None else f"{row.error:+.1%}"
    status = ("ok" if row.realized_ok else "WRONG") if row.status == "measured" else row.status
    return (row.rule, row.scenario, row.target, _money(row.estimate), _money(row.realized), _money(row.truth),
            error, status)


def realized_plain_lines(rows: list[RealizedComparison]) -> list[str]:
    table = [REALIZED_COLUMNS, *(realized_cells(r) for r in rows)]
    widths = [max(len(row[i]) for row in table) for i in range(len(REALIZED_COLUMNS))]
    return ["  ".join(cell.ljust(w) if i < 3 else cell.rjust(w) for i, (cell, w) in enumerate(zip(row, widths, strict=True))).rstrip()
            for row in table]


def realized_table(rows: list[RealizedComparison]) -> Table:
    from rich import box
    from rich.table import Table

    table = Table(title=REALIZED_TITLE, box=box.SIMPLE_HEAD)
    for i, column in enumerate(REALIZED_COLUMNS):
        table.add_column(column, justify="left" if i < 3 else "right", no_wrap=i < 3)
    for row in rows:
        table.add_row(*realized_cells(row))
    return table
