"""Set what the emulator stamps and AWS never lets anyone set, for SageMaker training jobs,
notebook instances and EBS snapshots: when they started, and (training) that they still run.

moto 5.2.5 creates every training job ``Completed`` at the moment of ``CreateTrainingJob`` and
stamps a notebook instance's ``LastModifiedTime`` with the moment of ``CreateNotebookInstance``.
A scenario's "a job InProgress for 40 hours" or "a notebook started ten days ago" cannot be built
through the API, so, like ``backdate_volume``, these reach into the moto running in this process
(``LocalAwsEmulator``); they refuse anything else.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from spendpilot.errors import ScenarioError


def _find(attr: str, name: str) -> Any:
    from moto.sagemaker.models import sagemaker_backends

    for regions in sagemaker_backends.values():
        for backend in regions.values():
            found = getattr(backend, attr).get(name)
            if found is not None:
                return found
    raise ScenarioError(f"cannot backdate {name}: not in this process's emulator (moto must run in-process)")


def set_training_job_running(name: str, started: datetime) -> None:
    """Make a training job ``InProgress`` since ``started``, with no end time."""
    job = _find("training_jobs", name)
    job.training_job_status = "InProgress"
    job.secondary_status = "Training"
    job.creation_time = job.training_start_time = started
    job.training_end_time = None
    job.last_modified_time = started


def set_training_job_ran(name: str, started: datetime, ended: datetime) -> None:
    """Make a training job ``Completed``, having run from ``started`` to ``ended``."""
    job = _find("training_jobs", name)
    job.creation_time = job.training_start_time = started
    job.training_end_time = job.last_modified_time = ended


def backdate_notebook(name: str, last_started: datetime, created: datetime | None = None) -> None:
    """Set a notebook instance's ``LastModifiedTime`` (its last start) and ``CreationTime``."""
    nb = _find("notebook_instances", name)
    nb.last_modified_time = last_started
    nb.creation_time = created or last_started


def backdate_snapshot(snapshot_id: str, started: datetime) -> None:
    """Set an EBS snapshot's ``StartTime`` (moto stamps the moment of ``CreateSnapshot``)."""
    from moto.ec2.models import ec2_backends

    for regions in ec2_backends.values():
        for backend in regions.values():
            snap = backend.snapshots.get(snapshot_id)
            if snap is not None:
                snap.start_time = started
                return
    raise ScenarioError(f"cannot backdate {snapshot_id}: not in this process's emulator (moto must run in-process)")
