"""The Textual app: wires the services to the widgets and runs every service call off the loop.

The app holds no business logic. It asks ``SpendpilotServices`` for data, hands it to widgets,
and turns key presses into service calls. Every service call may block (databases, AWS, an LLM),
so each runs in a thread worker and delivers its result back with ``call_from_thread``.
"""

from __future__ import annotations

import contextlib
import gc
import os
from collections.abc import Callable, Iterable
from functools import partial
from pathlib import Path
from typing import ClassVar, TypeVar

from textual import on
from textual.app import App, ComposeResult, SystemCommand
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.notifications import SeverityLevel
from textual.screen import Screen
from textual.widgets import Header, Input
from textual.worker import Worker, get_current_worker

from spendpilot.domain import Proposal, ProposalStatus
from spendpilot.domain.reports import DailySpend, ExecutionOutcome, SpendLine, SweepReport
from spendpilot.errors import SpendpilotError
from spendpilot.savings.realized import RealizedSaving
from spendpilot.services import SpendpilotServices
from spendpilot.tui.dashboard_data import CUBE_DAYS, CUBE_KEYS, Outlook
from spendpilot.tui.formatting import sweep_summary
from spendpilot.tui.queue_model import AWAITING_RESUME, QueueRows, prepare
from spendpilot.tui.screens import (
    AuditScreen,
    ConfirmApproveScreen,
    DashboardScreen,
    RejectReasonScreen,
)
from spendpilot.tui.widgets import ChatPane, ProposalDetail, ProposalQueue, SpendStrip
from spendpilot.tui.widgets.footer import KeysFooter

T = TypeVar("T")

SPEND_DAYS = 30
TOP_SERVICES = 3
CHAT_HEIGHTS = (7, 10, 16, 24)
"""Chat pane heights ``+`` / ``-`` step through; ``z`` toggles the chat to the full screen."""

_OUTCOME_SEVERITY: dict[ProposalStatus, SeverityLevel] = {
    ProposalStatus.EXECUTED: "information",
    ProposalStatus.APPROVED: "information",
}


_MAIN_SCREEN_ACTIONS = frozenset({
    "approve", "reject", "rollback", "sweep", "resume", "reload", "find", "status_filter", "hide_done",
    "dashboard", "audit", "focus_chat", "chat_grow", "chat_shrink", "chat_zoom", "focus_queue",
})


def default_approver() -> str:
    return os.environ.get("USER") or "tui-user"


class SpendpilotApp(App[None]):
    """Spend overview, proposals queue with evidence, approve/reject, and chat."""

    TITLE = "spendpilot"
    # Absolute, because Textual resolves a relative path against the file of the *subclass*.
    CSS_PATH = Path(__file__).with_name("app.tcss")
    # Screen classes for app.tcss: side by side needs ~140 columns to show every queue column.
    HORIZONTAL_BREAKPOINTS = [
        (0, "-narrow"),
        (110, "-medium"),
        (140, "-wide"),
    ]
    VERTICAL_BREAKPOINTS = [(0, "-short"), (32, "-tall")]
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("a", "approve", "Approve"),
        Binding("r", "reject", "Reject"),
        Binding("u", "rollback", "Roll back"),
        Binding("s", "sweep", "Sweep"),
        Binding("e", "resume", "Resume"),
        Binding("R,ctrl+r", "reload", "Refresh", key_display="R"),
        Binding("f", "find", "Find"),
        Binding("t", "status_filter", "Status"),
        Binding("h", "hide_done", "Hide done"),
        Binding("d", "dashboard", "Dashboard"),
        Binding("L", "audit", "Audit"),
        Binding("slash,c", "focus_chat", "Chat", key_display="/"),
        Binding("plus,equals_sign", "chat_grow", "Chat+", key_display="+", show=False),
        Binding("minus", "chat_shrink", "Chat-", key_display="-", show=False),
        Binding("z", "chat_zoom", "Zoom"),
        Binding("escape", "focus_queue", "Queue", show=False),
        Binding("q", "quit", "Quit"),
    ]

    def __init__(self, services: SpendpilotServices, *, approver: str | None = None) -> None:
        super().__init__()
        self.services = services
        self.approver = approver or default_approver()
        services.chat_user = self.approver
        self._deciding: set[str] = set()
        """Proposals with an approve/reject call in flight, so a second key press cannot race it."""
        self._sweeping = False
        self._resuming = False
        self.selected: Proposal | None = None
        """The full proposal under the cursor, once read (the queue holds only summaries)."""
        self._chat_height = 1  # index into CHAT_HEIGHTS

    # -- layout ---------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield Header()
        yield SpendStrip(SPEND_DAYS, id="spend")
        with Horizontal(id="main"):
            with Vertical(id="queue-pane"):
                yield Input(placeholder="search id, action, target, rule, risk, status…", id="queue-search")
                yield ProposalQueue(id="queue")
            yield ProposalDetail(id="detail")
        yield ChatPane(id="chat")
        yield KeysFooter(compact=True)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """The queue's keys work (and show in the footer) only on the main screen: an ``a``
        pressed on the dashboard must never approve the proposal hidden behind it."""
        return not (action in _MAIN_SCREEN_ACTIONS and len(self.screen_stack) > 1)

    def on_mount(self) -> None:
        self.sub_title = f"approver: {self.approver}"
        self.queue.border_title = "Proposals"
        self.query_one(ProposalDetail).border_title = "Detail"
        self.chat.border_title = "Chat"
        self.chat.border_subtitle = "+/- resize · z zoom"
        self.queue.focus()
        self.action_reload()
        self.run_worker(self._read_spend_cube, thread=True, group="spend-cube", exit_on_error=False)

    def _read_spend_cube(self) -> None:
        """Read the dashboard's spend cube at start, in the background, so ``d`` paints at once
        (the services keep it while the lake is unchanged). A lake with no bill yet is for the
        dashboard to say, not a start-up error."""
        with contextlib.suppress(SpendpilotError):
            self.services.spend_cube(CUBE_KEYS, CUBE_DAYS)

    @property
    def queue(self) -> ProposalQueue:
        return self.query_one(ProposalQueue)

    @property
    def chat(self) -> ChatPane:
        return self.query_one(ChatPane)

    # -- command palette ------------------------------------------------------------------

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        """Every key-bound action is also in the palette (ctrl+p), for those who search first."""
        yield from super().get_system_commands(screen)
        if screen is not self.screen_stack[0]:
            return  # the queue's commands act on the queue; not from the dashboard or a dialog
        yield SystemCommand(
            "Approve proposal", "Approve the highlighted proposal (a)", self.action_approve
        )
        yield SystemCommand(
            "Reject proposal",
            "Reject the highlighted proposal with a reason (r)",
            self.action_reject,
        )
        yield SystemCommand(
            "Roll back proposal",
            "Undo the highlighted executed proposal with its recorded rollback plan (u)",
            self.action_rollback,
        )
        yield SystemCommand(
            "Sweep now", "Look for waste now and queue new proposals (s)", self.action_sweep
        )
        yield SystemCommand("Refresh", "Reload proposals and spend (R)", self.action_reload)
        yield SystemCommand(
            "Resume approved", "Finish approvals whose execution did not complete (e)", self.action_resume
        )
        yield SystemCommand("Find in queue", "Search proposals by id, action, target… (f)", self.action_find)
        yield SystemCommand("Filter by status", "Step through statuses (t)", self.action_status_filter)
        yield SystemCommand("Hide done", "Hide executed, rejected, superseded and rolled back (h)", self.action_hide_done)
        yield SystemCommand("Dashboard", "Spend over time, top movers, unit economics (d)", self.action_dashboard)
        yield SystemCommand("Audit log", "The hash-chained audit log and its verification (L)", self.action_audit)
        yield SystemCommand("Zoom chat", "Chat full height, or back (z)", self.action_chat_zoom)
        yield SystemCommand(
            "Chat", "Ask the copilot about spend or a proposal (/)", self.action_focus_chat
        )

    # -- actions --------------------------------------------------------------------------

    def action_reload(self) -> None:
        self._load_proposals()
        self._load_spend()

    def action_focus_chat(self) -> None:
        self.chat.focus_input()

    def action_focus_queue(self) -> None:
        search = self.query_one("#queue-search", Input)
        if search.has_focus and search.value:
            search.value = ""  # escape in a search box clears it first
            return
        if not search.value:
            search.display = False
        self.queue.focus()

    # -- queue filter, search, hide done --------------------------------------------------

    def action_find(self) -> None:
        search = self.query_one("#queue-search", Input)
        search.display = True
        search.focus()

    def action_status_filter(self) -> None:
        self.queue.set_filter(self.queue.queue_filter.next_status())

    def action_hide_done(self) -> None:
        self.queue.set_filter(self.queue.queue_filter.toggled_done())

    @on(Input.Changed, "#queue-search")
    def _search(self, event: Input.Changed) -> None:
        event.stop()
        self.queue.set_filter(self.queue.queue_filter.with_text(event.value))

    @on(Input.Submitted, "#queue-search")
    def _search_done(self, event: Input.Submitted) -> None:
        event.stop()
        self.queue.focus()

    # -- other screens and the chat's size ------------------------------------------------

    def action_dashboard(self) -> None:
        outlook = Outlook(self.services.budgets, self.services.forecast, self.services.anomalies)
        cube = partial(self.services.spend_cube, CUBE_KEYS, CUBE_DAYS)
        self.push_screen(DashboardScreen(self.services.spend, outlook, cube))

    def action_audit(self) -> None:
        self.push_screen(
            AuditScreen(lambda limit: self.services.audit_events(limit=limit), self.services.verify_audit)
        )

    def action_chat_grow(self) -> None:
        self._resize_chat(+1)

    def action_chat_shrink(self) -> None:
        self._resize_chat(-1)

    def _resize_chat(self, step: int) -> None:
        self.screen.remove_class("-chat-zoom")
        self._chat_height = max(0, min(len(CHAT_HEIGHTS) - 1, self._chat_height + step))
        self.chat.styles.height = CHAT_HEIGHTS[self._chat_height]

    def action_chat_zoom(self) -> None:
        """The chat fills the screen (the queue hidden) or goes back to its size."""
        zoomed = self.screen.toggle_class("-chat-zoom").has_class("-chat-zoom")
        self.chat.styles.height = "1fr" if zoomed else CHAT_HEIGHTS[self._chat_height]
        if zoomed:
            self.chat.focus_input()
        else:
            self.queue.focus()

    # -- resume ---------------------------------------------------------------------------

    def action_resume(self) -> None:
        """Finish approvals whose execution did not complete (as `spendpilot resume`)."""
        if self._resuming:
            self.notify("Resume is already running.", severity="warning")
            return
        self._resuming = True
        self.notify("Resuming approved proposals…")
        self._in_thread(
            "Resume", self.services.resume_pending, self._resumed, group="decide",
            always=self._resume_finished,
        )

    def _resumed(self, outcomes: list[ExecutionOutcome]) -> None:
        if not outcomes:
            self.notify("Nothing to resume.")
        for outcome in outcomes:
            self._approved(outcome)
        self._load_proposals()

    def _resume_finished(self) -> None:
        self._resuming = False

    def action_approve(self) -> None:
        proposal = self._decidable("approve")
        if proposal is not None:
            self.push_screen(ConfirmApproveScreen(proposal), partial(self._approve, proposal.id))

    def action_reject(self) -> None:
        proposal = self._decidable("reject")
        if proposal is not None:
            self.push_screen(RejectReasonScreen(proposal), partial(self._reject, proposal.id))

    def action_rollback(self) -> None:
        highlighted = self.queue.highlighted_proposal
        if highlighted is None:
            self.notify("Nothing to roll back: no proposal selected.", severity="warning")
            return
        proposal = self._loaded(highlighted.id)
        if proposal is None:
            return
        if proposal.status is not ProposalStatus.EXECUTED or proposal.plan.rollback is None:
            self.notify(
                f"{proposal.id} is {proposal.status.value}; only executed proposals with a rollback plan can be rolled back.",
                severity="warning", markup=False,
            )
            return
        if proposal.id in self._deciding:
            self.notify(f"{proposal.id} is already being decided; wait for the result.", severity="warning", markup=False)
            return
        self.push_screen(ConfirmApproveScreen(proposal, rollback=True), partial(self._rollback, proposal.id))

    def _rollback(self, proposal_id: str, plan_hash: str | None) -> None:
        if plan_hash is not None:
            self._execute("Rolling back", proposal_id, partial(self.services.rollback, proposal_id, by=self.approver, plan_hash=plan_hash))

    def action_sweep(self) -> None:
        if self._sweeping:
            self.notify("A sweep is already running.", severity="warning")
            return
        self._sweeping = True
        self.notify("Sweeping…")
        self._in_thread(
            "Sweep", self.services.sweep, self._swept, group="sweep", always=self._sweep_finished
        )

    # -- message handlers -----------------------------------------------------------------

    @on(ProposalQueue.ProposalHighlighted)
    def _show_detail(self, event: ProposalQueue.ProposalHighlighted) -> None:
        """The queue holds summaries; the full proposal (evidence, plan) is read for the one
        under the cursor, in a worker. A newer highlight cancels an older read still running."""
        summary = event.proposal
        self.chat.set_context(summary.id if summary else None)
        if summary is None:
            self.selected = None
            self.query_one(ProposalDetail).proposal = None
            return
        self._in_thread(
            f"Reading {summary.id}",
            partial(self._read_detail, summary.id),
            self._show_selected,
            group="detail",
            exclusive=True,
        )

    def _read_detail(self, proposal_id: str) -> tuple[Proposal, RealizedSaving | str | None]:
        """The proposal and, once executed, what the bill shows it saved (in the worker thread).
        A bill that cannot be read is said in the pane, and the proposal is still shown."""
        proposal = self.services.get_proposal(proposal_id)
        if proposal.status not in (ProposalStatus.EXECUTED, ProposalStatus.ROLLED_BACK):
            return proposal, None
        try:
            found = self.services.realized_savings([proposal_id])
        except SpendpilotError as error:
            return proposal, f"could not read the bill: {error}"
        return proposal, found[0] if found else "no verified execution recorded: nothing to measure from"

    def _show_selected(self, loaded: tuple[Proposal, RealizedSaving | str | None]) -> None:
        proposal, realized = loaded
        highlighted = self.queue.highlighted_proposal
        if highlighted is None or highlighted.id != proposal.id:
            return  # the cursor moved on while this was read
        self.selected = proposal
        self.query_one(ProposalDetail).show(proposal, realized)

    def _loaded(self, proposal_id: str) -> Proposal | None:
        """The full proposal under the cursor, or None (said) while it is still being read."""
        if self.selected is None or self.selected.id != proposal_id:
            self.notify(f"{proposal_id} is still loading; try again in a moment.", severity="warning", markup=False)
            return None
        return self.selected

    @on(ChatPane.Asked)
    def _ask(self, event: ChatPane.Asked) -> None:
        selected = self.queue.highlighted_proposal
        self._in_thread(
            "Chat",
            partial(self._chat_turn, event.question, selected.id if selected else None),
            self._answered,
            group="chat",
        )

    def _chat_turn(self, question: str, selected_id: str | None) -> tuple[str, str | None]:
        """In the worker: the answer, then what the conversation's model calls cost so far."""
        answer = self.services.chat(question, selected_id)
        usage = self.services.copilot_usage()
        return answer, usage.line() if usage is not None else None

    def _answered(self, turn: tuple[str, str | None]) -> None:
        answer, usage = turn
        self.chat.add_answer(answer)
        if usage is not None:  # offline there is nothing to count, and the footer stays as it was
            self.chat.border_subtitle = f"copilot: {usage} · +/- resize · z zoom"

    # -- service calls and their results --------------------------------------------------

    def _load_proposals(self) -> None:
        self._in_thread(
            "Loading proposals",
            self._fetch_queue,
            self._show_queue,
            group="proposals",
            exclusive=True,
        )

    def _show_queue(self, entries: QueueRows) -> None:
        self.queue.set_entries(entries)
        # A full garbage collection walks every tracked object: with 10,000 queue entries plus
        # Textual's own, that is a 100 ms+ freeze every few seconds while the cursor moves.
        # What is alive now (the app, the entries) is long-lived: move it out of the collector's
        # sight. Entries dropped by a later refresh are still freed by reference counting.
        gc.freeze()

    def _fetch_queue(self) -> QueueRows:
        """Read summaries, sort them and measure the columns, in the worker: the loop only
        filters the result and draws the visible lines (each row once, when first shown).

        The cyclic garbage collector is paused meanwhile: the read and the preparing allocate
        ~150,000 small objects, and each full collection they trigger walks the whole heap while
        holding the GIL, freezing the event loop too (measured: prepare 0.55 s CPU with it,
        ~0.25 s without; the longest loop stall at start-up 235 ms wall). ``_show_queue`` then
        freezes what survived, as before; nothing here makes reference cycles.

        Before the collector is enabled again, what was allocated is frozen here: otherwise the
        first allocation after ``gc.enable()`` (usually on the event loop) starts a young
        collection that walks all of it (measured: a 54 ms loop stall during ``R``)."""
        enabled = gc.isenabled()
        gc.disable()
        try:
            return prepare(self.services.proposal_summaries())
        finally:
            gc.freeze()
            if enabled:
                gc.enable()

    def _load_spend(self) -> None:
        def fetch() -> tuple[list[DailySpend], list[SpendLine]]:
            return (
                self.services.daily_spend(SPEND_DAYS),
                self.services.top_spend(by="service", days=SPEND_DAYS, limit=TOP_SERVICES),
            )

        self._in_thread(
            "Loading spend",
            fetch,
            lambda result: self._show_spend(*result),
            group="spend",
            exclusive=True,
        )

    def _show_spend(self, daily: list[DailySpend], top: list[SpendLine]) -> None:
        self.query_one(SpendStrip).show(daily, top[:TOP_SERVICES])

    def _decidable(self, verb: str) -> Proposal | None:
        """The highlighted proposal if a human may decide on it now; otherwise say why not."""
        highlighted = self.queue.highlighted_proposal
        if highlighted is None:
            self.notify(f"Nothing to {verb}: no proposal selected.", severity="warning")
            return None
        if highlighted.id in self._deciding:
            self.notify(
                f"{highlighted.id} is already being decided; wait for the result.",
                severity="warning",
                markup=False,
            )
            return None
        proposal = self._loaded(highlighted.id) if highlighted.status is ProposalStatus.PENDING else None
        status = (proposal or highlighted).status
        if status is not ProposalStatus.PENDING:
            self.notify(
                f"{highlighted.id} is {status.value}; only pending proposals can be {verb}d.",
                severity="warning",
                markup=False,
            )
            return None
        return proposal

    def _approve(self, proposal_id: str, plan_hash: str | None) -> None:
        if plan_hash is not None:
            self._execute("Approving", proposal_id, partial(self.services.approve, proposal_id, by=self.approver, plan_hash=plan_hash))

    def _execute(self, verb: str, proposal_id: str, call: Callable[[], ExecutionOutcome]) -> None:
        """Run an approve or a rollback in a worker; one decision per proposal at a time."""
        self._deciding.add(proposal_id)
        self.notify(f"{verb} {proposal_id}…", markup=False)
        self._in_thread(
            f"{verb} {proposal_id}", call, self._approved, group="decide",
            always=partial(self._decided, proposal_id),
        )

    def _decided(self, proposal_id: str) -> None:
        """After any decision, failed or not, show what the store now says: an approval whose
        execution failed is kept (approved, for resume) and must not still look pending."""
        self._deciding.discard(proposal_id)
        self._load_proposals()

    def _approved(self, outcome: ExecutionOutcome) -> None:
        severity = _OUTCOME_SEVERITY.get(outcome.status, "warning")
        message = outcome.message
        if outcome.status is ProposalStatus.APPROVED:
            severity = "warning"
            message = f"{message}\n{AWAITING_RESUME} (press e to resume now)."
        self.notify(
            message,
            title=f"{outcome.proposal_id}: {outcome.status.value}",
            severity=severity,
            markup=False,
        )
        self._load_proposals()

    def _reject(self, proposal_id: str, reason: str | None) -> None:
        if reason is None:
            return
        self._deciding.add(proposal_id)
        self._in_thread(
            f"Rejecting {proposal_id}",
            partial(self.services.reject, proposal_id, by=self.approver, reason=reason),
            self._rejected,
            group="decide",
            always=lambda: self._deciding.discard(proposal_id),
        )

    def _rejected(self, proposal: Proposal) -> None:
        self.notify(f"Rejected {proposal.id}.", markup=False)
        self._load_proposals()

    def _swept(self, report: SweepReport) -> None:
        self.notify(sweep_summary(report), title="Sweep finished", markup=False)
        self.action_reload()

    def _sweep_finished(self) -> None:
        self._sweeping = False

    def _report_error(self, what: str, error: SpendpilotError) -> None:
        self.notify(
            str(error) or type(error).__name__,
            title=f"{what} failed",
            severity="error",
            markup=False,
            timeout=10,
        )

    def _in_thread(
        self,
        what: str,
        call: Callable[[], T],
        then: Callable[[T], object],
        *,
        group: str,
        exclusive: bool = False,
        always: Callable[[], object] | None = None,
    ) -> Worker[None]:
        """Run a blocking service call in a thread; deliver its result or error on the loop.

        ``SpendpilotError`` is the services' contract for "this did not work, tell the user":
        it becomes an error notification, never a crash. Anything else is a bug and is left to
        Textual's worker error handling so it is seen. ``exclusive`` makes a newer load win
        over an older one still running (its result is dropped, not shown out of order).
        """

        def job() -> None:
            worker = get_current_worker()
            outcome: Callable[[], object]
            try:
                result = call()
            except SpendpilotError as error:
                outcome = partial(self._report_error, what, error)
            else:
                outcome = partial(then, result)
            if always is not None:
                self._deliver(always)
            if not worker.is_cancelled:
                self._deliver(outcome)

        return self.run_worker(job, name=what, group=group, exclusive=exclusive, thread=True)

    def _deliver(self, callback: Callable[[], object]) -> None:
        """Run ``callback`` on the event loop from a worker thread.

        A slow call (an LLM answer, an execution) can return after the user quit; there is
        nobody left to tell then, and ``call_from_thread`` would raise on a closed app.
        """
        if self.is_running:
            self.call_from_thread(callback)


def run_tui(services: SpendpilotServices, *, approver: str | None = None) -> None:
    """Run the TUI in the terminal until the user quits."""
    SpendpilotApp(services, approver=approver).run()
