"""Serve a scenario's Kubernetes clusters (``cluster.yaml``) from emulators during a run.

``spendpilot demo``, ``spendpilot eval`` and the tests use this: one ``KubeEmulator`` per
cluster on 127.0.0.1, a kubeconfig at ``<home>/kubeconfig`` with one context per cluster (the
cluster's name), and the ``[[sources]]`` entry that makes the sweep read them through the
Kubernetes source, beside the scenario's default AWS, lake and LLM-usage sources.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from spendpilot.config import Settings
from spendpilot.errors import ScenarioError
from spendpilot.scenarios.kube_emulator import KubeEmulator, kube_emulators
from spendpilot.scenarios.model import Scenario

_RELATIVE = re.compile(r"^now(?:-(\d+(?:\.\d+)?)([smhd]))?$")
_UNIT = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}


def resolve_times(value: Any, now: datetime) -> Any:
    """Every ``now`` / ``now-<n><s|m|h|d>`` string in ``value`` as an RFC 3339 timestamp."""
    if isinstance(value, dict):
        return {k: resolve_times(v, now) for k, v in value.items()}
    if isinstance(value, list):
        return [resolve_times(v, now) for v in value]
    if isinstance(value, str):
        match = _RELATIVE.match(value)
        if match:
            ago = (
                timedelta(**{_UNIT[match.group(2)]: float(match.group(1))})
                if match.group(1)
                else timedelta()
            )
            return (now - ago).strftime("%Y-%m-%dT%H:%M:%SZ")
    return value


def kubeconfig_path(home: Path) -> Path:
    return home / "kubeconfig"


@contextmanager
def scenario_clusters(
    spec: Scenario, home: Path, now: datetime
) -> Iterator[dict[str, KubeEmulator]]:
    """Start the scenario's clusters and write their kubeconfig; stop them afterwards."""
    clusters: dict[str, list[dict[str, Any]]] = {}
    for c in spec.kubernetes.clusters:
        if c.name in clusters:
            raise ScenarioError(f"{spec.path / 'cluster.yaml'}: cluster {c.name!r} is listed twice")
        clusters[c.name] = [resolve_times(m, now) for m in c.manifests]
    try:
        with kube_emulators(clusters, kubeconfig_path(home) if clusters else None) as emulators:
            yield emulators
    except ValueError as exc:  # a manifest the emulator cannot hold: name the file
        raise ScenarioError(f"{spec.path / 'cluster.yaml'}: {exc}") from exc


def kubernetes_source_config(spec: Scenario, home: Path) -> list[dict[str, Any]]:
    """The ``[[sources]]`` entry that reads the scenario's clusters (none when it has none)."""
    names = [c.name for c in spec.kubernetes.clusters]
    if not names:
        return []
    return [
        {
            "kind": "kubernetes",
            "kubeconfig": str(kubeconfig_path(home)),
            "contexts": names,
            "request_timeout": 10.0,
        }
    ]


def scenario_settings(
    spec: Scenario,
    home: Path,
    endpoint_url: str | None,
    extra_sources: Sequence[dict[str, Any]] = (),
    **extra: Any,
) -> Settings:
    """Settings for sweeping ``spec``: the default sources (AWS at ``endpoint_url``, the lake, LLM
    usage) plus the Kubernetes source when the scenario has clusters, plus ``extra_sources``
    (the Prometheus sources serving its ``usage.yaml``). The scenario's ``budgets`` become ``[[budgets]]``."""
    if spec.budgets:
        extra = {"budgets": spec.budgets, **extra}
    rules = spec.path / "chargeback.toml"  # the owner rules a FinOps team writes once (docs/chargeback.md)
    if rules.is_file() and "chargeback" not in extra:
        import tomllib

        extra = {"chargeback": tomllib.loads(rules.read_text(encoding="utf-8")).get("chargeback", {}), **extra}
    settings = Settings(home=home, aws=spec.aws_settings(endpoint_url), **extra)
    kube = [*kubernetes_source_config(spec, home), *extra_sources]
    if not kube:
        return settings
    return Settings(
        home=home,
        aws=spec.aws_settings(endpoint_url),
        sources=[*settings.source_configs(), *kube],
        **extra,
    )
