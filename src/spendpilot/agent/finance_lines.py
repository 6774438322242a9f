"""Chargeback and realized savings as plain lines, for the copilot's tools and the offline answers.

One wording for both, so the model and the offline chat read the same facts: amounts in their
own currency (never added across), the unallocated share always shown with why, and a realized
saving only where the bill measured one (otherwise its status: "measuring, ready on DATE", "not
in bill: ...", never $0).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from decimal import Decimal
from typing import TYPE_CHECKING

from spendpilot.domain.money import format_money

if TYPE_CHECKING:
    from spendpilot.allocation.chargeback import ChargebackResult
    from spendpilot.savings.realized import RealizedSaving

MAX_OWNERS = 15
"""Owners listed per currency; the rest are counted in one line (their sum is in the total)."""


def chargeback_header(result: ChargebackResult) -> str:
    return (f"Chargeback by {result.by}, {result.start} to {result.end} ({result.days} days, UTC; FOCUS "
            "EffectiveCost across cloud, Kubernetes and tokens; latest data "
            f"{result.latest_data}):")


def chargeback_lines(result: ChargebackResult, *, owners: bool = True, max_owners: int = MAX_OWNERS) -> list[str]:
    """Per currency: the total, allocated and unallocated (with its share), each owner (unless
    ``owners`` is False: the unallocated share alone) and the unallocated amount by reason."""
    from spendpilot.allocation.chargeback import UNALLOCATED

    lines: list[str] = []
    for summary in result.currencies:
        c = summary.currency
        total = summary.chargeback_effective
        lines.append(f"{c}: {format_money(total, c)} in total = allocated {format_money(summary.allocated_effective, c)}"
                     f" + unallocated {format_money(summary.unallocated_effective, c)} "
                     f"({summary.unallocated_share * 100:.1f}% unallocated)")
        if owners:
            named = [(o, a) for o, a in result.owners(c) if o != UNALLOCATED]
            for owner, amount in named[:max_owners]:
                share = f" ({amount / total * 100:.1f}%)" if total else ""
                lines.append(f"- {result.by} {owner}: {format_money(amount, c)}{share}")
            if len(named) > max_owners:
                rest = sum((a for _, a in named[max_owners:]), Decimal(0))
                lines.append(f"- {len(named) - max_owners} smaller {result.by}s: {format_money(rest, c)}")
        reasons: dict[str, Decimal] = defaultdict(Decimal)
        for line in result.unallocated():
            if line.currency == c:
                reasons[f"{line.layer.value}: {line.basis}"] += line.effective_cost
        for why, amount in sorted(reasons.items(), key=lambda kv: -kv[1]):
            lines.append(f"- unallocated, {why}: {format_money(amount, c)}")
    lines += [f"Note: {n}" for n in result.notes]
    return lines


def realized_header(results: Sequence[RealizedSaving]) -> str:
    measured = [r for r in results if r.realized_monthly is not None]
    if not results:
        return "Realized savings: no executed proposals yet, so nothing has been measured."
    totals = "; ".join(
        f"realized {format_money(sum((r.realized_monthly or Decimal(0) for r in mine), Decimal(0)), c)}/month vs "
        f"estimated {format_money(sum((r.estimated_expected for r in mine), Decimal(0)), c)}/month"
        for c, mine in _by_currency(measured).items())
    return (f"Realized savings of {len(results)} executed proposal(s), measured in the bill: {len(measured)} "
            f"measured" + (f" ({totals})" if totals else "") + ":")


def realized_lines(results: Sequence[RealizedSaving]) -> list[str]:
    """One line per executed proposal: the estimate, then the realized saving or its status."""
    from spendpilot.savings.realized import RealizedStatus

    lines = []
    for r in results:
        estimated = f"estimated {format_money(r.estimated_expected, r.currency)}/month"
        if r.status is RealizedStatus.MEASURED and r.realized_monthly is not None:
            error = "" if r.error is None else f"; the estimate was off by {r.error:+.1%}"
            outcome = (f"realized {format_money(r.realized_monthly, r.currency)}/month (bill "
                       f"{r.before_window.label()} vs {r.after_window.label()}{error})")
        elif r.status is RealizedStatus.MEASURING:
            outcome = f"measuring, ready on {r.ready_on}"
        else:
            outcome = f"{r.status.value.replace('_', ' ')}" + (f": {r.evidence[-1]}" if r.evidence else "")
        lines.append(f"- {r.proposal_id} {r.title} ({r.rule}, executed {r.executed_at:%Y-%m-%d}): {estimated}; "
                     f"{outcome}")
    return lines


def _by_currency(results: Sequence[RealizedSaving]) -> dict[str, list[RealizedSaving]]:
    out: dict[str, list[RealizedSaving]] = defaultdict(list)
    for r in results:
        out[r.currency].append(r)
    return dict(out)
