"""CUR exports read from S3 (moto in server mode, over HTTP) through their manifests.

The data files are the CUR samples in tests/data/cur, split into parts and gzipped as AWS
delivers them; the manifests start from tests/data/cur-s3 (see its PROVENANCE.md). Every
S3 read is counted with a botocore event hook on the client the ingest uses, so "nothing was
re-read" is observed on the wire, not inferred.
"""

from __future__ import annotations

import copy
import gzip
import io
import json
from collections import Counter
from decimal import Decimal
from pathlib import Path
from typing import Any

import boto3
import duckdb
import pytest
from tests.conftest import DATA, run_cli
from tests.lake.cur_files import COST_COLUMN, CUR2_CSV, LEGACY_CSV, read_rows

from spendpilot.errors import IngestError
from spendpilot.lake.cur_s3 import find_deliveries, ingest_s3, list_objects

MANIFESTS = DATA / "cur-s3"
BUCKET = "example-billing-bucket"
EXPORT = "exports/ml-cur2"
CUR2_MANIFEST_KEY = f"{EXPORT}/metadata/BILLING_PERIOD=2024-09/ml-cur2-Manifest.json"
LEGACY_REPORT = "legacy/ml-cur"
LEGACY_MANIFEST_KEY = f"{LEGACY_REPORT}/20240901-20241001/ml-cur-Manifest.json"


class CountingS3:
    """A boto3 S3 client for the emulator, counting the calls that read objects."""

    def __init__(self, endpoint: str) -> None:
        self.client = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1")
        self.calls: Counter[str] = Counter()
        for operation in ("GetObject", "HeadObject", "ListObjectsV2"):
            self.client.meta.events.register(f"before-call.s3.{operation}", self._count)

    def _count(self, model: Any, **_: Any) -> None:
        self.calls[model.name] += 1

    def reset(self) -> None:
        self.calls.clear()


def _csv_gz(header: list[str], rows: list[dict[str, str]]) -> bytes:
    import csv

    text = io.StringIO()
    writer = csv.DictWriter(text, header, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return gzip.compress(text.getvalue().encode("utf-8"))


def _cost(rows: list[dict[str, str]], column: str) -> Decimal:
    return sum((Decimal(r[column]) for r in rows), Decimal(0))


def _lake_billed(lake: Path) -> tuple[Decimal, int]:
    con = duckdb.connect()
    try:
        total, count = con.execute(
            f"SELECT sum(BilledCost), count(*) FROM read_parquet('{lake}/focus/*/*/*.parquet')"
        ).fetchone()  # type: ignore[misc]
    finally:
        con.close()
    return Decimal(total), int(count)


def _put_cur2(s3: Any, execution: str, parts: list[list[dict[str, str]]], header: list[str],
              folder: str = "") -> list[str]:
    """Upload one CUR 2.0 delivery (parts + manifest); returns the data keys."""
    keys = []
    for n, rows in enumerate(parts, start=1):
        key = f"{EXPORT}/data/BILLING_PERIOD=2024-09/{folder}ml-cur2-{n:05d}.csv.gz"
        s3.put_object(Bucket=BUCKET, Key=key, Body=_csv_gz(header, rows))
        keys.append(key)
    manifest = json.loads((MANIFESTS / "cur2-Manifest.json").read_text())
    manifest["executionId"] = execution
    manifest["dataFiles"] = [f"s3://{BUCKET}/{k}" for k in keys]
    s3.put_object(Bucket=BUCKET, Key=CUR2_MANIFEST_KEY, Body=json.dumps(manifest).encode())
    return keys


@pytest.fixture
def s3(aws_endpoint: str) -> CountingS3:
    counting = CountingS3(aws_endpoint)
    counting.client.create_bucket(Bucket=BUCKET)
    return counting


def test_cur2_export_ingested_then_nothing_reread_then_restated(s3: CountingS3, tmp_path: Path) -> None:
    header, rows = read_rows(CUR2_CSV)
    column = COST_COLUMN[CUR2_CSV]
    keys = _put_cur2(s3.client, "exec-1", [rows[:6], rows[6:]], header)
    lake = tmp_path / "lake"

    first = ingest_s3(f"s3://{BUCKET}/exports/", lake, s3.client)

    assert first.read == [f"s3://{BUCKET}/{CUR2_MANIFEST_KEY}"]
    assert first.files_fetched == [f"s3://{BUCKET}/{k}" for k in keys]
    assert [r.format for r in first.reports] == ["CUR 2.0", "CUR 2.0"]
    assert sum(r.rows_stored for r in first.reports) == len(rows)
    assert _lake_billed(lake) == (_cost(rows, column), len(rows))
    assert _cost(rows, column) == Decimal("1736.8584395061")

    s3.reset()
    second = ingest_s3(f"s3://{BUCKET}/exports/", lake, s3.client)
    assert second.read == [] and second.files_fetched == []
    assert second.unchanged == [f"s3://{BUCKET}/{CUR2_MANIFEST_KEY}"]
    assert s3.calls == Counter({"ListObjectsV2": 1})  # no GetObject, no HeadObject
    assert _lake_billed(lake) == (_cost(rows, column), len(rows))

    # A new execution restates September: one line's cost changes and one line is gone.
    restated = copy.deepcopy(rows[:-1])
    restated[0][column] = str(Decimal(restated[0][column]) + Decimal("100.25"))
    _put_cur2(s3.client, "exec-2", [restated], header, folder="exec-2/")
    s3.reset()
    third = ingest_s3(f"s3://{BUCKET}/exports/", lake, s3.client)
    assert third.read == [f"s3://{BUCKET}/{CUR2_MANIFEST_KEY}"]
    assert len(third.files_fetched) == 1
    assert third.reports[0].rows_replaced == len(rows)
    assert _lake_billed(lake) == (_cost(restated, column), len(restated))


def test_legacy_cur_new_assembly_replaces_the_period(s3: CountingS3, tmp_path: Path) -> None:
    header, rows = read_rows(LEGACY_CSV)
    column = COST_COLUMN[LEGACY_CSV]
    base = json.loads((MANIFESTS / "legacy-Manifest.json").read_text())

    def deliver(assembly: str, delivered: list[dict[str, str]]) -> None:
        key = f"{LEGACY_REPORT}/20240901-20241001/{assembly}/ml-cur-1.csv.gz"
        s3.client.put_object(Bucket=BUCKET, Key=key, Body=_csv_gz(header, delivered))
        manifest = {**base, "assemblyId": assembly, "reportKeys": [key]}
        body = json.dumps(manifest).encode()
        s3.client.put_object(Bucket=BUCKET, Key=f"{LEGACY_REPORT}/20240901-20241001/{assembly}/ml-cur-Manifest.json",
                             Body=body)
        s3.client.put_object(Bucket=BUCKET, Key=LEGACY_MANIFEST_KEY, Body=body)

    lake = tmp_path / "lake"
    deliver("aaaaaaaa-0000-4000-8000-000000000001", rows[:8])
    first = ingest_s3(f"s3://{BUCKET}/legacy", lake, s3.client)
    assert first.manifests_found == 1  # the assembly folder's copy is history, not a delivery
    assert [r.format for r in first.reports] == ["legacy CUR"]
    assert _lake_billed(lake) == (_cost(rows[:8], column), 8)

    deliver("aaaaaaaa-0000-4000-8000-000000000002", rows)
    second = ingest_s3(f"s3://{BUCKET}/legacy", lake, s3.client)
    assert second.reports[0].rows_replaced == 8
    assert _lake_billed(lake) == (_cost(rows, column), len(rows))

    s3.reset()
    third = ingest_s3(f"s3://{BUCKET}/legacy", lake, s3.client)
    assert third.files_fetched == [] and s3.calls["GetObject"] == 0


def test_manifest_listing_a_missing_file_stores_nothing(s3: CountingS3, tmp_path: Path) -> None:
    header, rows = read_rows(CUR2_CSV)
    keys = _put_cur2(s3.client, "exec-1", [rows[:6], rows[6:]], header)
    s3.client.delete_object(Bucket=BUCKET, Key=keys[1])
    lake = tmp_path / "lake"
    with pytest.raises(IngestError, match=r"ml-cur2-00002\.csv\.gz, which does not exist"):
        ingest_s3(f"s3://{BUCKET}/exports/", lake, s3.client)
    assert not list(lake.glob("focus/*/*/*.parquet"))


def test_bad_manifest_is_named(s3: CountingS3, tmp_path: Path) -> None:
    s3.client.put_object(Bucket=BUCKET, Key=CUR2_MANIFEST_KEY, Body=json.dumps({"executionId": "x"}).encode())
    with pytest.raises(IngestError, match=r"ml-cur2-Manifest\.json: not a CUR 2\.0 manifest \(dataFiles: Field required"):
        ingest_s3(f"s3://{BUCKET}/exports/", tmp_path / "lake", s3.client)


def test_prefix_without_manifests_is_refused(s3: CountingS3, tmp_path: Path) -> None:
    s3.client.put_object(Bucket=BUCKET, Key="exports/readme.txt", Body=b"hello")
    with pytest.raises(IngestError, match="no CUR manifest found"):
        ingest_s3(f"s3://{BUCKET}/exports/", tmp_path / "lake", s3.client)


def test_latest_manifest_of_a_period_wins(s3: CountingS3) -> None:
    header, rows = read_rows(CUR2_CSV)
    _put_cur2(s3.client, "exec-1", [rows], header)
    older = f"{EXPORT}/metadata/BILLING_PERIOD=2024-09/exec-0/ml-cur2-Manifest.json"
    s3.client.put_object(Bucket=BUCKET, Key=older, Body=b"{}")
    s3.client.put_object(Bucket=BUCKET, Key=CUR2_MANIFEST_KEY, Body=b"{}")  # written last
    deliveries = find_deliveries(BUCKET, list_objects(s3.client, BUCKET, "exports/"))
    assert [d.manifest.key for d in deliveries] == [CUR2_MANIFEST_KEY]


def test_cli_ingests_an_s3_prefix(s3: CountingS3, aws_endpoint: str, tmp_path: Path) -> None:
    header, rows = read_rows(CUR2_CSV)
    _put_cur2(s3.client, "exec-1", [rows], header)
    env = {"SPENDPILOT_HOME": str(tmp_path / "home"), "SPENDPILOT_AWS__ENDPOINT_URL": aws_endpoint}
    first = run_cli("ingest", f"s3://{BUCKET}/exports/", env=env)
    assert first.returncode == 0, first.stderr
    assert "1 delivery(ies) read" in first.stdout
    assert f"s3://{BUCKET}/{EXPORT}/data/BILLING_PERIOD=2024-09/ml-cur2-00001.csv.gz: read 13" in first.stdout
    again = run_cli("ingest", f"s3://{BUCKET}/exports/", env=env)
    assert again.returncode == 0, again.stderr
    assert "0 delivery(ies) read, 1 unchanged since last read; 0 file(s) fetched" in again.stdout
    missing = run_cli("ingest", "s3://no-such-bucket-here/x/", env=env)
    assert missing.returncode != 0
    assert "no-such-bucket-here" in missing.stderr


def test_a_bad_delivery_stops_there_and_earlier_ones_stay_recorded(s3: CountingS3, tmp_path: Path) -> None:
    header, rows = read_rows(CUR2_CSV)
    _put_cur2(s3.client, "exec-1", [rows], header)
    october = "exports/ml-cur2/data/BILLING_PERIOD=2024-10/ml-cur2-00001.csv.gz"
    s3.client.put_object(Bucket=BUCKET, Key=october, Body=gzip.compress(b"not,a,cur\n1,2,3\n"))
    manifest = {"executionId": "exec-oct", "dataFiles": [f"s3://{BUCKET}/{october}"]}
    october_manifest = "exports/ml-cur2/metadata/BILLING_PERIOD=2024-10/ml-cur2-Manifest.json"
    s3.client.put_object(Bucket=BUCKET, Key=october_manifest, Body=json.dumps(manifest).encode())
    lake = tmp_path / "lake"

    with pytest.raises(IngestError, match=rf"^s3://{BUCKET}/{october}: not a FOCUS file"):
        ingest_s3(f"s3://{BUCKET}/exports/", lake, s3.client)
    assert _lake_billed(lake) == (_cost(rows, COST_COLUMN[CUR2_CSV]), len(rows))  # September committed

    s3.client.delete_object(Bucket=BUCKET, Key=october_manifest)
    s3.reset()
    again = ingest_s3(f"s3://{BUCKET}/exports/", lake, s3.client)
    assert again.files_fetched == [] and s3.calls["GetObject"] == 0  # September was recorded


def test_quarantined_rows_name_the_s3_object(s3: CountingS3, tmp_path: Path) -> None:
    header, rows = read_rows(CUR2_CSV)
    column = COST_COLUMN[CUR2_CSV]
    bad = copy.deepcopy(rows)
    bad[2][column] = "twelve"
    keys = _put_cur2(s3.client, "exec-1", [bad], header)
    result = ingest_s3(f"s3://{BUCKET}/exports/", tmp_path / "lake", s3.client)
    [report] = result.reports
    assert (report.rows_stored, report.rows_quarantined) == (len(rows) - 1, 1)
    [example] = report.examples
    assert (example.file, example.row, example.field) == (f"s3://{BUCKET}/{keys[0]}", 3, column)
    assert _lake_billed(tmp_path / "lake")[0] == _cost(rows, column) - Decimal(rows[2][column])


def test_scratch_left_by_a_killed_ingest_is_removed(s3: CountingS3, tmp_path: Path) -> None:
    import os
    import time

    lake = tmp_path / "lake"
    stale = lake / "sources" / "download-killed"
    fresh = lake / "sources" / "download-running"
    for folder in (stale, fresh):
        folder.mkdir(parents=True)
    day_ago = time.time() - 25 * 3600
    os.utime(stale, (day_ago, day_ago))
    header, rows = read_rows(CUR2_CSV)
    _put_cur2(s3.client, "exec-1", [rows], header)
    ingest_s3(f"s3://{BUCKET}/exports/", lake, s3.client)
    assert not stale.exists() and fresh.exists()
    assert sorted(p.name for p in (lake / "sources").iterdir()) == ["download-running", "s3-cur.json"]
