"""How the CLI shows things (tables, JSON). Formatting only; no decisions are made here."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import TYPE_CHECKING

from rich.console import Console
from rich.table import Table
from rich.text import Text

from spendpilot.domain import ProposalSummary, format_money

if TYPE_CHECKING:  # pydantic models (reports pull in the snapshot ones): a listing builds none of them
    from spendpilot.domain import Proposal
    from spendpilot.domain.reports import SweepReport

_RISK_STYLE = {"low": "green", "medium": "yellow", "high": "red"}


def proposals_json(proposals: Iterable[Proposal]) -> str:
    return json.dumps([p.public_dict() for p in proposals], indent=2)


def sort_queue(proposals: Iterable[Proposal]) -> list[Proposal]:
    return sorted(proposals, key=lambda p: (p.status.value != "pending", -p.estimate.expected.amount))


def proposals_table(proposals: Iterable[Proposal], title: str = "Proposals") -> Table:
    table = Table(title=title, header_style="bold", expand=False)
    for col, justify in [
        ("ID", "left"), ("Action", "left"), ("Target", "left"), ("Expected $/mo", "right"),
        ("Low – high", "right"), ("Risk", "left"), ("Status", "left"),
    ]:
        table.add_column(col, justify=justify)  # type: ignore[arg-type]
    for p in sort_queue(proposals):
        e = p.estimate.rounded()
        table.add_row(
            p.id,
            p.action,
            Text(_where(p)),  # untrusted names never become markup
            f"{e.expected}",
            f"{e.low} – {e.high}",
            Text(p.risk.value, style=_RISK_STYLE.get(p.risk.value, "")),
            p.status.value,
        )
    return table


def _where(p: Proposal) -> str:
    """The target and, when known, its account and region: with several accounts, the same
    name can be in each."""
    location = p.target.location()
    return f"{p.target.label()} ({location})" if location else p.target.label()
RICH_TABLE_MAX_ROWS = 200
"""Above this many rows ``proposals`` prints plain aligned lines: a rich table measures every
cell of every row before printing one (5 s of 8 at 10,000 rows)."""


def summaries_table(summaries: Iterable[ProposalSummary], title: str = "Proposals") -> Table:
    """The boxed table for a screenful of proposals (same columns as ``proposals_table``)."""
    table = Table(title=title, header_style="bold", expand=False)
    for col, justify in [
        ("ID", "left"), ("Action", "left"), ("Target", "left"), ("Expected $/mo", "right"),
        ("Low – high", "right"), ("Risk", "left"), ("Status", "left"),
    ]:
        table.add_column(col, justify=justify)  # type: ignore[arg-type]
    for p in summaries:
        table.add_row(
            p.id, p.action, Text(p.where),  # untrusted names never become markup
            format_money(p.expected, p.currency), f"{format_money(p.low, p.currency)} – {format_money(p.high, p.currency)}",
            Text(p.risk.value, style=_RISK_STYLE.get(p.risk.value, "")), p.status.value,
        )
    return table


def summaries_plain(summaries: list[ProposalSummary]) -> str:
    """One aligned line per proposal, widths from the data: fast at any length, greppable."""
    rows = [
        (p.id, p.action, p.where, format_money(p.expected, p.currency, whole=True),
         f"{format_money(p.low, p.currency, whole=True)}–{format_money(p.high, p.currency, whole=True)}",
         p.risk.value, p.status.value)
        for p in summaries
    ]
    header = ("ID", "ACTION", "TARGET", "EXP/MO", "LOW–HIGH", "RISK", "STATUS")
    widths = [max(len(header[i]), *(len(r[i]) for r in rows)) if rows else len(header[i]) for i in range(len(header))]
    right = {3, 4}
    # One format string for every line (str.format pads as ljust/rjust): 10,000 lines in a
    # third of the time of padding cell by cell.
    fmt = "  ".join(f"{{:{'>' if i in right else '<'}{w}}}" for i, w in enumerate(widths))
    return "\n".join(fmt.format(*cells).rstrip() for cells in [header, *rows])


def print_sweep_report(console: Console, report: SweepReport) -> None:
    console.print(
        f"Sweep {report.sweep_id}: {report.findings} finding(s), {len(report.new_proposals)} new, "
        f"{len(report.unchanged_proposals)} unchanged, {len(report.suppressed)} suppressed by memory"
    )
    for source in report.sources:
        console.print(Text(f"  · read {source}", style="dim"), soft_wrap=True)
    for gap in report.gaps:
        console.print(Text(f"  · GAP {gap.label()}: not read ({gap.error})", style="bold red"), soft_wrap=True)
    for warning in report.warnings:
        console.print(Text(f"  · warning: {warning}", style="yellow"), soft_wrap=True)
    for line in report.suppressed:
        console.print(Text(f"  · suppressed: {line}", style="dim"), soft_wrap=True)
    console.print(f"Pending expected savings: [bold]{report.totals_text()}[/bold] per month")
    unread = [g for g in report.gaps if g.part is None]
    partly = [g.label() for g in report.gaps if g.part is not None]
    if unread:
        console.print(Text(
            f"{len(unread)} of {report.sources_configured} sources could not be read: what they "
            "hold was not swept.", style="red",
        ))
    if partly:
        console.print(Text(f"Read only in part: {', '.join(partly)}: what the unread part holds was not swept.", style="red"))


def print_proposal(console: Console, p: Proposal) -> None:
    e = p.estimate.rounded()
    console.print(Text(f"{p.id}  {p.action} on {_where(p)}  [{p.status.value}]", style="bold"))
    console.print(Text(p.summary))
    console.print(f"Saving: {e.expected}/month expected (low {e.low}, high {e.high}); risk {p.risk.value}")
    console.print(Text(f"Formula: {e.formula}"))
    console.print("Evidence:")
    for ev in p.evidence + e.inputs:
        console.print(Text(f"  - {ev.label}: {ev.value}  [{ev.source}]"))
    console.print(Text(f"Plan: {p.plan.description}"))
    console.print(Text(f"  change: {json.dumps(p.plan.change)}"))
    console.print(Text(f"  expected pre-state: {json.dumps(p.plan.expected_pre_state)}"))
    console.print(Text(f"Rollback: {p.plan.rollback_description}"))
    if p.plan.rollback is not None:
        console.print(Text(f"  rollback plan hash: {p.plan.rollback.plan_hash()}"))
    if p.rollback_of:
        console.print(Text(f"Rolls back: {p.rollback_of}"))
    console.print(Text(f"Permissions: {', '.join(p.plan.permissions)}"))
    console.print(f"Plan hash: {p.plan_hash}")
    if p.note:
        console.print(Text(f"Note: {p.note}"))
    if p.narrative:
        from spendpilot.agent.narrate import narrative_credit

        console.print(Text(f"Reviewer's note ({narrative_credit(p)}):", style="italic"), soft_wrap=True)
        console.print(Text(f"  {p.narrative}"), soft_wrap=True)
