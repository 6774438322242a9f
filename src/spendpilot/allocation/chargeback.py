"""Chargeback and showback: the lake's cost over a period, allocated to teams or features.

Three layers, all read from the FOCUS lake in one query, so the allocation and the spend
explorer agree on every row:

* **cloud**: the bills (FOCUS, CUR, Cost Explorer): every row that is neither of the others.
* **kubernetes**: ``spendpilot allocate --write`` rows (``ProviderName = "Kubernetes"``), one per
  day and workload plus the cluster's idle line (namespace ``__idle__``).
* **tokens**: LLM token cost, ``spendpilot token-focus`` rows (billing account
  ``spendpilot-tokens:<provider>``) or any bill row whose ``ConsumedUnit`` is tokens.

**Who a row belongs to.** The ``team`` tag (``ChargebackSettings.team_tags``: also CUR 2.0's
``user_team``) names the team;
Kubernetes rows carry their workload's labels as tags, so a ``team`` label does the same. A row
with no team is given one by an explicit rule, in this order: the namespace of a Kubernetes row
(``namespace_teams``), then its feature (``feature_teams``), then, when
``infer_feature_teams`` is on, the one team every team-tagged row of the same feature names
(a feature tagged with two teams lends none). Everything else is **unallocated**, with why:
``no team tag``, ``Kubernetes idle capacity`` (capacity no pod requested or used), or
``Kubernetes workload without a team label``. By feature, the feature tag decides and rows
without one are unallocated (idle capacity stays idle).

**No double counting.** A node's cost is on the bill (its EC2 rows) and, once allocated, in the
Kubernetes rows too. The Kubernetes rows *replace* the bill rows of the node instances they
allocated: ``allocate --write`` stores the instance ids of the priced nodes on each day's idle
row (tag ``kubernetes.node_instances``), and bill rows whose ``ResourceId`` is one of them (or an
ARN ending in one) on a day the cluster was allocated are set aside, shown as *replaced* and
left out of the chargeback total. So: lake total − replaced = chargeback total = allocated +
unallocated, per currency and to the cent (the sums are exact decimals; ``ChargebackResult``
refuses to exist otherwise). A node priced from the price book (not on the bill) replaces
nothing; its cost exists only in the Kubernetes rows. Which rows are replaced is defined once,
in ``lake.k8s_replaced``; the spend explorer and the dashboard's cube leave the same rows out.

**Currencies** are never added: every total, share and line is per ``BillingCurrency``.

The period is whole UTC days ``[start, end]`` by ``ChargePeriodStart``, as in ``spendpilot
spend``; without dates, the last 30 full days ending at the latest data.
"""

from __future__ import annotations

import csv
import io
import json
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field, computed_field, model_validator

from spendpilot.allocation.kubernetes import IDLE
from spendpilot.allocation.settings import ChargebackSettings
from spendpilot.csv_safe import Cell, write_rows
from spendpilot.domain.money import DecimalStr
from spendpilot.errors import BadArgument, NoSpendData
from spendpilot.lake import _dialect
from spendpilot.lake.k8s_replaced import REPLACED_TABLE, register_replaced, replaced_on
from spendpilot.lake.query import CostLake

TOKENS_ACCOUNT_PREFIX = "spendpilot-tokens"
UNALLOCATED = "(unallocated)"
DEFAULT_DAYS = 30
SHARE_PLACES = Decimal("0.0001")

REASON_NO_TEAM = "no team tag"
REASON_NO_FEATURE = "no feature tag"
REASON_IDLE = "Kubernetes idle capacity"
REASON_NO_LABEL = "Kubernetes workload without a team label"


class Layer(StrEnum):
    CLOUD = "cloud"
    KUBERNETES = "kubernetes"
    TOKENS = "tokens"


Dimension = Literal["team", "feature"]


# --- result --------------------------------------------------------------------------------------


class ChargebackLine(BaseModel):
    """One owner's (or the unallocated share's) cost in one layer and currency."""

    owner: str = Field(description="The team or feature; '(unallocated)' for the unallocated share.")
    layer: Layer
    currency: str
    billed_cost: DecimalStr
    effective_cost: DecimalStr
    basis: str = Field(description="How the owner was found: 'tag', a rule ('feature rule: x'), or why unallocated.")


class LayerTotal(BaseModel):
    layer: Layer
    currency: str
    billed_cost: DecimalStr
    effective_cost: DecimalStr
    latest_day: date | None = Field(None, description="The last day this layer has data for (freshness).")


class ReplacedLine(BaseModel):
    """Bill rows set aside because a cluster's Kubernetes allocation holds their cost."""

    cluster: str
    currency: str
    billed_cost: DecimalStr
    effective_cost: DecimalStr


class CurrencySummary(BaseModel):
    """The reconciliation of one currency: lake − replaced = allocated + unallocated."""

    currency: str
    lake_billed: DecimalStr
    lake_effective: DecimalStr
    replaced_billed: DecimalStr
    replaced_effective: DecimalStr
    allocated_billed: DecimalStr
    allocated_effective: DecimalStr
    unallocated_billed: DecimalStr
    unallocated_effective: DecimalStr

    @computed_field  # type: ignore[prop-decorator]
    @property
    def chargeback_effective(self) -> Decimal:
        return self.allocated_effective + self.unallocated_effective

    @computed_field  # type: ignore[prop-decorator]
    @property
    def chargeback_billed(self) -> Decimal:
        return self.allocated_billed + self.unallocated_billed

    @computed_field  # type: ignore[prop-decorator]
    @property
    def unallocated_share(self) -> Decimal:
        """Of the effective chargeback total, 0 to 1."""
        total = self.chargeback_effective
        return (self.unallocated_effective / total).quantize(SHARE_PLACES) if total else Decimal(0)

    @model_validator(mode="after")
    def _reconciles(self) -> CurrencySummary:
        for kind in ("billed", "effective"):
            lake = getattr(self, f"lake_{kind}")
            parts = sum((getattr(self, f"{p}_{kind}") for p in ("replaced", "allocated", "unallocated")), Decimal(0))
            if lake != parts:
                raise ValueError(f"{self.currency} {kind} cost does not reconcile: lake {lake} != replaced + "
                                 f"allocated + unallocated {parts}")
        return self


class DailyPoint(BaseModel):
    day: date
    layer: Layer
    currency: str
    effective_cost: DecimalStr


class ChargebackResult(BaseModel):
    by: Dimension
    start: date
    end: date
    latest_data: date
    lines: list[ChargebackLine] = Field(description="Owners first (largest first), then the unallocated lines.")
    layer_totals: list[LayerTotal]
    currencies: list[CurrencySummary]
    replaced: list[ReplacedLine] = Field(default_factory=list)
    daily: list[DailyPoint] = Field(default_factory=list)
    notes: list[str] = Field(default_factory=list)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def owners(self, currency: str) -> list[tuple[str, Decimal]]:
        """(owner, effective cost) across layers, largest first; the unallocated share last."""
        sums: dict[str, Decimal] = defaultdict(Decimal)
        for line in self.lines:
            if line.currency == currency:
                sums[line.owner] += line.effective_cost
        ranked = sorted(((o, a) for o, a in sums.items() if o != UNALLOCATED), key=lambda kv: (-kv[1], kv[0]))
        return ranked + ([(UNALLOCATED, sums[UNALLOCATED])] if UNALLOCATED in sums else [])

    def unallocated(self) -> list[ChargebackLine]:
        return [line for line in self.lines if line.owner == UNALLOCATED]


# --- computing -----------------------------------------------------------------------------------


@dataclass
class _Group:
    """One summed group of the lake: the columns allocation and the FOCUS export need."""

    layer: Layer
    team: str | None
    feature: str | None
    currency: str
    day: date
    provider: str
    account: str
    account_name: str | None
    subaccount: str | None
    service: str
    category: str | None
    charge_category: str
    replaced_by: str | None
    billed: Decimal
    effective: Decimal
    listed: Decimal

    @property
    def is_idle(self) -> bool:
        return self.layer is Layer.KUBERNETES and self.subaccount == IDLE


@dataclass
class _Owned:
    """A group with the owners it was given (team and feature) and on what basis."""

    group: _Group
    team: str | None
    team_basis: str
    feature: str | None
    feature_basis: str


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _tag(key: str, column: str = '"Tags"') -> str:
    return f"nullif(trim({_dialect.tag_value_sql(column, _literal(key))}), '')"


def _first_tag(keys: list[str], column: str) -> str:
    return f"coalesce({', '.join(_tag(k, column) for k in keys)})"


def _midnight(day: date) -> datetime:
    return datetime.combine(day, datetime.min.time(), tzinfo=UTC)


_LAYER_SQL = (
    "CASE WHEN f.\"ProviderName\" = 'Kubernetes' THEN 'kubernetes' "
    f"WHEN starts_with(coalesce(f.\"BillingAccountId\", ''), '{TOKENS_ACCOUNT_PREFIX}') "
    "OR lower(coalesce(f.\"ConsumedUnit\", '')) LIKE '%token%' THEN 'tokens' ELSE 'cloud' END"
)
_TAGS = 'f."Tags"'


def period_for(lake_dir: Path, *, start: date | None, end: date | None, last_days: int | None) -> tuple[date, date, date]:
    """(start, end, latest full day of data) as ``spendpilot spend`` reads them."""
    if start and last_days:
        raise BadArgument("give either --from or --last, not both")
    if start and end and start > end:
        raise BadArgument(f"--from {start} is after --to {end}")
    latest_end = CostLake(Path(lake_dir)).latest_charge_time()
    if latest_end is None:
        raise NoSpendData("the lake holds no billing data yet; run `spendpilot ingest PATH` first")
    latest = (latest_end - timedelta(microseconds=1)).date()
    end = end or latest
    start = start or end - timedelta(days=(last_days or DEFAULT_DAYS) - 1)
    return start, end, latest


def run_chargeback(lake_dir: Path, settings: ChargebackSettings | None = None, *, by: Dimension = "team",
                   start: date | None = None, end: date | None = None, last_days: int | None = None
                   ) -> ChargebackResult:
    """Allocate the lake's cost over the period (module docstring); ``NoSpendData`` on an empty lake."""
    result, _ = _chargeback(Path(lake_dir), settings or ChargebackSettings(), by, start, end, last_days)
    return result


def _chargeback(lake_dir: Path, settings: ChargebackSettings, by: Dimension, start: date | None,
                end: date | None, last_days: int | None) -> tuple[ChargebackResult, list[_Owned]]:
    if by not in ("team", "feature"):
        raise BadArgument(f"--by {by!r}: chargeback is by team or by feature")
    first, last, latest = period_for(lake_dir, start=start, end=end, last_days=last_days)
    lake = CostLake(lake_dir)
    con = lake._connect()
    try:
        bounds = [_midnight(first), _midnight(last + timedelta(days=1))]
        node_days = register_replaced(con, bounds[0], bounds[1])
        totals = _summed(con, 'SELECT "BillingCurrency" AS currency, {sums} FROM focus f '
                         'WHERE "ChargePeriodStart" >= ? AND "ChargePeriodStart" < ? GROUP BY "BillingCurrency"',
                         ['"BilledCost"', '"EffectiveCost"'], bounds)
        team_sql, feature_sql = _first_tag(settings.team_tags, _TAGS), _first_tag(settings.feature_tags, _TAGS)
        inner = (
            f"SELECT {_LAYER_SQL} AS layer, {team_sql} AS team, {feature_sql} AS feature, "
            'f."BillingCurrency" AS currency, '
            'CAST(f."ChargePeriodStart" AS DATE) AS day, f."ProviderName" AS provider, '
            'f."BillingAccountId" AS account, f."BillingAccountName" AS account_name, '
            'f."SubAccountId" AS subaccount, f."ServiceName" AS service, f."ServiceCategory" AS category, '
            'f."ChargeCategory" AS charge_category, n.cluster AS replaced_by, '
            'f."BilledCost" AS b, f."EffectiveCost" AS e, f."ListCost" AS l '
            f"FROM focus f LEFT JOIN {REPLACED_TABLE} n ON {replaced_on('f')} "
            'WHERE f."ChargePeriodStart" >= ? AND f."ChargePeriodStart" < ?'
        )
        keys = ("layer, team, feature, currency, day, provider, account, subaccount, service, category, "
                "charge_category, replaced_by")
        rows = _summed(con, f"SELECT {keys}, max(account_name) AS account_name, {{sums}} FROM ({inner}) AS g "
                       f"GROUP BY {keys}", ["b", "e", "l"], bounds)
    finally:
        con.close()
    groups = [_Group(
        layer=Layer(r["layer"]), team=r["team"], feature=r["feature"], currency=r["currency"],
        day=_as_date(r["day"]), provider=r["provider"], account=r["account"], account_name=r["account_name"],
        subaccount=r["subaccount"], service=r["service"], category=r["category"],
        charge_category=r["charge_category"], replaced_by=r["replaced_by"],
        billed=r["s0"], effective=r["s1"], listed=r["s2"],
    ) for r in rows]
    owned = _assign_owners(groups, settings)
    result = _assemble(owned, by, first, last, latest, {r["currency"]: (r["s0"], r["s1"]) for r in totals})
    if not node_days and any(g.layer is Layer.KUBERNETES for g in groups):
        result.notes.append(
            "the Kubernetes rows name no node instances (written before `allocate --write` recorded them), so "
            "no bill row is replaced by them; if their nodes are also on the bill, that cost is counted twice")
    if not any(g.layer is Layer.TOKENS for g in groups) and (lake_dir / "llm_usage").exists():
        result.notes.append("the lake holds LLM usage but no token cost rows: run `spendpilot token-focus` "
                            "to add tokens to the chargeback")
    return result, owned


def _as_date(value: Any) -> date:
    return value if isinstance(value, date) and not isinstance(value, datetime) else date.fromisoformat(str(value)[:10])


def _summed(con: Any, sql: str, columns: list[str], params: list[Any]) -> list[dict[str, Any]]:
    """Exact sums ``s0, s1, ...`` of ``columns`` (the overflow fallback as in ``lake.spend``)."""
    import duckdb

    plain = ", ".join(f"sum({c}) AS s{i}" for i, c in enumerate(columns))
    try:
        found = _dialect.rows(con, sql.replace("{sums}", plain), params)
        return [{**r, **{f"s{i}": Decimal(r[f"s{i}"] or 0) for i in range(len(columns))}} for r in found]
    except duckdb.OutOfRangeException:
        exact = ", ".join(_dialect.exact_sum_sql(c, f"s{i}") for i, c in enumerate(columns))
        found = _dialect.rows(con, sql.replace("{sums}", exact), params)
        return [{**r, **{f"s{i}": _dialect.exact_total(r, f"s{i}") or Decimal(0) for i in range(len(columns))}}
                for r in found]


def _assign_owners(groups: Iterable[_Group], settings: ChargebackSettings) -> list[_Owned]:
    groups = list(groups)
    inferred: dict[str, str] = {}
    if settings.infer_feature_teams:
        seen: dict[str, set[str]] = defaultdict(set)
        for g in groups:
            if g.feature and g.team:
                seen[g.feature].add(g.team)
        inferred = {f: next(iter(teams)) for f, teams in seen.items() if len(teams) == 1}
    out: list[_Owned] = []
    for g in groups:
        team, team_basis = g.team, "tag"
        if team is None:
            if g.is_idle:
                team_basis = REASON_IDLE
            elif g.layer is Layer.KUBERNETES and g.subaccount in settings.namespace_teams:
                team, team_basis = settings.namespace_teams[g.subaccount], f"namespace rule: {g.subaccount}"
            elif g.feature and g.feature in settings.feature_teams:
                team, team_basis = settings.feature_teams[g.feature], f"feature rule: {g.feature}"
            elif g.feature and g.feature in inferred:
                team, team_basis = inferred[g.feature], f"inferred from feature: {g.feature}"
            else:
                team_basis = REASON_NO_LABEL if g.layer is Layer.KUBERNETES else REASON_NO_TEAM
        feature_basis = "tag" if g.feature else (REASON_IDLE if g.is_idle else REASON_NO_FEATURE)
        out.append(_Owned(g, team, team_basis, g.feature, feature_basis))
    return out


def _assemble(owned: list[_Owned], by: Dimension, start: date, end: date, latest: date,
              lake_totals: dict[str, tuple[Decimal, Decimal]]) -> ChargebackResult:
    lines: dict[tuple[str, Layer, str, str], list[Decimal]] = defaultdict(lambda: [Decimal(0), Decimal(0)])
    layers: dict[tuple[Layer, str], list[Decimal]] = defaultdict(lambda: [Decimal(0), Decimal(0)])
    freshness: dict[Layer, date] = {}
    replaced: dict[tuple[str, str], list[Decimal]] = defaultdict(lambda: [Decimal(0), Decimal(0)])
    daily: dict[tuple[date, Layer, str], Decimal] = defaultdict(Decimal)
    for o in owned:
        g = o.group
        if g.replaced_by is not None:
            replaced[(g.replaced_by, g.currency)][0] += g.billed
            replaced[(g.replaced_by, g.currency)][1] += g.effective
            continue
        owner, basis = (o.team, o.team_basis) if by == "team" else (o.feature, o.feature_basis)
        if owner is None:
            owner = UNALLOCATED
            if basis == REASON_IDLE:
                basis = f"{REASON_IDLE} ({g.account})"
        cell = lines[(owner, g.layer, g.currency, basis)]
        cell[0] += g.billed
        cell[1] += g.effective
        layers[(g.layer, g.currency)][0] += g.billed
        layers[(g.layer, g.currency)][1] += g.effective
        freshness[g.layer] = max(freshness.get(g.layer, g.day), g.day)
        daily[(g.day, g.layer, g.currency)] += g.effective
    # One line per (owner, layer, currency), naming every basis it rests on; one unallocated
    # line per reason.
    merged: dict[tuple[str, Layer, str], ChargebackLine] = {}
    for (owner, layer, currency, basis), (b, e) in sorted(lines.items(), key=lambda kv: (kv[0][3] != "tag", kv[0][3])):
        if not b and not e:
            continue  # e.g. token-focus's zero rows withdrawing a month a bill now covers
        key = (owner, layer, currency) if owner != UNALLOCATED else (f"{owner}|{basis}", layer, currency)
        if key in merged:
            line = merged[key]
            line.billed_cost += b
            line.effective_cost += e
            line.basis = f"{line.basis}; {basis}"
        else:
            merged[key] = ChargebackLine(owner=owner, layer=layer, currency=currency, billed_cost=b,
                                         effective_cost=e, basis=basis)
    owner_total: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    for line in merged.values():
        owner_total[(line.owner, line.currency)] += line.effective_cost
    ordered = sorted(merged.values(), key=lambda x: (
        x.currency, x.owner == UNALLOCATED, -owner_total[(x.owner, x.currency)], x.owner, x.layer.value,
        -x.effective_cost, x.basis))
    currencies: list[CurrencySummary] = []
    for currency in sorted(lake_totals):
        lake_b, lake_e = lake_totals[currency]
        rep = [v for (_, c), v in replaced.items() if c == currency]
        alloc = [ln for ln in ordered if ln.currency == currency and ln.owner != UNALLOCATED]
        unalloc = [ln for ln in ordered if ln.currency == currency and ln.owner == UNALLOCATED]
        currencies.append(CurrencySummary(
            currency=currency, lake_billed=lake_b, lake_effective=lake_e,
            replaced_billed=sum((v[0] for v in rep), Decimal(0)), replaced_effective=sum((v[1] for v in rep), Decimal(0)),
            allocated_billed=sum((x.billed_cost for x in alloc), Decimal(0)),
            allocated_effective=sum((x.effective_cost for x in alloc), Decimal(0)),
            unallocated_billed=sum((x.billed_cost for x in unalloc), Decimal(0)),
            unallocated_effective=sum((x.effective_cost for x in unalloc), Decimal(0)),
        ))
    return ChargebackResult(
        by=by, start=start, end=end, latest_data=latest, lines=ordered,
        layer_totals=[LayerTotal(layer=layer, currency=c, billed_cost=v[0], effective_cost=v[1],
                                 latest_day=freshness.get(layer))
                      for (layer, c), v in sorted(layers.items(), key=lambda kv: (kv[0][1], kv[0][0].value))],
        currencies=currencies,
        replaced=[ReplacedLine(cluster=k[0], currency=k[1], billed_cost=v[0], effective_cost=v[1])
                  for k, v in sorted(replaced.items())],
        daily=[DailyPoint(day=d, layer=layer, currency=c, effective_cost=v) for (d, layer, c), v in sorted(daily.items())],
    )


# --- output --------------------------------------------------------------------------------------


def chargeback_json(result: ChargebackResult) -> str:
    return result.model_dump_json(indent=2)


def chargeback_csv(result: ChargebackResult) -> str:
    """One row per owner, layer and currency (exact decimals), the unallocated lines with why.

    Written through ``csv_safe``: owners are team and feature tag values anyone can set, so one a
    spreadsheet would run as a formula gets one leading ``'``; costs (credits too) stay numbers.
    The ``--focus-out`` export below is deliberately *not* escaped (see ``csv_safe``)."""
    rows: list[list[Cell]] = [[result.by, "layer", "currency", "billed_cost", "effective_cost", "basis", "start", "end"]]
    rows += [[line.owner, line.layer.value, line.currency, line.billed_cost, line.effective_cost,
              line.basis, result.start, result.end] for line in result.lines]
    out = io.StringIO()
    write_rows(out, rows)
    return out.getvalue()


# --- FOCUS export --------------------------------------------------------------------------------

EXPORT_COLUMNS: tuple[str, ...] = (
    "BilledCost", "EffectiveCost", "ListCost", "BillingAccountId", "BillingAccountName", "BillingCurrency",
    "BillingPeriodStart", "BillingPeriodEnd", "ChargePeriodStart", "ChargePeriodEnd", "ChargeCategory",
    "ChargeClass", "ChargeDescription", "ChargeFrequency", "ConsumedUnit", "InvoiceIssuerName", "ProviderName",
    "PublisherName", "ServiceCategory", "ServiceName", "SubAccountId", "Tags",
)
"""The FOCUS columns of ``--focus-out`` (docs/chargeback.md maps each one)."""


def export_focus(lake_dir: Path, out: Path, settings: ChargebackSettings | None = None, *,
                 start: date | None = None, end: date | None = None, last_days: int | None = None
                 ) -> tuple[ChargebackResult, int]:
    """Write the allocated costs of the period as one FOCUS CSV (cloud, Kubernetes and tokens).

    One row per day, provider, billing account, sub account, service and owner pair, costs summed
    exactly; replaced bill rows are left out (their cost is in the Kubernetes rows), so the file
    adds up to the chargeback total. Tags carry the allocated ``team`` and ``feature`` (rules
    applied), ``spendpilot.layer`` and ``spendpilot.allocation`` (the basis, or why unallocated).
    Values are written raw, not formula-escaped like ``chargeback_csv``: this is a FOCUS
    interchange file that other tools and ``spendpilot ingest`` read back (see ``csv_safe``).
    Returns the team result and the number of rows written."""
    settings = settings or ChargebackSettings()
    result, owned = _chargeback(Path(lake_dir), settings, "team", start, end, last_days)
    rows = 0
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, EXPORT_COLUMNS, lineterminator="\n")
        writer.writeheader()
        for o in sorted(owned, key=lambda x: (x.group.day, x.group.provider, x.group.account, x.group.service)):
            if o.group.replaced_by is not None:
                continue
            writer.writerow(_export_row(o, settings))
            rows += 1
    return result, rows


def _export_row(o: _Owned, settings: ChargebackSettings) -> dict[str, str]:
    g = o.group
    period_start = g.day.replace(day=1)
    period_end = (period_start + timedelta(days=32)).replace(day=1)
    tags: dict[str, str] = {"spendpilot.layer": g.layer.value, "spendpilot.allocation": o.team_basis}
    if o.team:
        tags["team"] = o.team
    if o.feature:
        tags["feature"] = o.feature
    if g.layer is Layer.KUBERNETES:
        tags["kubernetes.cluster"] = g.account
        tags["kubernetes.namespace"] = g.subaccount or ""
    return {
        "BilledCost": str(g.billed), "EffectiveCost": str(g.effective), "ListCost": str(g.listed),
        "BillingAccountId": g.account, "BillingAccountName": g.account_name or g.account,
        "BillingCurrency": g.currency,
        "BillingPeriodStart": f"{period_start} 00:00:00", "BillingPeriodEnd": f"{period_end} 00:00:00",
        "ChargePeriodStart": f"{g.day} 00:00:00", "ChargePeriodEnd": f"{g.day + timedelta(days=1)} 00:00:00",
        "ChargeCategory": g.charge_category, "ChargeClass": "",
        "ChargeDescription": f"spendpilot chargeback: {g.layer.value} {g.service} for "
                             f"{o.team or UNALLOCATED} ({o.team_basis})",
        "ChargeFrequency": "Usage-Based" if g.charge_category == "Usage" else "",
        "ConsumedUnit": "Tokens" if g.layer is Layer.TOKENS else "",
        "InvoiceIssuerName": g.provider, "ProviderName": g.provider, "PublisherName": g.provider,
        "ServiceCategory": g.category or "", "ServiceName": g.service, "SubAccountId": g.subaccount or "",
        "Tags": json.dumps(tags, sort_keys=True),
    }
