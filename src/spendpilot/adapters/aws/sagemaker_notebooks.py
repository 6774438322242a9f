"""SageMaker notebook instances: which are in service, when someone last used Jupyter on them, and
the calls that stop and start one.

A notebook instance bills its instance type by the hour while ``InService``, used or not; stopped,
it bills only its ML storage volume, and ``StartNotebookInstance`` brings it back with the volume's
files (``Pending`` → ``InService``, minutes). What a sweep reads (SageMaker API Reference, and the
Developer Guide's "Log Amazon SageMaker AI Events with Amazon CloudWatch"):

- ``ListNotebookInstances`` (``StatusEquals=InService``) and ``DescribeNotebookInstance``:
  ``InstanceType``, ``NotebookInstanceStatus``, ``CreationTime``, ``LastModifiedTime`` (changed by
  a start, stop or update, *not* by using the notebook), ``VolumeSizeInGB``; ``ListTags``.
- Use: SageMaker has no CloudWatch metric for a notebook instance. Its Jupyter server writes its
  log to CloudWatch Logs, group ``/aws/sagemaker/NotebookInstances``, stream
  ``<name>/jupyter.log``; every request a browser or kernel makes is a log line, so the stream's
  ``lastEventTimestamp`` (``DescribeLogStreams``) is the last time anyone used it. A notebook
  without that stream (logging denied to its role, or never opened) has no evidence of idleness
  either way, and is left alone.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import ClientError

from spendpilot.adapters.aws.sagemaker_common import (
    ABSENT,
    account_of,
    describe_or_none,
    iso,
    list_tags,
)
from spendpilot.domain import Resource, ResourceRef

NOTEBOOK = "sagemaker_notebook"
"""The ``ResourceRef.kind`` of a SageMaker notebook instance; its id is the instance name."""
NOTEBOOK_LOG_GROUP = "/aws/sagemaker/NotebookInstances"


def jupyter_log_stream(name: str) -> str:
    return f"{name}/jupyter.log"


class NotebooksApi:
    def __init__(self, client: Any, logs: Any, region: str, writer: Any = None) -> None:
        self._client = client
        self._logs = logs
        self._writer = writer or client
        self.region = region

    # -- reading -------------------------------------------------------------------------

    def list_in_service(self) -> list[Resource]:
        names: list[str] = []
        kwargs: dict[str, Any] = {"StatusEquals": "InService"}
        while True:
            page = self._client.list_notebook_instances(**kwargs)
            names.extend(n["NotebookInstanceName"] for n in page.get("NotebookInstances", []))
            if not page.get("NextToken"):
                break
            kwargs["NextToken"] = page["NextToken"]
        found = [self.describe(name) for name in names]
        return [r for r in found if r is not None]

    def describe(self, name: str) -> Resource | None:
        nb = describe_or_none(self._client.describe_notebook_instance, NotebookInstanceName=name)
        if nb is None:
            return None
        arn = nb["NotebookInstanceArn"]
        return Resource(
            ref=ResourceRef(provider="aws", kind=NOTEBOOK, id=name, name=name, region=self.region,
                            account=account_of(arn)),
            tags=self.tags(arn),
            attributes={
                "status": nb["NotebookInstanceStatus"],
                "instance_type": nb.get("InstanceType"),
                "arn": arn,
                "created_at": iso(nb.get("CreationTime")),
                "last_modified_at": iso(nb.get("LastModifiedTime")),
                "volume_size_gb": nb.get("VolumeSizeInGB"),
            },
        )

    def tags(self, arn: str) -> dict[str, str]:
        return list_tags(self._client, arn)

    def last_jupyter_activity(self, name: str) -> datetime | None:
        """The newest event of the notebook's ``jupyter.log`` stream, or None without that stream."""
        stream = jupyter_log_stream(name)
        try:
            page = self._logs.describe_log_streams(logGroupName=NOTEBOOK_LOG_GROUP, logStreamNamePrefix=stream)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "ResourceNotFoundException":
                return None  # no notebook in this region has ever logged
            raise
        for s in page.get("logStreams", []):
            if s.get("logStreamName") == stream and s.get("lastEventTimestamp"):
                return datetime.fromtimestamp(int(s["lastEventTimestamp"]) / 1000, tz=UTC)
        return None

    # -- writing -------------------------------------------------------------------------

    def stop(self, name: str) -> str:
        """``StopNotebookInstance``, sent once; the status right after the call."""
        self._writer.stop_notebook_instance(NotebookInstanceName=name)
        after = self.describe(name)
        return after.attributes["status"] if after is not None else ABSENT

    def start(self, name: str) -> str:
        """``StartNotebookInstance``, sent once; the status right after the call."""
        self._writer.start_notebook_instance(NotebookInstanceName=name)
        after = self.describe(name)
        return after.attributes["status"] if after is not None else ABSENT
