"""LLM usage exports: CSV and JSON Lines in, LlmUsage out, bad rows quarantined."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from spendpilot.domain import LlmUsage
from spendpilot.errors import IngestError
from spendpilot.lake import ingest_llm_usage_file, read_llm_usage

from .conftest import FIXTURES, lake_files


def test_csv_usage_is_stored_and_bad_rows_quarantined(lake_dir: Path):
    report = ingest_llm_usage_file(FIXTURES / "llm_usage.csv", lake_dir)

    assert (report.rows_read, report.rows_stored, report.rows_quarantined) == (6, 4, 2)
    assert report.reasons == {"requests: negative count": 1, "cost: not a decimal": 1}
    quarantined = pq.read_table(report.quarantine_file).to_pylist()
    assert [(q["_row"], q["_field"], q["cost"]) for q in quarantined] == [
        (4, "requests", "8.80"),
        (5, "cost", "eight"),
    ]
    usage = read_llm_usage(lake_dir)
    assert usage[0] == LlmUsage(
        day=date(2025, 5, 1), provider="openai", model="gpt-4.1", feature="support-bot",
        project_id="proj_1", requests=1200, input_tokens=3_400_000,
        cached_input_tokens=1_000_000, output_tokens=250_000, cost=Decimal("8.8"),
    )
    mini = next(u for u in usage if u.model == "gpt-4.1-mini")
    assert (mini.project_id, mini.cached_input_tokens, mini.currency) == (None, 0, "USD")
    assert sum(u.cost for u in usage) == Decimal("18.73")
    assert [u.day for u in read_llm_usage(lake_dir, since=date(2025, 5, 2))] == [
        date(2025, 5, 2), date(2025, 5, 31)
    ]


def test_jsonl_usage_keeps_exact_costs_and_refuses_fractional_counts(lake_dir: Path):
    report = ingest_llm_usage_file(FIXTURES / "llm_usage.jsonl", lake_dir)

    assert (report.rows_read, report.rows_stored, report.rows_quarantined) == (4, 2, 2)
    assert report.reasons == {"malformed row": 1, "requests: not an integer": 1}
    rows = {q["_row"]: q for q in pq.read_table(report.quarantine_file).to_pylist()}
    assert rows[2]["_reason"] == "malformed row" and "not JSON" in rows[2]["_raw_text"]
    assert rows[3]["requests"] == "1.5"
    usage = read_llm_usage(lake_dir)
    assert [(u.cost, u.currency) for u in usage] == [
        (Decimal("0.1"), "USD"), (Decimal("0.001"), "EUR")
    ]


def test_usage_reingest_is_idempotent_and_empty_lake_reads_nothing(lake_dir: Path):
    assert read_llm_usage(lake_dir) == []
    ingest_llm_usage_file(FIXTURES / "llm_usage.csv", lake_dir)
    ingest_llm_usage_file(FIXTURES / "llm_usage.csv", lake_dir)
    assert len(read_llm_usage(lake_dir)) == 4


def test_a_focus_file_is_not_usage(planted: Path, lake_dir: Path):
    with pytest.raises(IngestError, match="missing mandatory column"):
        ingest_llm_usage_file(planted, lake_dir)
    assert lake_files(lake_dir) == []
