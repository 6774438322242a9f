"""The Kubernetes API emulator answers the official client as a kube-apiserver would, for the
paths spendpilot uses: lists, gets, patches of three kinds, dry runs, the scale subresource and
Status errors."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client, config
from kubernetes.client.exceptions import ApiException
from tests.k8s import manifests as m

from spendpilot.scenarios.kube_emulator import KubeEmulator, kube_emulators, strategic_merge_patch

SMP = "application/strategic-merge-patch+json"


def _seed() -> list[dict[str, Any]]:
    return [
        m.node("node-a"),
        m.deployment(
            "web",
            "shop",
            containers=[
                m.container("app", {"cpu": "1", "memory": "2Gi"}, {"memory": "4Gi"}),
                m.container("sidecar", {"cpu": "100m", "memory": "128Mi"}),
            ],
        ),
        m.pod("web-1", "shop", owner=("ReplicaSet", "web-abc")),
        m.job("train", "ml"),
        m.pod_metrics("web-1", "shop", {"app": {"cpu": "250000000n", "memory": "1048576Ki"}}),
    ]


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[tuple[KubeEmulator, client.ApiClient]]:
    kubeconfig = tmp_path / "kubeconfig"
    with kube_emulators({"alpha": _seed(), "beta": [m.node("beta-node")]}, kubeconfig) as emulators:
        yield emulators["alpha"], config.new_client_from_config(str(kubeconfig), context="alpha")


def test_lists_with_the_official_client(cluster: tuple[KubeEmulator, client.ApiClient]) -> None:
    _, api = cluster
    core, apps = client.CoreV1Api(api), client.AppsV1Api(api)
    nodes = core.list_node()
    assert [n.metadata.name for n in nodes.items] == ["node-a"]
    assert nodes.items[0].metadata.labels["node.kubernetes.io/instance-type"] == "m5.2xlarge"
    assert [p.metadata.name for p in core.list_namespaced_pod("shop").items] == ["web-1"]
    assert core.list_namespaced_pod("nowhere").items == []
    assert {n.metadata.name for n in core.list_namespace().items} == {"shop", "ml"}
    dep = apps.read_namespaced_deployment("web", "shop")
    assert dep.spec.template.spec.containers[0].resources.requests == {"cpu": "1", "memory": "2Gi"}
    assert [
        j.metadata.name for j in client.BatchV1Api(api).list_job_for_all_namespaces().items
    ] == ["train"]
    metrics = client.CustomObjectsApi(api).list_cluster_custom_object(
        "metrics.k8s.io", "v1beta1", "pods"
    )
    assert (
        metrics["kind"] == "PodMetricsList"
        and metrics["items"][0]["containers"][0]["usage"]["cpu"] == "250000000n"
    )
    assert client.VersionApi(api).get_code().git_version.startswith("v1.31")


def test_each_context_is_its_own_cluster(
    cluster: tuple[KubeEmulator, client.ApiClient], tmp_path: Path
) -> None:
    contexts, current = config.list_kube_config_contexts(str(tmp_path / "kubeconfig"))
    assert [c["name"] for c in contexts] == ["alpha", "beta"] and current["name"] == "alpha"
    beta = config.new_client_from_config(str(tmp_path / "kubeconfig"), context="beta")
    assert [n.metadata.name for n in client.CoreV1Api(beta).list_node().items] == ["beta-node"]


def test_not_found_is_a_status(cluster: tuple[KubeEmulator, client.ApiClient]) -> None:
    _, api = cluster
    with pytest.raises(ApiException) as err:
        client.AppsV1Api(api).read_namespaced_deployment("nope", "shop")
    assert err.value.status == 404
    body = json.loads(err.value.body)
    assert (
        body["kind"] == "Status"
        and body["reason"] == "NotFound"
        and body["message"] == 'deployments.apps "nope" not found'
    )


def test_strategic_merge_patch_merges_containers_by_name(
    cluster: tuple[KubeEmulator, client.ApiClient],
) -> None:
    emulator, api = cluster
    apps = client.AppsV1Api(api)
    before = apps.read_namespaced_deployment("web", "shop").metadata.resource_version
    patch = {
        "spec": {
            "template": {
                "spec": {
                    "containers": [{"name": "sidecar", "resources": {"requests": {"cpu": "50m"}}}]
                }
            }
        }
    }
    after = apps.patch_namespaced_deployment("web", "shop", patch, _content_type=SMP)
    containers = {c.name: c.resources.requests for c in after.spec.template.spec.containers}
    # the other container is untouched, and the sidecar's memory request survives the merge
    assert containers == {
        "app": {"cpu": "1", "memory": "2Gi"},
        "sidecar": {"cpu": "50m", "memory": "128Mi"},
    }
    assert int(after.metadata.resource_version) > int(before)
    assert after.metadata.generation == 2
    assert "PATCH /apis/apps/v1/namespaces/shop/deployments/web" in emulator.requests


def test_merge_patch_replaces_lists(cluster: tuple[KubeEmulator, client.ApiClient]) -> None:
    _, api = cluster
    patch = {"spec": {"template": {"spec": {"containers": [{"name": "only", "image": "x:1"}]}}}}
    after = client.AppsV1Api(api).patch_namespaced_deployment(
        "web", "shop", patch, _content_type="application/merge-patch+json"
    )
    assert [c.name for c in after.spec.template.spec.containers] == ["only"]


def test_json_patch(cluster: tuple[KubeEmulator, client.ApiClient]) -> None:
    _, api = cluster
    ops = [
        {"op": "test", "path": "/spec/replicas", "value": 2},
        {"op": "replace", "path": "/spec/replicas", "value": 3},
    ]
    after = client.AppsV1Api(api).patch_namespaced_deployment(
        "web", "shop", ops
    )  # the client's default: json-patch
    assert after.spec.replicas == 3
    with pytest.raises(ApiException) as err:
        client.AppsV1Api(api).patch_namespaced_deployment(
            "web", "shop", [{"op": "test", "path": "/spec/replicas", "value": 2}]
        )
    assert err.value.status == 422


def test_dry_run_validates_and_does_not_store(
    cluster: tuple[KubeEmulator, client.ApiClient],
) -> None:
    _, api = cluster
    apps = client.AppsV1Api(api)
    version = apps.read_namespaced_deployment("web", "shop").metadata.resource_version
    answer = apps.patch_namespaced_deployment(
        "web", "shop", {"spec": {"replicas": 0}}, dry_run="All", _content_type=SMP
    )
    assert answer.spec.replicas == 0
    stored = apps.read_namespaced_deployment("web", "shop")
    assert stored.spec.replicas == 2 and stored.metadata.resource_version == version


@pytest.mark.parametrize(
    ("patch", "field"),
    [
        ({"spec": {"replicas": -1}}, "spec.replicas"),
        (
            {
                "spec": {
                    "template": {
                        "spec": {
                            "containers": [
                                {"name": "app", "resources": {"requests": {"memory": "8Gi"}}}
                            ]
                        }
                    }
                }
            },
            "must be less than or equal to memory limit",
        ),
        (
            {
                "spec": {
                    "template": {
                        "spec": {
                            "containers": [
                                {"name": "app", "resources": {"requests": {"cpu": "lots"}}}
                            ]
                        }
                    }
                }
            },
            "quantities must match",
        ),
    ],
)
def test_invalid_changes_are_422(
    cluster: tuple[KubeEmulator, client.ApiClient], patch: dict[str, Any], field: str
) -> None:
    _, api = cluster
    with pytest.raises(ApiException) as err:
        client.AppsV1Api(api).patch_namespaced_deployment(
            "web", "shop", patch, dry_run="All", _content_type=SMP
        )
    assert err.value.status == 422
    body = json.loads(err.value.body)
    assert (
        body["reason"] == "Invalid"
        and field in body["message"]
        and body["message"].startswith('Deployment.apps "web" is invalid')
    )


def test_a_jobs_pod_template_is_immutable(cluster: tuple[KubeEmulator, client.ApiClient]) -> None:
    _, api = cluster
    batch = client.BatchV1Api(api)
    ok = batch.patch_namespaced_job(
        "train", "ml", {"spec": {"ttlSecondsAfterFinished": 86400}}, _content_type=SMP
    )
    assert ok.spec.ttl_seconds_after_finished == 86400
    with pytest.raises(ApiException) as err:
        batch.patch_namespaced_job(
            "train",
            "ml",
            {"spec": {"template": {"spec": {"tolerations": [{"key": "spot"}]}}}},
            _content_type=SMP,
        )
    assert err.value.status == 422 and "immutable" in json.loads(err.value.body)["message"]


def test_stale_resource_version_is_a_conflict(
    cluster: tuple[KubeEmulator, client.ApiClient],
) -> None:
    _, api = cluster
    with pytest.raises(ApiException) as err:
        client.AppsV1Api(api).patch_namespaced_deployment(
            "web",
            "shop",
            {"metadata": {"resourceVersion": "1"}, "spec": {"replicas": 1}},
            _content_type=SMP,
        )
    assert err.value.status == 409 and json.loads(err.value.body)["reason"] == "Conflict"


def test_scale_subresource(cluster: tuple[KubeEmulator, client.ApiClient]) -> None:
    _, api = cluster
    apps = client.AppsV1Api(api)
    scale = apps.read_namespaced_deployment_scale("web", "shop")
    assert scale.kind == "Scale" and scale.spec.replicas == 2 and scale.status.selector == "app=web"
    dry = apps.patch_namespaced_deployment_scale(
        "web", "shop", {"spec": {"replicas": 0}}, dry_run="All", _content_type=SMP
    )
    assert (
        dry.spec.replicas == 0 and apps.read_namespaced_deployment("web", "shop").spec.replicas == 2
    )
    apps.patch_namespaced_deployment_scale(
        "web", "shop", {"spec": {"replicas": 0}}, _content_type=SMP
    )
    assert apps.read_namespaced_deployment("web", "shop").spec.replicas == 0


def test_strategic_merge_delete_directive() -> None:
    doc = {"containers": [{"name": "a"}, {"name": "b"}]}
    assert strategic_merge_patch(doc, {"containers": [{"name": "a", "$patch": "delete"}]}) == {
        "containers": [{"name": "b"}]
    }
    # a list without a merge key is replaced, as the real server does (tolerations have none)
    assert strategic_merge_patch(
        {"tolerations": [{"key": "x"}]}, {"tolerations": [{"key": "y"}]}
    ) == {"tolerations": [{"key": "y"}]}
