"""The emulator's faster GetMetricData and ListMetrics answer exactly as moto's own code does.

Both are run on the same backend state (the demo's seeded metrics, plus series with repeated,
multiple, missing and unit-filtered dimensions) and every answer is compared.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from moto.cloudwatch.models import cloudwatch_backends

from spendpilot.scenarios.emulator import LocalAwsEmulator
from spendpilot.scenarios.emulator_cloudwatch import install, moto_originals

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)


def _put(cw: Any) -> None:
    series = [
        ("AWS/EC2", "CPUUtilization", [{"Name": "InstanceId", "Value": "i-1"}], None),
        ("AWS/EC2", "CPUUtilization", [{"Name": "InstanceId", "Value": "i-2"}], "Percent"),
        ("CWAgent", "nvidia_smi_utilization_gpu",
         [{"Name": "host", "Value": "ip-10-0-0-1"}, {"Name": "index", "Value": "0"}], None),
        ("CWAgent", "nvidia_smi_utilization_gpu",
         [{"Name": "index", "Value": "1"}, {"Name": "host", "Value": "ip-10-0-0-1"}], None),
        ("Other", "CPUUtilization", [{"Name": "InstanceId", "Value": "i-1"}], "Count"),
        ("AWS/EC2", "NoDims", [], None),
    ]
    for n, (namespace, name, dims, unit) in enumerate(series):
        data = []
        for h in range(0, 30):
            item: dict[str, Any] = {
                "MetricName": name, "Dimensions": dims, "Value": float((h * 7 + n) % 13),
                "Timestamp": NOW - timedelta(hours=h, minutes=(h * 11) % 60),
            }
            if unit:
                item["Unit"] = unit
            data.append(item)
        cw.put_metric_data(Namespace=namespace, MetricData=data)


@pytest.fixture
def emulator_url() -> Any:
    emulator = LocalAwsEmulator()  # installs the replacements
    assert install(), "moto is not a version the replacements were checked against"
    url = emulator.start()
    # moto's backends are this process's: an S3 bucket an earlier test left behind would add
    # S3 storage metrics that moto builds afresh on every read, and ids would never match
    emulator.reset()
    try:
        cw = boto3.client("cloudwatch", endpoint_url=url, region_name="us-east-1")
        _put(cw)
        yield url
    finally:
        emulator.stop()


@pytest.fixture
def backend(emulator_url: str) -> Any:
    return cloudwatch_backends["123456789012"]["us-east-1"]


def _query(qid: str, namespace: str, name: str, dims: list[dict[str, str]], stat: str, period: int,
           unit: str | None = None, **extra: Any) -> dict[str, Any]:
    spec: dict[str, Any] = {"Metric": {"Namespace": namespace, "MetricName": name, "Dimensions": dims},
                            "Period": period, "Stat": stat}
    if unit:
        spec["Unit"] = unit
    return {"Id": qid, "MetricStat": spec, **extra}


def test_get_metric_data_matches_moto(backend: Any) -> None:
    gpu0 = [{"Name": "host", "Value": "ip-10-0-0-1"}, {"Name": "index", "Value": "0"}]
    queries = [
        _query("a", "AWS/EC2", "CPUUtilization", [{"Name": "InstanceId", "Value": "i-1"}], "Average", 3600),
        _query("b", "AWS/EC2", "CPUUtilization", [], "Maximum", 7200),
        _query("c", "CWAgent", "nvidia_smi_utilization_gpu", gpu0, "Sum", 3600),
        _query("d", "CWAgent", "nvidia_smi_utilization_gpu", list(reversed(gpu0)), "SampleCount", 1800),
        _query("e", "AWS/EC2", "CPUUtilization", [{"Name": "InstanceId", "Value": "i-2"}], "Minimum", 3600,
               unit="Percent", Label="cpu"),
        _query("f", "AWS/EC2", "NoDims", [], "Average", 600, ReturnData=False),
        _query("h", "AWS/EC2", "CPUUtilization", [{"Name": "InstanceId", "Value": "i-1"}], "Sum", 3600, unit="Count"),
        _query("g", "Wrong", "CPUUtilization", [{"Name": "InstanceId", "Value": "i-1"}], "Average", 3600),
    ]
    for start, end in [(NOW - timedelta(days=1), NOW), (NOW - timedelta(hours=5, minutes=17), NOW + timedelta(hours=1))]:
        for scan_by in ("TimestampAscending", "TimestampDescending"):
            start, end = start.replace(tzinfo=None), end.replace(tzinfo=None)  # as moto parses a request
            ours = backend.get_metric_data(queries, start, end, scan_by)
            theirs = moto_originals["get_metric_data"](backend, queries, start, end, scan_by)
            assert ours == theirs
            assert any(r["values"] for r in ours)


def test_list_metrics_matches_moto(backend: Any) -> None:
    for name, namespace, dims in [
        ("", "", []), ("CPUUtilization", "", []), ("", "CWAgent", []), ("nvidia_smi_utilization_gpu", "", []),
        ("", "", [{"Name": "InstanceId", "Value": "i-1"}]), ("", "", [{"Name": "index"}]),
    ]:
        ours = backend.get_filtered_metrics(name, namespace, dims)
        theirs = moto_originals["get_filtered_metrics"](backend, name, namespace, dims)
        assert [id(m) for m in ours] == [id(m) for m in theirs]
        assert ours


def test_list_metrics_answers_over_http_as_moto_does(emulator_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """The whole ListMetrics answer, pages and tokens included, as boto3 reads it from moto's own
    response code and from the replacement."""
    from moto.cloudwatch import responses

    cw = boto3.client("cloudwatch", endpoint_url=emulator_url, region_name="us-east-1")
    cw.put_metric_data(Namespace="Many", MetricData=[  # 600 datapoints of a two-dimension series: two pages
        {"MetricName": "gpu", "Dimensions": [{"Name": "host", "Value": "h"}, {"Name": "index", "Value": "0"}],
         "Value": 1.0, "Timestamp": NOW - timedelta(minutes=m)} for m in range(600)])
    filters: list[dict[str, Any]] = [
        {}, {"Namespace": "CWAgent"}, {"MetricName": "CPUUtilization"}, {"Namespace": "Many", "MetricName": "gpu"},
        {"Dimensions": [{"Name": "InstanceId", "Value": "i-1"}]}, {"Dimensions": [{"Name": "index"}]},
    ]

    def listing() -> list[list[dict[str, Any]]]:
        pages = []
        for kwargs in filters:
            token: str | None = None
            while True:
                page = cw.list_metrics(**kwargs, **({"NextToken": token} if token else {}))
                pages.append(page["Metrics"])
                token = page.get("NextToken")
                if not token:
                    break
        return pages

    ours = listing()
    monkeypatch.setattr(responses.CloudWatchResponse, "list_metrics", moto_originals["list_metrics"])
    theirs = listing()
    assert ours == theirs
    assert len(ours) > len(filters) and all(ours[:1])

