"""A daily spend cube: the bill summed per group key, day and currency, read in one scan.

The TUI dashboard asks the spend explorer the same few questions (one group key, the last 7, 30
or 90 days, compared or per day) for several keys in a row. Each ``run_spend_query`` scans the
whole lake, and grouping by a tag reads every row's Tags JSON: at 10 M rows that is seconds per
key press. The cube reads the lake once and answers those questions from memory, through the
explorer's own ``_assemble`` (ranking, ``(other)``, shares, deltas), so its answers are the
explorer's answers; ``tests/lake/test_spend_cube.py`` checks them equal, query by query.

One scan, two levels: the first groups the rows by day, currency, the plain columns and the
*raw* Tags text (no JSON parsed: the bill repeats a few tag sets millions of times); the second
reads each tag from those few thousand distinct Tags texts, with the explorer's own SQL, so a
tag means here exactly what it means to ``spendpilot spend``.

A question the cube cannot answer (filters, another metric, dates outside its window, several
keys) returns ``None`` from ``answer``: ask the explorer instead.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import duckdb

from spendpilot.errors import NoSpendData
from spendpilot.lake import _dialect
from spendpilot.lake.query import NO_VALUE, UNTAGGED, CostLake
from spendpilot.lake.spend import (
    _METRIC_COLUMN,
    FOCUS_KEYS,
    Granularity,
    Metric,
    Source,
    SpendQuery,
    SpendResult,
    _assemble,
    _bucket,
    _Cell,
    _focus_notes,
    _FocusSpend,
    _Group,
    _midnight,
    _period,
    build_query,
)

_TAGS = '"Tags"'


@dataclass(frozen=True, slots=True)
class _DayCell:
    value: str | None
    name: str | None
    day: date
    currency: str
    amount: Decimal


class SpendCube:
    """Effective cost per (key value, account name, day, currency) for a few group keys over
    the last ``days`` days of data. Immutable once built; safe to read from any thread."""

    def __init__(self, *, team_tag: str, latest: date, first: date,
                 cells: dict[str, list[_DayCell]]) -> None:
        self.team_tag = team_tag
        self.latest = latest
        """The last full day of data (as the explorer computes it)."""
        self.first = first
        """The first day the cube holds."""
        self._cells = cells

    @property
    def keys(self) -> tuple[str, ...]:
        return tuple(self._cells)

    @classmethod
    def build(cls, lake_dir: Path, keys: Sequence[str], days: int, *, team_tag: str = "team"
              ) -> SpendCube | None:
        """Read the lake once. ``NoSpendData`` when it holds no bill; ``None`` when a sum
        overflows DECIMAL(38, 12) (a lake written before ingest bounded costs): the explorer's
        exact sums then answer instead."""
        probe = _FocusSpend(CostLake(Path(lake_dir)), build_query(team_tag=team_tag))
        specs = {key: probe._key(key) for key in keys}
        con = probe.lake._connect()
        try:
            found = _dialect.rows(con, 'SELECT max("ChargePeriodEnd") AS latest FROM focus')[0]["latest"]
            if found is None:
                raise NoSpendData("the lake holds no billing data yet; run `spendpilot ingest PATH` first")
            latest = (found - timedelta(days=1)).date()
            first = latest - timedelta(days=days - 1)
            plain = [(k, spec) for k, (spec, params) in specs.items() if not params]
            columns = [f"{spec.value_sql} AS v{i}" for i, (_, spec) in enumerate(plain)]
            columns += [f"{spec.name_sql} AS n{i}" for i, (_, spec) in enumerate(plain) if spec.name_sql]
            has_tags = len(plain) < len(specs)
            if has_tags:
                columns.append(_TAGS)
            grouped = [f"v{i}" for i in range(len(plain))] + ([_TAGS] if has_tags else [])
            named = [f"max(n{i}) AS n{i}" for i, (_, spec) in enumerate(plain) if spec.name_sql]
            column = _METRIC_COLUMN[Metric.EFFECTIVE]
            con.execute(
                "CREATE TEMP TABLE day_groups AS SELECT day, currency, "
                + ", ".join([*grouped, *named, "sum(cost) AS amount"])
                + " FROM (SELECT CAST(date_trunc('day', \"ChargePeriodStart\") AS DATE) AS day, "
                f'"BillingCurrency" AS currency, {", ".join([*columns, f"{chr(34)}{column}{chr(34)} AS cost"])} '
                'FROM focus WHERE "ChargePeriodStart" >= ? AND "ChargePeriodStart" < ?) AS windowed '
                f"GROUP BY day, currency, {', '.join(grouped)}",
                [_midnight(first), _midnight(latest + timedelta(days=1))],
            ).fetchall()
            cells: dict[str, list[_DayCell]] = {}
            for key, (spec, params) in specs.items():
                if params:
                    value, name = spec.value_sql, "NULL"
                else:
                    i = [k for k, _ in plain].index(key)
                    value, name = f"v{i}", f"n{i}" if spec.name_sql else "NULL"
                rows = _dialect.rows(
                    con,
                    f"SELECT {value} AS value, max({name}) AS name, day, currency, sum(amount) AS amount "
                    "FROM day_groups GROUP BY ALL",
                    params,
                )
                cells[key] = [
                    _DayCell(None if r["value"] is None else str(r["value"]), r["name"], r["day"], r["currency"],
                             r["amount"] or Decimal(0))
                    for r in rows
                ]
        except duckdb.OutOfRangeException:
            return None
        finally:
            con.close()
        return cls(team_tag=team_tag, latest=latest, first=first, cells=cells)

    def answer(self, query: SpendQuery) -> SpendResult | None:
        """The explorer's answer to ``query`` from the cube, or ``None`` if it cannot give it."""
        if (query.resolved_source is not Source.FOCUS or query.resolved_metric is not Metric.EFFECTIVE
                or query.where or len(query.group_by) != 1 or query.group_by[0] not in self._cells
                or query.start is not None or query.last_months
                or (query.end is not None and query.end != self.latest)
                or (query.group_by[0] == "team" and query.team_tag != self.team_tag)):
            return None
        key = query.group_by[0]
        start, end = _period(query, self.latest)
        days = (end - start).days + 1
        prev_start = start - timedelta(days=days) if query.compare else None
        window_start = prev_start or start
        if window_start < self.first:
            return None
        spec = FOCUS_KEYS.get(key)
        missing = NO_VALUE if spec is not None else UNTAGGED
        sums: dict[tuple[str | None, date | None, str], _Cell] = {}
        names: dict[tuple[str | None, date | None, str], str] = {}
        for cell in self._cells[key]:
            if not window_start <= cell.day <= end:
                continue
            bucket = _bucket(cell.day, query.granularity) if query.granularity is not Granularity.TOTAL else None
            group = (cell.value, bucket, cell.currency)
            into = sums.setdefault(group, _Cell())
            if cell.day >= start:
                into.amount += cell.amount
            else:
                into.previous += cell.amount
            if cell.name is not None and (group not in names or cell.name > names[group]):
                names[group] = cell.name
        cells: dict[_Group, _Cell] = {}
        for (value, bucket, currency), summed in sums.items():
            label = missing if value is None else value
            name = names.get((value, bucket, currency))
            if spec is not None and spec.name_sql and value is not None and name and name != value:
                label = f"{name} [{value}]"
            into = cells.setdefault(((label,), bucket, currency), _Cell())
            into.amount += summed.amount
            if prev_start is not None:
                into.previous += summed.previous
        return _assemble(
            query, cells, start=start, end=end, latest=self.latest, prev_start=prev_start,
            metric=_METRIC_COLUMN[Metric.EFFECTIVE], source=Source.FOCUS, notes=_focus_notes(query),
        )
