"""The proposals queue: one row per proposal, pending and most valuable first, one page at a time.

A ``DataTable`` holding 10,000 rows takes seconds to fill on the event loop (the app freezes)
and hundreds of MiB. The queue therefore keeps the prepared entries (``queue_model``) in a list
and puts only one page of rows (``PAGE_SIZE``) in the table. Moving the cursor past the last row
of a page turns to the next page, so the whole queue is still reachable with the arrow keys;
``]`` / ``[`` turn pages directly. Filtering re-slices the list; it never re-parses anything.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import ClassVar

from rich.text import Text
from textual import on
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.widgets import DataTable

from spendpilot.domain import ProposalStatus, ProposalSummary, Risk, format_money
from spendpilot.tui.queue_model import QueueEntry, QueueFilter, apply_filter, prepare

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

PAGE_SIZE = 50
"""Rows in the table at once: more than a tall terminal shows, and filling them costs ~10 ms
(100 rows measured 20–45 ms on a loaded 2-core machine: too close to the 50 ms budget)."""


class ProposalQueue(DataTable[Text]):
    """A paged ``DataTable`` that knows which proposal each row is.

    Every cell is a ``rich.text.Text``: target names and ids come from cloud APIs and must never
    be parsed as markup (a plain ``str`` cell would be).
    """

    class ProposalHighlighted(Message):
        """The proposal under the cursor changed (``None`` when the queue is empty)."""

        def __init__(self, proposal: ProposalSummary | None) -> None:
            super().__init__()
            self.proposal = proposal

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("right_square_bracket", "next_page", "Next page", key_display="]", show=False),
        Binding("left_square_bracket", "previous_page", "Prev page", key_display="[", show=False),
    ]

    TARGET_WIDTH = 24
    """Long target names are cut with an ellipsis here; the detail pane shows them in full."""

    COLUMNS: tuple[tuple[str, str, int | None], ...] = (
        ("ID", "id", None),
        ("Action", "action", None),
        ("Target", "target", TARGET_WIDTH),
        ("Exp $/mo", "expected", None),
        ("Low–High", "range", None),
        ("Risk", "risk", None),
        ("Status", "status", None),
    )

    def __init__(self, *, id: str | None = None, page_size: int = PAGE_SIZE) -> None:
        super().__init__(id=id, cursor_type="row", zebra_stripes=True)
        self.page_size = page_size
        self._entries: list[QueueEntry] = []
        self._shown: list[QueueEntry] = []
        self._page_start = 0
        self._filter = QueueFilter()

    def on_mount(self) -> None:
        for label, key, width in self.COLUMNS:
            self.add_column(label, key=key, width=width)

    # -- what is shown ----------------------------------------------------------------------

    @property
    def queue_filter(self) -> QueueFilter:
        return self._filter

    @property
    def total_count(self) -> int:
        """Proposals loaded, before filtering."""
        return len(self._entries)

    @property
    def shown_count(self) -> int:
        """Proposals the filter keeps (on all pages)."""
        return len(self._shown)

    @property
    def page_start(self) -> int:
        return self._page_start

    @property
    def highlighted_proposal(self) -> ProposalSummary | None:
        index = self._page_start + self.cursor_row
        if self.row_count == 0 or not 0 <= index < len(self._shown):
            return None
        return self._shown[index].proposal

    @property
    def proposal_ids(self) -> list[str]:
        """Row order on the current page, for tests and for anyone asking "what is on screen"."""
        return [str(row.key.value) for row in self.ordered_rows]

    @property
    def filtered_ids(self) -> list[str]:
        """Every proposal the filter keeps, in queue order, across all pages."""
        return [e.proposal.id for e in self._shown]

    # -- input ------------------------------------------------------------------------------

    def set_proposals(self, proposals: Iterable[ProposalSummary]) -> None:
        """Replace the proposals (sorting them here; a worker should call ``prepare`` and
        ``set_entries`` instead so the loop does no per-proposal work)."""
        self.set_entries(prepare(proposals))

    def set_entries(self, entries: Sequence[QueueEntry]) -> None:
        """Replace the rows, keeping the cursor on the same proposal when it is still listed."""
        previous = self.highlighted_proposal
        self._entries = list(entries)
        self._refilter(previous.id if previous else None)

    def set_filter(self, queue_filter: QueueFilter) -> None:
        previous = self.highlighted_proposal
        self._filter = queue_filter
        self._refilter(previous.id if previous else None)

    def action_next_page(self) -> None:
        if self._page_start + self.page_size < len(self._shown):
            self._show_page(self._page_start + self.page_size, 0)

    def action_previous_page(self) -> None:
        if self._page_start > 0:
            self._show_page(max(0, self._page_start - self.page_size), 0)

    def action_cursor_down(self) -> None:
        if self.cursor_row >= self.row_count - 1 and self._page_start + self.row_count < len(self._shown):
            self._show_page(self._page_start + self.page_size, 0)
        else:
            super().action_cursor_down()

    def action_cursor_up(self) -> None:
        if self.cursor_row == 0 and self._page_start > 0:
            start = max(0, self._page_start - self.page_size)
            self._show_page(start, self._page_start - start - 1)
        else:
            super().action_cursor_up()

    # -- drawing ----------------------------------------------------------------------------

    def _refilter(self, keep_id: str | None) -> None:
        self._shown = apply_filter(self._entries, self._filter)
        index = next((i for i, e in enumerate(self._shown) if e.proposal.id == keep_id), 0) if keep_id else 0
        start = (index // self.page_size) * self.page_size
        self._show_page(start, index - start)

    def _show_page(self, start: int, row: int) -> None:
        self._page_start = start
        self.clear()
        page = self._shown[start : start + self.page_size]
        for entry in page:
            self.add_row(*self._cells(entry.proposal), key=entry.proposal.id)
        if page:
            self.move_cursor(row=min(row, len(page) - 1), animate=False)
        self._caption()
        self.post_message(self.ProposalHighlighted(self.highlighted_proposal))

    def _caption(self) -> None:
        shown, total = len(self._shown), len(self._entries)
        if not shown:
            where = "none match" if total else "empty"
        else:
            end = min(self._page_start + self.page_size, shown)
            where = f"{self._page_start + 1}–{end} of {shown}"
            if shown != total:
                where += f" (of {total})"
        described = self._filter.describe()
        self.border_subtitle = f"{where} · {described}" if described else where

    @on(DataTable.RowHighlighted)
    def _announce(self, event: DataTable.RowHighlighted) -> None:
        event.stop()
        self.post_message(self.ProposalHighlighted(self.highlighted_proposal))

    @staticmethod
    def _cells(proposal: ProposalSummary) -> tuple[Text, ...]:
        currency = proposal.currency

        def whole(amount: Decimal) -> str:  # estimates are ranges: cents in a table are noise
            return format_money(amount, currency, whole=True)

        return (
            Text(proposal.id),
            Text(proposal.action),
            Text(proposal.target_label, overflow="ellipsis", no_wrap=True),
            Text(whole(proposal.expected), justify="right"),
            Text(f"{whole(proposal.low)}–{whole(proposal.high)}", justify="right"),
            Text(proposal.risk.value, style=RISK_STYLES.get(proposal.risk, "")),
            Text(
                STATUS_LABELS.get(proposal.status, proposal.status.value),
                style=STATUS_STYLES.get(proposal.status, ""),
            ),
        )
