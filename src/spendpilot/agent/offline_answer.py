"""Answer a parsed ``Question`` from the same queries the CLI runs, or say plainly that it cannot.

Every answer starts with a header naming the question it answered (grouping, filters, period
with its dates, and which cost), so a reader can check it is their question. When the
question has a part the parser could not map, or the data cannot answer it (no budgets
configured, a chargeback by service), the answer is "I can't answer that offline: ..."
naming the missing part; a question it *can* answer may follow, labelled as a suggestion,
never with figures, so it cannot be read as the answer.

Figures come from ``lake.spend.run_spend_query`` (through ``CopilotData.spend``), the outlook
(forecast, budgets, anomalies), the proposal store, the chargeback (``allocation.chargeback``) and
realized savings (``savings.realized``), i.e. what ``spendpilot spend``, ``forecast``,
``budgets``, ``anomalies``, ``proposals``, ``chargeback`` and ``savings`` print.
"""

from __future__ import annotations

import calendar
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Protocol

from spendpilot.agent.offline_question import (
    Intent,
    Period,
    PeriodKind,
    Question,
    QuestionFilter,
    with_names,
)
from spendpilot.domain import Proposal, ProposalStatus, format_money, totals_by_currency
from spendpilot.domain.money import per_unit
from spendpilot.errors import NoSpendData, SpendpilotError

if TYPE_CHECKING:
    from spendpilot.allocation.chargeback import ChargebackResult
    from spendpilot.lake.spend import SpendQuery, SpendResult, SpendRow
    from spendpilot.outlook.anomalies import AnomalyReport
    from spendpilot.outlook.budgets import BudgetStatus
    from spendpilot.outlook.forecast import ForecastResult
    from spendpilot.savings.realized import RealizedSaving

CAN_ANSWER = (
    "Offline I answer: spend by team, feature, service, account, region, model, provider or namespace "
    "(e.g. 'OpenAI spend by feature last 7 days'), the top N of a grouping, this month vs last month, "
    "cost per 1k tokens or per request, forecasts ('spend next month'), budgets, anomalies, pending "
    "proposals and one proposal's evidence ('explain sp-1a2b3c4d'), chargeback by team or feature "
    "('what does each team cost?', 'unallocated spend') and realized savings ('how much did we save?')."
)
LLM_GROUPS = ("feature", "model", "provider")
UNIT_COST_PLACES = Decimal("1e-12")
"""As ``lake.spend``: a token can cost picodollars."""


class CopilotData(Protocol):
    """The read-only services the offline copilot answers from (``LocalServices`` has them)."""

    def spend(self, query: SpendQuery) -> SpendResult: ...

    def forecast(self, group_by: list[str] | None = None, days: int = 30) -> ForecastResult: ...

    def budgets(self) -> tuple[list[BudgetStatus], list[str]]: ...

    def anomalies(self) -> AnomalyReport: ...

    def list_proposals(self, statuses: list[ProposalStatus] | None = None) -> list[Proposal]: ...

    def get_proposal(self, proposal_id: str) -> Proposal: ...

    def realized_savings(self, proposal_ids: Sequence[str] | None = None) -> list[RealizedSaving]: ...

    def chargeback(self, by: str = "team", *, start: date | None = None, end: date | None = None,
                   last_days: int | None = None) -> ChargebackResult: ...


@dataclass
class OfflineAnswer:
    """``answered`` is False for "I can't answer that"; ``queries`` are the spend queries run."""

    question: Question
    answered: bool
    header: str
    lines: list[str] = field(default_factory=list)
    queries: list[SpendQuery] = field(default_factory=list)

    @property
    def text(self) -> str:
        return "\n".join([self.header, *self.lines])


class CannotAnswer(Exception):
    """Raised inside the answerer with the missing part; becomes an ``OfflineAnswer``."""

    def __init__(self, reason: str, suggestion: str | None = None) -> None:
        super().__init__(reason)
        self.reason, self.suggestion = reason, suggestion


def cannot(question: Question, reasons: Sequence[str], suggestion: str | None) -> OfflineAnswer:
    lines = []
    if suggestion:
        lines.append(f"Suggestion (a different question, not an answer to yours): ask '{suggestion}'.")
    lines.append(CAN_ANSWER)
    return OfflineAnswer(question, False, "I can't answer that offline: " + "; ".join(reasons) + ".", lines)


def answer_question(question: Question, data: CopilotData, *, today: date | None = None) -> OfflineAnswer:
    """The answer to ``question`` or an honest refusal; ``today`` (UTC) only for "anomalies today"."""
    if question.unknown_words:
        question = with_names(question, _lake_names(question.unknown_words, data))
    if question.unsupported:
        return cannot(question, question.unsupported, question.suggestion)
    handlers = {
        Intent.SPEND: _spend, Intent.TOP_SPENDER: _spend, Intent.UNIT_COST: _spend,
        Intent.COMPARE_PERIODS: _compare, Intent.FORECAST: _forecast, Intent.BUDGET_STATUS: _budgets,
        Intent.PROPOSALS: _proposals, Intent.EXPLAIN_PROPOSAL: _explain, Intent.SAVINGS: _realized,
        Intent.CHARGEBACK: _chargeback, Intent.UNALLOCATED: _chargeback,
    }
    try:
        if question.intent is Intent.ANOMALIES:
            return _anomalies(question, data, today or datetime.now(UTC).date())
        handler = handlers.get(question.intent)
        if handler is None:
            raise CannotAnswer("I could not tell what the question asks for")
        return handler(question, data)
    except CannotAnswer as exc:
        return cannot(question, [exc.reason], exc.suggestion or question.suggestion)
    except NoSpendData as exc:
        return cannot(question, [str(exc)], None)


NAME_KEYS = ("team", "feature", "account")
"""Unknown words are looked up among these values of the last 90 days of the bill."""


def _lake_names(words: Sequence[str], data: CopilotData) -> dict[str, QuestionFilter]:
    """Each word that is (case aside) exactly one team, feature or account name in the bill."""
    from spendpilot.lake.query import NO_VALUE, UNTAGGED
    from spendpilot.lake.spend import build_query

    found: dict[str, QuestionFilter] = {}
    for key in NAME_KEYS:
        try:
            rows = data.spend(build_query(group_by=[key], last_days=90, source="focus")).rows
        except NoSpendData:
            return {}
        for row in rows:
            value = row.keys[key]
            name = value.split(" [", 1)[0] if key == "account" else value
            if value in (UNTAGGED, NO_VALUE):
                continue
            for word in words:
                if word == name.lower() and word not in found:
                    found[word] = QuestionFilter(key=key, values=(name,), label=f"{key} {name}")
    return found


# --- spend ---------------------------------------------------------------------------------------


def _only(question: Question, *, group: bool = True, filters: bool = True, period: Sequence[PeriodKind] = ()
          ) -> None:
    """Refuse the parts of a question this intent cannot take into account."""
    if not group and question.group_by:
        raise CannotAnswer(f"a {question.intent.value} answer by {question.group_label}")
    if not filters and question.filters:
        raise CannotAnswer(f"a {question.intent.value} answer for "
                           + ", ".join(f.label for f in question.filters) + " only")
    if question.period.kind is not PeriodKind.DEFAULT and question.period.kind not in period:
        raise CannotAnswer(f"a {question.intent.value} answer for {question.period.kind.value}")


def _uses_llm_usage(question: Question) -> bool:
    """LLM usage (tokens, unit costs) when grouped by feature or model and every filter exists there."""
    if question.intent is Intent.UNIT_COST:
        return True
    return question.group_by in ("feature", "model") and all(
        f.key in LLM_GROUPS or f.llm_values is not None for f in question.filters)


def _where(filters: Sequence[QuestionFilter], llm: bool) -> list[dict[str, object]]:
    out: list[dict[str, object]] = []
    for f in filters:
        if llm and f.llm_values is not None:
            out.append({"key": "provider", "values": f.llm_values})
        elif llm and f.key not in LLM_GROUPS:
            raise CannotAnswer(f"unit costs for {f.label}: LLM usage has no {f.key}")
        else:
            out.append({"key": f.key, "values": f.values})
    return out


def _month_bounds(day: date) -> tuple[date, date]:
    return day.replace(day=1), day.replace(day=calendar.monthrange(day.year, day.month)[1])


def _period_fields(period: Period, data: CopilotData, base: dict[str, object]) -> dict[str, object]:
    """``SpendQuery`` period fields; calendar months are counted back from the latest data day,
    as every other period of the spend explorer is."""
    from spendpilot.lake.spend import build_query

    if period.kind is PeriodKind.DEFAULT:
        return {"last_days": 30}
    if period.kind is PeriodKind.LAST_DAYS:
        return {"last_days": period.count}
    if period.kind is PeriodKind.LAST_MONTHS:
        return {"last_months": period.count}
    latest = data.spend(build_query(**base, top=1)).latest_data
    if period.kind is PeriodKind.THIS_MONTH:
        return {"start": latest.replace(day=1), "end": latest}
    if period.kind is PeriodKind.LAST_MONTH:
        start, end = _month_bounds(latest.replace(day=1) - timedelta(days=1))
        return {"start": start, "end": end}
    raise CannotAnswer(f"spend for {period.kind.value}")


def _period_label(period: Period, result: SpendResult) -> str:
    dates = f"{result.start} to {result.end}"
    if period.kind is PeriodKind.DEFAULT:
        return f"last 30 days ({dates})"
    if period.kind is PeriodKind.LAST_DAYS:
        return f"last {period.count} days ({dates})"
    if period.kind is PeriodKind.LAST_MONTHS:
        return f"last {period.count} months ({dates})"
    if period.kind is PeriodKind.LAST_MONTH:
        return f"last month ({result.start:%B %Y}, {dates})"
    return f"this month to the latest data ({dates})"


def _scope(question: Question) -> str:
    return " ".join(f.label for f in question.filters)


def _subject(question: Question) -> str:
    scope = _scope(question)
    what = "cost per 1k tokens" if question.unit == "1k tokens" else "cost per request"
    if question.intent is Intent.UNIT_COST:
        noun = f"{scope} {what}" if scope else what.capitalize()
    else:
        noun = f"{scope} spend" if scope else "Spend"
    return noun + (f" by {question.group_label}" if question.group_by else "")


def _cost_name(result: SpendResult) -> str:
    return "LLM usage cost as exported" if result.source.value == "llm_usage" else f"FOCUS {result.metric}"


def _key(row: SpendRow) -> str:
    return " / ".join(row.keys.values()) or "total"


def _spend(question: Question, data: CopilotData) -> OfflineAnswer:
    from spendpilot.lake.spend import OTHER, build_query

    if question.intent is Intent.UNIT_COST and question.group_by not in (None, *LLM_GROUPS):
        raise CannotAnswer(f"unit costs by {question.group_label}: tokens and requests are known only per "
                           "feature, model or provider (LLM usage)", "cost per 1k tokens by feature")
    llm = _uses_llm_usage(question)
    base: dict[str, object] = {
        "group_by": [question.group_by] if question.group_by else [],
        "where": _where(question.filters, llm),
        "source": "llm_usage" if llm else "focus",
    }
    top = question.top if question.intent is Intent.TOP_SPENDER else None
    query = build_query(**base, **_period_fields(question.period, data, base), top=top)
    result = data.spend(query)
    period = _period_label(question.period, result)
    rows = [r for r in result.rows if not (top and r.keys.get(question.group_by or "") == OTHER)]
    totals = "; ".join(f"total {format_money(t.amount, t.currency)}" for t in result.totals)
    if question.intent is Intent.TOP_SPENDER:
        label = question.group_label or "group"
        what = f"Top {label}" if top == 1 else f"Top {top} {label}s"
        scope = f" in {_scope(question)} spend" if question.filters else ""
        header = f"{what} by spend{scope}, {period} ({_cost_name(result)}):"
    else:
        header = f"{_subject(question)}, {period} ({_cost_name(result)}):"
    lines = []
    for r in rows:
        if question.intent is Intent.UNIT_COST:
            lines.append(_unit_line(_key(r), question, r.currency, r.amount, r.requests or 0, r.tokens or 0))
        else:
            lines.append(f"- {_key(r)}: {format_money(r.amount, r.currency)} ({r.share * 100:.1f}%)")
    if not rows:
        lines.append(f"No {_scope(question) or 'matching'} spend is recorded in this period "
                     f"(the lake's data ends {result.latest_data}).")
    elif question.intent is Intent.UNIT_COST:
        for t in result.totals:
            mine = [r for r in rows if r.currency == t.currency]
            lines.append(_unit_line("all together", question, t.currency, t.amount,
                                    sum(r.requests or 0 for r in mine), sum(r.tokens or 0 for r in mine)))
    else:
        lines.append(f"Of {totals} in this scope.")
    return OfflineAnswer(question, True, header, lines, [query])


def _unit_line(key: str, question: Question, currency: str, amount: Decimal, requests: int, tokens: int) -> str:
    count = tokens if question.unit == "1k tokens" else requests
    scale = 1000 if question.unit == "1k tokens" else 1
    rate = (per_unit((amount * scale / count).quantize(UNIT_COST_PLACES).normalize(), currency, str(question.unit))
            if count else "unknown (no tokens or requests recorded)")
    return f"- {key}: {rate} ({format_money(amount, currency)} over {requests:,} requests, {tokens:,} tokens)"


def _compare(question: Question, data: CopilotData) -> OfflineAnswer:
    from spendpilot.lake.spend import build_query

    llm = _uses_llm_usage(question)
    base: dict[str, object] = {"group_by": [question.group_by] if question.group_by else [],
                               "where": _where(question.filters, llm), "source": "llm_usage" if llm else "focus"}
    first, second = question.period, question.compare_with
    if first.kind is PeriodKind.DEFAULT and second is None:
        first = Period(kind=PeriodKind.LAST_DAYS, count=30)
    same_length = second is None or (second == first and first.kind is PeriodKind.LAST_DAYS)
    if same_length and first.kind is PeriodKind.LAST_DAYS:
        query = build_query(**base, last_days=first.count, compare=True)
        result = data.spend(query)
        header = (f"{_subject(question)}, last {first.count} days ({result.start} to {result.end}) vs the "
                  f"{first.count} days before ({result.previous_start} to {result.previous_end}) "
                  f"({_cost_name(result)}):")
        lines = [_delta_line(_key(r), r.currency, r.amount, r.previous) for r in [*result.rows]]
        lines += [_delta_line("total", t.currency, t.amount, t.previous) for t in result.totals]
        return OfflineAnswer(question, True, header, lines, [query])
    if second is None:
        raise CannotAnswer("the period to compare with", f"{_subject(question).lower()} this month vs last month")
    queries = [build_query(**base, **_period_fields(p, data, base)) for p in (first, second)]
    now, before = (data.spend(q) for q in queries)
    header = (f"{_subject(question)}, {_period_label(first, now)} vs {_period_label(second, before)} "
              f"({_cost_name(now)}):")
    amounts: dict[tuple[str, str], list[Decimal]] = {}
    for index, result in enumerate((now, before)):
        for r in result.rows:
            amounts.setdefault((_key(r), r.currency), [Decimal(0), Decimal(0)])[index] += r.amount
    lines = [_delta_line(k, cur, a, b) for (k, cur), (a, b) in amounts.items()]
    totals = {t.currency: [t.amount, Decimal(0)] for t in now.totals}
    for t in before.totals:
        totals.setdefault(t.currency, [Decimal(0), Decimal(0)])[1] = t.amount
    lines += [_delta_line("total", cur, a, b) for cur, (a, b) in totals.items()]
    return OfflineAnswer(question, True, header, lines, queries)


def _delta_line(key: str, currency: str, amount: Decimal, previous: Decimal | None) -> str:
    before = previous or Decimal(0)
    change = f"{(amount - before) / before * 100:+.1f}%" if before else "new"
    return (f"- {key}: {format_money(amount, currency)} vs {format_money(before, currency)} "
            f"({'+' if amount >= before else ''}{format_money(amount - before, currency)}, {change})")


# --- outlook -------------------------------------------------------------------------------------


def _forecast(question: Question, data: CopilotData) -> OfflineAnswer:
    if question.filters:
        raise CannotAnswer("a forecast of " + ", ".join(f.label for f in question.filters)
                           + " only: the offline forecast covers the whole bill or one grouping of it",
                           "what will we spend next month?")
    group = [question.group_by] if question.group_by else []
    probe = data.forecast(group, days=1)
    last = probe.history_end
    if question.period.kind is PeriodKind.NEXT_DAYS and question.period.count:
        first, end = last + timedelta(days=1), last + timedelta(days=question.period.count)
        when = f"next {question.period.count} days ({first} to {end})"
    else:
        first, end = _month_bounds(last.replace(day=1) + timedelta(days=32))
        when = f"next month ({first:%B %Y}, {first} to {end})"
    result = data.forecast(group, days=(end - last).days)
    method = result.series[0].method if result.series else "no history"
    header = (f"Forecast of {'spend by ' + str(question.group_label) if group else 'total spend'}, {when}, "
              f"from daily history {result.history_start} to {result.history_end} ({method}):")
    lines = []
    for s in result.series:
        days = [p for p in s.points if first <= p.day <= end]
        expected = sum((p.expected for p in days), Decimal(0))
        low = sum((p.low for p in days), Decimal(0))
        high = sum((p.high for p in days), Decimal(0))
        name = " / ".join(s.keys.values()) or "total"
        lines.append(f"- {name}: {format_money(expected, s.unit)} expected "
                     f"({format_money(low, s.unit)} to {format_money(high, s.unit)})")
    if not lines:
        lines.append("No spend history to forecast from.")
    lines += [f"Note: {n}" for n in result.notes]
    return OfflineAnswer(question, True, header, lines)


def _budgets(question: Question, data: CopilotData) -> OfflineAnswer:
    _only(question, group=False, filters=False, period=(PeriodKind.THIS_MONTH,))
    statuses, notes = data.budgets()
    if not statuses:
        raise CannotAnswer("no budgets are configured ([[budgets]] in spendpilot.toml, or [aws_budgets])"
                           + (f"; {'; '.join(notes)}" if notes else ""))
    over = [s for s in statuses if s.actual > s.amount]
    header = (f"Budgets this month ({statuses[0].period_start:%B %Y}): {len(over)} of {len(statuses)} "
              "over budget so far:")
    lines = []
    for s in statuses:
        verdict = ("OVER budget" if s.actual > s.amount else
                   "within budget, projected to exceed it" if s.projected > s.amount else "within budget")
        scope = ", ".join(f"{k}={v if isinstance(v, str) else ','.join(v)}" for k, v in s.scope.items()) or "all"
        lines.append(f"- {s.name} ({scope}): {format_money(s.actual, s.currency)} of "
                     f"{format_money(s.amount, s.currency)} ({s.burn * 100:.0f}%) as of {s.as_of}; projected "
                     f"{format_money(s.projected, s.currency)} by {s.period_end}: {verdict}")
    lines += [f"Note: {n}" for n in notes]
    return OfflineAnswer(question, True, header, lines)


def _anomalies(question: Question, data: CopilotData, today: date) -> OfflineAnswer:
    _only(question, group=False, filters=False, period=(PeriodKind.TODAY,))
    report = data.anomalies()
    found = report.anomalies
    if question.period.kind is PeriodKind.TODAY:
        found = [a for a in found if a.last.astimezone(UTC).date() >= today]
        header = f"Anomalies today ({today} UTC): {len(found)}."
    else:
        header = f"Anomalies in the detector's lookback: {len(found)}."
    lines = [f"- {a.summary()}" + (" (ongoing)" if a.ongoing else "") for a in found]
    lines += [f"Checked: {c}" for c in report.checked]
    return OfflineAnswer(question, True, header, lines)


# --- proposals -----------------------------------------------------------------------------------


def _proposals(question: Question, data: CopilotData) -> OfflineAnswer:
    _only(question, group=False, filters=False)
    pending = sorted(data.list_proposals([ProposalStatus.PENDING]), key=lambda p: -p.estimate.expected.amount)
    total = " + ".join(str(m) for m in totals_by_currency(p.estimate.expected for p in pending)) or "nothing"
    header = (f"Pending proposals: {len(pending)}, {total}/month expected saving in total "
              "(estimates made when proposed; nothing is saved until a person approves):")
    lines = [f"- {p.id} {p.action} on {p.target.label()}: {p.estimate.expected}/month "
             f"({p.estimate.low} to {p.estimate.high}, {p.risk.value} risk)" for p in pending]
    return OfflineAnswer(question, True, header, lines)


def _explain(question: Question, data: CopilotData) -> OfflineAnswer:
    if not question.proposal_id:
        raise CannotAnswer("which proposal: select one in the queue or name its id (sp-1a2b3c4d)")
    try:
        p = data.get_proposal(question.proposal_id)
    except SpendpilotError as exc:
        raise CannotAnswer(f"proposal {question.proposal_id}: {exc}", "show pending proposals") from exc
    e = p.estimate
    lines = [f"Plan: {p.plan.description}", f"Saving: {e.expected}/month expected, {e.low} to {e.high}.",
             f"How: {e.formula}", "Evidence:",
             *(f"- {ev.label}: {ev.value} [{ev.source}]" for ev in [*p.evidence, *e.inputs]),
             f"Risk: {p.risk.value}. Rollback: {p.plan.rollback_description}"]
    if p.note:
        lines.append(f"Note: {p.note}")
    return OfflineAnswer(question, True, f"Proposal {p.id} ({p.status.value}): {p.summary}.", lines)


def _realized(question: Question, data: CopilotData) -> OfflineAnswer:
    """Each executed proposal's estimate beside the bill's measurement, or its status
    ("measuring, ready on DATE", "not in bill: ...") where the bill cannot show it yet."""
    from spendpilot.agent.finance_lines import realized_header, realized_lines

    _only(question, group=False, filters=False)
    results = data.realized_savings()
    lines = realized_lines(results)
    if not results:
        lines.append("Estimates of proposals not yet executed: ask 'what can I save?'.")
    return OfflineAnswer(question, True, realized_header(results), lines)


# --- chargeback ----------------------------------------------------------------------------------


def _chargeback(question: Question, data: CopilotData) -> OfflineAnswer:
    """The period's cost allocated by team (or feature) with the unallocated share and why; for
    "unallocated spend", the unallocated share and its reasons without the owners."""
    from spendpilot.agent.finance_lines import chargeback_header, chargeback_lines

    _only(question, filters=False, period=(PeriodKind.LAST_DAYS, PeriodKind.THIS_MONTH, PeriodKind.LAST_MONTH))
    by = question.group_by or "team"
    period = question.period
    if period.kind in (PeriodKind.THIS_MONTH, PeriodKind.LAST_MONTH):
        latest = data.chargeback(by, last_days=1).latest_data
        start, end = (latest.replace(day=1), latest) if period.kind is PeriodKind.THIS_MONTH else \
            _month_bounds(latest.replace(day=1) - timedelta(days=1))
        result = data.chargeback(by, start=start, end=end)
    else:
        result = data.chargeback(by, last_days=period.count if period.kind is PeriodKind.LAST_DAYS else None)
    unallocated = question.intent is Intent.UNALLOCATED
    header = chargeback_header(result)
    if unallocated:
        header = f"Unallocated spend (no {by}), " + header.split(", ", 1)[1]
    return OfflineAnswer(question, True, header, chargeback_lines(result, owners=not unallocated))
