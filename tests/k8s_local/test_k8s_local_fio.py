"""fio inside a client pod of a k8s-local cluster: the job file sent into the pod, fio's JSON and
per-I/O latency log brought back here and parsed, its progress read in the pod while it runs, and
gfapi from the pod to a node. The negative controls: a mount already unmounted, or a mount of another
client, is refused before fio runs, naming the client and the fix. Block access: fio on a loop
device attached in the pod."""
from __future__ import annotations

import json
import threading
import time

import pytest

from harness.errors import ConfigError
from harness.mount import loop_devices
from harness.workloads.block import attach_loop
from harness.workloads.fio import BlockTarget, FileTarget, FioJob, GfapiTarget, fio_ops_completed, run_fio

from .conftest import k8s_built

pytestmark = k8s_built

RUNTIME_S = 4




def leftovers(client) -> str:
    """fio folders still in the client pod (run_fio removes its own)."""
    return client.run(["sh", "-c", "ls -d /tmp/harness-fio.* 2>/dev/null || true"], timeout=15).stdout.strip()


def test_fio_in_a_client_pod_brings_back_a_parsed_result(cluster, volume, tmp_path):
    mount = cluster.mount(volume)
    results, during = [], []
    worker = threading.Thread(target=lambda: results.append(
        run_fio(mount.client, FileTarget(mount), FioJob("randrw", "8M", RUNTIME_S), tmp_path)))
    start = time.monotonic()
    worker.start()
    while worker.is_alive():  # progress from the pod's status file, before anything is brought back
        count = fio_ops_completed(tmp_path)
        if count and not list(tmp_path.glob("fio-*/progress.json")):
            during.append(count)
        time.sleep(0.2)
    worker.join()
    elapsed = time.monotonic() - start
    result, = results
    print(f"fio {RUNTIME_S} s randrw in the pod: {elapsed:.1f} s, {result.iops:.0f} IOPS, "
          f"{len(during)} progress reads in the pod")
    for direction in (result.read, result.write):
        assert direction is not None and direction.ios > 0 and 0 < direction.clat.p50_ms <= direction.clat.p99_ms
    assert len(result.series["read"].points) == result.read.ios and len(result.series["write"].points) == result.write.ios
    assert json.loads((result.out_dir / "fio.json").read_text())["jobs"][0]["job options"]["rw"] == "randrw"
    assert during and max(during) <= result.read.ios + result.write.ios == fio_ops_completed(tmp_path)
    assert mount.files.stat("fio.dat")["size"] == 8 << 20  # fio wrote through the pod's FUSE mount
    assert leftovers(mount.client) == ""
    cluster.unmount(mount)


def test_fio_over_gfapi_from_a_client_pod(cluster, volume, tmp_path):
    client = cluster.clients[0]
    result = run_fio(client, GfapiTarget(volume.name, cluster.nodes[0].address), FioJob("randread", "8M", RUNTIME_S),
                     tmp_path)
    assert result.read is not None and result.read.ios > 0 and result.write is None
    assert volume.name in (result.out_dir / "tmp" / "fio_gfapi.log").read_text()
    assert leftovers(client) == ""


def test_fio_on_a_path_that_is_no_glusterfs_mount_in_the_client_is_refused(cluster, volume, tmp_path):
    mount = cluster.mount(volume)
    other = next(c for c in cluster.clients if c.name != mount.client.name)
    with pytest.raises(ConfigError, match=f"fio in client {other.name} cannot use {mount.path}, a mount of client "
                                          f"{mount.client.name}; run fio in the mount's client"):
        run_fio(other, FileTarget(mount), FioJob("randread", "8M", RUNTIME_S), tmp_path)
    cluster.unmount(mount)
    with pytest.raises(ConfigError, match=f"{mount.path} is not a glusterfs mount in client {mount.client.name} "
                                          r"\(nothing is mounted there\); mount the volume there"):
        run_fio(mount.client, FileTarget(mount), FioJob("randread", "8M", RUNTIME_S), tmp_path)
    assert not list(tmp_path.iterdir())  # refused before any run folder was made


def test_fio_on_a_loop_device_in_a_client_pod(cluster, volume, tmp_path):
    """Block access in the pod: the backing file written through the pod's mount, a loop device over
    it with direct I/O, fio on the device. The negative controls: the unmount detaches a loop device
    left attached (a failed test's), and an existing backing file is refused."""
    mount = cluster.mount(volume)
    with attach_loop(mount.client, mount, "8M") as loop:
        assert loop.attached() and mount.files.stat("block.img")["size"] == 8 << 20
        result = run_fio(mount.client, BlockTarget(loop.device), FioJob("randwrite", "8M", RUNTIME_S, iodepth=4),
                         tmp_path)
        assert result.write is not None and result.write.ios > 0
    assert not loop.attached()
    with pytest.raises(ConfigError, match=f"{mount.path}/block.img already exists in client {mount.client.name}"):
        attach_loop(mount.client, mount, "8M")
    left = attach_loop(mount.client, mount, "8M", name="left.img")
    cluster.unmount(mount)
    assert not left.attached()
    assert not any(d.get("back-file", "").startswith(str(mount.path)) for d in loop_devices(mount.client))
