"""Serve manifests from an emulated cluster, sweep it with the real source, act on it through
the real target: the path a user's sweep and execution take."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from spendpilot.actions import ActionContext
from spendpilot.adapters.base import SourceContext, Targets, build_sources
from spendpilot.agent.collect import collect_snapshot
from spendpilot.checks.registry import all_checks
from spendpilot.domain import Finding, Snapshot
from spendpilot.savings.pricebook import PriceBook
from spendpilot.scenarios.kube_emulator import KubeEmulator, kube_emulators

PRICES = PriceBook.bundled()


@dataclass
class Swept:
    snapshot: Snapshot
    emulator: KubeEmulator
    ctx: ActionContext

    def findings(self, rule: str, **settings: Any) -> list[Finding[Any]]:
        spec = all_checks()[rule]
        return spec.run(self.snapshot, spec.settings(settings), PRICES)

    def resweep(self) -> Snapshot:
        return self.snapshot


@contextmanager
def swept(
    objs: list[dict[str, Any]], tmp_path: Path, cluster: str = "prod", now: datetime | None = None
) -> Iterator[Swept]:
    kubeconfig = tmp_path / "kubeconfig"
    with kube_emulators({cluster: objs}, kubeconfig) as emulators:
        sources = build_sources(
            [{"kind": "kubernetes", "kubeconfig": str(kubeconfig), "contexts": [cluster]}], tmp_path
        )
        snap = collect_snapshot(sources, SourceContext(now=now or datetime.now(UTC), prices=PRICES))
        assert snap.gaps == [], snap.gaps
        yield Swept(snap, emulators[cluster], ActionContext(targets=Targets(sources)))
