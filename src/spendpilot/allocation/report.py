"""The chargeback/showback report as one self-contained HTML file, for people who never open a terminal.

No script, no stylesheet or font from elsewhere, no image file: the charts are SVG drawn here
(spend over time by layer, by team, by feature, the unallocated share), so the file opens the
same from a mail attachment, a wiki or an air-gapped share. Every value that comes from data
(tags, team, feature, proposal titles, cluster names) is HTML-escaped: tags are written by
whoever can tag a resource, so they are untrusted text.

What to show is a ``ReportData`` (pydantic) built by ``build_report``; rendering is a pure
function of it. ``ReportData.realized`` holds realized-savings rows (``RealizedRow``), built from
``savings.realized.realized_rows`` by ``realized_report_rows`` (`spendpilot report` passes every
executed proposal's measurement).
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable
from datetime import date, datetime
from decimal import Decimal
from html import escape
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import AwareDatetime, BaseModel, Field

from spendpilot.allocation.chargeback import UNALLOCATED, ChargebackResult, Layer, run_chargeback
from spendpilot.allocation.settings import ChargebackSettings
from spendpilot.domain.money import DecimalStr, format_money
from spendpilot.domain.plans import Proposal

if TYPE_CHECKING:
    from spendpilot.savings.realized import RealizedSaving

LAYER_COLOURS = {Layer.CLOUD: "#2f6fb3", Layer.KUBERNETES: "#3a9d5d", Layer.TOKENS: "#c7792b"}
UNALLOCATED_COLOUR = "#9a9a9a"
OWNER_BARS = 12
"""Owners drawn in a bar chart; the tables list them all."""


class ProposalRow(BaseModel):
    proposal_id: str
    title: str
    rule: str
    status: str
    estimated_monthly: DecimalStr
    currency: str


class RealizedRow(BaseModel):
    """One executed proposal's measured saving beside its estimate (None: not measurable yet)."""

    proposal_id: str
    title: str
    estimated_monthly: DecimalStr
    realized_monthly: DecimalStr | None = None
    status: str
    currency: str | None = None
    """The saving's currency; None: the report's ``currency_of_savings``."""
    detail: str = ""
    """Why there is no figure yet ("measuring, ready on 2026-12-10 ..."), shown in its place."""


class ReportData(BaseModel):
    generated_at: AwareDatetime
    by_team: ChargebackResult
    by_feature: ChargebackResult
    proposals: list[ProposalRow] = Field(default_factory=list, description="Top open proposals, largest first.")
    realized: list[RealizedRow] = Field(
        default_factory=list, description="Realized savings of executed proposals; empty until measured.")
    currency_of_savings: str = "USD"


def _m(amount: Decimal, currency: str) -> str:
    return escape(format_money(amount, currency))


def _pct(share: Decimal) -> str:
    return f"{share * 100:.1f} %"


# --- charts --------------------------------------------------------------------------------------


def _time_chart(result: ChargebackResult, currency: str) -> str:
    """Stacked daily bars by layer."""
    days: dict[date, dict[Layer, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
    for p in result.daily:
        if p.currency == currency:
            days[p.day][p.layer] += p.effective_cost
    if not days:
        return "<p>No daily data in this period.</p>"
    ordered = sorted(days)
    width, height, left, bottom, top = 760, 240, 70, 30, 14
    plot_w, plot_h = width - left - 10, height - bottom - top
    peak = max(sum(v.values(), Decimal(0)) for v in days.values()) or Decimal(1)
    slot = plot_w / len(ordered)
    bar = max(slot * 0.8, 1.0)
    parts = [f'<svg class="chart" id="chart-time-{escape(currency)}" role="img" viewBox="0 0 {width} {height}" '
             f'width="{width}" height="{height}" xmlns="http://www.w3.org/2000/svg">',
             f"<title>Daily spend by layer ({escape(currency)})</title>",
             f'<line x1="{left}" y1="{top + plot_h}" x2="{width - 10}" y2="{top + plot_h}" stroke="#888"/>',
             f'<text x="{left - 6}" y="{top + 4}" text-anchor="end" font-size="11">{_m(peak, currency)}</text>',
             f'<text x="{left - 6}" y="{top + plot_h}" text-anchor="end" font-size="11">0</text>']
    for i, day in enumerate(ordered):
        y = float(top + plot_h)
        for layer in Layer:
            value = days[day].get(layer, Decimal(0))
            if value <= 0:
                continue
            h = float(value / peak) * plot_h
            y -= h
            parts.append(f'<rect x="{left + i * slot:.1f}" y="{y:.1f}" width="{bar:.1f}" height="{h:.1f}" '
                         f'fill="{LAYER_COLOURS[layer]}"><title>{day} {layer.value}: {_m(value, currency)}</title></rect>')
    for i in {0, len(ordered) - 1}:
        anchor = "start" if i == 0 else "end"
        x = left + i * slot + (0 if i == 0 else bar)
        parts.append(f'<text x="{x:.1f}" y="{height - 10}" text-anchor="{anchor}" font-size="11">{ordered[i]}</text>')
    parts.append("</svg>")
    legend = " ".join(f'<span class="key" style="background:{LAYER_COLOURS[layer]}"></span>{layer.value}' for layer in Layer)
    return "".join(parts) + f'<p class="legend">{legend}</p>'


def _bar_chart(result: ChargebackResult, currency: str, chart_id: str) -> str:
    owners = result.owners(currency)
    if not owners:
        return "<p>Nothing to show.</p>"
    named = [o for o in owners if o[0] != UNALLOCATED][:OWNER_BARS]
    shown = named + [o for o in owners if o[0] == UNALLOCATED]
    row_h, label_w, width = 24, 190, 760
    height = row_h * len(shown) + 8
    peak = max((a for _, a in shown), default=Decimal(1)) or Decimal(1)
    plot_w = width - label_w - 130
    parts = [f'<svg class="chart" id="{escape(chart_id)}" role="img" viewBox="0 0 {width} {height}" width="{width}" '
             f'height="{height}" xmlns="http://www.w3.org/2000/svg">']
    for i, (owner, amount) in enumerate(shown):
        y = 4 + i * row_h
        w = max(float(amount / peak) * plot_w, 0.0) if amount > 0 else 0.0
        colour = UNALLOCATED_COLOUR if owner == UNALLOCATED else "#2f6fb3"
        label = owner if len(owner) <= 28 else owner[:27] + "…"
        parts.append(f'<text x="{label_w - 8}" y="{y + 16}" text-anchor="end" font-size="12">{escape(label)}</text>'
                     f'<rect x="{label_w}" y="{y + 3}" width="{w:.1f}" height="{row_h - 8}" fill="{colour}">'
                     f"<title>{escape(owner)}: {_m(amount, currency)}</title></rect>"
                     f'<text x="{label_w + w + 6:.1f}" y="{y + 16}" font-size="12">{_m(amount, currency)}</text>')
    parts.append("</svg>")
    if len(owners) > len(shown):
        parts.append(f"<p class=\"note\">{len(owners) - len(shown)} smaller owners are in the table below.</p>")
    return "".join(parts)


def _donut(share: Decimal, currency: str) -> str:
    """The unallocated share as a ring: grey arc = unallocated."""
    r, c = 52.0, 2 * math.pi * 52.0
    arc = float(share) * c
    return (f'<svg class="chart" id="chart-unallocated-{escape(currency)}" role="img" viewBox="0 0 140 140" '
            'width="140" height="140" xmlns="http://www.w3.org/2000/svg">'
            f"<title>Unallocated share {_pct(share)}</title>"
            f'<circle cx="70" cy="70" r="{r}" fill="none" stroke="#2f6fb3" stroke-width="18"/>'
            f'<circle cx="70" cy="70" r="{r}" fill="none" stroke="{UNALLOCATED_COLOUR}" stroke-width="18" '
            f'stroke-dasharray="{arc:.2f} {c - arc:.2f}" transform="rotate(-90 70 70)"/>'
            f'<text x="70" y="68" text-anchor="middle" font-size="18" font-weight="bold">{_pct(share)}</text>'
            '<text x="70" y="86" text-anchor="middle" font-size="11">unallocated</text></svg>')


# --- tables --------------------------------------------------------------------------------------


def _owner_table(result: ChargebackResult, currency: str, title: str) -> str:
    per: dict[str, dict[Layer, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
    basis: dict[str, set[str]] = defaultdict(set)
    for line in result.lines:
        if line.currency == currency:
            per[line.owner][line.layer] += line.effective_cost
            basis[line.owner].update(b.strip() for b in line.basis.split(";"))
    head = "".join(f"<th>{layer.value}</th>" for layer in Layer)
    rows = []
    for owner, total in result.owners(currency):
        cells = "".join(f'<td class="num">{_m(per[owner].get(layer, Decimal(0)), currency)}</td>' for layer in Layer)
        cls = ' class="unallocated"' if owner == UNALLOCATED else ""
        rows.append(f"<tr{cls}><td>{escape(owner)}</td>{cells}<td class=\"num\"><b>{_m(total, currency)}</b></td>"
                    f"<td>{escape(', '.join(sorted(basis[owner])))}</td></tr>")
    return (f"<table><caption>{escape(title)}</caption><thead><tr><th>{escape(result.by)}</th>{head}<th>total</th>"
            f"<th>basis</th></tr></thead><tbody>{''.join(rows)}</tbody></table>")


def _unallocated_table(result: ChargebackResult, currency: str) -> str:
    lines = [x for x in result.unallocated() if x.currency == currency]
    if not lines:
        return "<p>Everything is allocated.</p>"
    rows = "".join(f"<tr><td>{escape(x.basis)}</td><td>{escape(x.layer.value)}</td>"
                   f'<td class="num">{_m(x.effective_cost, currency)}</td></tr>' for x in lines)
    return ("<table><caption>Unallocated, by reason</caption><thead><tr><th>why</th><th>layer</th><th>effective cost</th>"
            f"</tr></thead><tbody>{rows}</tbody></table>")


def _currency_section(data: ReportData, currency: str) -> str:
    team, feature = data.by_team, data.by_feature
    summary = next(c for c in team.currencies if c.currency == currency)
    layers = "".join(f"<li>{escape(t.layer.value)}: {_m(t.effective_cost, currency)}</li>"
                     for t in team.layer_totals if t.currency == currency)
    replaced = ""
    if summary.replaced_effective:
        clusters = ", ".join(escape(r.cluster) for r in team.replaced if r.currency == currency)
        replaced = (f"<li>bill rows of Kubernetes nodes replaced by the cluster allocation ({clusters}): "
                    f"−{_m(summary.replaced_effective, currency)}</li>")
    feature_summary = next(c for c in feature.currencies if c.currency == currency)
    return f"""
<section class="currency" id="currency-{escape(currency)}">
<h2>Spend in {escape(currency)}</h2>
<div class="cards">
 <div class="card"><div class="label">Chargeback total</div><div class="big" id="total-{escape(currency)}">{_m(summary.chargeback_effective, currency)}</div>
  <ul class="small"><li>lake total {_m(summary.lake_effective, currency)}</li>{replaced}{layers}</ul></div>
 <div class="card"><div class="label">Allocated to teams</div><div class="big">{_m(summary.allocated_effective, currency)}</div>
  <div class="small">unallocated {_m(summary.unallocated_effective, currency)}</div></div>
 <div class="card">{_donut(summary.unallocated_share, currency)}</div>
 <div class="card"><div class="label">Unallocated by feature</div><div class="big">{_pct(feature_summary.unallocated_share)}</div>
  <div class="small">{_m(feature_summary.unallocated_effective, currency)} has no feature tag</div></div>
</div>
<h3>Spend over time</h3>
{_time_chart(team, currency)}
<h3>By team</h3>
{_bar_chart(team, currency, f"chart-team-{currency}")}
{_owner_table(team, currency, "Effective cost by team and layer")}
{_unallocated_table(team, currency)}
<h3>By feature</h3>
{_bar_chart(feature, currency, f"chart-feature-{currency}")}
{_owner_table(feature, currency, "Effective cost by feature and layer")}
</section>"""


def _proposals_section(data: ReportData) -> str:
    if not data.proposals:
        return "<p>No open proposals.</p>"
    rows = "".join(
        f"<tr><td><code>{escape(p.proposal_id)}</code></td><td>{escape(p.title)}</td><td>{escape(p.rule)}</td>"
        f"<td>{escape(p.status)}</td><td class=\"num\">{_m(p.estimated_monthly, p.currency)}</td></tr>"
        for p in data.proposals)
    return ("<table><thead><tr><th>proposal</th><th>what</th><th>rule</th><th>status</th><th>estimated saving / month</th>"
            f"</tr></thead><tbody>{rows}</tbody></table>")


def _realized_section(data: ReportData) -> str:
    if not data.realized:
        return '<p id="realized-empty">No realized savings measured yet.</p>'
    def realized(r: RealizedRow, cur: str) -> str:
        if r.realized_monthly is not None:
            return f'<td class="num">{_m(r.realized_monthly, cur)}</td>'
        return f"<td>{escape(r.detail or 'not yet measurable')}</td>"

    rows = "".join(
        f"<tr><td><code>{escape(r.proposal_id)}</code></td><td>{escape(r.title)}</td><td>{escape(r.status)}</td>"
        f'<td class="num">{_m(r.estimated_monthly, r.currency or data.currency_of_savings)}</td>'
        f"{realized(r, r.currency or data.currency_of_savings)}</tr>"
        for r in data.realized)
    return ("<table><thead><tr><th>proposal</th><th>what</th><th>status</th><th>estimated / month</th>"
            f"<th>realized / month</th></tr></thead><tbody>{rows}</tbody></table>")


_CSS = """
body{font-family:-apple-system,'Segoe UI',Helvetica,Arial,sans-serif;margin:24px auto;max-width:980px;color:#222}
h1{font-size:24px;margin-bottom:4px} h2{border-bottom:2px solid #ddd;padding-bottom:4px;margin-top:28px}
.meta{color:#555;font-size:13px} .cards{display:flex;gap:12px;flex-wrap:wrap;align-items:center}
.card{border:1px solid #ddd;border-radius:6px;padding:10px 14px;min-width:160px}
.label{color:#555;font-size:12px;text-transform:uppercase} .big{font-size:22px;font-weight:bold}
.small{font-size:12px;color:#444;margin:4px 0 0;padding-left:16px} table{border-collapse:collapse;margin:10px 0;font-size:13px;width:100%}
caption{text-align:left;font-weight:bold;padding:4px 0} th,td{border-bottom:1px solid #e4e4e4;padding:4px 8px;text-align:left}
td.num{text-align:right;font-variant-numeric:tabular-nums} tr.unallocated td{color:#666;font-style:italic}
.legend{font-size:12px} .key{display:inline-block;width:10px;height:10px;margin:0 4px 0 12px}
code{white-space:nowrap} .note{font-size:12px;color:#555} svg.chart{display:block;max-width:100%;height:auto}
"""


def render_report_html(data: ReportData) -> str:
    """The whole report as one HTML document (no external assets, no script)."""
    team = data.by_team
    fresh = "".join(f"<li>{escape(t.layer.value)} ({escape(t.currency)}): data up to {t.latest_day}</li>"
                    for t in team.layer_totals)
    notes = "".join(f"<li>{escape(n)}</li>" for n in [*team.notes, *data.by_feature.notes])
    sections = "".join(_currency_section(data, c.currency) for c in team.currencies)
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>spendpilot chargeback {team.start} to {team.end}</title>
<style>{_CSS}</style></head>
<body>
<h1>Chargeback and showback</h1>
<p class="meta" id="period">Period {team.start} to {team.end} ({team.days} days, UTC, both included) ·
effective cost (amortised, after discounts) · generated {_stamp(data.generated_at)}</p>
<p class="meta" id="freshness">Latest billing data: {team.latest_data}.</p><ul class="meta">{fresh}</ul>
{f'<ul class="note">{notes}</ul>' if notes else ''}
{sections}
<h2>Top proposals</h2>
{_proposals_section(data)}
<h2 id="realized-savings">Realized savings</h2>
{_realized_section(data)}
<p class="note">Made by spendpilot. Amounts in different currencies are never added. Method: docs/chargeback.md.</p>
</body></html>
"""


def realized_report_rows(results: Iterable[RealizedSaving]) -> list[RealizedRow]:
    """The report's rows for realized savings (``savings.realized.realized_rows``), each in its
    own currency: measured ones with their figure, the others with their status in its place."""
    from spendpilot.savings.realized import realized_rows

    return [RealizedRow.model_validate(row) for row in realized_rows(results)]


def _stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M UTC")


def build_report(lake_dir: Path, settings: ChargebackSettings, proposals: list[Proposal], *, now: datetime,
                 start: date | None = None, end: date | None = None, last_days: int | None = None,
                 top: int = 10, realized: list[RealizedRow] | None = None) -> ReportData:
    """The report's data: chargeback by team and by feature for the same period, and the
    ``top`` open proposals by expected monthly saving."""
    by_team = run_chargeback(lake_dir, settings, by="team", start=start, end=end, last_days=last_days)
    by_feature = run_chargeback(lake_dir, settings, by="feature", start=start, end=end, last_days=last_days)
    ranked = sorted(proposals, key=lambda p: -p.estimate.expected.amount)[:top]
    rows = [ProposalRow(proposal_id=p.id, title=p.summary, rule=p.rule, status=p.status.value,
                        estimated_monthly=p.estimate.expected.amount, currency=p.estimate.expected.currency)
            for p in ranked]
    return ReportData(generated_at=now, by_team=by_team, by_feature=by_feature, proposals=rows,
                      realized=realized or [])
