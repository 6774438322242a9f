"""Names of the metrics checks read, so a pure check never imports a cloud adapter."""

from __future__ import annotations

from typing import NamedTuple


class MetricId(NamedTuple):
    namespace: str
    name: str

    def __str__(self) -> str:
        return f"{self.namespace}/{self.name}"


EC2_CPU = MetricId("AWS/EC2", "CPUUtilization")
"""EC2's own CPU metric, per instance."""
NVIDIA_GPU = MetricId("CWAgent", "nvidia_smi_utilization_gpu")
"""The CloudWatch agent's GPU utilisation (its ``nvidia_gpu`` section)."""
HOURLY = 3600
