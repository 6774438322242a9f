"""Sessions for one configured AWS account: a shared-config profile, or a role assumed from it.

A role session is what organisations with many accounts use: one identity (the profile, or
boto3's default chain) is trusted by a role in every member account, and spendpilot reads and
acts in each account with that account's role. The assumed credentials refresh themselves
before they expire (a sweep of many regions, or a daemon, outlives a one-hour session), through
botocore's own refreshable credentials rather than a copy of its logic.

Every client of the session, reads and changes alike, signs with the role's credentials, so an
action on a resource of account B goes out as account B's role and nothing else.
"""

from __future__ import annotations

import re
import threading
from typing import Any

import boto3
import botocore.session
from botocore.config import Config
from botocore.credentials import CredentialProvider, DeferredRefreshableCredentials
from botocore.exceptions import BotoCoreError, ClientError

from spendpilot.adapters.aws.errors import adapter_error
from spendpilot.errors import AdapterError

ROLE_ARN = re.compile(r"^arn:aws[a-z-]*:iam::(?P<account>\d{12}):role/[\w+=,.@/-]+$")
"""An IAM role ARN (any partition); the account the role lives in is part of it."""


def role_account(role_arn: str) -> str:
    """The 12-digit account a role ARN belongs to (the account its sessions act in)."""
    found = ROLE_ARN.match(role_arn)
    if found is None:
        raise ValueError(f"not an IAM role ARN: {role_arn!r} (expected arn:aws:iam::<12 digits>:role/<name>)")
    return found.group("account")


class _AssumedRole(CredentialProvider):
    """A credential provider that answers with the role's credentials, refreshed when due."""

    METHOD = "spendpilot-assume-role"
    CANONICAL_NAME = "spendpilot-assume-role"

    def __init__(self, fetch: Any) -> None:
        super().__init__()
        self._fetch = fetch

    def load(self) -> DeferredRefreshableCredentials:
        return DeferredRefreshableCredentials(refresh_using=self._fetch, method=self.METHOD)


_SHARED_LOADER: Any = None
_SHARED_LOADER_LOCK = threading.Lock()


def share_loader(session: boto3.session.Session) -> None:
    """Give ``session`` the process's one botocore data loader, which caches what it has parsed.

    Each boto3 session has its own loader, and each loader parses a service's model JSON again
    (EC2's alone takes ~0.1 s): a sweep builds one session per account and region, the demo's
    seeding one per assumed role, each then re-reading the same files. The loader holds only
    those parsed files (the same for every session of a process), never credentials or
    configuration, so one shared loader changes nothing but the time.
    """
    global _SHARED_LOADER
    core = session._session  # boto3 keeps its botocore session here; components are botocore's API
    with _SHARED_LOADER_LOCK:
        if _SHARED_LOADER is None:
            _SHARED_LOADER = core.get_component("data_loader")
        elif core.get_component("data_loader") is not _SHARED_LOADER:
            core.register_component("data_loader", _SHARED_LOADER)


def account_session(
    *,
    region: str,
    profile: str | None = None,
    role_arn: str | None = None,
    external_id: str | None = None,
    session_name: str = "spendpilot",
    duration_seconds: int = 3600,
    sts_endpoint_url: str | None = None,
    config: Config | None = None,
) -> boto3.session.Session:
    """A boto3 session for one account in one region.

    Without ``role_arn``: the profile's (or boto3's default chain's) credentials. With it: the
    role's, assumed with those credentials on first use (so building a source makes no call)
    and again shortly before they expire. ``external_id`` is passed when the role's trust
    policy demands one (the usual guard for a role trusted by another organisation's account).
    """
    base = boto3.session.Session(profile_name=profile, region_name=region)
    share_loader(base)  # its STS client, built again at each refresh of the role's credentials
    if role_arn is None:
        return base
    role_account(role_arn)  # refuse a malformed ARN before any call

    def fetch() -> dict[str, str]:
        kwargs: dict[str, Any] = {"region_name": region}
        if sts_endpoint_url:
            kwargs["endpoint_url"] = sts_endpoint_url
        if config is not None:
            kwargs["config"] = config
        request: dict[str, Any] = {
            "RoleArn": role_arn, "RoleSessionName": session_name, "DurationSeconds": duration_seconds,
        }
        if external_id:
            request["ExternalId"] = external_id
        sts = base.client("sts", **kwargs)
        try:
            creds = sts.assume_role(**request)["Credentials"]
        except (ClientError, BotoCoreError) as exc:
            # Raised while signing another service's call: name the role, not that service.
            error = adapter_error(
                exc, service="sts", operation="AssumeRole", region=region, endpoint=sts.meta.endpoint_url,
            )
            raise AdapterError(f"assuming {role_arn}: {error}") from exc
        return {
            "access_key": creds["AccessKeyId"],
            "secret_key": creds["SecretAccessKey"],
            "token": creds["SessionToken"],
            "expiry_time": creds["Expiration"].isoformat(),
        }

    core = botocore.session.get_session()
    core.get_component("credential_provider").insert_before("env", _AssumedRole(fetch))
    return boto3.session.Session(botocore_session=core, region_name=region)
