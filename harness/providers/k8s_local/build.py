"""`make k8s`: build the k8s-local provider's parts once, from Debian's archive, and cache them.

Layout under CACHE (/var/cache/glusterharness/k8s):
- apt/: the harness's own apt configuration (sources, lists, downloads); the system's is untouched.
- parts/<name>-<key>/: one part (source download, Go, binaries, pause image, PyPI wheels, a gluster
  image), keyed by the hash of its own recipe, so changing one recipe rebuilds only that part and what
  uses it.
- <build-hash>/: the assembled build (bin/ and images/, hard links into the parts) with a stamp;
  its hash covers every part key and the runtime packages. A warm run only checks the stamp.
"""
from __future__ import annotations

import fcntl
import hashlib
import io
import json
import logging
import os
import shutil
import sys
import tarfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from ...gluster import versions
from ...errors import HarnessError, MissingPrerequisite
from ...runner import run
from .apt import APT_SOURCES, APT_TIMEOUT_S, RUNTIME_PACKAGES, Apt, install_runtime_packages, progress
from . import wheels
from .image_archive import pack_image

log = logging.getLogger("harness.k8s_local.build")

CACHE = versions.CACHE / "k8s"
SOURCE_PACKAGE, SOURCE_VERSION = "kubernetes", "1.20.5+really1.20.2-1.1+deb12u1"
KUBE_VERSION = "v1.20.2"
# Go 1.15 (what go.mod names): with bookworm's 1.19 the vendored reflect2 1.0.1 crashes the apiserver.
GO_PACKAGES, GO_VERSION = ("golang-1.15-go", "golang-1.15-src"), "1.15.15-1~deb11u4"
GOROOT_IN_PACKAGE = "usr/lib/go-1.15"
BINARIES = ("kube-apiserver", "kube-controller-manager", "kube-scheduler", "kubelet", "kubectl", "kubeadm")
# kubelet sets vm.overcommit_memory, kernel.panic and kernel.panic_on_oops (not namespaced) at start;
# the host must keep its own values, so it only warns about them.
KUBELET_PATCH = ("pkg/kubelet/cm/container_manager_linux.go", "b := KernelTunableModify",
                 "b := KernelTunableWarn // k8s-local: never change the host's sysctls")
PAUSE_TAG = "k8s.gcr.io/pause:3.2"
IMAGE_SUITE, IMAGE_MIRROR = "bookworm", "http://deb.debian.org/debian"
# Inside a gluster node: glusterd and the CLI, FUSE, and what the faults and checks run there; for the
# workloads client pods run (the same image): fio (bookworm's has the gfapi engine) and the S3 gateway
# as on the host (harness.workloads.s3gateway: Swift's servers, its ring module, memcached). No
# Recommends (mmdebstrap's default), so no python3-boto3: locust and boto3 come from PyPI (wheels.py).
IMAGE_PACKAGES = ("glusterfs-server", "glusterfs-client", "procps", "iproute2", "iptables", "nftables", "attr",
                  "psmisc", "util-linux", "coreutils", "findutils", "fio",
                  "swift-proxy", "swift-account", "swift-container", "swift-object", "python3-swift", "memcached")
GLUSTER_DEB_VERSIONS = {"10.3": "10.3-5"}  # bookworm's own; 11.1 comes from harness.gluster.versions' fetch
IMAGE_REPO = "glusterharness/gluster"
MAKE_TIMEOUT_S = 1800.0


def image_tag(version: str) -> str:
    return f"{IMAGE_REPO}:{version}"


@dataclass(frozen=True)
class Part:
    name: str
    recipe: dict = field(hash=False)

    @property
    def key(self) -> str:
        return hashlib.sha256(json.dumps(self.recipe, sort_keys=True).encode()).hexdigest()[:16]

    @property
    def dir(self) -> Path:
        return CACHE / "parts" / f"{self.name}-{self.key}"

    @property
    def done(self) -> bool:
        return (self.dir / ".done").exists()


def recipes() -> dict[str, Part]:
    source = Part("source", {"package": SOURCE_PACKAGE, "version": SOURCE_VERSION, "apt": APT_SOURCES})
    go = Part("go", {"packages": GO_PACKAGES, "version": GO_VERSION, "apt": APT_SOURCES})
    parts = {
        "source": source,
        "go": go,
        "bin": Part("bin", {"source": source.key, "go": go.key, "binaries": BINARIES, "patch": KUBELET_PATCH,
                            "env": ["GOPROXY=off", "CGO_ENABLED=0", "GOMAXPROCS=2"], "version": KUBE_VERSION}),
        "pause": Part("pause", {"source": source.key, "cc": ["gcc", "-Os", "-static"], "tag": PAUSE_TAG}),
        "wheels": Part("wheels", wheels.recipe()),
    }
    for version in ("10.3", "11.1"):
        # 11.1: the release harness.gluster.versions fetches for the local provider, from its suite.
        rel = None if version in GLUSTER_DEB_VERSIONS else versions.release(version)
        parts[f"gluster-{version}"] = Part(f"gluster-{version}", {
            "suite": IMAGE_SUITE, "mirror": IMAGE_MIRROR, "packages": IMAGE_PACKAGES,
            "gluster": rel.deb_version if rel else GLUSTER_DEB_VERSIONS[version],
            "gluster_packages": rel.packages if rel else (), "extra_sources": [rel.source] if rel else [],
            "wheels": parts["wheels"].key, "tag": image_tag(version)})
    return parts


def build_hash(parts: dict[str, Part]) -> str:
    keys = {name: p.key for name, p in parts.items()}
    return hashlib.sha256(json.dumps([keys, RUNTIME_PACKAGES], sort_keys=True).encode()).hexdigest()[:16]


@dataclass(frozen=True)
class Build:
    """An assembled build: what the provider runs."""
    root: Path

    @property
    def bin(self) -> Path:
        return self.root / "bin"

    def image(self, name: str) -> Path:
        return self.root / "images" / f"{name}.tar"

    @property
    def stamp(self) -> Path:
        return self.root / ".built"


def current() -> Build:
    return Build(CACHE / build_hash(recipes()))


def require() -> Build:
    """The current build, or MissingPrerequisite saying how to make it."""
    build = current()
    if not build.stamp.exists():
        raise MissingPrerequisite(f"the k8s-local build {build.root} is missing or outdated; run `make k8s`")
    return build


# --- the parts -------------------------------------------------------------------------------------

def build_source(part: Part, apt: Apt, work: Path) -> None:
    apt.in_dir(work, "-qq", "--download-only", "source", f"{SOURCE_PACKAGE}={SOURCE_VERSION}")


def build_go(part: Part, apt: Apt, work: Path) -> None:
    debs = work / "debs"
    debs.mkdir()
    apt.in_dir(debs, "-qq", "download", *(f"{p}={GO_VERSION}" for p in GO_PACKAGES))
    for deb in sorted(debs.glob("*.deb")):
        run(["dpkg-deb", "-x", str(deb), str(work / "root")], timeout=300)
    shutil.rmtree(debs)
    if not (work / "root" / GOROOT_IN_PACKAGE / "bin" / "go").exists():
        raise HarnessError(f"Go {GO_VERSION} unpacked into {work}/root has no {GOROOT_IN_PACKAGE}/bin/go")


def unpack_source(source: Part, into: Path) -> None:
    dsc = next(source.dir.glob("*.dsc"))
    run(["dpkg-source", "--no-check", "-x", str(dsc), str(into)], timeout=600)


def build_bin(part: Part, parts: dict[str, Part], work: Path) -> None:
    tree = work / "tree"
    unpack_source(parts["source"], tree)
    path, old, new = KUBELET_PATCH
    text = (tree / path).read_text()
    if text.count(old) != 1:
        raise HarnessError(f"the kubelet patch does not apply: {path} has {text.count(old)} copies of {old!r}")
    (tree / path).write_text(text.replace(old, new))
    goroot = parts["go"].dir / "root" / GOROOT_IN_PACKAGE
    env = [f"GOROOT={goroot}", f"PATH={goroot}/bin:/usr/sbin:/usr/bin:/sbin:/bin", f"HOME={work}",
           f"GOPATH={work}/gopath", f"GOCACHE={work}/gocache", *part.recipe["env"]]
    progress(f"compiling {', '.join(BINARIES)} (about 5 min on 2 cores; log: {work}/compile.log)")
    # `make WHAT=...`, not `go build`: the make rules generate the apiserver's openapi first.
    run(["env", *env, "make", "-C", str(tree), f"WHAT={' '.join('cmd/' + b for b in BINARIES)}"],
        timeout=MAKE_TIMEOUT_S, log_to=work / "compile.log")
    (work / "bin").mkdir()
    for name in BINARIES:
        shutil.move(str(tree / "_output" / "local" / "bin" / "linux" / "amd64" / name), work / "bin" / name)
    # The tree, its 2.8 GB _output and the Go cache are not needed once the binaries are out.
    for sub in ("tree", "gopath", "gocache"):
        shutil.rmtree(work / sub, ignore_errors=True)


def build_pause(part: Part, parts: dict[str, Part], work: Path) -> None:
    orig = next(parts["source"].dir.glob("*.orig.tar.gz"))
    with tarfile.open(orig) as tar:
        member = next(m for m in tar.getmembers() if m.name.endswith("build/pause/linux/pause.c"))
        (work / "pause.c").write_bytes(tar.extractfile(member).read())  # type: ignore[union-attr]
    run([*part.recipe["cc"], "-o", str(work / "pause"), str(work / "pause.c")], timeout=120)
    layer = io.BytesIO()
    with tarfile.open(fileobj=layer, mode="w") as tar:
        tar.add(work / "pause", arcname="pause")
    layer_path = work / "layer.tar"
    layer_path.write_bytes(layer.getvalue())
    pack_image(layer_path, PAUSE_TAG, {"Entrypoint": ["/pause"]}, work / "pause.tar")
    for name in ("layer.tar", "pause.c"):
        (work / name).unlink()


def build_gluster(part: Part, version: str, wheels_dir: Path, work: Path) -> None:
    recipe = part.recipe
    names = ("glusterfs-server", "glusterfs-client") if version in GLUSTER_DEB_VERSIONS else recipe["gluster_packages"]
    packages = [p for p in recipe["packages"] if not p.startswith("glusterfs-")] + [
        f"{p}={recipe['gluster']}" for p in names]
    rootfs = work / "rootfs.tar"
    progress(f"gluster {version} image: mmdebstrap {recipe['suite']} minbase + {len(packages)} packages")
    # Services the packages ship are not started: mmdebstrap installs with a policy-rc.d denying them.
    run(["mmdebstrap", "--quiet", "--variant=minbase", f"--include={','.join(packages)}",
         f"--customize-hook={wheels.customize_hook(wheels_dir)}", recipe["suite"],
         str(rootfs), f"deb {recipe['mirror']} {recipe['suite']} main", *recipe["extra_sources"]],
        timeout=APT_TIMEOUT_S, log_to=work / "mmdebstrap.log")
    pack_image(rootfs, recipe["tag"], {"Cmd": ["glusterd", "-N"]}, work / f"gluster-{version}.tar")
    rootfs.unlink()


# --- assembling ------------------------------------------------------------------------------------

@dataclass
class Step:
    part: Part
    make: Callable[[Path], None]


def _lanes(parts: dict[str, Part], apt: Apt) -> list[list[Step]]:
    """Two lanes run side by side: the compile is CPU-bound, the images mostly wait on downloads."""
    kubernetes = [
        Step(parts["source"], lambda w: build_source(parts["source"], apt, w)),
        Step(parts["go"], lambda w: build_go(parts["go"], apt, w)),
        Step(parts["bin"], lambda w: build_bin(parts["bin"], parts, w)),
        Step(parts["pause"], lambda w: build_pause(parts["pause"], parts, w)),
    ]
    images = [Step(parts["wheels"], wheels.download)] + [
        Step(parts[f"gluster-{v}"], lambda w, v=v: build_gluster(parts[f"gluster-{v}"], v, parts["wheels"].dir, w))
        for v in ("10.3", "11.1")]
    return [kubernetes, images]


def make_part(step: Step) -> None:
    part = step.part
    if part.done:
        progress(f"{part.name}: cached ({part.dir.name})")
        return
    start = time.monotonic()
    progress(f"{part.name}: building ({part.dir.name})")
    if part.dir.exists():
        shutil.rmtree(part.dir)  # an interrupted earlier attempt
    part.dir.mkdir(parents=True)
    step.make(part.dir)
    (part.dir / ".done").write_text(json.dumps(part.recipe, sort_keys=True) + "\n")
    progress(f"{part.name}: done in {time.monotonic() - start:.0f} s")


def prune(parts: dict[str, Part], keep: Build) -> None:
    """Remove older builds and older keys of the current parts (their recipes changed)."""
    current_dirs = {p.dir.name for p in parts.values()}
    names = {p.name for p in parts.values()}
    for old in (CACHE / "parts").iterdir():
        if old.name not in current_dirs and old.name.rsplit("-", 1)[0] in names:
            progress(f"removing outdated {old}")
            shutil.rmtree(old)
    for old in CACHE.iterdir():
        if old.is_dir() and old != keep.root and (old / ".built").exists():
            progress(f"removing outdated build {old}")
            shutil.rmtree(old)


def build() -> Build:
    """Build what is missing and return the assembled build; quick when everything is cached."""
    if os.geteuid() != 0:
        raise MissingPrerequisite("`make k8s` needs root (apt-get, mmdebstrap); run it as root")
    start = time.monotonic()
    CACHE.mkdir(parents=True, exist_ok=True)
    with open(CACHE / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # one build at a time; a second waits and then finds it cached
        parts = recipes()
        target = Build(CACHE / build_hash(parts))
        if target.stamp.exists():
            progress(f"build {target.root} is up to date ({time.monotonic() - start:.1f} s)")
            return target
        install_runtime_packages()
        apt = Apt(CACHE / "apt")
        with ThreadPoolExecutor(max_workers=2) as pool:
            for done in [pool.submit(lambda lane: [make_part(s) for s in lane], lane) for lane in _lanes(parts, apt)]:
                done.result()
        if target.root.exists():
            shutil.rmtree(target.root)
        for sub in ("bin", "images"):
            (target.root / sub).mkdir(parents=True)
        for name in BINARIES:
            os.link(parts["bin"].dir / "bin" / name, target.bin / name)
        os.link(parts["pause"].dir / "pause.tar", target.image("pause"))
        for version in ("10.3", "11.1"):
            os.link(parts[f"gluster-{version}"].dir / f"gluster-{version}.tar", target.image(f"gluster-{version}"))
        (target.root / "build.json").write_text(json.dumps({n: p.dir.name for n, p in parts.items()}, indent=2))
        target.stamp.write_text(f"{time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime())}\n")
        prune(parts, target)
        progress(f"build {target.root} ready in {time.monotonic() - start:.0f} s")
        return target


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    try:
        build()
    except HarnessError as exc:
        sys.exit(f"k8s: {exc}")
