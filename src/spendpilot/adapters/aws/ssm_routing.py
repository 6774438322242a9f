"""LLM model routing kept in SSM Parameter Store: ``<prefix>/<feature>/model``.

Routing a feature to another model is a configuration change an application picks up;
keeping it in Parameter Store makes the change auditable, reversible and checkable via boto3.
"""

from __future__ import annotations

from typing import Any

from spendpilot.domain import Resource, ResourceRef


class LlmRoutingApi:
    def __init__(self, client: Any, prefix: str, region: str, writer: Any = None) -> None:
        self._client = client
        self.prefix = prefix.rstrip("/")
        self.region = region
        self._writer = writer or client
        """Changes go through this client: one attempt, never retried blindly (see ``AwsAdapter``)."""

    def parameter_name(self, feature: str) -> str:
        return f"{self.prefix}/{feature}/model"

    def list_routes(self) -> list[Resource]:
        out: list[Resource] = []
        paginator = self._client.get_paginator("get_parameters_by_path")
        for page in paginator.paginate(Path=self.prefix, Recursive=True):
            for param in page["Parameters"]:
                name = param["Name"]
                if not name.endswith("/model"):
                    continue
                feature = name[len(self.prefix) + 1 : -len("/model")]
                out.append(self._resource(feature, param["Value"], param.get("Version")))
        return out

    def _resource(self, feature: str, model: str, version: int | None) -> Resource:
        return Resource(
            ref=ResourceRef(
                provider="aws",
                kind="llm_feature",
                id=feature,
                region=self.region,
                name=feature,
            ),
            attributes={"model": model, "parameter": self.parameter_name(feature), "version": version},
        )

    def get_route(self, feature: str) -> Resource | None:
        try:
            param = self._client.get_parameter(Name=self.parameter_name(feature))["Parameter"]
        except self._client.exceptions.ParameterNotFound:
            return None
        return self._resource(feature, param["Value"], param.get("Version"))

    def set_route(self, feature: str, model: str) -> None:
        self._writer.put_parameter(
            Name=self.parameter_name(feature), Value=model, Type="String", Overwrite=True
        )
