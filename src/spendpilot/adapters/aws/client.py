"""One object per account+region holding the boto3 clients, so every call shares config and retries.

It is also the one place botocore failures become ``AdapterError`` (messages in ``errors.py``),
in two ways because botocore reports them in two ways:

- transport and credential failures (unreachable endpoint, timeouts, no credentials) and replies
  botocore cannot parse (``ResponseParserError``: garbage, truncated XML, a proxy's page)
  surface inside botocore, where the ``after-call-error`` event names the operation; a handler
  on every client raises ``AdapterError`` there;
- an error *response* (AccessDenied, ValidationError, …) is a ``ClientError`` that some API
  methods expect and handle (an unknown instance id means "gone"). So it is translated only when
  it escapes an API object's method: ``ec2``, ``autoscaling``, ``cloudwatch``,
  ``sagemaker``, ``ebs`` and ``llm_routing`` are wrapped in ``_Translated``. A reply that parsed but
  lacks the fields every
  answer has (an HTML page with status 200 parses to nothing) fails inside those methods as a
  ``KeyError``/``TypeError``; that too becomes an ``AdapterError`` when a reply was received.

Every client remembers the raw HTTP reply to its last call (a ``before-parse`` handler), so an
unreadable answer is reported with its status, content type and first characters, not as
"0 findings" and never as the whole body.
"""

from __future__ import annotations

import functools
import os
import threading
import weakref
from collections.abc import Callable
from functools import cached_property
from typing import Any, TypeVar, cast

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError
from botocore.parsers import ResponseParserError

from spendpilot.adapters.aws.autoscaling import AutoScalingApi
from spendpilot.adapters.aws.bedrock_usage import BedrockUsageApi
from spendpilot.adapters.aws.budgets import BudgetsApi
from spendpilot.adapters.aws.cloudwatch import CloudWatchApi
from spendpilot.adapters.aws.credentials import share_loader
from spendpilot.adapters.aws.ebs import EbsApi
from spendpilot.adapters.aws.ebs_snapshots import EbsSnapshotsApi
from spendpilot.adapters.aws.ec2 import Ec2Api
from spendpilot.adapters.aws.errors import UNREADABLE_REPLY, RawReply, adapter_error
from spendpilot.adapters.aws.pricing import PRICING_REGIONS, PricingApi
from spendpilot.adapters.aws.relaunch import RelaunchApi
from spendpilot.adapters.aws.s3_replication import S3ReplicationApi
from spendpilot.adapters.aws.sagemaker import SageMakerApi
from spendpilot.adapters.aws.sagemaker_notebooks import NotebooksApi
from spendpilot.adapters.aws.sagemaker_training import TrainingJobsApi
from spendpilot.adapters.aws.ssm_routing import LlmRoutingApi
from spendpilot.errors import AdapterError


def _default_retries() -> dict[str, Any]:
    """Standard retries, 5 of them, unless the user set AWS_MAX_ATTEMPTS / AWS_RETRY_MODE:
    botocore honours those only when the client's Config leaves them out."""
    retries: dict[str, Any] = {}
    if not os.environ.get("AWS_MAX_ATTEMPTS"):
        retries["max_attempts"] = 5
    if not os.environ.get("AWS_RETRY_MODE"):
        retries["mode"] = "standard"
    return retries


_BOTO_CONFIG = Config(retries=_default_retries(), connect_timeout=5, read_timeout=30)

_Api = TypeVar("_Api")


class _LastReply(threading.local):
    """The raw reply to a client's last call, per thread."""

    reply: RawReply | None = None
    operation: str | None = None


_LAST_REPLY: weakref.WeakKeyDictionary[Any, _LastReply] = weakref.WeakKeyDictionary()


def _remember_reply(holder: _LastReply, response_dict: dict[str, Any], operation_model: Any = None, **_: Any) -> None:
    """botocore ``before-parse`` handler: keep the head of what arrived, before parsing it."""
    holder.operation = getattr(operation_model, "name", None)
    body = response_dict.get("body")
    raw = body if isinstance(body, bytes) else b""
    headers = response_dict.get("headers") or {}
    promised = str(headers.get("content-length", "") or "")
    holder.reply = RawReply(
        status=response_dict.get("status_code"),
        content_type=str(headers.get("content-type", "") or ""),
        body_head=raw[:1024],
        body_length=len(raw),
        promised_length=int(promised) if promised.isdigit() else None,
        retry_after=headers.get("retry-after"),
    )


def _last_reply(client: Any) -> RawReply | None:
    holder = _LAST_REPLY.get(client)
    return holder.reply if holder is not None else None


def _translate(client: Any, exc: Exception, operation: str) -> AdapterError:
    meta = client.meta
    return adapter_error(
        exc, service=meta.service_model.service_name, operation=operation,
        region=meta.region_name, endpoint=meta.endpoint_url, reply=_last_reply(client),
    )


def _raise_on_call_error(client: Any, exception: Exception, event_name: str, **_: Any) -> None:
    """botocore ``after-call-error`` handler: the call failed without a usable AWS response."""
    if isinstance(exception, BotoCoreError | ResponseParserError | UnicodeDecodeError):
        raise _translate(client, exception, operation=event_name.rsplit(".", 1)[-1]) from exception


class _Translated:
    """An API object whose methods raise ``AdapterError`` for any botocore failure escaping them."""

    def __init__(self, api: object, client: Any, writer: Any = None) -> None:
        self._api = api
        self._client = client
        self._clients = (client,) if writer is None else (writer, client)

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._api, name)
        if name.startswith("_") or not callable(attr):
            return attr
        return self._guard(attr, name)

    def _guard(self, method: Callable[..., Any], name: str) -> Callable[..., Any]:
        @functools.wraps(method)
        def guarded(*args: Any, **kwargs: Any) -> Any:
            for c in self._clients:
                holder = _LAST_REPLY.get(c)
                if holder is not None:
                    holder.reply = None
            try:
                return method(*args, **kwargs)
            except (ClientError, BotoCoreError) as exc:
                operation = getattr(exc, "operation_name", None) or name
                raise _translate(self._answered(), exc, operation) from exc
            except UNREADABLE_REPLY as exc:
                answered = self._answered()
                if _last_reply(answered) is None:
                    raise  # no reply came: a bug of ours, not AWS's answer
                raise _translate(answered, exc, _operation_of(answered, name)) from exc

        return guarded

    def _answered(self) -> Any:
        """The client whose call was answered last (the writer's, when a change was sent)."""
        return next((c for c in self._clients if _last_reply(c) is not None), self._client)


def _operation_of(client: Any, method_name: str) -> str:
    """The API operation behind an adapter method, from the last request: "DescribeInstances"."""
    holder = _LAST_REPLY.get(client)
    return (holder.operation if holder is not None else None) or method_name


def _translated(api: _Api, client: Any, writer: Any = None) -> _Api:
    return cast(_Api, _Translated(api, client, writer))


READ_PERMISSIONS: tuple[str, ...] = (
    "ec2:DescribeInstances",
    "ec2:DescribeSpotPriceHistory",
    "ec2:DescribeAddresses",  # which standalone instances hold an Elastic IP (a spot relaunch would lose it)
    "autoscaling:DescribeAutoScalingGroups",
    "cloudwatch:GetMetricData",
    "cloudwatch:ListMetrics",
    "ssm:GetParametersByPath",
    "sagemaker:ListEndpoints",
    "sagemaker:DescribeEndpoint",
    "sagemaker:DescribeEndpointConfig",
    "sagemaker:ListTags",
    "ec2:DescribeVolumes",
    "ec2:DescribeVolumesModifications",
    "sagemaker:ListTrainingJobs",
    "sagemaker:DescribeTrainingJob",
    "sagemaker:ListNotebookInstances",
    "sagemaker:DescribeNotebookInstance",
    "logs:DescribeLogStreams",  # a notebook's jupyter.log: its last use
    "s3:ListAllMyBuckets",
    "s3:GetBucketLocation",
    "s3:GetReplicationConfiguration",  # GetBucketReplication
    "cloudwatch:GetMetricStatistics",  # a replica bucket's request metrics, in its own region
    "ec2:DescribeImages",  # which snapshots a registered AMI needs
    "ec2:DescribeSnapshots",  # read by the EBS actions before and after a change (no resource-level permissions)
)
"""What a sweep calls: read-only, the whole of what spendpilot needs when no action is approved."""


class AwsAdapter:
    """Read and write access to the AWS services spendpilot uses.

    ``endpoint_url=None`` leaves endpoint resolution to boto3, which honours ``AWS_ENDPOINT_URL``;
    tests and the demo point it at moto's server instead of patching anything.
    """

    def __init__(
        self,
        region: str = "us-east-1",
        endpoint_url: str | None = None,
        routing_prefix: str = "/spendpilot/features",
        session: boto3.session.Session | None = None,
        config: Config | None = None,
    ) -> None:
        self.region = region
        self._config = config or _BOTO_CONFIG
        self.endpoint_url = endpoint_url
        self.routing_prefix = routing_prefix
        self._session = session or boto3.session.Session(region_name=region)
        share_loader(self._session)
        self._shared_clients: dict[tuple[str, bool, str | None], Any] = {}
        self._shared_lock = threading.Lock()

    def client(self, service: str, *, single_attempt: bool = False, region: str | None = None) -> Any:
        """A boto3 client for ``service``; ``single_attempt``: the client changes go through.

        botocore retries a call whose reply was a 5xx, a timeout or unreadable, and the change
        may have landed before that reply: a retried PutParameter writes the parameter twice.
        So a change is sent once; when it fails, the executor keeps the approval and `resume`
        re-reads the resource to learn whether it landed before applying anything again.
        """
        config = self._config.merge(Config(retries={"total_max_attempts": 1})) if single_attempt else self._config
        kwargs: dict[str, Any] = {"region_name": region or self.region, "config": config}
        if self.endpoint_url:
            kwargs["endpoint_url"] = self.endpoint_url
        client = self._session.client(service, **kwargs)
        holder = _LAST_REPLY.setdefault(client, _LastReply())
        client.meta.events.register("before-parse", functools.partial(_remember_reply, holder))
        client.meta.events.register("after-call-error", functools.partial(_raise_on_call_error, client))
        return client

    def _shared(self, service: str, *, single_attempt: bool = False, region: str | None = None) -> Any:
        """This adapter's one client for ``service`` (reader, or single-attempt writer).

        The API objects below each wanted their own, so a sweep built the same EC2 client four
        times per account and region (10-40 ms each). A client is thread-safe, and the raw reply
        it remembers is kept per thread, so API objects can share it.
        """
        key = (service, single_attempt, region)
        with self._shared_lock:
            if key not in self._shared_clients:
                self._shared_clients[key] = self.client(service, single_attempt=single_attempt, region=region)
            return self._shared_clients[key]

    @cached_property
    def ec2(self) -> Ec2Api:
        client = self._shared("ec2")
        writer = self._shared("ec2", single_attempt=True)
        return _translated(Ec2Api(client, self.region, writer=writer), client, writer)

    @cached_property
    def autoscaling(self) -> AutoScalingApi:
        client = self._shared("autoscaling")
        writer = self._shared("autoscaling", single_attempt=True)
        return _translated(AutoScalingApi(client, self.ec2, self.region, writer=writer), client, writer)

    @cached_property
    def cloudwatch(self) -> CloudWatchApi:
        client = self._shared("cloudwatch")
        return _translated(CloudWatchApi(client), client)

    @cached_property
    def bedrock_usage(self) -> BedrockUsageApi:
        client = self._shared("cloudwatch")
        return _translated(BedrockUsageApi(client, self.cloudwatch, self.region), client)

    @cached_property
    def llm_routing(self) -> LlmRoutingApi:
        client = self._shared("ssm")
        writer = self._shared("ssm", single_attempt=True)
        return _translated(LlmRoutingApi(client, self.routing_prefix, self.region, writer=writer), client, writer)

    @cached_property
    def sagemaker(self) -> SageMakerApi:
        client = self._shared("sagemaker")
        return _translated(SageMakerApi(client, self.region), client)

    @cached_property
    def pricing(self) -> PricingApi:
        """The Price List Query API, from this region's endpoint if it has one, else us-east-1's."""
        client = self._shared("pricing", region=self.region if self.region in PRICING_REGIONS else PRICING_REGIONS[0])
        return _translated(PricingApi(client), client)

    @cached_property
    def relaunch(self) -> RelaunchApi:
        client = self._shared("ec2")
        writer = self._shared("ec2", single_attempt=True)
        return _translated(RelaunchApi(client, self.region, writer=writer), client, writer)

    @cached_property
    def sagemaker_training(self) -> TrainingJobsApi:
        client = self._shared("sagemaker")
        writer = self._shared("sagemaker", single_attempt=True)
        return _translated(TrainingJobsApi(client, self.region, writer=writer), client, writer)

    @cached_property
    def sagemaker_notebooks(self) -> NotebooksApi:
        client = self._shared("sagemaker")
        writer = self._shared("sagemaker", single_attempt=True)
        api = NotebooksApi(client, self._shared("logs"), self.region, writer=writer)
        return _translated(api, client, writer)

    @cached_property
    def ebs(self) -> EbsApi:
        client = self._shared("ec2")
        return _translated(EbsApi(client, self.region), client)

    @cached_property
    def budgets(self) -> BudgetsApi:
        client = self._shared("budgets")
        return _translated(BudgetsApi(client), client)

    @cached_property
    def ebs_snapshots(self) -> EbsSnapshotsApi:
        client = self._shared("ec2")
        writer = self._shared("ec2", single_attempt=True)
        return _translated(EbsSnapshotsApi(client, self.region, writer=writer, account_id=self.account_id()), client, writer)

    @cached_property
    def s3_replication(self) -> S3ReplicationApi:
        client = self._shared("s3")
        writer = self._shared("s3", single_attempt=True)

        def cloudwatch_in(region: str) -> Any:
            return self._session.client("cloudwatch", region_name=region, config=self._config,
                                        **({"endpoint_url": self.endpoint_url} if self.endpoint_url else {}))

        return _translated(S3ReplicationApi(client, self.region, cloudwatch_in, writer=writer), client, writer)

    def account_id(self) -> str | None:
        try:
            return self.client("sts").get_caller_identity()["Account"]
        except Exception:  # an emulator or a restricted role may not answer; the id is cosmetic
            return None
