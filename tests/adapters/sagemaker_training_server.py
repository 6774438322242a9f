"""A local server speaking SageMaker's JSON protocol for the training-job calls moto lacks.

moto 5.2.5 has no ``StopTrainingJob`` and creates every training job ``Completed``, so it cannot
hold a running job or stop one. This server holds training jobs in memory and answers
``ListTrainingJobs``, ``DescribeTrainingJob``, ``ListTags`` and ``StopTrainingJob`` in the shapes
the SageMaker API Reference documents (awsJson1_1, ``X-Amz-Target: SageMaker.<Operation>``,
timestamps as epoch seconds, errors as ``{"__type", "message"}``). boto3 talks to it over HTTP
with its real parsers; nothing is patched. Given ``upstream`` (the emulator's URL), every other
SageMaker call is forwarded there unchanged, so ``AWS_ENDPOINT_URL_SAGEMAKER`` can point a whole
sweep's SageMaker at it while endpoints and notebooks still live in moto. ``StopTrainingJob`` moves a job to ``Stopping``; the
next describe after that reports ``Stopped``, as SageMaker does once the algorithm has exited.
"""

from __future__ import annotations

import json
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

ACCOUNT = "123456789012"


@dataclass
class TrainingJob:
    name: str
    status: str = "InProgress"
    created: datetime | None = None
    started: datetime | None = None
    ended: datetime | None = None
    instance_type: str = "ml.g5.2xlarge"
    instance_count: int = 1
    max_runtime_s: int | None = 5 * 86400
    max_wait_s: int | None = None
    managed_spot: bool = False
    checkpoint_s3_uri: str | None = None
    training_seconds: int | None = None
    billable_seconds: int | None = None
    tags: dict[str, str] = field(default_factory=dict)
    region: str = "us-east-1"

    @property
    def arn(self) -> str:
        return f"arn:aws:sagemaker:{self.region}:{ACCOUNT}:training-job/{self.name}"

    def describe(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "TrainingJobName": self.name, "TrainingJobArn": self.arn,
            "TrainingJobStatus": self.status,
            "SecondaryStatus": {"InProgress": "Training", "Stopping": "Stopping"}.get(self.status, self.status),
            "CreationTime": (self.created or self.started or datetime.now()).timestamp(),
            "AlgorithmSpecification": {"TrainingImage": "763104351884.dkr.ecr.us-east-1.amazonaws.com/pytorch-training:2.3",
                                       "TrainingInputMode": "File"},
            "RoleArn": f"arn:aws:iam::{ACCOUNT}:role/sagemaker-training",
            "OutputDataConfig": {"S3OutputPath": "s3://ml-artifacts/output"},
            "ResourceConfig": {"InstanceType": self.instance_type, "InstanceCount": self.instance_count,
                               "VolumeSizeInGB": 100},
            "StoppingCondition": {k: v for k, v in (("MaxRuntimeInSeconds", self.max_runtime_s),
                                                    ("MaxWaitTimeInSeconds", self.max_wait_s)) if v},
            "EnableManagedSpotTraining": self.managed_spot,
        }
        if self.started:
            out["TrainingStartTime"] = self.started.timestamp()
        if self.ended:
            out["TrainingEndTime"] = self.ended.timestamp()
        if self.checkpoint_s3_uri:
            out["CheckpointConfig"] = {"S3Uri": self.checkpoint_s3_uri, "LocalPath": "/opt/ml/checkpoints"}
        if self.training_seconds is not None:
            out["TrainingTimeInSeconds"] = self.training_seconds
        if self.billable_seconds is not None:
            out["BillableTimeInSeconds"] = self.billable_seconds
        return out


_SERVED = ("ListTrainingJobs", "DescribeTrainingJob", "StopTrainingJob")


@dataclass
class TrainingServer:
    upstream: str | None = None
    jobs: dict[str, TrainingJob] = field(default_factory=dict)
    operations: list[str] = field(default_factory=list)
    url: str = ""

    def add(self, job: TrainingJob) -> TrainingJob:
        self.jobs[job.name] = job
        return job


def _error(kind: str, message: str) -> tuple[int, dict[str, Any]]:
    return 400, {"__type": kind, "message": message}


def _answer(state: TrainingServer, operation: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    if operation == "ListTrainingJobs":
        jobs = list(state.jobs.values())
        if status := body.get("StatusEquals"):
            jobs = [j for j in jobs if j.status == status]
        jobs.sort(key=lambda j: (j.created or j.started or datetime.min).timestamp(),
                  reverse=body.get("SortOrder") == "Descending")
        return 200, {"TrainingJobSummaries": [
            {"TrainingJobName": j.name, "TrainingJobArn": j.arn, "TrainingJobStatus": j.status,
             "CreationTime": (j.created or j.started or datetime.now()).timestamp()} for j in jobs
        ]}
    name = body.get("TrainingJobName") or ""
    if operation == "ListTags":
        arn = body.get("ResourceArn", "")
        job = next((j for j in state.jobs.values() if j.arn == arn), None)
        if job is None:
            return _error("ValidationException", f"Could not find resource {arn}")
        return 200, {"Tags": [{"Key": k, "Value": v} for k, v in job.tags.items()]}
    job = state.jobs.get(name)
    if job is None:
        return _error("ValidationException", "Requested resource not found.")
    if operation == "DescribeTrainingJob":
        out = job.describe()
        if job.status == "Stopping":
            job.status = "Stopped"  # the algorithm exits; the next read sees it
        return 200, out
    if operation == "StopTrainingJob":
        if job.status != "InProgress":
            return _error("ValidationException", f"The request was rejected because the training job is in status {job.status}.")
        job.status = "Stopping"
        return 200, {}
    return _error("UnknownOperationException", f"{operation} is not served here")


def _ours(state: TrainingServer, operation: str, body: dict[str, Any]) -> bool:
    if operation in _SERVED:
        return True
    return operation == "ListTags" and any(j.arn == body.get("ResourceArn") for j in state.jobs.values())


def _forward(upstream: str, path: str, headers: dict[str, str], body: bytes) -> tuple[int, bytes]:
    request = urllib.request.Request(upstream + path, data=body, method="POST",
                                     headers={k: v for k, v in headers.items() if k.lower() != "host"})
    try:
        with urllib.request.urlopen(request, timeout=10) as reply:
            return reply.status, reply.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def _handler(state: TrainingServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True  # headers and body go out as two writes: with Nagle on, each reply waits ~40 ms for a delayed ACK

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - quiet
            pass

        def do_POST(self) -> None:  # noqa: N802 - http.server's name
            length = int(self.headers.get("Content-Length") or 0)
            raw_body = self.rfile.read(length)
            body = json.loads(raw_body or b"{}")
            operation = str(self.headers.get("X-Amz-Target", "")).rsplit(".", 1)[-1]
            state.operations.append(operation)
            if state.upstream and not _ours(state, operation, body):
                status, raw = _forward(state.upstream, self.path, dict(self.headers), raw_body)
            else:
                status, payload = _answer(state, operation, body)
                raw = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/x-amz-json-1.1")
            self.send_header("Content-Length", str(len(raw)))
            self.end_headers()
            self.wfile.write(raw)

    return Handler


@contextmanager
def training_server(upstream: str | None = None) -> Iterator[TrainingServer]:
    state = TrainingServer(upstream=upstream)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
    server.daemon_threads = True
    state.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, name="sagemaker-training-server", daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
