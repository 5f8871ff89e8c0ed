"""What the S3 gateway runs on: its ports and the Swift configuration files, generated per gateway
(pure: no file is written here). Debian's swift 2.30 with s3api and tempauth, as DESIGN.md proves."""
from __future__ import annotations

import secrets
from dataclasses import dataclass

from ..errors import ConfigError
from .s3compat import REGION, SECRET_KEY

PIPELINE = ("catch_errors gatekeeper healthcheck proxy-logging cache listing_formats bulk tempurl ratelimit "
            "s3api tempauth copy container-quotas account-quotas slo dlo versioned_writes symlink "
            "proxy-logging proxy-server")
FILTERS = {
    "catch_errors": "catch_errors", "gatekeeper": "gatekeeper", "healthcheck": "healthcheck",
    "proxy-logging": "proxy_logging", "listing_formats": "listing_formats", "bulk": "bulk", "tempurl": "tempurl",
    "ratelimit": "ratelimit", "copy": "copy", "container-quotas": "container_quotas",
    "account-quotas": "account_quotas", "slo": "slo", "dlo": "dlo", "versioned_writes": "versioned_writes",
    "symlink": "symlink",
}
SERVERS = ("account", "container", "object", "proxy")

# Debian's swift lives in the system interpreter, not in a venv that may come first on PATH.
SYSTEM_PYTHON = "/usr/bin/python3"
# Run with the client's SYSTEM_PYTHON: argv is the config folder, then the account, container and
# object ports.
RING_SCRIPT = """
import sys
from swift.common.ring import RingBuilder
etc = sys.argv[1]
for name, port in zip(("account", "container", "object"), sys.argv[2:5]):
    builder = RingBuilder(10, 1, 1)  # 2^10 partitions, ONE replica (gluster replicates), 1 h
    builder.add_dev({"id": 0, "region": 1, "zone": 1, "ip": "127.0.0.1", "port": int(port),
                     "device": "d1", "weight": 100})
    builder.rebalance()
    builder.save(f"{etc}/{name}.builder")
    builder.get_ring().save(f"{etc}/{name}.ring.gz")
"""
RINGS = tuple(f"{name}.ring.gz" for name in ("account", "container", "object"))


@dataclass(frozen=True)
class GatewayPorts:
    proxy: int = 8080
    account: int = 6202
    container: int = 6201
    obj: int = 6200
    memcached: int = 11211

    def __post_init__(self) -> None:
        values = self.all()
        if any(not 1 <= p <= 65535 for p in values) or len(set(values)) != len(values):
            raise ConfigError(f"gateway ports must be distinct and within 1..65535, got {values}")

    def all(self) -> list[int]:
        return [self.proxy, self.account, self.container, self.obj, self.memcached]

    def backends(self) -> list[int]:
        """Those listening on the client's own loopback."""
        return [self.account, self.container, self.obj, self.memcached]


def render_configs(swift_dir: str, devices: str, bind_ip: str, ports: GatewayPorts,
                   log_level: str = "WARNING") -> dict[str, str]:
    """swift.conf and the four server configs (file name -> text) for a gateway whose configs will
    be in `swift_dir` and its one device under `devices`, both as its client host sees them."""
    configs = {"swift.conf": (
        "[swift-hash]\n"
        f"swift_hash_path_suffix = {secrets.token_hex(8)}\n"
        "swift_hash_path_prefix = glusterharness\n\n"
        "[storage-policy:0]\nname = Policy-0\ndefault = yes\n"
    )}
    backend_common = (
        f"bind_ip = 127.0.0.1\nworkers = 0\nuser = root\nswift_dir = {swift_dir}\ndevices = {devices}\n"
        # The devices live on a FUSE mount, not a dedicated disk: no mount check, no fallocate.
        f"mount_check = false\ndisable_fallocate = true\nlog_level = {log_level}\n"
    )
    for name, port in (("account", ports.account), ("container", ports.container), ("object", ports.obj)):
        configs[f"{name}-server.conf"] = (
            f"[DEFAULT]\nbind_port = {port}\n{backend_common}\n"
            f"[pipeline:main]\npipeline = {name}-server\n\n"
            f"[app:{name}-server]\nuse = egg:swift#{name}\n"
        )
    filters = "".join(f"[filter:{n}]\nuse = egg:swift#{egg}\n\n" for n, egg in FILTERS.items())
    configs["proxy-server.conf"] = (
        f"[DEFAULT]\nbind_ip = {bind_ip}\nbind_port = {ports.proxy}\nworkers = 0\nuser = root\n"
        f"swift_dir = {swift_dir}\nlog_level = {log_level}\n\n"
        f"[pipeline:main]\npipeline = {PIPELINE}\n\n"
        "[app:proxy-server]\nuse = egg:swift#proxy\naccount_autocreate = true\n"
        # The default (60 s) turns a 15 s brick outage into a minute of 503s.
        "error_suppression_interval = 1\n\n"
        f"[filter:s3api]\nuse = egg:swift#s3api\nlocation = {REGION}\n\n"
        f"[filter:tempauth]\nuse = egg:swift#tempauth\nuser_test_tester = {SECRET_KEY} .admin\n\n"
        f"[filter:cache]\nuse = egg:swift#memcache\nmemcache_servers = 127.0.0.1:{ports.memcached}\n\n"
        + filters
    )
    return configs
