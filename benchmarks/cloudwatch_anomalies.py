"""Hourly anomalies through CloudWatch: delay to flag a planted spike, and false alarms.

Usage: ``python benchmarks/cloudwatch_anomalies.py [--seeds 10] [--weeks 5]``

The same generated hourly cost as ``benchmarks/anomaly_detection.py`` (``outlook.synthetic``:
office hours, a nightly batch hour, quiet weekends, a trend, 15 % lognormal noise), turned into
Bedrock metrics for one model (2,000 input and 300 output tokens a call) and published with
PutMetricData to a local moto server; then read back as ``spendpilot anomalies`` does with
``[anomalies] cloudwatch_hourly = true`` (ListMetrics, GetMetricData at one-hour periods, priced
with the price book) and judged with the default settings. One 4-hour spike per seed, starting
somewhere in the last 40 hours. Delay = the anomaly's first hour minus the spike's first hour
(0: flagged on the spike's first hour of data; the detector is causal). False alarms: the same
seeds without the spike, over the last 168 hours. Prints figures; never passes or fails.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

import boto3  # noqa: E402

from spendpilot.adapters.aws.source_aws import AwsRegionSource, AwsSourceSettings  # noqa: E402
from spendpilot.outlook.anomalies import hourly_cloudwatch_anomalies  # noqa: E402
from spendpilot.outlook.settings import AnomalySettings  # noqa: E402
from spendpilot.outlook.synthetic import Spike, hourly_series  # noqa: E402
from spendpilot.savings.pricebook import PriceBook  # noqa: E402
from spendpilot.scenarios.emulator import LocalAwsEmulator  # noqa: E402

MODEL = "anthropic.claude-3-5-sonnet-20240620-v1:0"
COST_PER_CALL = 2000 * 3e-6 + 300 * 15e-6  # its list price per input and output token


def publish(endpoint: str, costs: list[float], end: datetime) -> None:
    cw = boto3.client("cloudwatch", endpoint_url=endpoint, region_name="us-east-1")
    dims = [{"Name": "ModelId", "Value": MODEL}]
    first = end - timedelta(hours=len(costs))
    data: list[dict[str, Any]] = []
    for i, cost in enumerate(costs):
        calls, at = cost / COST_PER_CALL, first + timedelta(hours=i, minutes=30)
        data += [{"MetricName": "Invocations", "Dimensions": dims, "Timestamp": at, "Value": round(calls)},
                 {"MetricName": "InputTokenCount", "Dimensions": dims, "Timestamp": at, "Value": round(calls) * 2000},
                 {"MetricName": "OutputTokenCount", "Dimensions": dims, "Timestamp": at, "Value": round(calls) * 300}]
    for i in range(0, len(data), 500):
        cw.put_metric_data(Namespace="AWS/Bedrock", MetricData=data[i:i + 500])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--weeks", type=int, default=5)
    args = parser.parse_args()
    emulator = LocalAwsEmulator()
    endpoint = emulator.start()
    os.environ.update(AWS_ACCESS_KEY_ID="bench", AWS_SECRET_ACCESS_KEY="bench")  # moto accepts any
    source = AwsRegionSource(AwsSourceSettings(name="bench", endpoint_url=endpoint, bedrock_feature="bench"),
                             "us-east-1")
    prices = PriceBook.bundled()
    now = datetime.now(UTC).replace(minute=20, second=0, microsecond=0)
    end = now.replace(minute=0)
    n = args.weeks * 168
    started = time.perf_counter()
    for factor in (2.0, 3.0, 5.0):
        delays: list[int] = []
        missed = 0
        for seed in range(args.seeds):
            at = n - 40 + (seed * 7) % 36  # a different hour of the last 40 for each seed
            emulator.reset()
            publish(endpoint, hourly_series(args.weeks, seed=seed, spikes=[Spike(at=at, factor=factor, hours=4)]), end)
            report = hourly_cloudwatch_anomalies([source], prices, AnomalySettings(), now=now)
            spike_start = end - timedelta(hours=n - at)
            hits = [a for a in report.anomalies if spike_start <= a.start < spike_start + timedelta(hours=4)]
            if hits:
                delays.append(int((min(a.start for a in hits) - spike_start) / timedelta(hours=1)))
            else:
                missed += 1
        within = sum(d <= 1 for d in delays)
        print(f"x{factor:g} spike: flagged {len(delays)}/{args.seeds}, within 2 h of data {within}/{args.seeds}, "
              f"median delay {statistics.median(delays) if delays else '-'} h, max {max(delays) if delays else '-'} h")
    alarms = 0
    for seed in range(args.seeds):
        emulator.reset()
        publish(endpoint, hourly_series(args.weeks, seed=1000 + seed), end)
        alarms += len(hourly_cloudwatch_anomalies([source], prices, AnomalySettings(lookback_hours=168),
                                                  now=now).anomalies)
    print(f"false alarms without spikes: {alarms} in {args.seeds * 168:,} judged hours")
    print(f"({time.perf_counter() - started:.0f} s, moto server at {endpoint})")
    emulator.stop()


if __name__ == "__main__":
    main()
