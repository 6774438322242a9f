"""The spend explorer's one query: spend over a period, grouped, compared, per currency.

``spendpilot spend``, the TUI and the chat copilot ask the same question in the same words: a
``SpendQuery`` in, a ``SpendResult`` out. Formatting lives elsewhere (``spendpilot.spend_output``).

Two sources, never added together:

* **FOCUS billing** (the default): every dimension of the bill (service, account, region, tags,
  ...). Amounts are ``EffectiveCost`` (amortised, after discounts), ``BilledCost`` (the
  invoice) or ``ListCost`` (before discounts): ``metric``.
* **LLM usage** (``source="llm_usage"``, chosen automatically when grouping by feature or
  model): usage exports and GenAI spans (``read_llm_usage``), the only place requests and
  tokens live, hence the only source with unit costs. The same model calls often also appear
  in the bill (Bedrock, a marketplace OpenAI line), so summing the two would count them twice.
  ``--source focus --by feature`` groups the bill by its ``feature`` tag instead.

A period is whole UTC days ``[start, end]`` (both included) and a row belongs to it when its
``ChargePeriodStart`` falls in it. Without dates, the period is the last 30 full days ending at
the latest data, so an old export still shows numbers; the result says which days it used.
Totals, shares and the "other" row are per currency: amounts in different currencies are
never added.

A Kubernetes node is counted once: on a day ``spendpilot allocate --write`` allocated its
cluster, the node's bill rows are left out, since the Kubernetes rows hold that cost
(``lake.k8s_replaced``, the definition the chargeback and the dashboard's cube use too). A query
with ``counting=Counting.BILLED`` reads the bill as billed instead (the Kubernetes rows left
out, the node's bill rows kept); ``outlook_counting`` says which way the outlook readers
(anomalies, forecasts, budgets) count.
"""

from __future__ import annotations

import calendar
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from pathlib import Path
from typing import Any

import duckdb
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    computed_field,
    field_validator,
    model_validator,
)

from spendpilot.domain.money import DecimalStr
from spendpilot.errors import BadArgument, NoSpendData
from spendpilot.lake import _dialect
from spendpilot.lake.k8s_replaced import billed_focus_sql, counted_focus_sql
from spendpilot.lake.query import NO_VALUE, UNTAGGED, CostLake

OTHER = "(other)"
DEFAULT_DAYS = 30
UNIT_COST_PLACES = Decimal("1e-12")
"""Unit costs keep the lake's money scale (DECIMAL(38, 12)): a token can cost picodollars."""


class Source(StrEnum):
    FOCUS = "focus"
    LLM_USAGE = "llm_usage"


class Metric(StrEnum):
    EFFECTIVE = "effective"
    BILLED = "billed"
    LIST = "list"


class Counting(StrEnum):
    """How a Kubernetes node is counted once (``lake.k8s_replaced``)."""

    ALLOCATED = "allocated"
    """The Kubernetes rows, in place of the node's bill rows on allocated days."""
    BILLED = "billed"
    """The bill as the providers sent it: the node's bill rows, no Kubernetes rows."""


class Granularity(StrEnum):
    TOTAL = "total"
    DAY = "day"
    WEEK = "week"
    MONTH = "month"


_METRIC_COLUMN = {Metric.EFFECTIVE: "EffectiveCost", Metric.BILLED: "BilledCost", Metric.LIST: "ListCost"}


@dataclass(frozen=True)
class _FocusKey:
    """How a group key reads the bill: the grouped value and, for accounts, the name shown."""

    value_sql: str
    name_sql: str | None = None
    missing: str = NO_VALUE


FOCUS_KEYS: dict[str, _FocusKey] = {
    "service": _FocusKey('"ServiceName"'),
    "account": _FocusKey('"BillingAccountId"', '"BillingAccountName"'),
    "subaccount": _FocusKey('"SubAccountId"', '"SubAccountName"'),
    "region": _FocusKey('"RegionId"'),
    "provider": _FocusKey('"ProviderName"'),
    "charge_category": _FocusKey('"ChargeCategory"'),
    "resource": _FocusKey('"ResourceId"'),
    "category": _FocusKey('"ServiceCategory"'),
    "sku": _FocusKey('"SkuId"'),
}
"""Bill dimensions. ``team``, ``feature``, ``model`` and ``tag:<key>`` read the Tags JSON."""

LLM_KEYS: tuple[str, ...] = ("feature", "model", "provider")
TAG_ALIASES: tuple[str, ...] = ("team", "feature", "model")
"""On the bill these are tags: ``team`` under ``SpendQuery.team_tag``, the others by name."""

GROUP_KEYS: tuple[str, ...] = (*FOCUS_KEYS, "team", "feature", "model", "tag:<key>")


def _is_tag(key: str) -> bool:
    return key.startswith("tag:")


def _check_key(key: str) -> str:
    key = key.strip()
    if _is_tag(key):
        if not key[4:].strip():
            raise ValueError("tag grouping needs a key, e.g. tag:env")
        return "tag:" + key[4:].strip()
    if key not in FOCUS_KEYS and key not in TAG_ALIASES:
        raise ValueError(f"unknown group key {key!r}; valid keys: {', '.join(GROUP_KEYS)}")
    return key


class SpendFilter(BaseModel):
    """``key=value``: keep rows whose ``key`` is one of ``values`` (an account by id or name;
    ``(untagged)`` / ``(none)`` keep the rows without a value)."""

    model_config = ConfigDict(frozen=True)

    key: str
    values: tuple[str, ...]

    @field_validator("key")
    @classmethod
    def _known(cls, key: str) -> str:
        return _check_key(key)


class SpendQuery(BaseModel):
    """What to show. Validation errors read as one line a user can act on (``build_query``)."""

    group_by: list[str] = Field(default_factory=list, description="Group keys, in column order.")
    start: date | None = Field(None, description="First day (UTC), included.")
    end: date | None = Field(None, description="Last day (UTC), included.")
    last_days: int | None = Field(None, description="Instead of start: this many days up to end.")
    last_months: int | None = Field(None, description="Instead of start: calendar months up to end.")
    granularity: Granularity = Granularity.TOTAL
    metric: Metric | None = Field(None, description="FOCUS cost column; default effective.")
    compare: bool = Field(False, description="Add the previous period of the same length.")
    where: list[SpendFilter] = Field(default_factory=list)
    top: int | None = Field(None, ge=1, description="Keep the N largest groups; the rest is (other).")
    team_tag: str = Field("team", min_length=1, description="The tag key that names a team.")
    source: Source | None = Field(None, description="Default: LLM usage for feature/model, else FOCUS.")
    counting: Counting = Field(Counting.ALLOCATED, description="How an allocated Kubernetes node counts once.")

    @field_validator("group_by")
    @classmethod
    def _keys(cls, keys: list[str]) -> list[str]:
        checked = [_check_key(k) for k in keys if k.strip()]
        if len(set(checked)) != len(checked):
            raise ValueError(f"a group key is repeated in {', '.join(checked)}")
        return checked

    @model_validator(mode="after")
    def _consistent(self) -> SpendQuery:
        if self.start and self.end and self.start > self.end:
            raise ValueError(f"--from {self.start} is after --to {self.end}")
        if self.start and (self.last_days or self.last_months):
            raise ValueError("give either --from or --last, not both")
        if self.compare and self.granularity is not Granularity.TOTAL:
            raise ValueError("--compare compares totals; drop --daily/--weekly/--monthly")
        if self.resolved_source is Source.LLM_USAGE:
            bill_only = [k for k in [*self.group_by, *(f.key for f in self.where)] if k not in LLM_KEYS]
            if bill_only:
                raise ValueError(
                    f"LLM usage has no {', '.join(bill_only)}; it can be grouped by "
                    f"{', '.join(LLM_KEYS)} (use --source focus to group the bill by tags)"
                )
            if self.metric not in (None, Metric.EFFECTIVE):
                raise ValueError("LLM usage has one cost (as exported); --metric applies to FOCUS billing")
        return self

    @property
    def resolved_source(self) -> Source:
        if self.source is not None:
            return self.source
        keys = [*self.group_by, *(f.key for f in self.where)]
        wants_llm = any(k in ("feature", "model") for k in keys)
        return Source.LLM_USAGE if wants_llm and all(k in LLM_KEYS for k in keys) else Source.FOCUS

    @property
    def resolved_metric(self) -> Metric:
        return self.metric or Metric.EFFECTIVE


def build_query(**fields: Any) -> SpendQuery:
    """A ``SpendQuery`` from user input, or ``BadArgument`` with the first problem on one line."""
    try:
        return SpendQuery(**fields)
    except ValidationError as exc:
        first = exc.errors()[0]
        message = str(first.get("ctx", {}).get("error") or first["msg"])
        field = str(first["loc"][0]) if first["loc"] else ""
        option = _OPTIONS.get(field)
        if option and "ctx" in first and "error" not in first["ctx"]:
            message = f"{option} {first['input']!r}: {message}"
        raise BadArgument(message) from exc


_OPTIONS = {"metric": "--metric", "source": "--source", "top": "--top", "team_tag": "--team-tag",
            "granularity": "granularity"}
"""The CLI option a field comes from, to name it in an error."""


def outlook_counting(group_by: Sequence[str] = (), where: Sequence[SpendFilter] = ()) -> Counting:
    """How a forecast or budget over these keys counts a node once.

    * No keys (the whole bill): allocated, the explorer's and the dashboard's total, so the
      forecast and an unscoped budget count the spend the user sees next to them.
    * A tag among the keys (``team``, ``feature``, ``model``, ``tag:<key>``): allocated, so a
      team's budget includes its share of the cluster (``tag:kubernetes.namespace`` scopes a
      namespace).
    * Only the bill's own dimensions (service, account, region, ...): billed, so an EC2 or
      account budget measures what the provider bills and a service's history does not drop
      (and "Kubernetes" start) on the day ``allocate --write`` first ran.
    """
    keys = [*group_by, *(f.key for f in where)]
    if not keys or any(_is_tag(k) or k in TAG_ALIASES for k in keys):
        return Counting.ALLOCATED
    return Counting.BILLED


def parse_filter(text: str) -> SpendFilter:
    """``service=Amazon EC2`` or ``tag:env=prod,staging`` (a comma lists alternatives)."""
    key, sep, value = text.partition("=")
    if not sep or not key.strip() or not value.strip():
        raise BadArgument(f"--where {text!r}: expected KEY=VALUE, e.g. service=Amazon EC2 or tag:env=prod")
    try:
        return SpendFilter(key=key, values=tuple(v.strip() for v in value.split(",") if v.strip()))
    except ValidationError as exc:
        raise BadArgument(str(exc.errors()[0]["ctx"]["error"])) from exc


def parse_last(text: str) -> dict[str, int]:
    """``7d``, ``2w``, ``3m`` → the ``last_days`` / ``last_months`` fields of a query."""
    number, unit = text.strip()[:-1], text.strip()[-1:].lower()
    if not number.isdigit() or int(number) < 1 or unit not in ("d", "w", "m"):
        raise BadArgument(f"--last {text!r}: expected a count and a unit, e.g. 7d, 2w or 3m")
    if unit == "m":
        return {"last_months": int(number)}
    return {"last_days": int(number) * (7 if unit == "w" else 1)}


# --- result --------------------------------------------------------------------------------------


class SpendRow(BaseModel):
    """One group (and, for a time series, one bucket) in one currency."""

    keys: dict[str, str]
    bucket: date | None = None
    currency: str
    amount: DecimalStr
    previous: DecimalStr | None = None
    delta: DecimalStr | None = None
    delta_pct: DecimalStr | None = Field(None, description="None when the previous amount is 0.")
    share: DecimalStr = Field(description="Of this currency's total over the period, 0 to 1.")
    groups: int = Field(1, description="How many groups an (other) row stands for.")
    requests: int | None = None
    tokens: int | None = None
    cost_per_request: DecimalStr | None = None
    cost_per_1k_tokens: DecimalStr | None = None


class CurrencyTotal(BaseModel):
    currency: str
    amount: DecimalStr
    previous: DecimalStr | None = None
    delta: DecimalStr | None = None
    delta_pct: DecimalStr | None = None


class SpendResult(BaseModel):
    source: Source
    metric: str = Field(description="Which cost: EffectiveCost, BilledCost, ListCost or usage cost.")
    group_by: list[str]
    granularity: Granularity
    start: date
    end: date
    previous_start: date | None = None
    previous_end: date | None = None
    latest_data: date = Field(description="The last full day of data; the default period ends here.")
    totals: list[CurrencyTotal]
    rows: list[SpendRow]
    buckets: list[date] = Field(default_factory=list)
    notes: list[str] = Field(default_factory=list)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def days(self) -> int:
        """Days in the period, both ends included."""
        return (self.end - self.start).days + 1


# --- computing -----------------------------------------------------------------------------------


def _minus_months(day: date, months: int) -> date:
    month_index = day.year * 12 + day.month - 1 - months
    year, month = divmod(month_index, 12)
    return date(year, month + 1, min(day.day, calendar.monthrange(year, month + 1)[1]))


def _period(query: SpendQuery, latest: date) -> tuple[date, date]:
    end = query.end or latest
    if query.start is not None:
        return query.start, end
    if query.last_months:
        return _minus_months(end + timedelta(days=1), query.last_months), end
    return end - timedelta(days=(query.last_days or DEFAULT_DAYS) - 1), end


def _bucket(day: date, granularity: Granularity) -> date | None:
    if granularity is Granularity.DAY:
        return day
    if granularity is Granularity.WEEK:
        return day - timedelta(days=day.weekday())
    if granularity is Granularity.MONTH:
        return day.replace(day=1)
    return None


def _midnight(day: date) -> datetime:
    return datetime.combine(day, datetime.min.time(), tzinfo=UTC)


@dataclass
class _Cell:
    """Sums for one (group, bucket, currency) before ranking."""

    amount: Decimal = Decimal(0)
    previous: Decimal = Decimal(0)
    requests: int = 0
    tokens: int = 0


_Group = tuple[tuple[str, ...], date | None, str]
"""(labels in group_by order, bucket, currency)."""


def run_spend_query(lake_dir: Path, query: SpendQuery) -> SpendResult:
    """Answer ``query`` from the lake; ``NoSpendData`` when its source holds no rows at all."""
    if query.resolved_source is Source.LLM_USAGE:
        return _LlmSpend(Path(lake_dir), query).run()
    return _FocusSpend(CostLake(Path(lake_dir)), query).run()


def _focus_notes(query: SpendQuery) -> list[str]:
    return [f"{key} is read from the bill's {key!r} tag; LLM usage (requests, tokens, unit "
            "costs) answers --by feature/model alone or with --source llm_usage"
            for key in query.group_by if key in ("feature", "model")]


class _FocusSpend:
    """The FOCUS half: one scan over the current and previous period, grouped in SQL."""

    def __init__(self, lake: CostLake, query: SpendQuery) -> None:
        self.lake, self.query = lake, query
        self.column = f'"{_METRIC_COLUMN[query.resolved_metric]}"'

    def _key(self, key: str) -> tuple[_FocusKey, list[Any]]:
        if key in FOCUS_KEYS:
            return FOCUS_KEYS[key], []
        tag = key[4:] if _is_tag(key) else self.query.team_tag if key == "team" else key
        value = f"nullif(trim({_dialect.tag_value_sql(chr(34) + 'Tags' + chr(34), '?')}), '')"
        return _FocusKey(value, missing=UNTAGGED), [tag]

    def _filters(self) -> tuple[list[str], list[Any]]:
        clauses: list[str] = []
        params: list[Any] = []
        for f in self.query.where:
            spec, key_params = self._key(f.key)
            present = [v for v in f.values if v not in (UNTAGGED, NO_VALUE)]
            tests: list[str] = []
            if present:
                marks = ", ".join("?" for _ in present)
                tests.append(f"{spec.value_sql} IN ({marks})")
                params += [*key_params, *present]
                if spec.name_sql:
                    tests.append(f"{spec.name_sql} IN ({marks})")
                    params += present
            if len(present) < len(f.values):
                tests.append(f"{spec.value_sql} IS NULL")
                params += key_params
            clauses.append("(" + " OR ".join(tests) + ")")
        return clauses, params

    def run(self) -> SpendResult:
        # One session for both queries: opening one costs about as much as a grouped sum over
        # a million rows (benchmarks/spend_query.py).
        con = self.lake._connect()
        try:
            found = _dialect.rows(con, 'SELECT max("ChargePeriodEnd") AS latest FROM focus')[0]["latest"]
            if found is None:
                raise NoSpendData("the lake holds no billing data yet; run `spendpilot ingest PATH` first")
            latest = (found - timedelta(days=1)).date()
            start, end = _period(self.query, latest)
            days = (end - start).days + 1
            prev_start = start - timedelta(days=days) if self.query.compare else None
            cells = self._aggregate(con, start, end, prev_start)
        finally:
            con.close()
        return _assemble(
            self.query, cells, start=start, end=end, latest=latest, prev_start=prev_start,
            metric=_METRIC_COLUMN[self.query.resolved_metric], source=Source.FOCUS,
            notes=_focus_notes(self.query),
        )

    def _aggregate(self, con: duckdb.DuckDBPyConnection, start: date, end: date,
                   prev_start: date | None) -> dict[_Group, _Cell]:
        """Sum the metric per group, bucket and currency: ``s0`` over the period, ``s1`` over
        the previous one, in one scan. Inner query picks and labels rows; outer one sums
        plain columns (the exact fallback repeats each summed expression)."""
        inner, outer, groups, params, name_cols = [], [], [], [], []
        for i, key in enumerate(self.query.group_by):
            spec, key_params = self._key(key)
            inner.append(f"{spec.value_sql} AS g{i}")
            params += key_params
            outer.append(f"g{i}")
            groups.append(f"g{i}")
            if spec.name_sql:
                inner.append(f"{spec.name_sql} AS n{i}")
                outer.append(f"max(n{i}) AS n{i}")
                name_cols.append(i)
        if self.query.granularity is not Granularity.TOTAL:
            unit = self.query.granularity.value
            inner.append(f"CAST(date_trunc('{unit}', \"ChargePeriodStart\") AS DATE) AS bucket")
            outer.append("bucket")
            groups.append("bucket")
        inner += ['"BillingCurrency" AS currency',
                  f'CASE WHEN "ChargePeriodStart" >= ? THEN {self.column} END AS c0',
                  f'CASE WHEN "ChargePeriodStart" < ? THEN {self.column} END AS c1']
        outer.append("currency")
        params += [_midnight(start), _midnight(start)]
        sums = ["c0", "c1"] if prev_start is not None else ["c0"]
        where, where_params = self._filters()
        window = [_midnight(prev_start or start), _midnight(end + timedelta(days=1))]
        # A node is counted once, one way or the other: see lake.k8s_replaced.
        counted = (billed_focus_sql() if self.query.counting is Counting.BILLED
                   else counted_focus_sql(con, *window))
        sql = (
            f"SELECT {', '.join(outer)}, {{sums}} FROM (SELECT {', '.join(inner)} FROM {counted} "
            'WHERE "ChargePeriodStart" >= ? AND "ChargePeriodStart" < ?'
            + "".join(f" AND {c}" for c in where)
            + f") AS windowed GROUP BY {', '.join([*groups, 'currency'])}"
        )
        all_params = [*params, *window, *where_params]
        rows = self._summed(con, sql, sums, all_params)
        cells: dict[_Group, _Cell] = {}
        for r in rows:
            labels = []
            for i, key in enumerate(self.query.group_by):
                value = r[f"g{i}"]
                missing = self._key(key)[0].missing
                label = missing if value is None else str(value)
                if i in name_cols and value is not None and r[f"n{i}"] and r[f"n{i}"] != value:
                    label = f"{r[f'n{i}']} [{value}]"
                labels.append(label)
            group = (tuple(labels), r.get("bucket"), r["currency"])
            cell = cells.setdefault(group, _Cell())
            cell.amount += r["s0"]
            if prev_start is not None:
                cell.previous += r["s1"]
        return cells

    @staticmethod
    def _summed(con: duckdb.DuckDBPyConnection, sql: str, sums: Sequence[str], params: Sequence[Any]
                ) -> list[dict[str, Any]]:
        """Plain sums; if one overflows (a lake written before ingest bounded costs), exact ones."""
        plain = ", ".join(f"sum({s}) AS s{i}" for i, s in enumerate(sums))
        try:
            rows = _dialect.rows(con, sql.replace("{sums}", plain), params)
            return [{**r, **{f"s{i}": r[f"s{i}"] or Decimal(0) for i in range(len(sums))}} for r in rows]
        except duckdb.OutOfRangeException:
            exact = ", ".join(_dialect.exact_sum_sql(s, f"s{i}") for i, s in enumerate(sums))
            rows = _dialect.rows(con, sql.replace("{sums}", exact), params)
            return [{**r, **{f"s{i}": _dialect.exact_total(r, f"s{i}") or Decimal(0)
                             for i in range(len(sums))}} for r in rows]


class _LlmSpend:
    """The LLM usage half: daily rows per provider/model/feature, small enough to sum in Python."""

    def __init__(self, lake_dir: Path, query: SpendQuery) -> None:
        self.lake_dir, self.query = lake_dir, query

    def run(self) -> SpendResult:
        from spendpilot.lake.llm_usage import read_llm_usage

        usage = read_llm_usage(self.lake_dir)
        if not usage:
            raise NoSpendData(
                "the lake holds no LLM usage yet; run `spendpilot ingest --llm-usage FILE` "
                "or ingest an OTLP trace export first"
            )
        latest = max(u.day for u in usage)
        start, end = _period(self.query, latest)
        days = (end - start).days + 1
        prev_start = start - timedelta(days=days) if self.query.compare else None
        first = prev_start or start
        cells: dict[_Group, _Cell] = {}
        for u in usage:
            if not first <= u.day <= end or not self._kept(u.model_dump()):
                continue
            labels = tuple(str(getattr(u, k)) for k in self.query.group_by)
            cell = cells.setdefault((labels, _bucket(u.day, self.query.granularity), u.currency), _Cell())
            if u.day >= start:
                cell.amount += u.cost
                cell.requests += u.requests
                cell.tokens += u.input_tokens + u.output_tokens
            else:
                cell.previous += u.cost
        return _assemble(
            self.query, cells, start=start, end=end, latest=latest, prev_start=prev_start,
            metric="usage cost (as exported)", source=Source.LLM_USAGE,
            notes=["LLM usage exports and GenAI spans; the bill may carry the same calls, so "
                   "these amounts are not added to FOCUS spend"],
        )

    def _kept(self, row: dict[str, Any]) -> bool:
        return all(str(row[f.key]) in f.values for f in self.query.where)


def _ratio(part: Decimal, whole: Decimal) -> Decimal:
    return (part / whole).quantize(Decimal("0.0001")) if whole else Decimal(0)


def _unit(amount: Decimal, count: int) -> Decimal | None:
    """Cost per unit at the lake's money scale; None when nothing was counted (unknown, not 0)."""
    return (amount / count).quantize(UNIT_COST_PLACES) if count else None


def _change(amount: Decimal, previous: Decimal | None) -> tuple[Decimal | None, Decimal | None]:
    if previous is None:
        return None, None
    pct = ((amount - previous) / abs(previous) * 100).quantize(Decimal("0.1")) if previous else None
    return amount - previous, pct


def _assemble(query: SpendQuery, cells: dict[_Group, _Cell], *, start: date,
              end: date, latest: date, prev_start: date | None, metric: str, source: Source,
              notes: list[str]) -> SpendResult:
    """Rank groups per currency, fold the tail into ``(other)``, and add shares and deltas."""
    compare = prev_start is not None
    by_group: dict[tuple[tuple[str, ...], str], _Cell] = defaultdict(_Cell)
    for (labels, _, currency), cell in cells.items():
        total = by_group[(labels, currency)]
        total.amount += cell.amount
        total.previous += cell.previous
    currency_totals: dict[str, _Cell] = defaultdict(_Cell)
    for (_, currency), cell in by_group.items():
        currency_totals[currency].amount += cell.amount
        currency_totals[currency].previous += cell.previous
    ranked = sorted(by_group, key=lambda g: (g[1], -by_group[g].amount, -by_group[g].previous, g[0]))
    kept: set[tuple[tuple[str, ...], str]] = set()
    per_currency: dict[str, int] = defaultdict(int)
    for group in ranked:
        if query.top is None or per_currency[group[1]] < query.top:
            kept.add(group)
            per_currency[group[1]] += 1
    other_label = tuple(OTHER for _ in query.group_by)
    folded: dict[_Group, _Cell] = {}
    other_counts: dict[str, int] = defaultdict(int)
    for group in ranked:
        if group not in kept:
            other_counts[group[1]] += 1
    for (labels, bucket, currency), cell in cells.items():
        target = (labels, bucket, currency) if (labels, currency) in kept else (other_label, bucket, currency)
        into = folded.setdefault(target, _Cell())
        into.amount += cell.amount
        into.previous += cell.previous
        into.requests += cell.requests
        into.tokens += cell.tokens
    order = {g: i for i, g in enumerate(ranked)}
    def sort_key(g: _Group) -> tuple[Any, ...]:
        is_other = g[0] == other_label and (g[0], g[2]) not in kept
        return (g[2], is_other, order.get((g[0], g[2]), 0), g[1] or date.min)

    rows: list[SpendRow] = []
    unit_costs = source is Source.LLM_USAGE
    for labels, bucket, currency in sorted(folded, key=sort_key):
        cell = folded[(labels, bucket, currency)]
        previous = cell.previous if compare else None
        delta, pct = _change(cell.amount, previous)
        is_other = labels == other_label and (labels, currency) not in kept
        rows.append(SpendRow(
            keys=dict(zip(query.group_by, labels, strict=True)), bucket=bucket, currency=currency,
            amount=cell.amount, previous=previous, delta=delta, delta_pct=pct,
            share=_ratio(cell.amount, currency_totals[currency].amount),
            groups=other_counts[currency] if is_other else 1,
            requests=cell.requests if unit_costs else None,
            tokens=cell.tokens if unit_costs else None,
            cost_per_request=_unit(cell.amount, cell.requests) if unit_costs else None,
            cost_per_1k_tokens=_unit(cell.amount * 1000, cell.tokens) if unit_costs else None,
        ))
    if unit_costs and any(r.requests == 0 and r.amount for r in rows):
        notes.append("some rows record no requests or tokens: their unit costs are unknown, not zero")
    totals = []
    for currency in sorted(currency_totals):
        t = currency_totals[currency]
        delta, pct = _change(t.amount, t.previous if compare else None)
        totals.append(CurrencyTotal(currency=currency, amount=t.amount,
                                    previous=t.previous if compare else None, delta=delta, delta_pct=pct))
    buckets = sorted({b for _, b, _ in cells if b is not None})
    return SpendResult(
        source=source, metric=metric, group_by=list(query.group_by), granularity=query.granularity,
        start=start, end=end, latest_data=latest,
        previous_start=prev_start, previous_end=start - timedelta(days=1) if prev_start else None,
        totals=totals, rows=rows, buckets=buckets, notes=notes,
    )
