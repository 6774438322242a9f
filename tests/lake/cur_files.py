"""The CUR samples in tests/data/cur, and the other shapes a CUR export comes in (CSV.gz, Parquet).

The Parquet files are written here from the CSV samples with the types a real export has: costs
and quantities as doubles, dates as timestamps, and (CUR 2.0) ``product`` / ``resource_tags`` as
``map<string, string>``. Legacy CUR in Parquet spells each ``category/Name`` column in snake case
(``lineItem/UnblendedCost`` → ``line_item_unblended_cost``, ``savingsPlan/SavingsPlanARN`` →
``savings_plan_savings_plan_a_r_n``), as the column lists in docs/ingest-formats.md show.
"""

from __future__ import annotations

import csv
import gzip
import json
import re
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
from tests.conftest import DATA

CUR_DATA = DATA / "cur"
LEGACY_CSV = CUR_DATA / "legacy_cur_2024-09.csv"
CUR2_CSV = CUR_DATA / "cur2_2024-09.csv"
COST_COLUMN = {LEGACY_CSV: "lineItem/UnblendedCost", CUR2_CSV: "line_item_unblended_cost"}
SAMPLE_ROWS = 13

_NUMERIC = re.compile(r"(cost|amount|rate|fee|commitment)", re.IGNORECASE)
_DATE = re.compile(r"_(start|end)_date$")
_MAPS = ("product", "resource_tags")


def read_rows(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    with open(path, newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        return list(reader.fieldnames or []), list(reader)


def write_rows(path: Path, header: list[str], rows: list[dict[str, str]]) -> Path:
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, header, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    return path


def edited(source: Path, target: Path, edit: Callable[[list[dict[str, str]]], None]) -> Path:
    """``source`` with its rows changed in place by ``edit``, written to ``target``."""
    header, rows = read_rows(source)
    edit(rows)
    return write_rows(target, header, rows)


def gzipped(source: Path, target: Path) -> Path:
    target.write_bytes(gzip.compress(source.read_bytes()))
    return target


def snake(name: str) -> str:
    """Legacy CUR's Parquet spelling of a ``category/Name`` column (see the module docstring)."""
    if "/" not in name:
        return name
    category, _, column = name.partition("/")
    spelled = re.sub(r"[A-Z]", lambda m: "_" + m.group(0).lower(), f"{category}/{column}")
    return spelled.replace("/_", "_").replace("/", "_").replace(":", "_").lstrip("_")


def _typed(name: str, values: list[str]) -> pa.Array:
    if name in _MAPS:
        return pa.array([list(json.loads(v).items()) if v else None for v in values],
                        pa.map_(pa.string(), pa.string()))
    if _DATE.search(name):
        return pa.array([datetime.fromisoformat(v.replace("Z", "+00:00")) if v else None
                         for v in values], pa.timestamp("ms", tz="UTC"))
    if _NUMERIC.search(name) and "arn" not in name.lower() and "type" not in name.lower():
        return pa.array([float(v) if v else None for v in values], pa.float64())
    return pa.array([v or None for v in values], pa.string())


def as_parquet(source: Path, target: Path) -> Path:
    """The CSV sample as a typed Parquet export (legacy columns renamed to their snake case)."""
    header, rows = read_rows(source)
    columns = {snake(name): _typed(snake(name), [r[name] for r in rows]) for name in header}
    pq.write_table(pa.table(columns), target)
    return target
