"""The S3 gateway and locust inside client pods of a k8s-local cluster: Swift's servers and memcached
started, watched and stopped in one pod over its FUSE mount, boto3 from this process in the other
pod's network, locust in that pod with its outputs brought back. The negative controls: a pod without
the mount is refused before anything starts, and a server killed in the pod is named dead."""
from __future__ import annotations

import pytest

from harness.errors import ConfigError
from harness.workloads.locust import LocustJob, run_locust
from harness.workloads.s3client import make_client
from harness.workloads.s3gateway import start_gateway

from .conftest import k8s_built

pytestmark = k8s_built


def in_pod(client, pattern: str) -> str:
    return client.run(["sh", "-c", f"ls -d {pattern} 2>/dev/null || true"], timeout=15).stdout.strip()


def test_gateway_and_locust_in_client_pods(cluster, volume, tmp_path):
    mount = cluster.mount(volume)
    host, other = mount.client, next(c for c in cluster.clients if c.name != mount.client.name)
    with start_gateway(host, mount, tmp_path / "gw") as gateway:
        print(f"S3 gateway in pod {host.name} up in {gateway.start_seconds:.2f} s")
        s3 = make_client(gateway.endpoint(other))  # this process, in the other pod's network
        s3.create_bucket(Bucket="pods")
        s3.put_object(Bucket="pods", Key="k", Body=b"through a pod")
        assert s3.get_object(Bucket="pods", Key="k")["Body"].read() == b"through a pod"
        result = run_locust(other, gateway.endpoint(other), LocustJob(users=2, run_time_s=5), tmp_path / "locust")
        print(f"locust in pod {other.name}: {result.total.requests} requests, p99 {result.total.p99_ms} ms")
        assert result.total.requests > 0 and result.total.failures == 0, result.summary()
        assert len(result.series.points) == result.total.requests
        # the objects are files on the volume, as the pod's mount sees them
        assert mount.files.listdir(f"{gateway.devices.name}/d1/objects")
        pids = dict(gateway.pids)
    assert gateway.dead() == [] and not gateway.pids
    gone = host.run(["sh", "-c", 'for p; do [ -d /proc/$p ] && echo $p; done; true', "sh", *map(str, pids.values())],
                    timeout=15).stdout.split()
    assert gone == [], f"gateway processes left in {host.name}: {gone}"
    assert (tmp_path / "gw" / "log" / "proxy.log").exists()  # brought back at stop
    assert in_pod(host, "/tmp/harness-s3.*") == "" and in_pod(other, "/tmp/harness-locust.*") == ""
    cluster.unmount(mount)


def test_a_pod_without_the_mount_is_refused_and_a_killed_server_is_named(cluster, volume, tmp_path):
    mount = cluster.mount(volume)
    other = next(c for c in cluster.clients if c.name != mount.client.name)
    with pytest.raises(ConfigError, match=f"the S3 gateway in client {other.name} cannot use {mount.path}, a mount "
                                          f"of client {mount.client.name}; run the S3 gateway in the mount's client"):
        start_gateway(other, mount, tmp_path / "refused")
    assert not (tmp_path / "refused").exists() and in_pod(other, "/tmp/harness-s3.*") == ""
    with start_gateway(mount.client, mount, tmp_path / "gw") as gateway:
        mount.client.run(["kill", "-KILL", str(gateway.pids["object"])], timeout=15)
        assert gateway.dead() == ["object"]
    cluster.unmount(mount)
