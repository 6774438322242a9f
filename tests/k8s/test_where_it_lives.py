"""A Kubernetes proposal says which cluster it is in; an AWS one which account."""

from __future__ import annotations

from spendpilot.domain.resources import ResourceRef


def test_a_kubernetes_workload_lives_in_a_cluster_not_an_account() -> None:
    ref = ResourceRef(provider="kubernetes", kind="k8s_job", id="ml/finetune", account="acme-eks")
    assert ref.location() == "cluster acme-eks"


def test_an_aws_resource_lives_in_an_account_and_region() -> None:
    ref = ResourceRef(provider="aws", kind="ec2_instance", id="i-1", account="111122223333", region="eu-west-1")
    assert ref.location() == "account 111122223333 eu-west-1"
