"""GlusterFS versions per node: the installed one (Debian's 10.3), and newer ones fetched into a
harness-owned cache and swapped in per node by bind mounts inside the node's private mount
namespace (never on the host).

A fetched version lives under CACHE/<version>/root as `dpkg -x` left it. Fetching uses its own
apt configuration (sources, lists and package cache under CACHE/apt), so the system's apt sources
are read, never changed. A stamp file makes fetching idempotent.
"""
from __future__ import annotations

import functools
import logging
import os
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

from ..errors import ConfigError, HarnessError, MissingPrerequisite
from ..runner import run

log = logging.getLogger("harness.versions")

CACHE = Path(os.environ.get("GLUSTER_VERSION_CACHE", "/var/cache/glusterharness"))
LIBDIR = "/usr/lib/x86_64-linux-gnu"
KEYRING = "/usr/share/keyrings/debian-archive-keyring.gpg"
APT_TIMEOUT_S = 600.0


@dataclass(frozen=True)
class Release:
    version: str  # what `gluster --version` and the logs say, e.g. "11.1"
    deb_version: str  # the Debian package version fetched
    source: str  # one apt sources.list line (the suite that carries it)
    packages: tuple[str, ...]
    op_version: int  # cluster.max-op-version a pool of only this version reports


DEB_PACKAGES = ("glusterfs-server", "glusterfs-client", "glusterfs-common", "glusterfs-cli", "libglusterfs0",
                "libgfapi0", "libgfrpc0", "libgfxdr0", "libgfchangelog0")
RELEASES = {
    "11.1": Release("11.1", "11.1-3~bpo12+1",
                    f"deb [signed-by={KEYRING}] http://deb.debian.org/debian bookworm-backports main",
                    DEB_PACKAGES, 110000),
}
# The version a node runs when nothing is swapped in: the Debian package installed on the host.
INSTALLED_OP_VERSION = {"10.3": 100000}
# Files a node's mount namespace gets from a fetched version. glusterd and glusterfs are symlinks
# to glusterfsd; xlators live in a versioned directory under LIBDIR/glusterfs; the libraries are
# replaced file by file, since the host's own other libraries in LIBDIR must stay.
SWAPPED_BINARIES = ("/usr/sbin/glusterfsd", "/usr/sbin/gluster")
SWAPPED_DIRS = (f"{LIBDIR}/glusterfs",)
SWAPPED_LIBS = ("libglusterfs.so.0", "libgfrpc.so.0", "libgfxdr.so.0", "libgfapi.so.0", "libgfchangelog.so.0")


@functools.lru_cache(maxsize=1)
def installed_version() -> str:
    """The host's GlusterFS version, from `glusterfsd --version` ("glusterfs 10.3")."""
    out = run(["glusterfsd", "--version"], timeout=30).stdout
    match = re.match(r"glusterfs (\S+)", out)
    if not match:
        raise HarnessError(f"cannot read the installed GlusterFS version from `glusterfsd --version`: {out[:200]!r}")
    return match.group(1)


def known_versions() -> list[str]:
    return sorted({installed_version(), *RELEASES})


def release(version: str) -> Release:
    try:
        return RELEASES[version]
    except KeyError:
        raise ConfigError(f"GlusterFS version {version!r} is not one the harness can fetch; "
                          f"known: {', '.join(sorted(RELEASES))} (and the installed one)") from None


def version_root(version: str, cache: Path = CACHE) -> Path:
    return cache / version / "root"


def stamp(version: str, cache: Path = CACHE) -> Path:
    return cache / version / ".fetched"


def is_fetched(version: str, cache: Path = CACHE) -> bool:
    return stamp(version, cache).exists()


def require(version: str, cache: Path = CACHE) -> Path | None:
    """The root to swap in for `version` (None: the installed version, nothing to swap)."""
    if version == installed_version():
        return None
    release(version)
    if not is_fetched(version, cache):
        raise MissingPrerequisite(f"GlusterFS {version} is not fetched into {cache}; run `make setup` or "
                                  f"`python -m harness fetch-version {version}`")
    return version_root(version, cache)


def _apt_options(apt_dir: Path) -> list[str]:
    return ["-o", f"Dir::Etc::SourceList={apt_dir / 'sources.list'}", "-o", "Dir::Etc::SourceParts=/dev/null",
            "-o", f"Dir::State::Lists={apt_dir / 'lists'}", "-o", f"Dir::Cache={apt_dir / 'cache'}",
            # The downloads go to a directory apt's unprivileged _apt user cannot enter.
            "-o", "APT::Sandbox::User=root"]


def fetch(version: str, cache: Path = CACHE) -> Path:
    """Download the release's packages with the harness's own apt configuration, check their
    versions, and unpack them into CACHE/<version>/root. Skipped when the stamp is there."""
    rel = release(version)
    root = version_root(version, cache)
    if is_fetched(version, cache):
        return root
    for tool in ("apt-get", "dpkg-deb"):
        if shutil.which(tool) is None:
            raise MissingPrerequisite(f"fetching GlusterFS {version} needs {tool} (Debian)")
    apt_dir = cache / "apt"
    for sub in ("lists/partial", "cache/archives/partial"):
        (apt_dir / sub).mkdir(parents=True, exist_ok=True)
    (apt_dir / "sources.list").write_text(rel.source + "\n")
    opts = _apt_options(apt_dir)
    log.info("fetching GlusterFS %s (%s)", version, rel.deb_version)
    run(["apt-get", *opts, "-qq", "update"], timeout=APT_TIMEOUT_S)
    debs = cache / version / "debs"
    if debs.exists():
        shutil.rmtree(debs)  # a half-finished earlier fetch: start over
    debs.mkdir(parents=True)
    # `apt-get download` writes into its working directory.
    run(["sh", "-c", 'cd "$0" && exec "$@"', str(debs), "apt-get", *opts, "-qq", "download",
         *(f"{p}={rel.deb_version}" for p in rel.packages)], timeout=APT_TIMEOUT_S)
    files = sorted(debs.glob("*.deb"))
    got = {}
    for deb in files:
        fields = run(["dpkg-deb", "-f", str(deb), "Package", "Version"], timeout=30).stdout
        meta = dict(line.split(": ", 1) for line in fields.splitlines() if ": " in line)
        got[meta.get("Package", deb.name)] = meta.get("Version", "")
    wrong = {p: v for p, v in got.items() if v != rel.deb_version}
    missing = sorted(set(rel.packages) - set(got))
    if wrong or missing:
        raise HarnessError(f"fetched GlusterFS {version} packages do not match: wrong versions {wrong}, "
                           f"missing {missing} (expected {rel.deb_version})")
    if root.exists():
        shutil.rmtree(root)
    root.mkdir(parents=True)
    for deb in files:
        run(["dpkg-deb", "-x", str(deb), str(root)], timeout=120)
    check_root(version, root)
    stamp(version, cache).write_text(rel.deb_version + "\n")
    log.info("GlusterFS %s unpacked into %s", version, root)
    return root


def check_root(version: str, root: Path) -> None:
    """Every file swapped in exists, and no library the binaries and xlators need is missing."""
    for path in bind_mounts(version, root):
        if not Path(path[0]).exists():
            raise HarnessError(f"GlusterFS {version} under {root} lacks {path[0]}")
    if not (root / LIBDIR.lstrip("/") / "glusterfs" / version / "xlator").is_dir():
        raise HarnessError(f"GlusterFS {version} under {root} has no xlator directory for {version}")
    libdir = str(root / LIBDIR.lstrip("/"))
    elves = [root / b.lstrip("/") for b in SWAPPED_BINARIES]
    elves += sorted((root / LIBDIR.lstrip("/") / "glusterfs" / version / "xlator").rglob("*.so"))
    missing = set()
    for elf in elves:
        out = run(["env", f"LD_LIBRARY_PATH={libdir}", "ldd", str(elf)], timeout=30, check=False).stdout
        missing |= {line.split()[0] for line in out.splitlines() if "not found" in line}
    if missing:
        raise MissingPrerequisite(f"GlusterFS {version} needs libraries this machine lacks: "
                                  f"{', '.join(sorted(missing))}")


def bind_mounts(version: str, root: Path) -> list[tuple[str, str]]:
    """(source under root, target on the node) in mount order."""
    pairs = [(str(root / p.lstrip("/")), p) for p in (*SWAPPED_BINARIES, *SWAPPED_DIRS)]
    for soname in SWAPPED_LIBS:
        # Bind the real file the soname's symlink points to: the host's symlink then leads to it.
        real = os.path.realpath(f"{LIBDIR}/{soname}")
        new = root / LIBDIR.lstrip("/") / os.path.basename(os.path.realpath(root / LIBDIR.lstrip("/") / soname))
        if os.path.basename(real) != new.name:
            raise HarnessError(f"{soname}: the host's {real} and {version}'s {new.name} differ in name; "
                               f"swapping by bind mount needs the same file name")
        pairs.append((str(new), real))
    return pairs


def swap_script(old: tuple[str, Path] | None, new: tuple[str, Path] | None, gsyncd_absent: Path | None) -> str:
    """Shell run inside a node's mount namespace (its gluster processes stopped): undo the swap of
    `old` (version, root), then bind `new`'s files over the installed ones. None: the installed
    version, nothing swapped. The node's own stand-in for gsyncd (nodes run without
    geo-replication) sits on top of a swapped-in directory's gsyncd, and goes first on undo."""
    gsyncd = f"{LIBDIR}/glusterfs/gsyncd"
    lines = ["set -e"]
    if old is not None:
        if gsyncd_absent is not None:
            lines.append(f"umount {gsyncd}")
        lines += [f"umount {target}" for _, target in reversed(bind_mounts(*old))]
    if new is not None:
        lines += [f"mount --bind {source} {target}" for source, target in bind_mounts(*new)]
        if gsyncd_absent is not None:  # a client host runs no glusterd, so no gsyncd either
            lines.append(f"mount --bind {gsyncd_absent} {gsyncd}")
    return "\n".join(lines)


if __name__ == "__main__":
    # `python -m harness.gluster.versions fetch 11.1`: what scripts/setup.sh runs, by hand.
    import sys

    logging.basicConfig(level=logging.INFO, format="%(message)s")
    if len(sys.argv) != 3 or sys.argv[1] != "fetch":
        sys.exit(f"usage: python -m harness.gluster.versions fetch VERSION (known: {', '.join(sorted(RELEASES))})")
    print(fetch(sys.argv[2]))
