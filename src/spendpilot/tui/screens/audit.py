"""The audit screen: the hash-chained log, newest first, under the result of verifying it.

Verification recomputes every hash, compares the head anchor and checks each recorded decision
against its audit event (``services.verify_audit``, the same as ``spendpilot audit --verify``).
It reads the whole log, so it runs in a worker; the screen says "verifying…" until it is done.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Header, Static
from textual.worker import get_current_worker

from spendpilot.domain import AuditEvent
from spendpilot.errors import SpendpilotError
from spendpilot.state.audit_chain import ChainReport

AUDIT_LIMIT = 500
"""Most recent events listed; the verification always covers the whole log."""

Verification = tuple[ChainReport, int, list[str]]


def verify_text(report: ChainReport, decisions: int, problems: list[str]) -> Text:
    """The verdict first (green or red), then the decision check, then each problem."""
    ok = report.intact and not problems
    text = Text("✔ " if ok else "✘ ", style="bold green" if ok else "bold red")
    text.append(report.describe(), style="green" if report.intact else "bold red")
    if problems:
        text.append(f"\ndecisions: {decisions} recorded; {len(problems)} not backed by the audit log", style="red")
        for line in problems:
            text.append(f"\n  {line}", style="red")
    else:
        text.append(f"\ndecisions: {decisions} recorded, each matches its audit event", style="dim")
    return text


class AuditScreen(Screen[None]):
    """Read-only. ``load_events`` and ``verify`` are blocking service calls run in workers."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q", "app.pop_screen", "Back"),
        Binding("v,R", "reload", "Verify again", key_display="v"),
    ]

    def __init__(
        self,
        load_events: Callable[[int], list[AuditEvent]],
        verify: Callable[[], Verification],
    ) -> None:
        super().__init__()
        self._load_events = load_events
        self._verify = verify

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static(Text("verifying the audit chain…", style="dim"), id="audit-verify")
        yield DataTable[Text](id="audit-table", cursor_type="row", zebra_stripes=True)
        yield Footer()

    def on_mount(self) -> None:
        self.sub_title = "audit log"
        table = self.query_one("#audit-table", DataTable)
        table.border_title = f"Audit log (newest {AUDIT_LIMIT})"
        for label in ("Seq", "At (UTC)", "Actor", "Event", "Proposal", "Hash"):
            table.add_column(label, key=label.lower())
        table.focus()
        self.action_reload()

    def action_reload(self) -> None:
        self.query_one("#audit-verify", Static).update(Text("verifying the audit chain…", style="dim"))
        self.run_worker(self._fetch, thread=True, exclusive=True, group="audit")

    def _fetch(self) -> None:
        worker = get_current_worker()
        try:
            events = self._load_events(AUDIT_LIMIT)
            verdict = verify_text(*self._verify())
        except SpendpilotError as error:
            verdict, events = Text(f"could not read the audit log: {error}", style="bold red"), []
        if not worker.is_cancelled and self.app.is_running:
            self.app.call_from_thread(self._show, events, verdict)

    def _show(self, events: list[AuditEvent], verdict: Text) -> None:
        self.query_one("#audit-verify", Static).update(verdict)
        table = self.query_one("#audit-table", DataTable)
        table.clear()
        for ev in sorted(events, key=lambda e: -e.seq):
            table.add_row(
                Text(str(ev.seq), justify="right"),
                Text(f"{ev.at:%Y-%m-%d %H:%M:%S}"),
                Text(ev.actor),
                Text(ev.kind, style="bold" if ev.kind in ("approved", "rejected", "executed") else ""),
                Text(ev.proposal_id or "", style="cyan"),
                Text(ev.hash[:12], style="dim"),
                key=str(ev.seq),
            )
