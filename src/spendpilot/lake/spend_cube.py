"""A daily spend cube: the bill summed per group key, day and currency, read in one scan.

The TUI dashboard asks the spend explorer the same few questions (one group key, the last 7, 30
or 90 days, compared or per day) for several keys in a row. Each ``run_spend_query`` scans the
whole lake, and grouping by a tag reads every row's Tags JSON: at 10 M rows that is seconds per
key press. The cube reads the lake once and answers those questions from memory, through the
explorer's own ``_assemble`` (ranking, ``(other)``, shares, deltas), so its answers are the
explorer's answers; ``tests/lake/test_spend_cube.py`` checks them equal, query by query.

One scan, two levels: the first groups the rows by day and currency and, in one grouping set
each, by every plain column and by the *raw* Tags text (no JSON parsed: the bill repeats a few
tag sets millions of times); the second reads each tag from those few thousand distinct Tags
texts, with the explorer's own SQL, so a tag means here exactly what it means to
``spendpilot spend``. The cells come back as one small Arrow table (``read_cube_table``), which
``spend_cube_cache`` stores next to the lake so that an unchanged lake is not read again.

A question the cube cannot answer (filters, another metric, dates outside its window, several
keys) returns ``None`` from ``answer``: ask the explorer instead.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from spendpilot.errors import NoSpendData
from spendpilot.lake import _dialect
from spendpilot.lake.k8s_replaced import counted_focus_sql
from spendpilot.lake.query import NO_VALUE, UNTAGGED, CostLake
from spendpilot.lake.spend import (
    _METRIC_COLUMN,
    FOCUS_KEYS,
    Counting,
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
                 cells: dict[str, list[_DayCell]], table: pa.Table | None = None) -> None:
        self.team_tag = team_tag
        self.latest = latest
        """The last full day of data (as the explorer computes it)."""
        self.first = first
        """The first day the cube holds."""
        self._cells = cells
        self.table = table
        """The cells as read (``read_cube_table``), to store on disk; None for a hand-made cube."""

    @property
    def keys(self) -> tuple[str, ...]:
        return tuple(self._cells)

    @classmethod
    def build(cls, lake_dir: Path, keys: Sequence[str], days: int, *, team_tag: str = "team"
              ) -> SpendCube | None:
        """Read the lake once. ``NoSpendData`` when it holds no bill; ``None`` when a sum
        overflows DECIMAL(38, 12) (a lake written before ingest bounded costs): the explorer's
        exact sums then answer instead."""
        table = read_cube_table(Path(lake_dir), keys, days, team_tag=team_tag)
        return None if table is None else cls.from_table(table)

    @classmethod
    def from_table(cls, table: pa.Table) -> SpendCube:
        """The cube ``table`` holds (as ``read_cube_table`` returns it, or as stored on disk)."""
        meta = cube_meta(table)
        cells: dict[str, list[_DayCell]] = {key: [] for key in meta["keys"]}
        for r in table.to_pylist():
            cells[r["key"]].append(
                _DayCell(r["value"], r["name"], r["day"], r["currency"], r["amount"] or Decimal(0)))
        return cls(team_tag=meta["team_tag"], latest=date.fromisoformat(meta["latest"]),
                   first=date.fromisoformat(meta["first"]), cells=cells, table=table)

    def answer(self, query: SpendQuery) -> SpendResult | None:
        """The explorer's answer to ``query`` from the cube, or ``None`` if it cannot give it."""
        if (query.resolved_source is not Source.FOCUS or query.resolved_metric is not Metric.EFFECTIVE
                or query.counting is not Counting.ALLOCATED or query.where or len(query.group_by) != 1 or query.group_by[0] not in self._cells
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


CUBE_FORMAT = 2
"""Bumped when the cells' meaning or columns change, so a cube stored by an older version is
read again rather than trusted (``spend_cube_cache``)."""
_META_KEY = b"spendpilot.spend_cube"
_DAY_US = 86_400_000_000


def cube_meta(table: pa.Table) -> dict[str, Any]:
    """What a cube table was read for: keys, days, team tag, first and latest day, format."""
    raw = (table.schema.metadata or {}).get(_META_KEY)
    if raw is None:
        raise ValueError("not a spend cube table (no spendpilot.spend_cube metadata)")
    meta: dict[str, Any] = json.loads(raw)
    return meta


def read_cube_table(lake_dir: Path, keys: Sequence[str], days: int, *, team_tag: str = "team"
                    ) -> pa.Table | None:
    """The bill summed per key, key value, day and currency over the last ``days`` days, as an
    Arrow table (``key, value, name, day, currency, amount``) whose schema metadata says what
    it was read for. One scan of the lake; see the module's docstring for the two levels.

    The first level is ``GROUPING SETS``, one set per plain key (day, currency, value) and one
    for the raw Tags text, so each row is hashed into a few narrow groups rather than one wide
    group of every key at once (measured at 1 M rows: half the CPU). The day is counted from
    the window's first midnight in integer microseconds (never negative inside the window), not
    cast to a DATE per row, which goes through the time zone code. Amounts stay DECIMAL(38, 12)
    end to end, so the cube's sums are the explorer's to the last digit.

    ``NoSpendData`` when the lake holds no bill; ``None`` when a sum overflows.
    """
    probe = _FocusSpend(CostLake(lake_dir), build_query(team_tag=team_tag))
    specs = {key: probe._key(key) for key in keys}
    con = probe.lake._connect()
    try:
        found = _dialect.rows(con, 'SELECT max("ChargePeriodEnd") AS latest FROM focus')[0]["latest"]
        if found is None:
            raise NoSpendData("the lake holds no billing data yet; run `spendpilot ingest PATH` first")
        latest = (found - timedelta(days=1)).date()
        first = latest - timedelta(days=days - 1)
        plain = [(k, spec) for k, (spec, params) in specs.items() if not params]
        has_tags = len(plain) < len(specs)
        columns = [f"{spec.value_sql} AS v{i}" for i, (_, spec) in enumerate(plain)]
        columns += [f"{spec.name_sql} AS n{i}" for i, (_, spec) in enumerate(plain) if spec.name_sql]
        grouped = [f"v{i}" for i in range(len(plain))] + ([_TAGS] if has_tags else [])
        if has_tags:
            columns.append(_TAGS)
        sets = ", ".join(f"(day, currency, {g})" for g in grouped)
        named = [f"max(n{i}) AS n{i}" for i, (_, spec) in enumerate(plain) if spec.name_sql]
        flags = [f"GROUPING({g}) AS x{j}" for j, g in enumerate(grouped)]
        start = _midnight(first)
        window_end = _midnight(latest + timedelta(days=1))
        counted = counted_focus_sql(con, start, window_end)  # the explorer's rows: lake.k8s_replaced
        con.execute(
            "CREATE TEMP TABLE day_groups AS SELECT day, currency, "
            + ", ".join([*grouped, *named, "sum(cost) AS amount", *flags])
            + f" FROM (SELECT (epoch_us(\"ChargePeriodStart\") - ?) // {_DAY_US} AS day, "
            f'"BillingCurrency" AS currency, {", ".join(columns)}, '
            f'"{_METRIC_COLUMN[Metric.EFFECTIVE]}" AS cost '
            f'FROM {counted} WHERE "ChargePeriodStart" >= ? AND "ChargePeriodStart" < ?) AS windowed '
            f"GROUP BY GROUPING SETS ({sets})",
            [int(start.timestamp()) * 1_000_000, start, window_end],
        ).fetchall()
        parts = []
        for key, (spec, params) in specs.items():
            if params:
                value, name, flag = spec.value_sql, "NULL", f"x{len(grouped) - 1}"
            else:
                i = [k for k, _ in plain].index(key)
                value, name, flag = f"v{i}", f"n{i}" if spec.name_sql else "NULL", f"x{i}"
            parts.append(_dialect.arrow_table(con.sql(
                f"SELECT ? AS key, CAST({value} AS VARCHAR) AS value, CAST(max({name}) AS VARCHAR) AS name, "
                "CAST(? AS DATE) + CAST(day AS INTEGER) AS day, currency, sum(amount) AS amount "
                f"FROM day_groups WHERE {flag} = 0 GROUP BY ALL ORDER BY ALL",
                params=[key, *params, first],
            )))
    except duckdb.OutOfRangeException:
        return None
    finally:
        con.close()
    table = pa.concat_tables(parts)
    meta = {"format": CUBE_FORMAT, "keys": list(specs), "days": days, "team_tag": team_tag,
            "first": first.isoformat(), "latest": latest.isoformat()}
    return table.replace_schema_metadata({_META_KEY: json.dumps(meta).encode()})
