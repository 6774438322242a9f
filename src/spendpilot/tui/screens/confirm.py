"""The approval confirmation: the last thing a human sees before a change is executed."""

from __future__ import annotations

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Label, Static

from spendpilot.domain import Proposal
from spendpilot.tui.formatting import labelled_lines, short_hash


class ConfirmApproveScreen(ModalScreen[str | None]):
    """Ask for an explicit yes; dismiss with the plan hash that was shown, or ``None``.

    The hash is captured when the dialog opens and returned on confirm, so the approval the app
    sends is bound to exactly the plan the human looked at, even if the queue refreshes meanwhile.
    Focus starts on Cancel so a stray Enter never approves.
    """

    BINDINGS = [
        Binding("y", "confirm", "Approve"),
        Binding("n,escape", "cancel", "Cancel"),
    ]
    AUTO_FOCUS = "#cancel"

    def __init__(self, proposal: Proposal, *, rollback: bool = False) -> None:
        """``rollback``: confirm undoing an executed proposal; the hash is its rollback plan's."""
        super().__init__()
        self.proposal = proposal
        self.rollback = rollback
        plan = proposal.plan.rollback if rollback else proposal.plan
        if plan is None:
            raise ValueError(f"{proposal.id} has no rollback plan")
        self.plan = plan
        self.plan_hash = plan.plan_hash()

    def compose(self) -> ComposeResult:
        proposal = self.proposal
        estimate = proposal.estimate
        with Vertical(id="dialog", classes="dialog"):
            title = "Roll back this executed change?" if self.rollback else "Approve and execute this change?"
            yield Label(title, classes="dialog-title")
            yield Static(
                labelled_lines(
                    [
                        ("action", Text(proposal.action, style="bold")),
                        ("target", proposal.target.label()),
                        *(
                            [("undo", Text(self.plan.description))]
                            if self.rollback
                            else [
                                ("saving", Text(f"{estimate.expected}/mo", style="bold green")),
                                ("range", f"{estimate.low}–{estimate.high} per month"),
                            ]
                        ),
                        ("risk", proposal.risk.value),
                        ("plan", Text(short_hash(self.plan_hash), style="bold")),
                    ]
                ),
                id="confirm-facts",
            )
            with Horizontal(classes="dialog-buttons"):
                yield Button("Roll back (y)" if self.rollback else "Approve (y)", variant="success", id="approve")
                yield Button("Cancel (n)", variant="default", id="cancel")

    @on(Button.Pressed, "#approve")
    def action_confirm(self) -> None:
        self.dismiss(self.plan_hash)

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)
