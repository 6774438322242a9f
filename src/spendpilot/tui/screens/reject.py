"""Rejecting needs a reason: it is what memory recalls so the same thing is not proposed again."""

from __future__ import annotations

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Static

from spendpilot.domain import Proposal
from spendpilot.tui.formatting import labelled_lines


class RejectReasonScreen(ModalScreen[str | None]):
    """Dismiss with a non-empty, stripped reason, or ``None`` when cancelled."""

    BINDINGS = [Binding("escape", "cancel", "Cancel")]
    AUTO_FOCUS = "#reason"

    def __init__(self, proposal: Proposal) -> None:
        super().__init__()
        self.proposal = proposal

    def compose(self) -> ComposeResult:
        proposal = self.proposal
        with Vertical(id="dialog", classes="dialog"):
            yield Label("Reject this proposal?", classes="dialog-title")
            yield Static(
                labelled_lines(
                    [
                        ("action", Text(proposal.action, style="bold")),
                        ("target", proposal.target.label()),
                    ]
                )
            )
            yield Input(placeholder="Why? (required; remembered for future sweeps)", id="reason")
            yield Static("", id="reason-error", classes="dialog-error")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Reject", variant="error", id="reject")
                yield Button("Cancel (esc)", variant="default", id="cancel")

    @on(Input.Submitted, "#reason")
    @on(Button.Pressed, "#reject")
    def action_submit(self) -> None:
        reason = self.query_one("#reason", Input).value.strip()
        if not reason:
            self.query_one("#reason-error", Static).update("A reason is required.")
            self.query_one("#reason", Input).focus()
            return
        self.dismiss(reason)

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)
