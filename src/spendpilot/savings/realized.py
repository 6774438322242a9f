"""Realized savings: what an executed proposal actually saved, measured from the bill.

An estimate is a promise; the FOCUS lake is what was paid. Once an executed proposal has
``window_days`` complete UTC days of billing on both sides of its execution day, the affected
resource's run rate is measured in both windows and the drop, per hour x 730 h (the month the
estimators use, ``HOURS_PER_MONTH``), is the realized monthly saving:

    before = [D - N, D)   after = [D + 1, D + 1 + N)   (D = the UTC day the execution finished)

The execution day itself is left out: it is billed partly before and partly after the change.
Costs are FOCUS ``EffectiveCost`` (what the lake's other questions use), summed per
``BillingCurrency`` and never across currencies.

**Which rows are "the resource".** A row belongs to the proposal's target when its
``ResourceId`` is the target's id (or an ARN ending in ``/id`` or ``:id``) or its
``ResourceName`` is the target's id or name. An LLM feature (``llm_feature``) is measured over all
the feature's rows (``ResourceName`` = the feature) whatever the model: a lever such as routing
moves the feature's spend from one model to another, and measuring one model would count the
move as a saving.

**Never a silent zero.** Not enough bill yet: ``measuring``, with the date it will be ready. No
row names the target in either window although the bill covers them: ``not_in_bill`` (nothing to
measure, which is not $0). The bill does not reach back to the start of the before window:
``no_baseline``. A proposal rolled back since: ``rolled_back`` (the after window mixes both states).

This module only reads (the state store's proposals and audit log, and the lake); it never writes.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import AwareDatetime, BaseModel, Field

from spendpilot.domain import HOURS_PER_MONTH, Proposal, ProposalStatus, format_money
from spendpilot.domain.money import CENT

if TYPE_CHECKING:
    from spendpilot.lake.query import CostLake
    from spendpilot.state.store import StateStore

DEFAULT_WINDOW_DAYS = 7
"""A week each side: every weekday once, so a weekly traffic cycle does not read as a saving."""

EXECUTED_EVENT = "execution_verified"
"""The audit event the executor writes when a change was applied and verified (its time is D)."""


class RealizedSettings(BaseModel):
    """How realized savings are measured."""

    window_days: int = Field(DEFAULT_WINDOW_DAYS, ge=1, le=90, description=(
        "Complete UTC days of billing measured on each side of the execution day."))


class RealizedStatus(StrEnum):
    MEASURED = "measured"
    MEASURING = "measuring"  # the after window is not complete in the bill yet
    NOT_IN_BILL = "not_in_bill"  # the bill covers both windows, but no row names the target
    NO_BASELINE = "no_baseline"  # the bill starts after the before window starts
    MIXED_CURRENCY = "mixed_currency"  # the target's rows are billed in more than one currency
    ROLLED_BACK = "rolled_back"


class BillingWindow(BaseModel):
    """One side of the comparison: ``[start, end)`` and what the target cost in it."""

    start: AwareDatetime
    end: AwareDatetime
    cost: Decimal | None = None
    """EffectiveCost of the target's rows in the window (None: not measured)."""
    rows: int = 0

    @property
    def days(self) -> int:
        return (self.end - self.start).days

    def label(self) -> str:
        """``2026-11-26–2026-12-02``: the first and last day, both included."""
        return f"{self.start.date()}–{(self.end - timedelta(days=1)).date()}"

    def monthly_rate(self) -> Decimal | None:
        if self.cost is None:
            return None
        hours = Decimal((self.end - self.start).total_seconds()) / Decimal(3600)
        return self.cost / hours * HOURS_PER_MONTH


class RealizedSaving(BaseModel):
    """One executed proposal's estimate beside what the bill shows it saved."""

    proposal_id: str
    title: str
    rule: str
    action: str
    target: str
    currency: str
    estimated_low: Decimal
    estimated_expected: Decimal
    estimated_high: Decimal
    realized_monthly: Decimal | None
    """Before-window run rate minus after-window run rate, per month (730 h), to the cent; None
    unless measured."""
    status: RealizedStatus
    executed_at: AwareDatetime
    before_window: BillingWindow
    after_window: BillingWindow
    ready_on: date | None = None
    """For ``measuring``: the first day on which the after window can be complete."""
    evidence: list[str] = Field(default_factory=list)

    @property
    def error(self) -> float | None:
        """(estimate - realized) / estimate: positive when the estimate promised more than the bill
        shows (+100 % = nothing realized); None unless measured or when the estimate is $0."""
        if self.realized_monthly is None or self.estimated_expected == 0:
            return None
        return float((self.estimated_expected - self.realized_monthly) / self.estimated_expected)

    @property
    def in_range(self) -> bool | None:
        if self.realized_monthly is None:
            return None
        return self.estimated_low <= self.realized_monthly <= self.estimated_high

    def line(self) -> str:
        """One sentence for the CLI, the TUI and chat."""
        estimated = format_money(self.estimated_expected, self.currency)
        if self.status is RealizedStatus.MEASURED and self.realized_monthly is not None:
            realized = format_money(self.realized_monthly, self.currency)
            return (f"realized {realized}/month vs estimated {estimated} "
                    f"(measured {self.before_window.label()} vs {self.after_window.label()})")
        if self.status is RealizedStatus.MEASURING:
            return f"measuring, ready on {self.ready_on} (estimated {estimated}/month)"
        return f"{self.status.value.replace('_', ' ')}: {self.evidence[-1] if self.evidence else ''}".rstrip(": ")

    def public_dict(self) -> dict[str, Any]:
        """The stable JSON shape of ``spendpilot savings --json`` (money as exact strings)."""
        return {
            "proposal_id": self.proposal_id, "title": self.title, "rule": self.rule, "action": self.action,
            "target": self.target, "currency": self.currency, "status": self.status.value,
            "estimated_monthly": {"low": str(self.estimated_low), "expected": str(self.estimated_expected),
                                  "high": str(self.estimated_high)},
            "realized_monthly": None if self.realized_monthly is None else str(self.realized_monthly),
            "error": self.error, "in_range": self.in_range,
            "executed_at": self.executed_at.isoformat(),
            "before_window": {"start": self.before_window.start.isoformat(), "end": self.before_window.end.isoformat(),
                              "cost": None if self.before_window.cost is None else str(self.before_window.cost)},
            "after_window": {"start": self.after_window.start.isoformat(), "end": self.after_window.end.isoformat(),
                             "cost": None if self.after_window.cost is None else str(self.after_window.cost)},
            "ready_on": None if self.ready_on is None else self.ready_on.isoformat(),
            "evidence": self.evidence,
        }


# --- the lake side -------------------------------------------------------------------------


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)


def target_keys(proposal: Proposal) -> tuple[str, list[Any]]:
    """The SQL predicate (and its parameters) selecting the FOCUS rows of the proposal's target."""
    ref = proposal.target
    if ref.kind == "llm_feature":
        feature = ref.name or ref.id.split("@", 1)[0].split("/", 1)[0]
        return '"ResourceName" = ?', [feature]
    names = sorted({n for n in (ref.id, ref.name) if n})
    marks = ", ".join("?" for _ in names)
    predicate = ('("ResourceId" = ? OR "ResourceId" LIKE ? ESCAPE \'!\' OR "ResourceId" LIKE ? ESCAPE \'!\' '
                 f'OR "ResourceName" IN ({marks}))')
    literal = ref.id.replace("!", "!!").replace("%", "!%").replace("_", "!_")
    return predicate, [ref.id, f"%/{literal}", f"%:{literal}", *names]


class _TargetBill(BaseModel):
    """What the lake holds about one target around one execution."""

    before: dict[str, tuple[Decimal, int]]  # currency -> (cost, rows)
    after: dict[str, tuple[Decimal, int]]
    accounts: list[str]
    covered_from: datetime | None
    covered_until: datetime | None


def _read_target(lake: CostLake, proposal: Proposal, before: BillingWindow, after: BillingWindow) -> _TargetBill:
    # The lake's own session and exact sums (recovery, layout and overflow handled there), as
    # ``lake.token_focus`` reads it: these questions are this module's, not every caller's.
    predicate, params = target_keys(proposal)
    sql = ('SELECT CASE WHEN "ChargePeriodStart" < CAST(? AS TIMESTAMPTZ) THEN \'before\' ELSE \'after\' END AS side, '
           '"BillingCurrency" AS currency, count(*) AS n, {cost} FROM focus '
           f'WHERE {predicate} AND "ChargePeriodStart" >= CAST(? AS TIMESTAMPTZ) '
           'AND "ChargePeriodStart" < CAST(? AS TIMESTAMPTZ) '
           'AND NOT ("ChargePeriodStart" >= CAST(? AS TIMESTAMPTZ) AND "ChargePeriodStart" < CAST(? AS TIMESTAMPTZ)) '
           'GROUP BY side, currency')
    found = lake._summed(sql, [before.end.isoformat(), *params, before.start.isoformat(), after.end.isoformat(),
                                before.end.isoformat(), after.start.isoformat()])
    from spendpilot.lake.query import _total

    sides: dict[str, dict[str, tuple[Decimal, int]]] = {"before": {}, "after": {}}
    for r in found:
        sides[r["side"]][r["currency"]] = (_total(r), int(r["n"]))
    # The bill's coverage is read from the accounts that bill this target: a fresh export of
    # another provider must not make this one look complete.
    accounts = [r["a"] for r in lake._rows(
        f'SELECT DISTINCT "BillingAccountId" AS a FROM focus WHERE {predicate} ORDER BY a', params)]
    if accounts:
        marks = ", ".join("?" for _ in accounts)
        span = lake._rows('SELECT min("ChargePeriodStart") AS first, max("ChargePeriodEnd") AS last FROM focus '
                          f'WHERE "BillingAccountId" IN ({marks})', accounts)[0]
    else:
        span = lake._rows('SELECT min("ChargePeriodStart") AS first, max("ChargePeriodEnd") AS last FROM focus')[0]
    first, last = span["first"], span["last"]
    return _TargetBill(
        before=sides["before"], after=sides["after"], accounts=accounts,
        covered_from=first.astimezone(UTC) if first is not None else None,
        covered_until=last.astimezone(UTC) if last is not None else None,
    )


def _read_usage(lake_dir: Path, feature: str, before: BillingWindow, after: BillingWindow) -> _TargetBill:
    """A feature's token cost per window from the lake's LLM usage (provider usage exports), for
    a lake whose FOCUS rows do not carry token spend (``spendpilot token-focus`` not run). A day
    without a reported cost is priced from the bundled price book; an unpriced model's day is left
    out and named in the evidence by the caller (``unpriced`` rows count nothing)."""
    from spendpilot.lake.llm_usage import read_llm_usage
    from spendpilot.savings._token_cost import TokenMix
    from spendpilot.savings.pricebook import PriceBook

    usage = read_llm_usage(lake_dir)
    mine = [u for u in usage if u.feature == feature]
    providers = {u.provider for u in mine}
    days = [u.day for u in usage if u.provider in providers]
    prices = PriceBook.bundled()
    sides: dict[str, dict[str, tuple[Decimal, int]]] = {"before": {}, "after": {}}
    for u in mine:
        start = _midnight(u.day)
        side = "before" if before.start <= start < before.end else "after" if after.start <= start < after.end else None
        if side is None:
            continue
        cost, currency = u.cost, u.currency
        if cost <= 0:
            price = prices.token_price(u.model)
            if price is None:
                continue
            cost = TokenMix(requests=u.requests, input_tokens=u.input_tokens,
                            cached_input_tokens=min(u.cached_input_tokens, u.input_tokens),
                            output_tokens=u.output_tokens).cost(price)
            currency = price.currency
        total, rows = sides[side].get(currency, (Decimal(0), 0))
        sides[side][currency] = (total + cost, rows + 1)
    return _TargetBill(
        before=sides["before"], after=sides["after"], accounts=sorted(providers),
        covered_from=_midnight(min(days)) if days else None,
        covered_until=_midnight(max(days) + timedelta(days=1)) if days else None,
    )


# --- measuring -----------------------------------------------------------------------------


def windows_for(executed_at: datetime, window_days: int) -> tuple[BillingWindow, BillingWindow]:
    """The before and after windows around an execution (the module docstring's D)."""
    day = executed_at.astimezone(UTC).date()
    before = BillingWindow(start=_midnight(day - timedelta(days=window_days)), end=_midnight(day))
    after_start = _midnight(day + timedelta(days=1))
    return before, BillingWindow(start=after_start, end=after_start + timedelta(days=window_days))


def measure(proposal: Proposal, executed_at: datetime, lake: CostLake, *,
            settings: RealizedSettings | None = None, now: datetime | None = None) -> RealizedSaving:
    """The realized saving of one proposal executed at ``executed_at`` (module docstring).

    ``now`` bounds readiness: an after window that has not ended yet is ``measuring`` even if a
    provider already sent (estimated) rows for it.
    """
    settings = settings or RealizedSettings()
    now = (now or datetime.now(UTC)).astimezone(UTC)
    before, after = windows_for(executed_at, settings.window_days)
    estimate = proposal.estimate
    currency = estimate.expected.currency
    evidence = [f"executed {executed_at.astimezone(UTC):%Y-%m-%d %H:%M} UTC; windows of {settings.window_days} "
                f"complete UTC days, the execution day left out"]

    def result(status: RealizedStatus, realized: Decimal | None = None, *, ready_on: date | None = None,
               bill_currency: str | None = None) -> RealizedSaving:
        return RealizedSaving(
            proposal_id=proposal.id, title=proposal.summary, rule=proposal.rule, action=proposal.action,
            target=proposal.target.name or proposal.target.id, currency=bill_currency or currency,
            estimated_low=estimate.low.amount, estimated_expected=estimate.expected.amount,
            estimated_high=estimate.high.amount, realized_monthly=realized, status=status,
            executed_at=executed_at, before_window=before, after_window=after, ready_on=ready_on,
            evidence=evidence,
        )

    if proposal.status is ProposalStatus.ROLLED_BACK:
        evidence.append("rolled back since; the bill after it mixes the changed and the restored state")
        return result(RealizedStatus.ROLLED_BACK)
    bill = _read_target(lake, proposal, before, after)
    if proposal.target.kind == "llm_feature" and not bill.before and not bill.after:
        feature = proposal.target.name or proposal.target.id.split("@", 1)[0].split("/", 1)[0]
        usage = _read_usage(lake.lake_dir, feature, before, after)
        if usage.before or usage.after:
            bill = usage
            evidence.append(f"no FOCUS row names the feature: measured from the lake's LLM usage of {feature} "
                            f"({', '.join(usage.accounts)}), all models")
    if bill.covered_until is None and now >= after.end:
        evidence.append("the lake holds no billing rows (nor LLM usage) to measure from: not measured (this is not $0)")
        return result(RealizedStatus.NOT_IN_BILL)
    if now < after.end or bill.covered_until is None or bill.covered_until < after.end:
        held = f"the bill reaches {bill.covered_until:%Y-%m-%d %H:%M} UTC" if bill.covered_until else "no bill yet"
        evidence.append(f"{held}; the after window ends {after.end:%Y-%m-%d %H:%M} UTC")
        return result(RealizedStatus.MEASURING, ready_on=after.end.date())
    if bill.covered_from is None or bill.covered_from > before.start:
        evidence.append(f"the bill starts {bill.covered_from:%Y-%m-%d}, after the before window starts "
                        f"({before.start:%Y-%m-%d}): no baseline to measure against")
        return result(RealizedStatus.NO_BASELINE)
    if not bill.before and not bill.after:
        ref = proposal.target
        evidence.append(f"no FOCUS row names {ref.kind} {ref.name or ref.id} (ResourceId/ResourceName) between "
                        f"{before.start:%Y-%m-%d} and {after.end:%Y-%m-%d}: not measured (this is not $0)")
        return result(RealizedStatus.NOT_IN_BILL)
    currencies = sorted(set(bill.before) | set(bill.after))
    if len(currencies) > 1:
        evidence.append(f"the target is billed in {', '.join(currencies)}; amounts are never added across currencies")
        return result(RealizedStatus.MIXED_CURRENCY)
    bill_currency = currencies[0]
    before.cost, before.rows = bill.before.get(bill_currency, (Decimal(0), 0))
    after.cost, after.rows = bill.after.get(bill_currency, (Decimal(0), 0))
    before_rate, after_rate = before.monthly_rate(), after.monthly_rate()
    assert before_rate is not None and after_rate is not None  # both costs set just above
    realized = (before_rate - after_rate).quantize(CENT, rounding=ROUND_HALF_UP)
    evidence.append(f"before {before.label()}: {format_money(before.cost, bill_currency)} over {before.rows} rows "
                    f"= {format_money(before_rate, bill_currency)}/month")
    evidence.append(f"after {after.label()}: {format_money(after.cost, bill_currency)} over {after.rows} rows "
                    f"= {format_money(after_rate, bill_currency)}/month")
    if bill_currency != currency:
        evidence.append(f"billed in {bill_currency}, estimated in {currency}: not converted, no error computed")
    return result(RealizedStatus.MEASURED, realized, bill_currency=bill_currency)


def execution_times(store: StateStore, proposal_id: str) -> list[datetime]:
    """When the ledger says the proposal's change was applied and verified (audit log)."""
    return [e.at for e in store.audit_events(proposal_id=proposal_id) if e.kind == EXECUTED_EVENT]


def realized_savings(store: StateStore, lake_dir: Path, *, settings: RealizedSettings | None = None,
                     now: datetime | None = None, proposal_ids: Iterable[str] | None = None) -> list[RealizedSaving]:
    """Every executed (or since rolled back) proposal's realized saving, newest execution first.

    The plain function for front-ends and the copilot's tool: give it the store and the lake.
    """
    from spendpilot.lake.query import CostLake

    lake = CostLake(Path(lake_dir))
    wanted = set(proposal_ids) if proposal_ids is not None else None
    out: list[RealizedSaving] = []
    for p in store.list_proposals([ProposalStatus.EXECUTED, ProposalStatus.ROLLED_BACK]):
        if (wanted is not None and p.id not in wanted) or p.rollback_of:
            continue  # a rollback undoes a saving; the original proposal says "rolled_back"
        times = execution_times(store, p.id)
        if not times:  # executed before the ledger audited verification: nothing dates the change
            continue
        out.append(measure(p, max(times), lake, settings=settings, now=now))
    return sorted(out, key=lambda r: (r.executed_at, r.proposal_id), reverse=True)


def realized_for(store: StateStore, lake_dir: Path, proposal_id: str, *, settings: RealizedSettings | None = None,
                 now: datetime | None = None) -> RealizedSaving | None:
    """One proposal's realized saving; None when it was never executed."""
    found = realized_savings(store, lake_dir, settings=settings, now=now, proposal_ids=[proposal_id])
    return found[0] if found else None


def realized_rows(results: Iterable[RealizedSaving]) -> list[dict[str, Any]]:
    """Plain rows for other front-ends (the HTML report's ``RealizedRow``): proposal_id, title,
    estimated_monthly, realized_monthly (None unless measured), status, currency, and detail
    (``line()``: the status in words, e.g. "measuring, ready on DATE")."""
    return [{"proposal_id": r.proposal_id, "title": r.title, "estimated_monthly": r.estimated_expected,
             "realized_monthly": r.realized_monthly, "status": r.status.value, "currency": r.currency,
             "detail": r.line()} for r in results]
