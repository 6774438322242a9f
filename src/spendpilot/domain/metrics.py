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
SAGEMAKER_INVOCATIONS = MetricId("AWS/SageMaker", "Invocations")
"""InvokeEndpoint requests per endpoint variant (dimensions EndpointName, VariantName); read as a Sum."""
SAGEMAKER_ENDPOINT_CPU = MetricId("/aws/sagemaker/Endpoints", "CPUUtilization")
"""An endpoint variant's instances' CPU, reported while they run: how long the endpoint was watched."""
EBS_IDLE_TIME = MetricId("AWS/EBS", "VolumeIdleTime")
"""Seconds a volume had no I/O, per VolumeId; EBS reports it only while the volume is attached."""
