"""Everything a human needs to decide on one proposal, on one scrollable pane."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.reactive import reactive
from textual.widgets import Static

from spendpilot.agent.narrate import is_model_written, narrative_credit
from spendpilot.domain import Proposal, ProposalStatus
from spendpilot.savings.realized import RealizedSaving
from spendpilot.tui.formatting import mapping_lines
from spendpilot.tui.queue_model import AWAITING_RESUME

EMPTY_MESSAGE = "No proposal selected. Press s to sweep for waste."


def _heading(title: str) -> Text:
    return Text(f"\n{title}", style="bold underline")


def _lines(lines: list[str], style: str = "") -> Text:
    return Text("\n".join(lines), style=style)


def render_proposal(proposal: Proposal, realized: RealizedSaving | str | None = None) -> Text:
    """Build the detail view from ``Text`` pieces only.

    ``realized``: for an executed proposal, what the bill shows it saved (or why the bill could
    not be read, as text); shown under the estimate so the two are read together.

    Summaries, narratives, evidence values and target names can carry text from cloud APIs or
    an LLM; building ``Text`` objects (never markup strings) keeps that text inert.
    """
    estimate = proposal.estimate
    plan = proposal.plan
    currency = estimate.expected.currency
    parts: list[Text] = [
        Text.assemble(
            (proposal.id, "bold"),
            "  ",
            (proposal.action, "bold cyan"),
            "  ",
            proposal.target.label(),
        ),
        Text.assemble(
            ("status ", "dim"),
            (AWAITING_RESUME + " (press e)", "bold cyan")
            if proposal.status is ProposalStatus.APPROVED
            else proposal.status.value,
            ("   risk ", "dim"),
            proposal.risk.value,
            ("   rule ", "dim"),
            proposal.rule,
        ),
        Text(proposal.summary),
        _heading(f"Estimated saving per month ({currency})"),
        Text.assemble(
            ("low ", "dim"),
            str(estimate.low),
            ("   expected ", "dim"),
            (str(estimate.expected), "bold green"),
            ("   high ", "dim"),
            str(estimate.high),
        ),
        Text.assemble(("formula ", "dim"), estimate.formula),
    ]
    if realized is not None:
        parts += [
            _heading("Realized saving (from the bill)"),
            Text(realized if isinstance(realized, str) else realized.line(),
                 style="" if isinstance(realized, RealizedSaving) and realized.realized_monthly is not None else "yellow"),
        ]
    parts += [
        _heading("Evidence"),
    ]
    evidence = proposal.evidence + estimate.inputs
    if not evidence:
        parts.append(Text("(none)", style="dim"))
    for item in evidence:
        parts.append(
            Text.assemble(
                ("• ", "dim"),
                (item.label, "bold"),
                ": ",
                item.value,
                ("  — ", "dim"),
                (item.source, "italic dim"),
            )
        )
    parts += [
        _heading("Plan"),
        Text(plan.description),
        Text("change", style="dim"),
        _lines(mapping_lines(plan.change)),
        Text("expected pre-state", style="dim"),
        _lines(mapping_lines(plan.expected_pre_state)),
        _heading("Rollback"),
        Text(plan.rollback_description),
        _lines(mapping_lines(plan.rollback.change if plan.rollback else {}), style="dim"),
        _heading("Permissions"),
        _lines(plan.permissions or ["(none declared)"]),
        _heading("Plan hash"),
        Text(proposal.plan_hash),
    ]
    if proposal.note:
        parts += [_heading("Note"), Text(proposal.note)]
    if proposal.narrative:
        parts += [
            _heading("Reviewer's note"),
            Text(narrative_credit(proposal), style="italic yellow" if is_model_written(proposal) else "italic dim"),
            Text(proposal.narrative),
        ]
    return Text("\n").join(parts)


class ProposalDetail(VerticalScroll):
    """Shows whatever proposal the app sets on ``proposal``; holds no state of its own."""

    proposal: reactive[Proposal | None] = reactive(None, init=False)

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._shown = Text(EMPTY_MESSAGE, style="dim")
        self._realized: RealizedSaving | str | None = None

    def show(self, proposal: Proposal, realized: RealizedSaving | str | None = None) -> None:
        """Show ``proposal`` with its realized saving (read by the app for an executed one)."""
        self._realized = realized
        if self.proposal == proposal:
            self.watch_proposal(proposal)  # same proposal, new measurement: render again
        else:
            self.proposal = proposal

    @property
    def plain(self) -> str:
        """What the pane says, as plain text."""
        return self._shown.plain

    def compose(self) -> ComposeResult:
        yield Static(self._shown, id="detail-body")

    def watch_proposal(self, proposal: Proposal | None) -> None:
        if proposal is None:
            self._shown = Text(EMPTY_MESSAGE, style="dim")
        else:
            realized = self._realized
            if isinstance(realized, RealizedSaving) and realized.proposal_id != proposal.id:
                realized = None
            self._shown = render_proposal(proposal, realized)
        self.query_one("#detail-body", Static).update(self._shown)
        self.scroll_home(animate=False)
