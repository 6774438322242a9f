"""S3 replication rules, and whether anyone reads the replicas; the call that disables a rule.

Cross-region replication (CRR) bills every replicated byte as inter-region transfer out of the
source region, plus the replica's storage and PUTs. What a sweep reads (S3 API Reference; Amazon
S3 User Guide, "Monitoring metrics with Amazon CloudWatch"):

- ``ListBuckets``; ``GetBucketLocation`` (``null`` = us-east-1) to keep the buckets of this
  source's region; ``GetBucketReplication`` (``ReplicationConfigurationNotFoundError`` = none):
  each rule's ``ID``, ``Status``, ``Priority``, ``Destination.Bucket`` (an ARN);
  ``GetBucketLocation`` of the destination.
- Reads of the destination: S3 *request metrics* in ``AWS/S3`` by ``BucketName`` and ``FilterId``,
  published only for a bucket with a metrics configuration, and only for minutes with requests.
  The configuration's id is taken from the destination's own ``PutRequests`` / ``BytesUploaded``
  series (``ListMetrics`` in the destination region): replication writes there, so a configured
  destination has them. Its ``GetRequests`` (Sum) over the window is its reads; no datapoint means
  none. ``BytesUploaded`` (Sum) is the bytes replication wrote, the transfer the rule costs. A
  destination without request metrics is not judged (no evidence of no reads). S3 server access
  logs would also show reads; they are not read.

``PutBucketReplication`` replaces the whole configuration, so disabling one rule writes the
configuration back with that rule's ``Status`` set to ``Disabled`` and every other rule unchanged.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from botocore.exceptions import ClientError

from spendpilot.domain import Resource, ResourceRef
from spendpilot.domain.metrics import MetricId

REPLICATION_RULE = "s3_replication_rule"
"""The ``ResourceRef.kind`` of one replication rule; its id is ``<bucket>/<rule id>``."""
S3_GET_REQUESTS = MetricId("AWS/S3", "GetRequests")
S3_BYTES_UPLOADED = MetricId("AWS/S3", "BytesUploaded")
DAY = 86400


def bucket_region(client: Any, bucket: str) -> str:
    return client.get_bucket_location(Bucket=bucket).get("LocationConstraint") or "us-east-1"


def _code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


class S3ReplicationApi:
    def __init__(self, client: Any, region: str, cloudwatch_in: Callable[[str], Any], writer: Any = None) -> None:
        self._client = client
        self._writer = writer or client
        self.region = region
        self._cloudwatch_in = cloudwatch_in

    def configuration(self, bucket: str) -> dict[str, Any] | None:
        try:
            return dict(self._client.get_bucket_replication(Bucket=bucket)["ReplicationConfiguration"])
        except ClientError as exc:
            if _code(exc) in ("ReplicationConfigurationNotFoundError", "NoSuchReplicationConfiguration"):
                return None
            raise

    def list_rules(self, *, start: datetime, end: datetime) -> list[Resource]:
        out: list[Resource] = []
        for b in self._client.list_buckets().get("Buckets", []):
            name = b["Name"]
            if bucket_region(self._client, name) != self.region:
                continue
            config = self.configuration(name)
            for rule in (config or {}).get("Rules", []):
                out.append(self._rule(name, rule, start=start, end=end))
        return out

    def describe_rule(self, bucket: str, rule_id: str) -> dict[str, Any] | None:
        config = self.configuration(bucket)
        return next((r for r in (config or {}).get("Rules", []) if r.get("ID") == rule_id), None)

    def _rule(self, bucket: str, rule: dict[str, Any], *, start: datetime, end: datetime) -> Resource:
        dest_arn = rule.get("Destination", {}).get("Bucket", "")
        dest = dest_arn.rsplit(":", 1)[-1]
        try:
            dest_region: str | None = bucket_region(self._client, dest)
        except ClientError:
            dest_region = None  # another account's bucket: its location is not ours to read
        reads = self._destination_activity(dest, dest_region, start, end) if dest_region else None
        return Resource(
            ref=ResourceRef(provider="aws", kind=REPLICATION_RULE, id=f"{bucket}/{rule.get('ID')}",
                            name=f"{bucket}/{rule.get('ID')}", region=self.region),
            attributes={
                "bucket": bucket, "rule_id": rule.get("ID"), "status": rule.get("Status"),
                "priority": rule.get("Priority"), "destination_bucket": dest, "destination_region": dest_region,
                "destination_metrics_filter": reads["filter_id"] if reads else None,
                "destination_get_requests": reads["gets"] if reads else None,
                "destination_bytes_uploaded": reads["bytes_uploaded"] if reads else None,
                "watched_from": start.isoformat(), "watched_until": end.isoformat(),
            },
        )

    def _destination_activity(self, dest: str, region: str, start: datetime, end: datetime) -> dict[str, Any] | None:
        """The destination's request-metrics filter id, GETs and bytes written over the window;
        None when it publishes no request metrics (no configuration: no evidence)."""
        cw = self._cloudwatch_in(region)
        filters: set[str] = set()
        for metric in ("PutRequests", S3_BYTES_UPLOADED.name, S3_GET_REQUESTS.name):
            page = cw.list_metrics(Namespace="AWS/S3", MetricName=metric,
                                   Dimensions=[{"Name": "BucketName", "Value": dest}])
            for m in page.get("Metrics", []):
                dims = {d["Name"]: d["Value"] for d in m.get("Dimensions", [])}
                if "FilterId" in dims:
                    filters.add(dims["FilterId"])
        if not filters:
            return None
        filter_id = "EntireBucket" if "EntireBucket" in filters else sorted(filters)[0]
        sums: dict[str, float] = {}
        for key, wanted in (("gets", S3_GET_REQUESTS), ("bytes_uploaded", S3_BYTES_UPLOADED)):
            reply = cw.get_metric_statistics(
                Namespace=wanted.namespace, MetricName=wanted.name, StartTime=start, EndTime=end, Period=DAY,
                Statistics=["Sum"], Dimensions=[{"Name": "BucketName", "Value": dest}, {"Name": "FilterId", "Value": filter_id}],
            )
            sums[key] = sum(float(p["Sum"]) for p in reply.get("Datapoints", []))
        return {"filter_id": filter_id, **sums}

    def set_rule_status(self, bucket: str, rule_id: str, status: str) -> None:
        """Write the configuration back with one rule's ``Status`` changed, every other rule as it was."""
        config = self.configuration(bucket)
        if config is None:
            raise KeyError(f"{bucket} has no replication configuration")
        rules = [{**r, "Status": status} if r.get("ID") == rule_id else r for r in config.get("Rules", [])]
        self._writer.put_bucket_replication(Bucket=bucket, ReplicationConfiguration={**config, "Rules": rules})
