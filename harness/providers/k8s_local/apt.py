"""apt for `make k8s`: the harness's own sources and lists for Kubernetes' source and Go (the
system's apt configuration untouched), and the runtime packages installed with the system's apt."""
from __future__ import annotations

import sys
from pathlib import Path

from ...gluster import versions
from ...runner import run

KEYRING = versions.KEYRING
APT_SOURCES = (
    f"deb-src [signed-by={KEYRING}] http://deb.debian.org/debian bookworm main",
    f"deb [signed-by={KEYRING}] http://deb.debian.org/debian bullseye main",
    f"deb [signed-by={KEYRING}] http://security.debian.org/debian-security bullseye-security main",
)
RUNTIME_PACKAGES = ("etcd-server", "containerd", "runc", "containernetworking-plugins", "conntrack", "mmdebstrap")
APT_TIMEOUT_S = 900.0


def progress(message: str) -> None:
    print(f"k8s: {message}", file=sys.stderr, flush=True)


class Apt:
    def __init__(self, apt_dir: Path) -> None:
        self.dir = apt_dir
        self.updated = False

    def options(self) -> list[str]:
        return versions._apt_options(self.dir)

    def update(self) -> None:
        if self.updated:
            return
        for sub in ("lists/partial", "cache/archives/partial"):
            (self.dir / sub).mkdir(parents=True, exist_ok=True)
        (self.dir / "sources.list").write_text("\n".join(APT_SOURCES) + "\n")
        progress("apt-get update (harness-owned sources)")
        run(["apt-get", *self.options(), "-qq", "update"], timeout=APT_TIMEOUT_S)
        self.updated = True

    def in_dir(self, directory: Path, *args: str) -> None:
        """apt-get `args` in `directory` (`source` and `download` write into the working directory)."""
        self.update()
        run(["sh", "-c", 'cd "$0" && exec "$@"', str(directory), "apt-get", *self.options(), *args],
            timeout=APT_TIMEOUT_S)


def install_runtime_packages() -> None:
    """etcd, containerd, runc, CNI plugins, conntrack and mmdebstrap with the system's apt, like
    `make setup`; no service they ship is started (policy-rc.d, removed afterwards)."""
    missing = [p for p in RUNTIME_PACKAGES
               if "install ok installed" not in run(["dpkg-query", "-W", "-f=${Status}", p], timeout=30,
                                                    check=False).stdout]
    if not missing:
        return
    progress(f"apt-get install {' '.join(missing)}")
    policy = Path("/usr/sbin/policy-rc.d")
    made_policy = not policy.exists()
    if made_policy:
        policy.write_text("#!/bin/sh\nexit 101\n")
        policy.chmod(0o755)
    try:
        run(["apt-get", "update", "-qq"], timeout=APT_TIMEOUT_S)
        run(["env", "DEBIAN_FRONTEND=noninteractive", "apt-get", "install", "-y", "-qq", "--no-install-recommends",
             *missing], timeout=APT_TIMEOUT_S)
    finally:
        if made_policy:
            policy.unlink()
