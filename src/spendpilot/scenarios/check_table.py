"""The cells of ``spendpilot eval``'s per-check table, apart from how a terminal draws them."""

from __future__ import annotations

from typing import TYPE_CHECKING

from spendpilot.scenarios.score import CheckTally

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
