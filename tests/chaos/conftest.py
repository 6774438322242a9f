"""The chaos lab: one emulator, a fault proxy in front of it, a fork server, the demo template.

Every command a case runs goes through the fork server (a real process per command, ~0.2 s
instead of ~3 s) and reaches AWS through the fault proxy, which also counts the changes that
actually landed. Cases that change AWS share an organisation per *group* (a failpoint, a
fault): the group's cases each act on a different proposal of the demo (its four kinds), so a
group costs one emulator re-seed instead of four. A case that needs a pristine home copies the
template's (1.6 MB).
"""

from __future__ import annotations

import json
import os
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from tests.conftest import REPO
from tests.demo_fixtures import DemoOrg, DemoTemplate, _org_for_test

from spendpilot.adapters.aws.client import AwsAdapter
from spendpilot.domain import ProposalStatus
from spendpilot.scenarios.emulator import LocalAwsEmulator
from spendpilot.state import StateStore

from .fault_proxy import FaultProxy
from .forkserver import ForkServer, Result

READ_TIMEOUT = 10.0
"""The CLI's botocore read timeout in chaos cases; the proxy's ``timeout`` fault stalls longer."""
MAX_ATTEMPTS = 2

NAMES = {
    "stop": "train-idle-p4d",
    "stop2": "notebook-g5-idle",
    "spot": "embedding-batch-workers",
    "route": "ticket-classifier",
}
"""The demo's four proposals, by a short name used in case ids."""
KINDS = tuple(NAMES)
ROUTE_PARAM = "/spendpilot/features/ticket-classifier/model"


def proxy_config(path: Path, endpoint: str) -> Path:
    path.write_text(
        "[[sources]]\n"
        'kind = "aws"\n'
        'regions = ["us-east-1"]\n'
        f'endpoint_url = "{endpoint}"\n'
        f"max_attempts = {MAX_ATTEMPTS}\n"
        "connect_timeout = 2\n"
        f"read_timeout = {READ_TIMEOUT}\n"
        "\n[[sources]]\nkind = \"focus_lake\"\n"
        "\n[[sources]]\nkind = \"llm_usage\"\n"
    )
    return path


@dataclass
class Org:
    """A demo organisation whose commands go through the fork server and the proxy."""

    demo: DemoOrg
    lab: Lab
    home: Path
    proposals: dict[str, dict[str, Any]]
    log: list[Result] = field(default_factory=list)

    def env(self, failpoints: str | None = None, **extra: str) -> dict[str, str]:
        env = {
            "SPENDPILOT_HOME": str(self.home), "SPENDPILOT_CONFIG": str(self.lab.config),
            "SPENDPILOT_USER": "chaos", "COLUMNS": "160",
        }
        if failpoints:
            env["SPENDPILOT_FAILPOINTS"] = failpoints
        return {**env, **extra}

    def run(self, *argv: str, failpoints: str | None = None, timeout: float = 120, fsize: int | None = None) -> Result:
        t = time.monotonic()
        result = self.lab.fs.run(*argv, env=self.env(failpoints), timeout=timeout, fsize=fsize)
        result.seconds = time.monotonic() - t
        self.log.append(result)
        if os.environ.get("CHAOS_TRACE"):
            print(f"{result.seconds:5.2f}s rc={result.returncode} {' '.join(argv)} [{failpoints or ''}]")
        return result

    def spawn(self, *argv: str, failpoints: str | None = None):  # noqa: ANN201 - a forkserver.Child
        return self.lab.fs.spawn(*argv, env=self.env(failpoints))

    def wait(self, child: Any, timeout: float = 120) -> Result:
        result = self.lab.fs.wait(child, timeout=timeout)
        self.log.append(result)
        return result

    def pid(self, kind: str) -> str:
        return str(self.proposals[kind]["id"])

    def store(self) -> StateStore:
        return StateStore(f"sqlite:///{self.home / 'state.sqlite'}", create=False)

    def status(self, proposal_id: str) -> ProposalStatus:
        store = self.store()
        try:
            return store.get_proposal(proposal_id).status
        finally:
            store.engine.dispose()

    def world(self) -> dict[str, Any]:
        """What AWS says now about the four proposals' resources (read around the proxy)."""
        d = self.demo
        asg = d.client("autoscaling").describe_auto_scaling_groups(AutoScalingGroupNames=[NAMES["spot"]])
        group = asg["AutoScalingGroups"][0]
        dist = (group.get("MixedInstancesPolicy") or {}).get("InstancesDistribution") or {}
        param = d.client("ssm").get_parameter(Name=ROUTE_PARAM)["Parameter"]
        return {
            "stop": d.instance_state(NAMES["stop"]),
            "stop2": d.instance_state(NAMES["stop2"]),
            # No mixed-instances policy is all on demand: what a rollback sets back explicitly.
            "spot": (dist.get("OnDemandPercentageAboveBaseCapacity", 100), dist.get("SpotAllocationStrategy")),
            "route": param["Value"],
            "route_version": param["Version"],
        }


class Lab:
    def __init__(self, emulator: LocalAwsEmulator, template: DemoTemplate, root: Path) -> None:
        assert emulator.endpoint_url
        self.emulator = emulator
        self.template = template
        self.root = root
        (root / "fs").mkdir()
        self.fs = ForkServer(root / "fs", REPO)
        self.proxy = FaultProxy(emulator.endpoint_url, stall_seconds=READ_TIMEOUT + 1.0)
        self.config = proxy_config(root / "chaos.toml", self.proxy.endpoint)
        self._key: object = None
        self._org: DemoOrg | None = None
        self.pristine: dict[str, Any] = {}
        self._n = 0
        self.proposals = {k: next(p for p in template.sweep["proposals"] if p["target"]["name"] == n)
                          for k, n in NAMES.items()}

    def _dir(self, what: str) -> Path:
        self._n += 1
        path = self.root / f"{what}-{self._n}"
        path.mkdir()
        return path

    def _seeded(self, key: object) -> DemoOrg:
        """The demo's AWS state, re-created when ``key`` differs from the last group's."""
        if key != self._key or self._org is None:
            self.proxy.clear()
            self.emulator.reset()
            self._org = _org_for_test(self.template, self.emulator, self._dir("org"), swept=True)
            self._key = key
            self.pristine = Org(self._org, self, self._org.home, self.proposals).world()
        return self._org

    def _restore_cheap(self, demo: DemoOrg) -> bool:
        """Set the spot group and the routing parameter back as seeded; False if that failed.

        Both plans expect only these fields, so a case on them needs no re-seed (~3 s): a fresh
        copy of the swept home and these two resources put back. The parameter's version keeps
        counting; cases compare versions before and after themselves.
        """
        org = Org(demo, self, demo.home, self.proposals)
        world = org.world()
        if world["route"] != self.pristine["route"]:
            demo.client("ssm").put_parameter(Name=ROUTE_PARAM, Value=self.pristine["route"], Type="String", Overwrite=True)
        if world["spot"] != self.pristine["spot"]:
            # As a rollback sets it back: through the adapter, straight to the emulator.
            AwsAdapter(region=demo.scenario.region, endpoint_url=demo.endpoint).autoscaling.set_on_demand_split(
                NAMES["spot"], on_demand_percentage_above_base=100, on_demand_base_capacity=0,
                spot_allocation_strategy=None,
            )
        world = org.world()
        return all(world[k] == self.pristine[k] for k in ("route", "spot"))

    def cheap(self, *, swept: bool = True) -> Org:
        """A fresh home on the seeded AWS, the spot group and routing parameter as seeded."""
        if self._org is None or not self._restore_cheap(self._org):
            self._seeded(("cheap", self._n))
        return self.org(self._key, swept=swept, fresh_home=True)

    def for_case(self, kind: str, key: object) -> Org:
        """The organisation for a case acting on ``kind``: cheap kinds restore, stops re-seed."""
        return self.cheap() if kind in ("spot", "route") else self.org(key)

    def org(self, key: object, *, swept: bool = True, fresh_home: bool = False) -> Org:
        """The group ``key``'s organisation: shared home, unless ``fresh_home``; AWS shared."""
        demo = self._seeded(key)
        self.proxy.clear()
        if fresh_home or not swept:
            home = self._dir("home") / "home"
            shutil.copytree(self.template.swept_home if swept else self.template.home, home)
        else:
            home = demo.home
        proposals = self.proposals
        if demo.sweep is not None:  # its own, if the emulator made the fixture prepare one afresh
            proposals = {k: next(p for p in demo.sweep["proposals"] if p["target"]["name"] == n) for k, n in NAMES.items()}
        return Org(demo, self, home, proposals)

    def lake_home(self) -> Path:
        """A home with an empty state and an empty lake (ingest cases need no AWS)."""
        return self._dir("lake-home")

    def close(self) -> None:
        self.proxy.stop()
        self.fs.close()


@pytest.fixture(scope="session")
def lab(emulator: LocalAwsEmulator, demo_template: DemoTemplate, tmp_path_factory: pytest.TempPathFactory
        ) -> Iterator[Lab]:
    lab = Lab(emulator, demo_template, tmp_path_factory.mktemp("chaos"))
    yield lab
    lab.close()


def doctor(org_or_env: Org | dict[str, str], lab: Lab | None = None) -> dict[str, Any]:
    if isinstance(org_or_env, Org):
        result = org_or_env.run("doctor", "--json")
    else:
        assert lab is not None
        result = lab.fs.run("doctor", "--json", env=org_or_env)
    assert "Traceback" not in result.output, str(result)
    assert result.returncode in (0, 1), str(result)
    report: dict[str, Any] = json.loads(result.stdout)
    return report
