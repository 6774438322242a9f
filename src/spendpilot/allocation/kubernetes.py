"""Kubernetes cost allocation by the OpenCost specification, with shared GPUs charged by fraction.

The method (OpenCost spec v0.1, github.com/opencost/opencost/blob/develop/spec/opencost-specv01.md):

1. **Node cost.** Each node costs its hourly price for the hours it ran. The price is the node's
   billed cost from the FOCUS lake when its instance id (the last part of ``spec.providerID``)
   matches a ``ResourceId`` there (billed cost / billed hours: what the account really pays),
   else the price book's list price for its instance type (spot or on-demand, by its capacity
   type).
2. **Split into CPU, RAM and GPU.** A cloud bills the node as one price; the spec (Appendix A)
   derives per-resource prices by holding the ratio of marginal resource prices constant and
   scaling them so they sum to the node price. The ratio is OpenCost's ``default.json``
   (CPU 0.031611 $/core-h, RAM 0.004237 $/GiB-h, GPU 0.95 $/GPU-h), so for a node of ``c``
   cores, ``m`` GiB and ``g`` physical GPUs costing ``C`` an hour:
   ``k = C / (c·0.031611 + m·0.004237 + g·0.95)``, core-hour = ``k·0.031611``, GiB-hour =
   ``k·0.004237``, GPU-hour = ``k·0.95``.
3. **Workload cost.** Each pod is charged, per hour it ran on the node,
   ``max(request, usage) × rate`` for CPU and memory (usage from Prometheus; without a reading
   that hour, the request), and its GPU *request* for the GPU (a pod cannot use a GPU it did not
   request). Pods are grouped by their top-level controller (Deployment, StatefulSet, Job…).
4. **Idle.** Capacity no pod was charged for, times the same rates, is one line of its own
   (namespace ``__idle__``); it is negative when pods used more than the node has (the spec's
   definition: idle = asset cost − workload cost).

**Shared GPUs.** A pod's GPU amount is counted in *physical* GPUs: a MIG slice
(``nvidia.com/mig-1g.10gb``) is the fraction of the GPU the node's MIG profile says (1/7 for a
``1g`` slice of an A100/H100 when the node does not say); on a time-sliced node whose GPUs are
advertised ``N`` times, one ``nvidia.com/gpu`` is ``1/N`` of a GPU. So four pods sharing one
time-sliced GPU are charged a quarter each, not a whole GPU each.

Amounts are summed in floats (core-hours, GiB-hours, GPU-hours), costs in ``Decimal``; the
result is kept per UTC day so it can be stored as daily FOCUS rows. Only current pods are known
(the object source lists what exists now); the share of pods deleted before the sweep falls
into idle.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import numpy as np
import numpy.typing as npt
from pydantic import AwareDatetime, BaseModel, Field

from spendpilot.domain.kubernetes import ClusterState, KubeNode, KubePod, UsageSeries
from spendpilot.domain.money import Money

CPU_RATE = Decimal("0.031611")
"""OpenCost default.json ``CPU``: $ per core-hour (only the ratio between the three matters)."""
RAM_RATE = Decimal("0.004237")
"""OpenCost default.json ``RAM``: $ per GiB-hour."""
GPU_RATE = Decimal("0.95")
"""OpenCost default.json ``GPU``: $ per GPU-hour."""
MIG_COMPUTE_SLICES = 7
"""Compute slices of an A100/H100; a ``<n>g`` MIG profile is n/7 of the GPU unless the node says."""
IDLE = "__idle__"
GIB = float(2**30)
HOUR = timedelta(hours=1)
_MIG = re.compile(r"^nvidia\.com/mig-(\d+)g\.")


@dataclass(frozen=True)
class NodePrice:
    per_hour: Decimal
    currency: str
    source: str
    """Where the price comes from, shown beside the allocation."""


@dataclass(frozen=True)
class NodeRates:
    """A node's price split into resource prices (per core-hour, GiB-hour, physical GPU-hour)."""

    cpu: Decimal
    ram: Decimal
    gpu: Decimal
    currency: str


def split_node_price(node: KubeNode, price: NodePrice) -> NodeRates:
    cores, gib, gpus = _capacity(node)
    weight = Decimal(repr(cores)) * CPU_RATE + Decimal(repr(gib)) * RAM_RATE + Decimal(gpus) * GPU_RATE
    if weight == 0:
        raise ValueError(f"node {node.name} reports no CPU, memory or GPU capacity; it cannot be priced per resource")
    k = price.per_hour / weight
    return NodeRates(cpu=k * CPU_RATE, ram=k * RAM_RATE, gpu=k * GPU_RATE, currency=price.currency)


def _capacity(node: KubeNode) -> tuple[float, float, int]:
    cores = node.cpu_cores or node.allocatable.get("cpu", 0.0)
    memory = node.memory_bytes or node.allocatable.get("memory", 0.0)
    return cores, memory / GIB, node.gpu_count


def node_prices(
    state: ClusterState,
    prices: object,
    billed_costs: Mapping[str, Money] | None = None,
    billed_hours: Mapping[str, float] | None = None,
) -> tuple[dict[str, NodePrice], list[str]]:
    """Each node's hourly price, and one line per node that could not be priced.

    ``prices`` is a ``PriceBook``; ``billed_costs``/``billed_hours`` are the snapshot's 30-day
    FOCUS cost and billed hours by ResourceId."""
    billed_costs, billed_hours = billed_costs or {}, billed_hours or {}
    found: dict[str, NodePrice] = {}
    missing: list[str] = []
    for node in state.nodes:
        iid = node.instance_id
        if iid and iid in billed_costs and billed_hours.get(iid):
            cost = billed_costs[iid]
            found[node.name] = NodePrice(
                per_hour=cost.amount / Decimal(repr(billed_hours[iid])), currency=cost.currency,
                source=f"FOCUS lake: EffectiveCost of {iid} / {billed_hours[iid]:g} billed hours",
            )
            continue
        if not node.instance_type:
            missing.append(f"{node.name}: no instance type label and no billed cost for its instance")
            continue
        region = node.region or "us-east-1"
        quote = None
        if node.capacity_type == "spot":
            spot = prices.spot(node.instance_type, region)  # type: ignore[attr-defined]
            if spot is not None:
                found[node.name] = NodePrice(per_hour=spot.typical, currency=spot.currency,
                                             source=f"price book spot {node.instance_type} ({region})")
                continue
        quote = prices.on_demand(node.instance_type, region)  # type: ignore[attr-defined]
        if quote is None:
            missing.append(f"{node.name}: no price for {node.instance_type} in {region}")
            continue
        found[node.name] = NodePrice(per_hour=quote.per_hour, currency=quote.currency,
                                     source=f"price book on-demand {node.instance_type} ({quote.region})")
    return found, missing


def gpu_share(pod: KubePod, node: KubeNode) -> float:
    """The physical GPUs a pod holds: whole GPUs, MIG slices or time-sliced replicas."""
    total = 0.0
    sharing = node.gpu_sharing
    for container in pod.containers:
        for resource in {*container.requests, *container.limits}:
            if not resource.startswith("nvidia.com/"):
                continue
            # Extended resources cannot be overcommitted: a limit alone is the request.
            quantity = max(container.requests.get(resource, 0.0), container.limits.get(resource, 0.0))
            if resource == "nvidia.com/gpu":
                replicas = sharing.replicas if sharing.mode == "time_slicing" and sharing.replicas > 1 else 1
                total += quantity / replicas
            elif resource.startswith("nvidia.com/mig-"):
                total += quantity * mig_fraction(resource, node)
    return total


def mig_fraction(resource: str, node: KubeNode) -> float:
    known = node.gpu_sharing.mig_profiles.get(resource)
    if known is not None:
        return known
    match = _MIG.match(resource)
    if not match:
        raise ValueError(f"node {node.name}: cannot tell what fraction of a GPU {resource} is; "
                         "set its MIG profile on the node")
    return int(match.group(1)) / MIG_COMPUTE_SLICES


class AllocationLine(BaseModel):
    """One workload's (or the idle capacity's) cost on one UTC day."""

    cluster: str
    day: date
    namespace: str
    workload_kind: str
    workload_name: str
    labels: dict[str, str] = Field(default_factory=dict)
    cpu_core_hours: float = 0.0
    ram_gib_hours: float = 0.0
    gpu_hours: float = 0.0
    """Physical GPU-hours (a quarter of a time-sliced GPU for an hour is 0.25)."""
    cpu_cost: Decimal = Decimal(0)
    ram_cost: Decimal = Decimal(0)
    gpu_cost: Decimal = Decimal(0)
    currency: str = "USD"

    @property
    def cost(self) -> Decimal:
        return self.cpu_cost + self.ram_cost + self.gpu_cost

    @property
    def is_idle(self) -> bool:
        return self.namespace == IDLE


class Allocation(BaseModel):
    cluster: str
    start: AwareDatetime
    end: AwareDatetime
    lines: list[AllocationLine]
    node_costs: dict[str, Decimal]
    """Currency -> what the priced nodes cost over the period (price x hours run)."""
    node_price_sources: dict[str, str] = Field(default_factory=dict)
    unpriced_nodes: list[str] = Field(default_factory=list)
    """Nodes left out (and their pods with them), each with why."""
    node_instances: list[str] = Field(default_factory=list)
    """Cloud instance ids of the allocated nodes: chargeback sets their bill rows aside, because
    these lines hold their cost (``allocation.chargeback``)."""

    def by_namespace(self) -> dict[tuple[str, str], Decimal]:
        out: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
        for line in self.lines:
            out[(line.namespace, line.currency)] += line.cost
        return dict(out)


class _Period:
    """Hour starts of the period as epoch seconds, and each hour's UTC day."""

    def __init__(self, start: datetime, hours: int) -> None:
        self.t0 = start.timestamp()
        self.starts = self.t0 + 3600.0 * np.arange(hours)
        day_of = [(start + i * HOUR).astimezone(UTC).date() for i in range(hours)]
        self.days: list[date] = sorted(set(day_of))
        index = {d: i for i, d in enumerate(self.days)}
        self.day_index = np.array([index[d] for d in day_of], dtype=np.int64)
        self.hours = hours

    def active(self, since: datetime | None, until: datetime | None) -> npt.NDArray[np.float64]:
        """Fraction of each hour inside [since, until)."""
        lo = np.maximum(self.starts, since.timestamp()) if since else self.starts
        hi = np.minimum(self.starts + 3600.0, until.timestamp()) if until else self.starts + 3600.0
        return np.clip((hi - lo) / 3600.0, 0.0, 1.0)

    def per_day(self, hourly: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        return np.bincount(self.day_index, weights=hourly, minlength=len(self.days)).astype(np.float64)

    def readings(self, series: Iterable[UsageSeries]) -> npt.NDArray[np.float64]:
        """Sum of the containers' readings per hour (NaN where none); a point at ``at`` stands
        for the step that ends there (Prometheus range queries over ``[step]`` windows)."""
        out = np.full(self.hours, np.nan)
        for s in series:
            if not s.points:
                continue
            at = np.fromiter((p.at.timestamp() for p in s.points), dtype=np.float64, count=len(s.points))
            values = np.fromiter((p.value for p in s.points), dtype=np.float64, count=len(s.points))
            index = np.ceil((at - self.t0) / 3600.0).astype(np.int64) - 1
            keep = (index >= 0) & (index < self.hours)
            index, values = index[keep], values[keep]
            out[index] = np.where(np.isnan(out[index]), 0.0, out[index])
            np.add.at(out, index, values)
        return out


def _workload_of(pod: KubePod) -> tuple[str, str]:
    return (pod.owner.kind, pod.owner.name) if pod.owner else ("Pod", pod.name)


def allocate(state: ClusterState, prices: Mapping[str, NodePrice], start: datetime, end: datetime) -> Allocation:
    """Allocate every priced node's cost over [start, end) (whole hours) to workloads and idle."""
    hours = int((end - start) / HOUR)
    if hours <= 0:
        raise ValueError(f"allocation period {start} to {end} holds no whole hour")
    period = _Period(start, hours)
    n_days = len(period.days)
    nodes = {n.name: n for n in state.nodes if n.name in prices}
    rates = {name: split_node_price(node, prices[name]) for name, node in nodes.items()}
    usage: dict[tuple[str, str, str], list[UsageSeries]] = defaultdict(list)
    for u in state.usage:
        usage[(u.namespace, u.pod, u.metric)].append(u)

    node_active = {name: period.active(node.created_at, None) for name, node in nodes.items()}
    # Per node and per workload on it: (cpu, ram, gpu) amount per day.
    used: dict[str, npt.NDArray[np.float64]] = {name: np.zeros((3, n_days)) for name in nodes}
    charged: dict[tuple[str, str, str, str], npt.NDArray[np.float64]] = {}
    labels_of: dict[tuple[str, str, str, str], dict[str, str]] = {}
    workload_labels = {(w.namespace, w.kind, w.name): w.labels for w in state.workloads}
    for pod in state.pods:
        node = nodes.get(pod.node or "")
        if node is None:
            continue
        kind, wname = _workload_of(pod)
        frac = np.minimum(period.active(pod.started_at, pod.finished_at), node_active[node.name])
        if not frac.any():
            continue
        cpu_use = np.nan_to_num(period.readings(usage.get((pod.namespace, pod.name, "cpu_cores"), [])))
        ram_use = np.nan_to_num(period.readings(usage.get((pod.namespace, pod.name, "memory_bytes"), []))) / GIB
        amounts = np.stack([
            period.per_day(np.maximum(pod.request("cpu"), cpu_use) * frac),
            period.per_day(np.maximum(pod.request("memory") / GIB, ram_use) * frac),
            period.per_day(gpu_share(pod, node) * frac),
        ])
        key = (node.name, pod.namespace, kind, wname)
        if key in charged:
            charged[key] += amounts
        else:
            charged[key] = amounts
            labels_of[key] = workload_labels.get((pod.namespace, kind, wname)) or pod.labels
        used[node.name] += amounts

    lines: dict[tuple[date, str, str, str, str], AllocationLine] = {}

    def add(ns: str, kind: str, wname: str, labels: dict[str, str], amounts: npt.NDArray[np.float64],
            r: NodeRates) -> None:
        for d, day in enumerate(period.days):
            cpu, ram, gpu = (float(x) for x in amounts[:, d])
            if not (cpu or ram or gpu):
                continue  # not running that day
            key = (day, ns, kind, wname, r.currency)
            line = lines.get(key)
            if line is None:
                line = lines[key] = AllocationLine(cluster=state.cluster, day=day, namespace=ns, workload_kind=kind,
                                                   workload_name=wname, labels=dict(labels), currency=r.currency)
            line.cpu_core_hours += cpu
            line.ram_gib_hours += ram
            line.gpu_hours += gpu
            line.cpu_cost += r.cpu * Decimal(repr(cpu))
            line.ram_cost += r.ram * Decimal(repr(ram))
            line.gpu_cost += r.gpu * Decimal(repr(gpu))

    for (node_name, ns, kind, wname), amounts in charged.items():
        add(ns, kind, wname, labels_of[(node_name, ns, kind, wname)], amounts, rates[node_name])
    node_costs: dict[str, Decimal] = defaultdict(Decimal)
    for name, node in nodes.items():
        cores, gib, gpus = _capacity(node)
        node_hours = period.per_day(node_active[name])
        capacity = np.stack([node_hours * cores, node_hours * gib, node_hours * gpus])
        add(IDLE, IDLE, IDLE, {}, capacity - used[name], rates[name])
        node_costs[rates[name].currency] += prices[name].per_hour * Decimal(repr(float(node_hours.sum())))
    return Allocation(
        cluster=state.cluster, start=start, end=end,
        lines=sorted(lines.values(), key=lambda x: (x.day, x.namespace == IDLE, x.namespace, x.workload_kind, x.workload_name)),
        node_costs=dict(node_costs),
        node_price_sources={name: prices[name].source for name in nodes},
        unpriced_nodes=[n.name for n in state.nodes if n.name not in prices],
        node_instances=sorted({node.instance_id for node in nodes.values() if node.instance_id}),
    )
