"""Memory tests run on real Chroma files and must prove they never touch the network."""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any

import pytest
from chromadb.utils.embedding_functions.onnx_mini_lm_l6_v2 import ONNXMiniLM_L6_V2

from spendpilot.domain import (
    ActionPlan,
    Estimate,
    Evidence,
    Money,
    Proposal,
    ResourceRef,
    Risk,
)

_LOCAL_NAMES = {"localhost", "localhost.localdomain", "ip6-localhost"}


def _is_loopback(host: object) -> bool:
    if not isinstance(host, str):
        return False
    if host in _LOCAL_NAMES:
        return True
    try:
        return ipaddress.ip_address(host.split("%")[0]).is_loopback
    except ValueError:
        return False


@pytest.fixture(autouse=True)
def no_network(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Fail the test on any attempt to resolve or reach a non-loopback host from Python.

    Catches telemetry, model downloads and DNS look-ups made through Python's socket module
    (Chroma's Rust core does no network I/O in embedded mode).
    """
    attempts: list[str] = []
    real_connect = socket.socket.connect
    real_connect_ex = socket.socket.connect_ex
    real_getaddrinfo = socket.getaddrinfo

    def _check(sock: socket.socket, address: Any) -> None:
        if sock.family == socket.AF_UNIX:
            return
        host = address[0] if isinstance(address, tuple) else address
        if not _is_loopback(host):
            attempts.append(str(address))
            raise AssertionError(f"network access attempted: {address!r}")

    def guarded_connect(sock: socket.socket, address: Any) -> None:
        _check(sock, address)
        real_connect(sock, address)

    def guarded_connect_ex(sock: socket.socket, address: Any) -> int:
        _check(sock, address)
        return real_connect_ex(sock, address)

    def guarded_getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
        if host is not None and not _is_loopback(host if isinstance(host, str) else str(host)):
            attempts.append(f"getaddrinfo({host!r})")
            raise AssertionError(f"name resolution attempted: {host!r}")
        return real_getaddrinfo(host, *args, **kwargs)

    monkeypatch.setattr(socket.socket, "connect", guarded_connect)
    monkeypatch.setattr(socket.socket, "connect_ex", guarded_connect_ex)
    monkeypatch.setattr(socket, "getaddrinfo", guarded_getaddrinfo)
    yield attempts
    assert attempts == [], f"network access attempted: {attempts}"


@pytest.fixture(autouse=True)
def no_default_embedding(monkeypatch: pytest.MonkeyPatch) -> None:
    """Chroma's default embedding downloads a model on first use; building it is a failure."""

    def refuse(self: object, *args: object, **kwargs: object) -> None:
        raise AssertionError("Chroma's downloading default embedding function was instantiated")

    monkeypatch.setattr(ONNXMiniLM_L6_V2, "__init__", refuse)


def _proposal(
    *,
    id: str = "p-1",
    fingerprint: str = "fp-idle-gpu-i-0abc",
    evidence_digest: str = "digest-1",
    action: str = "stop_instance",
    rule: str = "idle_gpu_instance",
    resource_id: str = "i-0abc",
    name: str = "ml-train-07",
    summary: str = "GPU instance ml-train-07 (g5.12xlarge) idle for 14 days",
    evidence: list[tuple[str, str]] | None = None,
    expected: str = "4000",
    pre_state: dict[str, str] | None = None,
) -> Proposal:
    target = ResourceRef(
        provider="aws", kind="ec2_instance", id=resource_id, region="us-east-1", name=name
    )
    facts = evidence or [("GPU utilisation p95", "0.4 %"), ("instance type", "g5.12xlarge")]
    plan = ActionPlan(
        action=action,
        target=target,
        change={"state": "stopped"},
        expected_pre_state=pre_state or {"state": "running"},
        rollback_description="start the instance again",
        description=f"{action} {target.label()}",
    )
    saving = Money.usd(Decimal(expected))
    return Proposal(
        id=id,
        rule=rule,
        action=action,
        target=target,
        summary=summary,
        estimate=Estimate(low=saving, expected=saving, high=saving, formula="hours x price"),
        plan=plan,
        risk=Risk.LOW,
        evidence=[Evidence(label=k, value=v, source="cloudwatch") for k, v in facts],
        fingerprint=fingerprint,
        evidence_digest=evidence_digest,
    )


@pytest.fixture
def make_proposal() -> Callable[..., Proposal]:
    return _proposal
