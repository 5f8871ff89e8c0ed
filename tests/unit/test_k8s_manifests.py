"""Every manifest the harness renders validates against three Kubernetes minor versions' schemas."""
from __future__ import annotations

import copy

import pytest
from kubernetes_validate import utils as kv_utils

from harness.cluster import ZONE_LABEL
from harness.providers.k8s import manifests as m
from harness.providers.k8s.validate import schema_versions, validate_manifests

SETTINGS = m.StackSettings(run_id="glh-test", namespace="glusterfs")
CATALOG = m.catalog(SETTINGS)
VERSIONS = schema_versions()


def test_three_distinct_minor_versions_ending_with_the_newest_shipped():
    assert len(VERSIONS) == 3 and len(set(VERSIONS)) == 3
    assert VERSIONS[-1] == kv_utils.major_minor(kv_utils.latest_version())
    minors = [int(v.split(".")[1]) for v in VERSIONS]
    assert minors == [minors[-1] - 2, minors[-1] - 1, minors[-1]]


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("group", sorted(CATALOG))
def test_rendered_manifests_validate_strictly(group, version):
    problems = validate_manifests(CATALOG[group], [version])
    assert problems == [], "\n".join(map(str, problems))


def test_catalog_covers_every_kind_the_harness_renders():
    kinds = {x["kind"] for group in CATALOG.values() for x in group}
    assert kinds == {"Namespace", "DaemonSet", "Service", "StatefulSet"}


def test_negative_control_a_misspelt_field_and_a_wrong_type_are_reported():
    ds = copy.deepcopy(m.glusterd_daemonset(SETTINGS))
    ds["spec"]["template"]["spec"]["hostNetwrok"] = True
    sts = copy.deepcopy(m.client_statefulset(SETTINGS, 2)[1])
    sts["spec"]["replicas"] = "two"
    problems = validate_manifests([ds, sts], VERSIONS)
    assert len(problems) == 2 * len(VERSIONS)
    assert any("hostNetwrok" in p.message for p in problems)
    assert any(p.path == "spec/replicas" for p in problems)


def test_glusterd_daemonset_is_host_network_privileged_on_storage_nodes_with_liveness_on_24007():
    ds = m.glusterd_daemonset(SETTINGS)
    pod = ds["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    assert ds["apiVersion"] == "apps/v1"
    assert pod["hostNetwork"] is True and pod["dnsPolicy"] == "ClusterFirstWithHostNet"
    assert pod["nodeSelector"] == {"storagenode": "glusterfs"}
    assert container["securityContext"] == {"privileged": True}
    assert container["livenessProbe"]["tcpSocket"] == {"port": 24007}
    bricks = next(v for v in pod["volumes"] if v["name"] == "bricks")
    assert bricks["hostPath"]["path"] == SETTINGS.brick_root
    assert {"name": "bricks", "mountPath": SETTINGS.brick_root} in container["volumeMounts"]
    # the selector matches the template's labels, or the API server would refuse the DaemonSet
    labels = ds["spec"]["template"]["metadata"]["labels"]
    assert all(labels[k] == v for k, v in ds["spec"]["selector"]["matchLabels"].items())
    # glusterd is not the container's main process: killed, it leaves the container and bricks running
    assert container["command"][:2] == ["sh", "-c"] and "glusterd" in container["command"][2]


def test_namespace_admits_privileged_pods_where_pod_security_is_enforced():
    labels = m.namespace(SETTINGS)["metadata"]["labels"]
    assert {labels[f"pod-security.kubernetes.io/{mode}"] for mode in ("enforce", "audit", "warn")} == {"privileged"}


def test_clients_spread_over_zones_and_have_fuse():
    svc, sts = m.client_statefulset(SETTINGS, 2)
    pod = sts["spec"]["template"]["spec"]
    assert pod["topologySpreadConstraints"][0]["topologyKey"] == ZONE_LABEL
    assert {"name": "fuse", "hostPath": {"path": "/dev/fuse", "type": "CharDevice"}} in pod["volumes"]
    assert sts["spec"]["serviceName"] == svc["metadata"]["name"]
