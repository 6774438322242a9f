"""The proposals queue: one row per proposal, pending and most valuable first."""

from __future__ import annotations

from collections.abc import Iterable

from rich.text import Text
from textual import on
from textual.message import Message
from textual.widgets import DataTable

from spendpilot.domain import Proposal, ProposalStatus, Risk
from spendpilot.tui.formatting import queue_order, whole_money

RISK_STYLES: dict[Risk, str] = {Risk.LOW: "green", Risk.MEDIUM: "yellow", Risk.HIGH: "bold red"}
STATUS_STYLES: dict[ProposalStatus, str] = {
    ProposalStatus.PENDING: "bold",
    ProposalStatus.EXECUTED: "green",
    ProposalStatus.APPROVED: "cyan",
    ProposalStatus.REJECTED: "dim",
    ProposalStatus.SUPERSEDED: "dim",
    ProposalStatus.DRIFTED: "yellow",
    ProposalStatus.FAILED: "red",
}


class ProposalQueue(DataTable[Text]):
    """A ``DataTable`` that knows which proposal each row is.

    Every cell is a ``rich.text.Text``: target names and ids come from cloud APIs and must never
    be parsed as markup (a plain ``str`` cell would be).
    """

    class ProposalHighlighted(Message):
        """The proposal under the cursor changed (``None`` when the queue is empty)."""

        def __init__(self, proposal: Proposal | None) -> None:
            super().__init__()
            self.proposal = proposal

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

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id, cursor_type="row", zebra_stripes=True)
        self._by_id: dict[str, Proposal] = {}

    def on_mount(self) -> None:
        for label, key, width in self.COLUMNS:
            self.add_column(label, key=key, width=width)

    @property
    def highlighted_proposal(self) -> Proposal | None:
        if not self._by_id or self.row_count == 0:
            return None
        row_key, _ = self.coordinate_to_cell_key(self.cursor_coordinate)
        return self._by_id.get(str(row_key.value))

    @property
    def proposal_ids(self) -> list[str]:
        """Row order as shown, for tests and for anyone asking "what is on screen"."""
        return [str(row.key.value) for row in self.ordered_rows]

    def set_proposals(self, proposals: Iterable[Proposal]) -> None:
        """Replace the rows, keeping the cursor on the same proposal when it is still listed."""
        previous = self.highlighted_proposal
        ordered = queue_order(proposals)
        self._by_id = {p.id: p for p in ordered}
        self.clear()
        for proposal in ordered:
            self.add_row(*self._cells(proposal), key=proposal.id)
        if previous is not None and previous.id in self._by_id:
            self.move_cursor(row=self.get_row_index(previous.id), animate=False)
        elif ordered:
            self.move_cursor(row=0, animate=False)
        self.post_message(self.ProposalHighlighted(self.highlighted_proposal))

    @on(DataTable.RowHighlighted)
    def _announce(self, event: DataTable.RowHighlighted) -> None:
        event.stop()
        self.post_message(self.ProposalHighlighted(self._by_id.get(str(event.row_key.value))))

    @staticmethod
    def _cells(proposal: Proposal) -> tuple[Text, ...]:
        estimate = proposal.estimate
        return (
            Text(proposal.id),
            Text(proposal.action),
            Text(proposal.target.label(), overflow="ellipsis", no_wrap=True),
            Text(whole_money(estimate.expected), justify="right"),
            Text(f"{whole_money(estimate.low)}–{whole_money(estimate.high)}", justify="right"),
            Text(proposal.risk.value, style=RISK_STYLES.get(proposal.risk, "")),
            Text(proposal.status.value, style=STATUS_STYLES.get(proposal.status, "")),
        )
