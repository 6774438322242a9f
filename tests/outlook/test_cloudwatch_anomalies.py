"""Hourly anomalies from CloudWatch: Bedrock's per-model metrics (AWS/Bedrock, by ModelId),
published to the emulator with PutMetricData, read back at one-hour periods through the AWS
source and judged against the same hour of earlier weeks.

Five weeks of office-hours traffic with quiet nights, a nightly batch hour, quiet weekends and
10 % noise for two models; a planted 3x spike in one of them is flagged with that model as the
driver, from its first hour of data; the same series without the spike raises nothing.
"""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
from tests.conftest import run_cli

from spendpilot.adapters.aws.source_aws import AwsRegionSource, AwsSourceSettings
from spendpilot.outlook.anomalies import find_anomalies, hourly_cloudwatch_anomalies
from spendpilot.outlook.settings import AnomalySettings
from spendpilot.savings.pricebook import PriceBook

SONNET = "anthropic.claude-3-5-sonnet-20240620-v1:0"
HAIKU = "us.anthropic.claude-3-5-haiku-20241022-v1:0"
PRICES = PriceBook.bundled()
WEEKS = 5


def _shape(at: datetime) -> float:
    """Share of the peak hour's traffic: office hours on weekdays, a nightly batch, quiet weekends."""
    if at.hour == 2:
        return 0.8
    if at.weekday() >= 5:
        return 0.1
    return 1.0 if 9 <= at.hour < 18 else 0.2


def _publish(endpoint: str, end: datetime, *, spike_at: datetime | None = None, spike_hours: int = 2,
             factor: float = 3.0, seed: int = 7) -> None:
    """Hourly Invocations / InputTokenCount / OutputTokenCount per model for WEEKS weeks before ``end``."""
    cw = boto3.client("cloudwatch", endpoint_url=endpoint, region_name="us-east-1")
    rng = random.Random(seed)
    data: list[dict[str, Any]] = []
    hour = end - timedelta(weeks=WEEKS)
    while hour < end:
        for model, peak in ((SONNET, 400), (HAIKU, 900)):
            calls = peak * _shape(hour) * rng.uniform(0.9, 1.1)
            if model == SONNET and spike_at is not None and spike_at <= hour < spike_at + timedelta(hours=spike_hours):
                calls *= factor
            dims = [{"Name": "ModelId", "Value": model}]
            at = hour + timedelta(minutes=rng.randrange(0, 60))  # somewhere in the hour, summed per hour
            data += [
                {"MetricName": "Invocations", "Dimensions": dims, "Timestamp": at, "Value": round(calls)},
                {"MetricName": "InputTokenCount", "Dimensions": dims, "Timestamp": at, "Value": round(calls * 2000)},
                {"MetricName": "OutputTokenCount", "Dimensions": dims, "Timestamp": at, "Value": round(calls * 300)},
            ]
        hour += timedelta(hours=1)
    for i in range(0, len(data), 500):
        cw.put_metric_data(Namespace="AWS/Bedrock", MetricData=data[i:i + 500])


def _source(endpoint: str, **extra: Any) -> AwsRegionSource:
    return AwsRegionSource(AwsSourceSettings(name="aws main", endpoint_url=endpoint, bedrock_feature="support-bot",
                                             **extra), "us-east-1")


def _now() -> datetime:
    return datetime.now(UTC).replace(minute=20, second=0, microsecond=0)


def test_a_planted_spike_is_flagged_from_its_first_hour_with_its_model(aws_endpoint: str) -> None:
    now = _now()
    end = now.replace(minute=0)  # the hour `now` falls in is still filling: judged are the hours before
    spike = end - timedelta(hours=2)
    _publish(aws_endpoint, end, spike_at=spike)
    report = hourly_cloudwatch_anomalies([_source(aws_endpoint)], PRICES, AnomalySettings(), now=now)
    assert report.checked and report.checked[0].startswith("hourly Bedrock cost (aws main, feature support-bot)")
    [anomaly] = report.anomalies
    assert (anomaly.source, anomaly.granularity, anomaly.dimension, anomaly.value) == (
        "cloudwatch", "hour", "feature", "support-bot")
    assert anomaly.start == spike, "flagged from the spike's first hour (detection delay 0 h)"
    assert anomaly.last == spike + timedelta(hours=1) and anomaly.ongoing
    assert anomaly.drivers[0].dimension == "model" and anomaly.drivers[0].value == SONNET
    assert anomaly.ratio > 2 and anomaly.excess > 1


def test_one_hour_of_spike_is_enough(aws_endpoint: str) -> None:
    """Data up to the spike's first hour only: it is flagged within that hour's data."""
    now = _now()
    end = now.replace(minute=0)
    _publish(aws_endpoint, end, spike_at=end - timedelta(hours=1), spike_hours=1, seed=11)
    [anomaly] = hourly_cloudwatch_anomalies([_source(aws_endpoint)], PRICES, AnomalySettings(), now=now).anomalies
    assert anomaly.start == end - timedelta(hours=1)


def test_no_spike_no_alarm_over_the_lookback(aws_endpoint: str) -> None:
    now = _now()
    _publish(aws_endpoint, now.replace(minute=0), seed=23)
    report = hourly_cloudwatch_anomalies([_source(aws_endpoint)], PRICES, AnomalySettings(lookback_hours=168),
                                         now=now)
    assert report.checked and report.anomalies == []


def test_an_unreadable_source_is_a_note_not_a_clean_bill(aws_endpoint: str) -> None:
    closed = _source("http://127.0.0.1:9", max_attempts=1, connect_timeout=1)
    report = find_anomalies(Path("/nonexistent-lake"), PRICES, AnomalySettings(), sources=[closed])
    assert any(n.startswith("aws main: hourly Bedrock usage not read from CloudWatch") for n in report.notes), report.notes
    assert report.anomalies == []
    empty = hourly_cloudwatch_anomalies([_source(aws_endpoint)], PRICES, AnomalySettings())
    assert empty.notes == ["aws main: no Bedrock usage in CloudWatch (AWS/Bedrock) in the last 1008 h"]


def test_the_command_reads_cloudwatch_when_switched_on(aws_endpoint: str, tmp_path: Path) -> None:
    end = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    _publish(aws_endpoint, end, spike_at=end - timedelta(hours=2))
    config = tmp_path / "spendpilot.toml"
    config.write_text(f'[aws]\nendpoint_url = "{aws_endpoint}"\n\n[anomalies]\ncloudwatch_hourly = true\n')
    env = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}
    proc = run_cli("anomalies", "--json", "--config", str(config), "--home", str(tmp_path / "home"), env=env, check=True)
    report = json.loads(proc.stdout)
    [anomaly] = [a for a in report["anomalies"] if a["source"] == "cloudwatch"]
    assert anomaly["value"] == "bedrock" and anomaly["drivers"][0]["value"] == SONNET


def test_cloudwatch_is_read_only_when_switched_on(tmp_path: Path) -> None:
    from spendpilot.config import Settings
    from spendpilot.outlook.anomalies import cloudwatch_sources

    aws = {"endpoint_url": "http://127.0.0.1:9"}
    assert cloudwatch_sources(Settings(home=tmp_path, aws=aws)) == []
    [source] = cloudwatch_sources(Settings(home=tmp_path, aws=aws, anomalies={"cloudwatch_hourly": True}))
    assert hasattr(source, "hourly_llm_usage")
    report = find_anomalies(tmp_path / "lake", PRICES, AnomalySettings())
    assert any("cloudwatch_hourly = true" in n for n in report.notes)
