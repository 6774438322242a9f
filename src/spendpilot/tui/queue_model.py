"""The queue's data, prepared once off the event loop and filtered cheaply on it.

With thousands of proposals, what costs per proposal and is needed before the first row can
be shown (parsing, sorting, building the search text, measuring the column widths) happens
once in a worker (``prepare``); the event loop only filters the prepared entries (a substring
test each) and lays the visible rows on screen, formatting and drawing a row the first time it
is shown (``QueueRows.line``, ~40 a screen). Pure functions, tested without an app.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from typing import overload

from rich.segment import Segment

from spendpilot.domain import ProposalStatus, ProposalSummary
from spendpilot.domain.summary import summary_order
from spendpilot.tui.queue_rows import draw_line, header_line, measure_widths, row_cells, table_width

DONE_STATUSES: frozenset[ProposalStatus] = frozenset(
    {ProposalStatus.EXECUTED, ProposalStatus.REJECTED, ProposalStatus.SUPERSEDED, ProposalStatus.ROLLED_BACK}
)
"""Nothing left for a human to do on these; "hide done" hides them."""

STATUS_CYCLE: tuple[ProposalStatus | None, ...] = (
    None,
    ProposalStatus.PENDING,
    ProposalStatus.APPROVED,
    ProposalStatus.FAILED,
    ProposalStatus.DRIFTED,
    ProposalStatus.EXECUTED,
    ProposalStatus.REJECTED,
)
"""The order the status filter key steps through (``None`` is every status)."""

AWAITING_RESUME = "approved — will be applied by resume"
"""What an approval whose execution did not finish is: decided, kept, and finished by resume."""


@dataclass(frozen=True, slots=True)
class QueueEntry:
    proposal: ProposalSummary
    haystack: str
    """Lower-cased id, action, target, rule, risk and status: what the search box matches."""


class QueueRows(Sequence[QueueEntry]):
    """Every prepared entry in queue order, with the column widths and header line its rows are
    drawn with, and the rows drawn so far. Filtering keeps the widths, so columns do not jump
    while typing a search."""

    __slots__ = ("_lines", "entries", "header", "widths")

    def __init__(self, entries: list[QueueEntry], widths: tuple[int, ...]) -> None:
        self.entries = entries
        self.widths = widths
        self.header = header_line(widths)
        self._lines: dict[int, tuple[Segment, ...]] = {}
        """Drawn rows by ``id(entry)``: the entries live as long as this object holds them."""

    def line(self, entry: QueueEntry) -> tuple[Segment, ...]:
        """``entry``'s row drawn with these widths (cell styles only), drawn on first use."""
        key = id(entry)
        line = self._lines.get(key)
        if line is None:
            line = self._lines[key] = draw_line(row_cells(entry.proposal), self.widths)
        return line

    @property
    def drawn_count(self) -> int:
        """Rows drawn so far (for tests: the rows never shown are never formatted)."""
        return len(self._lines)

    @property
    def width(self) -> int:
        """Cells across a whole row (the widget's virtual width)."""
        return table_width(self.widths)

    @overload
    def __getitem__(self, index: int) -> QueueEntry: ...
    @overload
    def __getitem__(self, index: slice) -> list[QueueEntry]: ...
    def __getitem__(self, index: int | slice) -> QueueEntry | list[QueueEntry]:
        return self.entries[index]

    def __len__(self) -> int:
        return len(self.entries)

    def __iter__(self) -> Iterator[QueueEntry]:
        return iter(self.entries)


@dataclass(frozen=True)
class QueueFilter:
    """What the human asked to see: a search text, one status, and whether to hide done ones."""

    text: str = ""
    status: ProposalStatus | None = None
    hide_done: bool = False

    def with_text(self, text: str) -> QueueFilter:
        return replace(self, text=text)

    def next_status(self) -> QueueFilter:
        index = STATUS_CYCLE.index(self.status) if self.status in STATUS_CYCLE else 0
        return replace(self, status=STATUS_CYCLE[(index + 1) % len(STATUS_CYCLE)])

    def toggled_done(self) -> QueueFilter:
        return replace(self, hide_done=not self.hide_done)

    @property
    def active(self) -> bool:
        return bool(self.text.strip()) or self.status is not None or self.hide_done

    def describe(self) -> str:
        """One short line for the queue's border, so a filtered queue never looks complete."""
        parts = []
        if self.status is not None:
            parts.append(f"status={self.status.value}")
        if self.hide_done:
            parts.append("done hidden")
        if self.text.strip():
            parts.append(f"search={self.text.strip()!r}")
        return ", ".join(parts)


def prepare(proposals: Iterable[ProposalSummary]) -> QueueRows:
    """Sort once, build each proposal's search text and measure the column widths; the rows
    are drawn when shown. Runs in a worker thread."""
    ordered = summary_order(proposals)
    return QueueRows(
        [
            QueueEntry(
                p,
                " ".join((p.id, p.action, p.target_label, p.target_id, p.location, p.rule, p.risk.value, p.status.value)).lower(),
            )
            for p in ordered
        ],
        measure_widths(ordered),
    )


def apply_filter(entries: Sequence[QueueEntry], queue_filter: QueueFilter) -> list[QueueEntry]:
    """The entries the filter keeps, in queue order. Every search word must match (AND)."""
    words = queue_filter.text.lower().split()
    status = queue_filter.status
    hide_done = queue_filter.hide_done
    if not words and status is None and not hide_done:
        return list(entries)
    return [
        e
        for e in entries
        if (status is None or e.proposal.status is status)
        and not (hide_done and e.proposal.status in DONE_STATUSES)
        and all(w in e.haystack for w in words)
    ]
