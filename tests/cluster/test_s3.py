"""A real Swift S3 gateway on the volume, driven by real boto3 requests from another client host."""
from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest
from botocore.exceptions import ClientError

from harness.errors import ConfigError
from harness.history import S3Store, check_history, load_history, run_clients
from harness.providers.host.netns import is_alive
from harness.workloads.s3client import add_content_md5, check_endpoint, make_client
from harness.workloads.s3gateway import S3Endpoint, start_gateway

MIB = 1 << 20


def _etc_swift_digest() -> str:
    h = hashlib.sha256()
    for p in sorted(Path("/etc/swift").rglob("*")):
        if p.is_file():
            h.update(p.name.encode() + p.read_bytes())
    return h.hexdigest()


def test_s3_api_end_to_end_over_the_volume(s3_gateway, s3_endpoint):
    s3 = make_client(s3_endpoint)
    s3.create_bucket(Bucket="conformance")
    assert "conformance" in [b["Name"] for b in s3.list_buckets()["Buckets"]]
    payload = os.urandom(100_000)
    s3.put_object(Bucket="conformance", Key="dir/one", Body=payload)
    assert s3.get_object(Bucket="conformance", Key="dir/one")["Body"].read() == payload
    ranged = s3.get_object(Bucket="conformance", Key="dir/one", Range="bytes=1000-1999")
    assert ranged["ResponseMetadata"]["HTTPStatusCode"] == 206 and ranged["Body"].read() == payload[1000:2000]
    assert s3.head_object(Bucket="conformance", Key="dir/one")["ContentLength"] == len(payload)

    # multipart: a 5 MiB part (the minimum for a non-last part) and a small last part
    parts_data = [os.urandom(5 * MIB), os.urandom(1234)]
    upload = s3.create_multipart_upload(Bucket="conformance", Key="big")["UploadId"]
    parts = [{"PartNumber": n, "ETag": s3.upload_part(Bucket="conformance", Key="big", UploadId=upload,
                                                       PartNumber=n, Body=data)["ETag"]}
             for n, data in enumerate(parts_data, 1)]
    s3.complete_multipart_upload(Bucket="conformance", Key="big", UploadId=upload, MultipartUpload={"Parts": parts})
    assert s3.get_object(Bucket="conformance", Key="big")["Body"].read() == b"".join(parts_data)

    listed = s3.list_objects_v2(Bucket="conformance")
    assert sorted(o["Key"] for o in listed["Contents"]) == ["big", "dir/one"]
    assert [o["Key"] for o in s3.list_objects_v2(Bucket="conformance", Prefix="dir/")["Contents"]] == ["dir/one"]

    deleted = s3.delete_objects(Bucket="conformance", Delete={"Objects": [{"Key": "dir/one"}, {"Key": "big"}]})
    assert sorted(d["Key"] for d in deleted["Deleted"]) == ["big", "dir/one"] and not deleted.get("Errors")
    assert s3.list_objects_v2(Bucket="conformance").get("KeyCount") == 0



def test_objects_are_files_on_the_bricks(s3_gateway, s3_endpoint):
    s3 = make_client(s3_endpoint)
    s3.create_bucket(Bucket="onbricks")
    s3.put_object(Bucket="onbricks", Key="k", Body=b"stored on gluster")
    data_files = list((Path(s3_gateway.devices) / "d1" / "objects").rglob("*.data"))  # the mount is here too
    assert len(data_files) == 1 and data_files[0].read_bytes() == b"stored on gluster"
    relative = data_files[0].relative_to(s3_gateway.mount.path)
    on_bricks = [b for b in s3_gateway.mount.volume.bricks if (Path(b.path) / relative).exists()]
    assert len(on_bricks) == 3  # replica 3: every brick holds the object


def test_delete_objects_needs_the_content_md5_hook(s3_endpoint):
    """Negative control for the compatibility fix: the same request without the hook is refused."""
    s3 = make_client(s3_endpoint)
    s3.create_bucket(Bucket="md5")
    s3.put_object(Bucket="md5", Key="k", Body=b"x")
    s3.wrapped.meta.events.unregister("before-call.s3.DeleteObjects", add_content_md5)
    with pytest.raises(ClientError) as refused:
        s3.delete_objects(Bucket="md5", Delete={"Objects": [{"Key": "k"}]})
    assert refused.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert s3.head_object(Bucket="md5", Key="k")["ContentLength"] == 1  # nothing was deleted


def test_gateway_config_is_per_run_and_stop_leaves_nothing_running(gluster_cluster, volume_factory, mount_factory,
                                                                   tmp_path):
    before = _etc_swift_digest()
    mount = mount_factory(volume_factory("replica3"), gluster_cluster.clients[0])
    with start_gateway(gluster_cluster.clients[0], mount, tmp_path / "gw") as gateway:
        pids = dict(gateway.pids)
        assert set(pids) == {"memcached", "account", "container", "object", "proxy"}
        assert all(is_alive(p) for p in pids.values())
        etc = tmp_path / "gw" / "etc"
        assert {"swift.conf", "proxy-server.conf", "object.ring.gz", "account.ring.gz", "container.ring.gz"} <= {
            p.name for p in etc.iterdir()}
        assert "error_suppression_interval = 1" in (etc / "proxy-server.conf").read_text()
        # each server runs in the client host's network namespace (so cluster teardown reaches it)
        client_net = os.stat(f"/run/netns/{gluster_cluster.clients[0].namespace}").st_ino
        assert all(os.stat(f"/proc/{p}/ns/net").st_ino == client_net for p in pids.values())
    assert not any(is_alive(p) for p in pids.values())
    assert _etc_swift_digest() == before  # /etc/swift never read for config nor written


def test_a_second_gateway_on_the_same_ports_is_refused_before_starting(s3_gateway, gluster_cluster, tmp_path):
    with pytest.raises(ConfigError, match="ports \\[8080, 6202, 6201, 6200, 11211\\] are already in use on client1"):
        start_gateway(gluster_cluster.clients[0], s3_gateway.mount, tmp_path / "gw2")
    assert not (tmp_path / "gw2").exists()


def test_an_unreachable_endpoint_is_a_clear_error(gluster_cluster, s3_endpoint):
    wrong = S3Endpoint(f"http://{gluster_cluster.clients[0].address}:8099", "test:tester", "testing",
                       netns=s3_endpoint.netns)
    with pytest.raises(ConfigError, match=r"S3 endpoint http://198\.18\.\d+\.101:8099 is unreachable .*refused"):
        check_endpoint(wrong)
    with pytest.raises(ConfigError, match="must be an http:// or https:// URL"):
        make_client(S3Endpoint("198.18.0.1:8080", "a", "b"))


def test_s3_history_clients_lose_nothing(s3_gateway, gluster_cluster, run_dir):
    endpoint_a = s3_gateway.endpoint(gluster_cluster.clients[0])
    endpoint_b = s3_gateway.endpoint(gluster_cluster.clients[-1])
    make_client(endpoint_a).create_bucket(Bucket="history")
    stores = {"s3a": S3Store(make_client(endpoint_a), "history"), "s3b": S3Store(make_client(endpoint_b), "history")}
    path = run_dir.path / "history-s3-test.jsonl"
    run = run_clients(stores, duration_s=3.0, path=path)
    verdict = check_history(load_history(path))
    assert verdict.valid is True, verdict.to_check_result().explain()
    written = {op.process for op in run.ops if op.f == "write" and op.type.value == "ok"}
    assert written == {"s3a", "s3b"} and run.stuck_clients == []  # both wrote; every write was read back
