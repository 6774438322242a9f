"""The queue's rows as lines of a few segments: column widths from one cheap pass, each row
formatted and drawn only when it is first shown.

A ``DataTable`` renders every visible cell on the event loop (a rich ``Padding`` and
``render_lines`` per cell): ~70 ms of loop CPU for one fresh page of 50 rows, whatever the app
does. Formatting and drawing all 10,000 rows in the worker instead cost ~0.35 s of CPU (money
formatting dominates) before the queue could show anything, for rows nobody scrolls to. So the
worker only measures the column widths (``measure_widths``: the widest text per column, and each
money column from its extreme amounts, without formatting every amount), and a row is formatted
and drawn (``draw_line``: a few padded segments carrying only the cells' own styles, risk and
status colours) the first time it is on screen, ~40 rows a screen, then kept
(``QueueRows.line``). The widget wraps a visible row's segments in a ``Strip``, lays the row's
background (zebra stripe, cursor) under it and crops it to the viewport.

Every text is plain: target names and ids come from cloud APIs and are never parsed as markup,
and control characters (a newline in a tag value) become spaces so a row stays one line.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Literal

from rich.cells import cell_len, set_cell_size
from rich.segment import Segment
from rich.style import Style

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

Cell = tuple[str, Style | None, int]
"""A cell's full plain text, its own style (None: the row's style alone) and its width in cells."""


def _one_line(text: str) -> str:
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else " " for c in text)


def _width(text: str) -> int:
    """``rich.cells.cell_len`` with a fast path: printable ASCII is one cell a character (ids,
    actions and dollar amounts nearly always are; rich measures character by character)."""
    return len(text) if text.isascii() else cell_len(text)


def _cell(text: str, style: Style | None = None) -> Cell:
    return (text, style, _width(text))


def row_cells(proposal: ProposalSummary) -> tuple[Cell, ...]:
    """The seven cells of a proposal's row, untruncated (``ProposalQueue.get_row_at`` shows
    these; the drawn line cuts the target to ``TARGET_WIDTH``)."""
    currency = proposal.currency

    def whole(amount: Decimal) -> str:  # estimates are ranges: cents in a table are noise
        return format_money(amount, currency, whole=True)

    low, high = whole(proposal.low), whole(proposal.high)
    return (
        _cell(_one_line(proposal.id)),
        _cell(_one_line(proposal.action)),
        _cell(_one_line(proposal.target_label)),
        _cell(whole(proposal.expected)),
        (f"{low}–{high}", None, _width(low) + 1 + _width(high)),
        _cell(proposal.risk.value, _RISK_RICH.get(proposal.risk)),
        _cell(STATUS_LABELS.get(proposal.status, proposal.status.value), _STATUS_RICH.get(proposal.status)),
    )


def column_widths(rows: Sequence[tuple[Cell, ...]]) -> tuple[int, ...]:
    """Each column's content width: its widest cell or label, capped by ``max_width``."""
    widths = []
    for index, column in enumerate(COLUMNS):
        widest = max((row[index][2] for row in rows), default=0)
        widths.append(_capped(max(widest, cell_len(column.label)), column))
    return tuple(widths)


def _fit(text: str, length: int, width: int, justify: Literal["left", "right"]) -> str:
    if length > width:
        return set_cell_size(text, width - 1) + "…" if width > 1 else set_cell_size(text, width)
    gap = " " * (width - length)
    return gap + text if justify == "right" else text + gap


def draw_line(cells: Sequence[Cell], widths: Sequence[int]) -> tuple[Segment, ...]:
    """One row as segments: each cell padded to its column, in its own style only. Neighbouring
    cells in the same style share a segment (typically three a row: the plain cells, risk,
    status), because 10,000 rows of small objects cost the worker, and the garbage collector
    that walks them, more than drawing does."""
    pad = " " * CELL_PADDING
    segments: list[Segment] = []
    texts: list[str] = []
    current: Style | None = None
    for (text, style, length), width, column in zip(cells, widths, COLUMNS, strict=True):
        if style is not current and texts:
            segments.append(Segment("".join(texts), current))
            texts = []
        current = style
        texts.append(pad + _fit(text, length, width, column.justify) + pad)
    if texts:
        segments.append(Segment("".join(texts), current))
    return tuple(segments)


def _widest(texts: Iterable[str], cap: int | None = None) -> int:
    """The widest text in cells, as drawn (control characters as spaces), at most ``cap``.

    Printable ASCII (nearly always: ids, actions, most names) is measured by ``len`` in one C
    pass; anything else character by character, as it is drawn."""
    texts = list(texts)
    joined = "".join(texts)
    if joined.isascii() and joined.isprintable():
        widest = max(map(len, texts), default=0)
        return min(widest, cap) if cap is not None else widest
    widest = 0
    for text in texts:
        width = _width(_one_line(text))
        if width > widest:
            widest = width
            if cap is not None and widest >= cap:
                break
    return widest


def _money_width(amounts: Sequence[Decimal], currency: str) -> int:
    """The widest of ``amounts`` written as the queue writes them, from two of them: a written
    amount only widens with its magnitude (more digits, a thousands comma) and a minus sign, so
    the widest is the largest or the most negative."""
    if not amounts:
        return 0
    return max(cell_len(format_money(a, currency, whole=True)) for a in (max(amounts), min(amounts)))


def measure_widths(proposals: Sequence[ProposalSummary]) -> tuple[int, ...]:
    """Each column's content width over every proposal, without formatting each row.

    The same widths as ``column_widths`` over every row's cells, except the low–high range: it
    is given the widest low plus the widest high (per currency), which is its exact width when
    one proposal has both, as estimates usually do (high ≥ low), and otherwise a few cells
    more: a range never gets cut."""
    by_currency: dict[str, list[ProposalSummary]] = {}
    for p in proposals:
        by_currency.setdefault(p.currency, []).append(p)
    expected = low_high = 0
    for currency, held in by_currency.items():
        expected = max(expected, _money_width([p.expected for p in held], currency))
        low_high = max(low_high, _money_width([p.low for p in held], currency) + 1
                       + _money_width([p.high for p in held], currency))
    risks = {p.risk for p in proposals}
    statuses = {p.status for p in proposals}
    content = (
        _widest(p.id for p in proposals),
        _widest(p.action for p in proposals),
        _widest((p.target_label for p in proposals), TARGET_WIDTH),
        expected,
        low_high,
        _widest(r.value for r in risks),
        _widest(STATUS_LABELS.get(s, s.value) for s in statuses),
    )
    return tuple(_capped(max(width, cell_len(column.label)), column) for width, column in zip(content, COLUMNS, strict=True))


def _capped(width: int, column: Column) -> int:
    return min(width, column.max_width) if column.max_width else width


def header_line(widths: Sequence[int]) -> tuple[Segment, ...]:
    """The column labels; the widget lays the header style under them."""
    return draw_line([_cell(column.label) for column in COLUMNS], widths)


def table_width(widths: Sequence[int]) -> int:
    return sum(widths) + 2 * CELL_PADDING * len(widths)
