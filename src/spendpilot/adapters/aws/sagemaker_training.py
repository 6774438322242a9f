"""SageMaker training jobs: which are running, for how long, on what, and the call that stops one.

A training job bills ``ResourceConfig.InstanceCount`` instances of ``InstanceType`` for every
second between its start and its end (managed spot jobs: ``BillableTimeInSeconds``, the seconds
actually run on spot capacity). It ends on its own when the training code exits, or when SageMaker
stops it at ``StoppingCondition.MaxRuntimeInSeconds`` (default one day, at most 28 days) or, for a
managed spot job, at ``MaxWaitTimeInSeconds`` (run time plus time waiting for spot capacity). A job
whose code hangs (a dead data loader, a deadlocked collective) runs, and bills, until then.

What a sweep reads (SageMaker API Reference):

- ``ListTrainingJobs`` twice: ``StatusEquals=InProgress`` (every running job, however old) and,
  newest first, every job created in the history window (for the managed-spot advisory). The
  window is cut client-side: the server's ``CreationTimeAfter`` filter is not relied on.
- ``DescribeTrainingJob``: ``TrainingJobStatus``, ``SecondaryStatus``, ``CreationTime``,
  ``TrainingStartTime``, ``TrainingEndTime``, ``ResourceConfig`` (``InstanceType``,
  ``InstanceCount``; heterogeneous clusters list ``InstanceGroups`` instead),
  ``StoppingCondition``, ``EnableManagedSpotTraining``, ``CheckpointConfig``,
  ``TrainingTimeInSeconds``, ``BillableTimeInSeconds``.
- ``ListTags`` on the job's ARN.

``StopTrainingJob`` sends the algorithm SIGTERM, waits up to 120 seconds for it to save its model
artifacts, and moves the job ``Stopping`` → ``Stopped``. A stopped job cannot be resumed; the only
way back is a new ``CreateTrainingJob`` (from a checkpoint if the job wrote one). The emulator
(moto 5.2.5) has no ``StopTrainingJob`` and creates every training job already ``Completed``; the
stop path is tested against a local server speaking the documented JSON shape (see
``docs/aws-ml.md``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from spendpilot.adapters.aws.sagemaker_common import (
    ABSENT,
    account_of,
    describe_or_none,
    iso,
    list_tags,
)
from spendpilot.domain import Resource, ResourceRef

TRAINING_JOB = "sagemaker_training_job"
"""The ``ResourceRef.kind`` of a SageMaker training job; its id is the job name."""
RUNNING = ("InProgress",)
STOPPED = ("Stopping", "Stopped")


class TrainingJobsApi:
    def __init__(self, client: Any, region: str, writer: Any = None) -> None:
        self._client = client
        self._writer = writer or client
        self.region = region

    # -- reading -------------------------------------------------------------------------

    def list_jobs(self, created_after: datetime) -> list[Resource]:
        """Every running job, and every job created after ``created_after``, described."""
        names: dict[str, None] = {}
        for page in self._client.get_paginator("list_training_jobs").paginate(StatusEquals="InProgress"):
            names.update((s["TrainingJobName"], None) for s in page.get("TrainingJobSummaries", []))
        for page in self._client.get_paginator("list_training_jobs").paginate(
            SortBy="CreationTime", SortOrder="Descending"
        ):
            summaries = page.get("TrainingJobSummaries", [])
            recent = [s for s in summaries if s["CreationTime"] >= created_after]
            names.update((s["TrainingJobName"], None) for s in recent)
            if len(recent) < len(summaries):
                break  # newest first: the rest are older than the window
        found = [self.describe_job(name) for name in names]
        return [r for r in found if r is not None]

    def describe_job(self, name: str) -> Resource | None:
        """The job as the checks read it, or None when no job has that name."""
        job = describe_or_none(self._client.describe_training_job, TrainingJobName=name)
        if job is None:
            return None
        resources = job.get("ResourceConfig") or {}
        groups = resources.get("InstanceGroups") or []
        if groups:  # a heterogeneous cluster: one type per group; report the first, count them all
            instance_type = groups[0].get("InstanceType")
            count = sum(int(g.get("InstanceCount") or 0) for g in groups)
        else:
            instance_type = resources.get("InstanceType")
            count = int(resources.get("InstanceCount") or 0)
        stopping = job.get("StoppingCondition") or {}
        checkpoint = job.get("CheckpointConfig") or {}
        arn = job["TrainingJobArn"]
        return Resource(
            ref=ResourceRef(provider="aws", kind=TRAINING_JOB, id=name, name=name, region=self.region,
                            account=account_of(arn)),
            tags=self.tags(arn),
            attributes={
                "status": job["TrainingJobStatus"],
                "secondary_status": job.get("SecondaryStatus"),
                "arn": arn,
                "created_at": iso(job.get("CreationTime")),
                "started_at": iso(job.get("TrainingStartTime")),
                "ended_at": iso(job.get("TrainingEndTime")),
                "instance_type": instance_type,
                "instance_count": count,
                "heterogeneous": bool(groups),
                "managed_spot": bool(job.get("EnableManagedSpotTraining")),
                "max_runtime_seconds": stopping.get("MaxRuntimeInSeconds"),
                "max_wait_seconds": stopping.get("MaxWaitTimeInSeconds"),
                "checkpoint_s3_uri": checkpoint.get("S3Uri"),
                "training_seconds": job.get("TrainingTimeInSeconds"),
                "billable_seconds": job.get("BillableTimeInSeconds"),
            },
        )

    def tags(self, arn: str) -> dict[str, str]:
        return list_tags(self._client, arn)

    # -- writing -------------------------------------------------------------------------

    def stop_job(self, name: str) -> str:
        """``StopTrainingJob``, sent once; the job's status right after the call."""
        self._writer.stop_training_job(TrainingJobName=name)
        after = self.describe_job(name)
        return after.attributes["status"] if after is not None else ABSENT
