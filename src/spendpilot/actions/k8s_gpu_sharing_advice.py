"""Advisory: move a whole-GPU workload to a MIG slice or a time-sliced share.

Repartitioning a node's GPUs changes what every pod on that node can request, and the workload's
own resources change from ``nvidia.com/gpu: 1`` to the slice; both are platform decisions taken
with the GPU operator's configuration, so spendpilot proposes them with a runbook and changes
nothing itself (``actions/advisory.py``).
"""

from __future__ import annotations

from spendpilot.actions.advisory import AdvisoryAction
from spendpilot.actions.base import register_action
from spendpilot.checks.k8s_gpu_sharing_hint import GpuSharingFacts
from spendpilot.domain import Finding


@register_action("k8s_gpu_sharing_advice")
class GpuSharingAdvice(AdvisoryAction[GpuSharingFacts]):
    facts_model = GpuSharingFacts

    def describe(self, finding: Finding[GpuSharingFacts]) -> str:
        f = finding.facts
        share = (f"MIG {f.resource.removeprefix('nvidia.com/mig-')}" if f.mode == "mig"
                 else f"a 1/{f.replicas_per_gpu} time-sliced GPU")
        return f"Run {f.workload.label()} on {share} instead of {f.gpus_per_pod:g} whole {f.gpu_model}"

    def runbook(self, finding: Finding[GpuSharingFacts]) -> list[str]:
        f = finding.facts
        w = f.workload
        if f.mode == "mig":
            profile = f.resource.removeprefix("nvidia.com/mig-")
            return [
                f"Pick (or add) a node pool of {f.gpu_model} nodes for MIG; with the NVIDIA GPU operator in the "
                f"'mixed' MIG strategy, label a node `nvidia.com/mig.config=<a config with {profile} slices>` "
                "(e.g. all-balanced) and wait for `nvidia.com/mig.config.state=success`.",
                f"Check the node now advertises `{f.resource}` in its allocatable resources.",
                f"In {w.kind} {w.namespace}/{w.name}, replace `nvidia.com/gpu: {f.gpus_per_pod:g}` in requests and "
                f"limits with `{f.resource}: {f.gpus_per_pod:g}` and add a nodeSelector for that pool.",
                f"Watch DCGM_FI_DEV_FB_USED and latency for a day: the slice has {profile.split('.')[1]} of memory "
                f"(peak seen {f.fb_peak_mib:,.0f} MiB) and {f.fraction:.0%} of the compute (p95 seen {f.util_p95:.0f}%).",
                "Undo: put `nvidia.com/gpu` back in the workload and `nvidia.com/mig.config=all-disabled` on the node.",
            ]
        return [
            f"In the NVIDIA device plugin config of a {f.gpu_model} node pool, set "
            f"`sharing.timeSlicing.resources: [{{name: nvidia.com/gpu, replicas: {f.replicas_per_gpu}}}]` "
            "and label the nodes to use that config (`nvidia.com/device-plugin.config`).",
            f"Move {w.kind} {w.namespace}/{w.name} to that pool (nodeSelector); its request stays `nvidia.com/gpu: 1`, "
            f"now 1/{f.replicas_per_gpu} of a GPU.",
            "Time-slicing shares neither memory limits nor fault isolation: every pod on a GPU sees all its memory, "
            f"so keep the workloads sharing it to {f.fb_peak_mib:,.0f} MiB peak or less each, and expect latency to "
            "vary with the neighbours' load.",
            "Undo: move the workload back to a pool without time-slicing.",
        ]
