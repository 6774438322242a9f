"""The `cur_s3` source kind: a sweep ingests new CUR deliveries from S3 (moto server over HTTP)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import boto3
from tests.lake.cur_files import CUR2_CSV, read_rows
from tests.lake.test_cur_s3 import BUCKET, _put_cur2

from spendpilot.adapters.base import SourceContext, build_sources
from spendpilot.agent.collect import collect_snapshot
from spendpilot.lake import CostLake

CTX = SourceContext(now=datetime(2024, 9, 20, tzinfo=UTC), prices=None)


def test_each_sweep_ingests_only_new_deliveries(aws_endpoint: str, tmp_path: Path) -> None:
    s3 = boto3.client("s3", endpoint_url=aws_endpoint, region_name="us-east-1")
    s3.create_bucket(Bucket=BUCKET)
    header, rows = read_rows(CUR2_CSV)
    _put_cur2(s3, "exec-1", [rows], header)
    [source] = build_sources([{"kind": "cur_s3", "url": f"s3://{BUCKET}/exports/", "endpoint_url": aws_endpoint}],
                             tmp_path)

    first = collect_snapshot([source], CTX)
    assert first.gaps == []
    assert "1 delivery(ies) read" in first.sources[0] and "13 rows stored" in first.sources[0]
    assert CostLake(tmp_path / "lake").row_count() == 13

    second = collect_snapshot([source], CTX)
    assert "0 delivery(ies) read, 1 unchanged" in second.sources[0]
    assert CostLake(tmp_path / "lake").row_count() == 13


def test_unreadable_bucket_is_a_named_gap(aws_endpoint: str, tmp_path: Path) -> None:
    [source] = build_sources([{"kind": "cur_s3", "name": "billing bucket", "url": "s3://not-there/cur/",
                               "endpoint_url": aws_endpoint}], tmp_path)
    snapshot = collect_snapshot([source], CTX)
    [gap] = snapshot.gaps
    assert gap.source == "billing bucket"
    assert "s3:ListObjectsV2" in gap.error and "s3://not-there/cur/" in gap.error
    assert not (tmp_path / "lake" / "focus").exists()
