"""Questions the rest of spendpilot asks the lake: totals per resource, top spenders, daily spend.

Costs are FOCUS ``EffectiveCost`` (amortized, after discounts): what a resource really costs,
which is what a saving is measured against. A row belongs to a window when its
``ChargePeriodStart`` is in ``[since, until)``; windows counted in days end at ``until`` or, by
default, at the latest ``ChargePeriodEnd`` in the lake, so an old export still shows numbers.
Lines are split by ``BillingCurrency`` and never summed across currencies, except in
``untagged_spend``, which returns a bare ``Decimal`` (it is meant for single-currency bills).

Money is summed exactly and a sum cannot fail: ingestion bounds each row's cost, so a plain
DECIMAL sum stays far from its 10^26 limit, but a lake written before that bound, or a file
placed by hand, must not turn every question into an error. A query whose plain sum overflows
is run again with ``_dialect.exact_sum_sql`` (whole units as HUGEINT plus fractions, exact and
about 2x slower, so only then). Shares (``resource_commitment_share``) are ratios and are summed
as doubles, which cannot overflow either.

A Kubernetes node is counted once by the spend questions (``top_spend``, ``daily_spend``,
``untagged_spend``): on a day ``spendpilot allocate --write`` allocated its cluster, the node's
bill rows are left out, since the Kubernetes rows hold that cost (``lake.k8s_replaced``, the
definition the spend explorer, the dashboard's cube and the chargeback read too). Their totals
are the explorer's. The per-resource questions (``resource_costs``, ``resource_billed_hours``,
``resource_commitment_share``) read every row: a node's own EC2 rows are its cost, and a
Kubernetes row has an id of its own, so nothing is counted twice there.

The SQL is plain (parameters, GROUP BY, named columns); the DuckDB-specific parts come from
``_dialect``.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb

from spendpilot.domain.reports import DailySpend, SpendLine
from spendpilot.lake import _dialect
from spendpilot.lake._storage import recover_if_needed
from spendpilot.lake.ingest import FOCUS_AREA
from spendpilot.lake.k8s_replaced import counted_focus_sql
from spendpilot.lake.schema import focus_arrow_schema

UNTAGGED = "(untagged)"
NO_VALUE = "(none)"

DIMENSIONS: dict[str, str] = {
    "service": "ServiceName",
    "resource": "ResourceId",
    "account": "coalesce(SubAccountId, BillingAccountId)",
    "provider": "ProviderName",
    "category": "ServiceCategory",
    "charge_category": "ChargeCategory",
    "region": "RegionId",
    "sku": "SkuId",
}
"""``top_spend(by=...)`` keys → the grouped expression. ``tag:<key>`` is handled separately."""

_COST = "EffectiveCost"
_TAGS = '"Tags"'
_TAG = f"trim({_dialect.tag_value_sql(_TAGS, '?')})"
"""The trimmed value of the tag named by the next bound parameter."""
_PLAIN_SUM = f'sum("{_COST}") AS cost'
_EXACT_SUM = _dialect.exact_sum_sql(f'"{_COST}"', "cost")


def _total(row: dict[str, Any]) -> Decimal:
    """The cost a row adds up to, from either kind of sum (see ``CostLake._summed``)."""
    if "cost_units" in row:
        return _dialect.exact_total(row, "cost") or Decimal(0)
    return Decimal(row["cost"]) if row["cost"] is not None else Decimal(0)


def _utc(moment: datetime) -> datetime:
    """Aware UTC; a naive datetime is taken to be UTC already (as FOCUS timestamps are)."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


class CostLake:
    """Read-only view of the FOCUS rows under ``lake_dir``.

    Each call opens its own in-memory DuckDB session, so one ``CostLake`` can serve the TUI's
    worker threads and the scheduler at once, and always sees files ingested since the last call.
    An empty lake answers every question with an empty result rather than an error. Before
    reading, a session finishes any ingest commit a crash interrupted (``_storage``), so a
    query never sees half of one.
    """

    def __init__(self, lake_dir: Path) -> None:
        self.lake_dir = Path(lake_dir)

    # --- plumbing ----------------------------------------------------------------------------

    def _files_pattern(self) -> str:
        return str(self.lake_dir / FOCUS_AREA / "*" / "*" / "*.parquet")

    def _has_files(self) -> bool:
        return any((self.lake_dir / FOCUS_AREA).glob("*/*/*.parquet"))

    def _connect(self) -> duckdb.DuckDBPyConnection:
        """A session with a ``focus`` relation: the lake's files, or an empty typed table."""
        recover_if_needed(self.lake_dir)
        con = _dialect.connect()
        if self._has_files():
            relation = _dialect.parquet_relation(self._files_pattern())
            con.execute(f"CREATE VIEW focus AS SELECT * FROM {relation}").fetchall()
        else:
            con.register("focus", focus_arrow_schema().empty_table())
        return con

    def _rows(self, sql: str, params: Sequence[Any] = (),
              counted: tuple[datetime, datetime] | None = None) -> list[dict[str, Any]]:
        """Run ``sql``; with ``counted`` (the query's window), its ``{focus}`` reads the rows
        that count a Kubernetes node once (``k8s_replaced.counted_focus_sql``)."""
        con = self._connect()
        try:
            if counted is not None:
                sql = sql.replace("{focus}", counted_focus_sql(con, *counted))
            return _dialect.rows(con, sql, params)
        finally:
            con.close()

    def _summed(self, sql: str, params: Sequence[Any] = (),
                counted: tuple[datetime, datetime] | None = None) -> list[dict[str, Any]]:
        """Run ``sql`` whose ``{cost}`` is the summed cost (``{order}`` the same, to sort by;
        ``{focus}`` as in ``_rows``).

        A plain sum first; if it overflows (values stored before ingest bounded them), the
        exact two-part sum. Read the result with ``_total``.
        """
        try:
            return self._rows(sql.replace("{cost}", _PLAIN_SUM).replace("{order}", "cost"), params, counted)
        except duckdb.OutOfRangeException:
            order = _dialect.approximate_total_sql("cost")
            return self._rows(sql.replace("{cost}", _EXACT_SUM).replace("{order}", order), params, counted)

    def _window(self, days: int, until: datetime | None) -> tuple[datetime, datetime] | None:
        """``[until - days, until)``, ``until`` defaulting to the lake's latest charge end."""
        end = _utc(until) if until is not None else self.latest_charge_time()
        if end is None:
            return None
        return end - timedelta(days=days), end

    # --- questions ---------------------------------------------------------------------------

    def row_count(self) -> int:
        return int(self._rows("SELECT count(*) AS n FROM focus")[0]["n"])

    def latest_charge_time(self) -> datetime | None:
        """End of the latest charge period in the lake (UTC), or None when it is empty."""
        found = self._rows('SELECT max("ChargePeriodEnd") AS latest FROM focus')[0]["latest"]
        return _utc(found) if found is not None else None

    def resource_costs(self, since: datetime, until: datetime | None = None
                       ) -> dict[str, dict[str, Decimal]]:
        """Effective cost per resource for charges starting in ``[since, until)``, per currency.

        ``{resource: {BillingCurrency: cost}}``, almost always one currency per resource;
        amounts in different currencies are never added. Keyed by ``ResourceId``, and also by
        ``ResourceName`` where a row has one that differs, because checks meet resources by
        whichever name their adapter reports. Where a name equals some other resource's id, the
        id's totals win. (Decimals keyed by their currency rather than a ``Money`` each: a sweep
        reads tens of thousands of resources, and building that many models costs more than the
        query.)
        """
        where, params = self._between(since, until)
        by_id = self._summed(
            'SELECT "BillingCurrency" AS currency, "ResourceId" AS k, {cost} '
            f'FROM focus WHERE "ResourceId" IS NOT NULL AND {where} '
            'GROUP BY "BillingCurrency", "ResourceId"',
            params,
        )
        by_name = self._summed(
            'SELECT "BillingCurrency" AS currency, "ResourceName" AS k, {cost} '
            f'FROM focus WHERE "ResourceName" IS NOT NULL AND ("ResourceId" IS NULL '
            f'OR "ResourceName" <> "ResourceId") AND {where} '
            'GROUP BY "BillingCurrency", "ResourceName"',
            params,
        )
        costs: dict[str, dict[str, Decimal]] = {}
        for r in by_name:
            costs.setdefault(r["k"], {})[r["currency"]] = _total(r)
        ids: dict[str, dict[str, Decimal]] = {}
        for r in by_id:
            ids.setdefault(r["k"], {})[r["currency"]] = _total(r)
        costs.update(ids)
        return costs

    def resource_billed_hours(self, since: datetime, until: datetime | None = None) -> dict[str, float]:
        """Hours from each resource's first billed charge period to its last, within the window.

        A run rate is cost over the time it was billed, not over the window: an instance
        launched five days ago, or a provider whose export lags, would otherwise look cheap.
        Keyed by ``ResourceId``.
        """
        where, params = self._between(since, until)
        # Seconds computed in SQL: turning 100k+ timestamps into Python datetimes costs more
        # than the query. date_part('epoch', ...) reads the same in DuckDB and Postgres.
        rows = self._rows(
            "SELECT \"ResourceId\" AS k, date_part('epoch', max(\"ChargePeriodEnd\")) - "
            "date_part('epoch', min(\"ChargePeriodStart\")) AS seconds "
            f'FROM focus WHERE "ResourceId" IS NOT NULL AND {where} GROUP BY "ResourceId"',
            params,
        )
        return {r["k"]: max(float(r["seconds"]) / 3600, 0.0) for r in rows if r["seconds"] is not None}

    def resource_commitment_share(self, since: datetime, until: datetime | None = None) -> dict[str, float]:
        """Share of each resource's EffectiveCost covered by a commitment (RI, Savings Plan).

        Stopping such usage does not end that cost: the commitment is paid either way. Only
        resources with some covered cost are listed; the share is a ratio, so currencies don't mix.
        """
        where, params = self._between(since, until)
        rows = self._rows(
            'SELECT "ResourceId" AS k, sum(CASE WHEN "CommitmentDiscountId" IS NOT NULL THEN '
            f'CAST("{_COST}" AS DOUBLE) ELSE 0 END) AS covered, sum(CAST("{_COST}" AS DOUBLE)) '
            'AS total FROM focus '
            f'WHERE "ResourceId" IS NOT NULL AND {where} GROUP BY "ResourceId" '
            'HAVING sum(CASE WHEN "CommitmentDiscountId" IS NOT NULL THEN 1 ELSE 0 END) > 0',
            params,
        )
        return {
            r["k"]: min(max(float(r["covered"]) / float(r["total"]), 0.0), 1.0)
            for r in rows if r["total"] and float(r["total"]) > 0
        }

    def top_spend(
        self, by: str = "service", days: int = 30, limit: int = 10, until: datetime | None = None
    ) -> list[SpendLine]:
        """The ``limit`` largest spenders over the window, grouped by ``by``.

        ``by`` is one of ``DIMENSIONS`` or ``tag:<key>``; tag keys match after trimming spaces,
        and rows without the tag add up under ``(untagged)``. An allocated node counts once.
        """
        window = self._window(days, until)
        if window is None:
            return []
        key_sql, key_params = self._dimension(by)
        where, params = self._between(*window)
        rows = self._summed(
            "SELECT k, currency, {cost} FROM ("
            f"SELECT coalesce({key_sql}, ?) AS k, \"BillingCurrency\" AS currency, "
            f'"{_COST}" FROM {{focus}} WHERE {where}) AS windowed '
            "GROUP BY k, currency ORDER BY {order} DESC, k LIMIT ?",
            [*key_params, self._missing_label(by), *params, int(limit)], counted=window,
        )
        return [SpendLine(key=r["k"], cost=_total(r), currency=r["currency"]) for r in rows]

    def daily_spend(self, days: int = 30, until: datetime | None = None) -> list[DailySpend]:
        """Effective cost per UTC day (by charge start) for the ``days`` days ending at ``until``.

        The window is whole days, the last one being the day ``until`` falls in (or just ends),
        and every day appears, with zero when nothing was charged, so a chart has no gaps. An
        allocated node counts once.
        """
        window = self._window(days, until)
        if window is None:
            return []
        last = (window[1] - timedelta(microseconds=1)).date()
        first = last - timedelta(days=days - 1)
        start = datetime.combine(first, datetime.min.time(), tzinfo=UTC)
        end = start + timedelta(days=days)
        where, params = self._between(start, end)
        day = _dialect.day_sql('"ChargePeriodStart"')
        rows = self._summed(
            f'SELECT {day} AS day, "BillingCurrency" AS currency, {{cost}} '
            f'FROM {{focus}} WHERE {where} GROUP BY {day}, "BillingCurrency" ORDER BY day',
            params, counted=(start, end),
        )
        found = {(r["day"], r["currency"]): _total(r) for r in rows}
        currencies = sorted({c for _, c in found}) or ["USD"]
        out: list[DailySpend] = []
        for offset in range(days):
            day_value: date = first + timedelta(days=offset)
            for currency in currencies:
                cost = found.get((day_value, currency), Decimal(0))
                out.append(DailySpend(day=day_value, cost=cost, currency=currency))
        return out

    def untagged_spend(self, keys: list[str], days: int = 30, until: datetime | None = None
                       ) -> Decimal:
        """Effective cost of rows missing (or blank in) at least one of the tag ``keys``.

        With no keys, the cost of rows that carry no tags at all. Keys match after trimming. An
        allocated node counts once: on an allocated day its share is read from the Kubernetes
        rows, which carry the workloads' labels, rather than from the node's bill rows.
        """
        window = self._window(days, until)
        if window is None:
            return Decimal(0)
        where, params = self._between(*window)
        if keys:
            missing = " OR ".join(f"coalesce({_TAG}, '') = ''" for _ in keys)
            key_params: list[Any] = [k.strip() for k in keys]
        else:
            missing = f"{_TAGS} IS NULL OR trim({_TAGS}) = '{{}}'"
            key_params = []
        rows = self._summed(
            f"SELECT {{cost}} FROM {{focus}} WHERE ({missing}) AND {where}",
            [*key_params, *params], counted=window,
        )
        return _total(rows[0])

    # --- SQL pieces --------------------------------------------------------------------------

    @staticmethod
    def _between(since: datetime, until: datetime | None) -> tuple[str, list[Any]]:
        """The window predicate. Bounds are bound as ISO text and cast, which every engine reads."""
        where = '"ChargePeriodStart" >= CAST(? AS TIMESTAMPTZ)'
        params: list[Any] = [_utc(since).isoformat()]
        if until is not None:
            where += ' AND "ChargePeriodStart" < CAST(? AS TIMESTAMPTZ)'
            params.append(_utc(until).isoformat())
        return where, params

    @staticmethod
    def _dimension(by: str) -> tuple[str, list[Any]]:
        if by.startswith("tag:"):
            key = by[len("tag:"):].strip()
            if not key:
                raise ValueError("tag dimension needs a key, e.g. 'tag:team'")
            return f"nullif({_TAG}, '')", [key]
        if by not in DIMENSIONS:
            choices = ", ".join([*DIMENSIONS, "tag:<key>"])
            raise ValueError(f"unknown spend dimension {by!r}; choose one of {choices}")
        return DIMENSIONS[by], []

    @staticmethod
    def _missing_label(by: str) -> str:
        return UNTAGGED if by.startswith("tag:") else NO_VALUE
