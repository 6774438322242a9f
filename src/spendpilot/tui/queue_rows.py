"""The queue's rows as pre-drawn lines: formatted, measured and laid out once, off the event loop.

A ``DataTable`` renders every visible cell on the event loop (a rich ``Padding`` and
``render_lines`` per cell): ~70 ms of loop CPU for one fresh page of 50 rows, whatever the app
does. The queue instead draws each row here, in the worker that reads the proposals: the cells
are formatted, the column widths measured over every row, and each row becomes one ``Strip`` of
seven padded segments carrying only the cell's own style (risk and status colours). The widget
then lays the row's background (zebra stripe, cursor) under the strip and crops it to the
viewport, for the visible lines only.

Every text is plain: target names and ids come from cloud APIs and are never parsed as markup,
and control characters (a newline in a tag value) become spaces so a row stays one line.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Literal

from rich.cells import cell_len, set_cell_size
from rich.segment import Segment
from rich.style import Style
from textual.strip import Strip

from spendpilot.domain import ProposalStatus, ProposalSummary, Risk, format_money

RISK_STYLES: dict[Risk, str] = {Risk.LOW: "green", Risk.MEDIUM: "yellow", Risk.HIGH: "bold red"}
STATUS_STYLES: dict[ProposalStatus, str] = {
    ProposalStatus.PENDING: "bold",
    ProposalStatus.EXECUTED: "green",
    ProposalStatus.APPROVED: "bold cyan",
    ProposalStatus.REJECTED: "dim",
    ProposalStatus.SUPERSEDED: "dim",
    ProposalStatus.DRIFTED: "yellow",
    ProposalStatus.FAILED: "red",
}
STATUS_LABELS: dict[ProposalStatus, str] = {ProposalStatus.APPROVED: "approved→resume"}
"""Short forms for the table; the detail pane spells them out (see ``AWAITING_RESUME``)."""

TARGET_WIDTH = 24
"""Long target names are cut with an ellipsis here; the detail pane shows them in full."""

CELL_PADDING = 1
"""Blank cells either side of every cell, as ``DataTable`` draws them."""

_RISK_RICH = {risk: Style.parse(style) for risk, style in RISK_STYLES.items()}
_STATUS_RICH = {status: Style.parse(style) for status, style in STATUS_STYLES.items()}


@dataclass(frozen=True, slots=True)
class Column:
    label: str
    key: str
    max_width: int | None = None
    justify: Literal["left", "right"] = "left"


COLUMNS: tuple[Column, ...] = (
    Column("ID", "id"),
    Column("Action", "action"),
    Column("Target", "target", TARGET_WIDTH),
    Column("Exp $/mo", "expected", justify="right"),
    Column("Low–High", "range", justify="right"),
    Column("Risk", "risk"),
    Column("Status", "status"),
)

Cell = tuple[str, Style | None]
"""A cell's full plain text and its own style (None: the row's style alone)."""


def _one_line(text: str) -> str:
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else " " for c in text)


def row_cells(proposal: ProposalSummary) -> tuple[Cell, ...]:
    """The seven cells of a proposal's row, untruncated (``ProposalQueue.get_row_at`` shows
    these; the drawn line cuts the target to ``TARGET_WIDTH``)."""
    currency = proposal.currency

    def whole(amount: Decimal) -> str:  # estimates are ranges: cents in a table are noise
        return format_money(amount, currency, whole=True)

    return (
        (_one_line(proposal.id), None),
        (_one_line(proposal.action), None),
        (_one_line(proposal.target_label), None),
        (whole(proposal.expected), None),
        (f"{whole(proposal.low)}–{whole(proposal.high)}", None),
        (proposal.risk.value, _RISK_RICH.get(proposal.risk)),
        (STATUS_LABELS.get(proposal.status, proposal.status.value), _STATUS_RICH.get(proposal.status)),
    )


def column_widths(rows: Sequence[tuple[Cell, ...]]) -> tuple[int, ...]:
    """Each column's content width: its widest cell or label, capped by ``max_width``."""
    widths = []
    for index, column in enumerate(COLUMNS):
        widest = max((cell_len(row[index][0]) for row in rows), default=0)
        width = max(widest, cell_len(column.label))
        widths.append(min(width, column.max_width) if column.max_width else width)
    return tuple(widths)


def _fit(text: str, width: int, justify: Literal["left", "right"]) -> str:
    length = cell_len(text)
    if length > width:
        return set_cell_size(text, width - 1) + "…" if width > 1 else set_cell_size(text, width)
    gap = " " * (width - length)
    return gap + text if justify == "right" else text + gap


def draw_line(cells: Sequence[Cell], widths: Sequence[int]) -> Strip:
    """One row as a strip: each cell padded to its column, in its own style only."""
    pad = " " * CELL_PADDING
    segments = [
        Segment(pad + _fit(text, width, column.justify) + pad, style)
        for (text, style), width, column in zip(cells, widths, COLUMNS, strict=True)
    ]
    return Strip(segments, table_width(widths))


def header_line(widths: Sequence[int]) -> Strip:
    """The column labels; the widget lays the header style under them."""
    return draw_line([(column.label, None) for column in COLUMNS], widths)


def table_width(widths: Sequence[int]) -> int:
    return sum(widths) + 2 * CELL_PADDING * len(widths)
