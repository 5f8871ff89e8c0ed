"""`python -m harness`: up, status, down, cleanup, compare, report."""
from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

from .providers.host import registry
from .cluster import Cluster
from .errors import HarnessError
from .mount import FuseMount
from .profiles import PROFILES, get_profile
from .providers.local import DEFAULT_ROOT, LocalCluster, LocalProvider
from .providers.host.teardown import sweep_stale, teardown
from .volume import VolumeSpec, VolumeType, create_volume


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m harness", description="GlusterFS conformance harness")
    sub = parser.add_subparsers(dest="command", required=True)
    up = sub.add_parser("up", help="start a local cluster and leave it running")
    up.add_argument("--provider", choices=("local", "k8s-local"), default="local",
                    help="local: glusterd per node namespace; k8s-local: a Kubernetes cluster built by `make k8s`")
    up.add_argument("--nodes", type=int, default=3)
    up.add_argument("--zones", type=int, default=3)
    up.add_argument("--clients", type=int, default=2)
    up.add_argument("--root", type=Path, default=DEFAULT_ROOT, help="directory the harness owns for run roots")
    up.add_argument("--volume", action="append", default=[], metavar="TYPE",
                    help=f"create and mount a volume of this type ({', '.join(t.value for t in VolumeType)}); repeatable")
    up.add_argument("--option", action="append", default=[], metavar="KEY=VALUE", help="volume option for --volume")
    up.add_argument("--profile", choices=tuple(PROFILES), default="fast",
                    help="profile whose volume options --volume gets under any --option (default fast: "
                         "network.ping-timeout 5, as pytest's default profile; realistic: gluster's defaults)")
    up.add_argument("--gluster-version", default=None, metavar="VERSION[,VERSION...]",
                    help="GlusterFS version every node runs, or one per node, e.g. 10.3,10.3,11.1 "
                         "(default: the installed one; others come from `python -m harness.gluster.versions fetch`)")
    status = sub.add_parser("status", help="show running clusters")
    status.add_argument("--json", action="store_true")
    down = sub.add_parser("down", help="tear down clusters left by `up`")
    down.add_argument("run_id", nargs="?", help="only this cluster (default: all kept clusters)")
    cleanup = sub.add_parser("cleanup", help="remove state left by crashed runs")
    cleanup.add_argument("--all", action="store_true", help="also remove clusters kept by `up` / --keep-cluster")
    compare = sub.add_parser("compare", help="compare two runs' summary.json; exit 1 on a regression")
    compare.add_argument("baseline", type=Path, help="summary.json of the earlier run (or its run folder)")
    compare.add_argument("current", type=Path, help="summary.json of the newer run (or its run folder)")
    compare.add_argument("--regression-pct", type=float, default=None,
                         help="worse by more than this percentage is a regression (default: the thresholds file's)")
    compare.add_argument("--thresholds", type=Path, default=None, help="thresholds file with the regression settings")
    compare.add_argument("--profile", default=None, help="profile table of the thresholds file (default: the current run's)")
    report = sub.add_parser("report", help="rebuild summary.json, plots and report.html of a run folder from its records")
    report.add_argument("run_dir", type=Path, help="reports/<run-id> (or reports/latest)")
    report.add_argument("--thresholds", type=Path, default=None, help="gate limits (default: gates/thresholds.toml)")
    report.add_argument("--profile", default=None, help="profile table for the gates (default: the run's)")
    report.add_argument("--baseline", type=Path, default=None, help="summary.json of an earlier run to compare with")
    report.add_argument("--regression-pct", type=float, default=None)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stderr)
    try:
        return COMMANDS[args.command](args)
    except HarnessError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


def parse_options(pairs: list[str]) -> dict[str, str]:
    options = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise HarnessError(f"--option {pair!r} must look like KEY=VALUE, e.g. network.ping-timeout=5")
        options[key] = value
    return options


def volume_specs(args: argparse.Namespace) -> list[VolumeSpec]:
    """Each --volume with the profile's volume options under the --option ones."""
    options = {**get_profile(args.profile).volume_options, **parse_options(args.option)}
    return [VolumeSpec(VolumeType.parse(v), options) for v in args.volume]


def mount_and_keep(cluster: Cluster, specs: list[VolumeSpec]) -> list[FuseMount]:
    """Each spec's volume created and mounted, then the cluster kept; on any failure it is taken down."""
    try:
        mounts = [cluster.mount(create_volume(cluster, spec)) for spec in specs]
    except BaseException:
        cluster.down()
        raise
    cluster.keep()
    return mounts


def cmd_up(args: argparse.Namespace) -> int:
    if args.provider == "k8s-local":
        return up_k8s_local(args)
    specs = volume_specs(args)
    # The capacity check counts the volumes asked for (each at the largest brick count among them).
    cluster = LocalProvider(args.nodes, args.zones, args.clients, args.root, volumes=len(specs),
                            bricks_per_volume=max((s.brick_count for s in specs), default=3),
                            versions=args.gluster_version).up()
    mounts = mount_and_keep(cluster, specs)
    print(f"cluster {cluster.run_id} is up (subnet {cluster.plan.subnet}, root {cluster.root})")
    for n in cluster.nodes:
        print(f"  {n.name:8} {n.zone:8} {n.address:15} GlusterFS {n.version:6} "
              f"enter: nsenter -t {n.holder_pid} -n -m bash")
    for c in cluster.clients:
        print(f"  {c.name:8} {'client':8} {c.address:15} enter: ip netns exec {c.namespace} bash")
    for m in mounts:
        opts = " ".join(f"{k}={v}" for k, v in m.volume.spec.options.items())
        print(f"  volume {m.volume.name} ({m.volume.spec.type.value}{', ' + opts if opts else ''}) mounted at {m.path}")
    print("status: python -m harness status    remove: python -m harness down")
    return 0


def up_k8s_local(args: argparse.Namespace) -> int:
    """A k8s-local Kubernetes with the gluster stack deployed through its API, peers probed, and each
    --volume created and mounted in the first client pod, kept running: what chaostoolkit attaches to."""
    from .providers.k8s.options import K8sOptions
    from .providers.k8s_local.gluster import K8sLocalGlusterProvider

    if args.gluster_version:
        raise HarnessError("--gluster-version is for the local provider; k8s-local runs its image's GlusterFS")
    specs = volume_specs(args)
    cluster = K8sLocalGlusterProvider(args.nodes, args.zones, args.clients, args.root, K8sOptions()).up()
    mounts = mount_and_keep(cluster, specs)
    kubeconfig = cluster.root / "kubeconfig"  # k8s-local always has its run folder
    print(f"cluster {cluster.run_id} (k8s-local, {cluster.server_version() or 'Kubernetes'}) is up, "
          f"root {cluster.root}")
    print(f"  kubeconfig: {kubeconfig}")
    for n in cluster.nodes:
        print(f"  {n.name:8} {n.zone:8} {n.address:15} gluster pod: kubectl --kubeconfig {kubeconfig} "
              f"-n {cluster.options.namespace} exec -it {cluster.gluster_pod(n.name).name} -- bash")
    for c in cluster.clients:
        print(f"  {c.name:20} client pod")
    for m in mounts:
        print(f"  volume {m.volume.name} ({m.volume.spec.type.value}) mounted at {m.path} in {m.client.name}")
    print("status: python -m harness status    remove: python -m harness down")
    return 0


def k8s_local_status(starting: list[dict]) -> list[dict]:
    """Each k8s-local cluster's description and nodes; one whose state is not (or no longer) complete
    is starting or being torn down: it goes into `starting`."""
    from .providers.k8s_local.cluster import K8sLocalCluster, is_k8s_local

    statuses = []
    for entry in registry.entries():
        if entry.stale or not is_k8s_local(entry):
            continue
        try:
            cluster = K8sLocalCluster.attach(entry)
        except (OSError, KeyError, ValueError):  # its state file is "{}" until the control plane is up
            starting.append({"run_id": entry.run_id, "root": entry.root})
            continue
        status = cluster.describe()
        try:
            status["nodes"] = cluster.node_status()
        except HarnessError as exc:
            status["nodes"], status["error"] = [], str(exc)
        statuses.append(status)
    return statuses


def cluster_status(cluster: LocalCluster) -> dict:
    status = cluster.describe()
    status["root"] = str(cluster.root)
    status["persistent"] = cluster.entry.persistent
    for node_status, node in zip(status["nodes"], cluster.nodes):
        pid = node.glusterd_pid()
        node_status["glusterd_pid"] = pid
        node_status["version"] = node.version
        peers = []
        if pid:
            try:
                peers = [{"address": p.hostname, "connected": p.connected, "state": p.state}
                         for p in node.gluster.peer_status()]
            except HarnessError as exc:
                node_status["error"] = str(exc)
        node_status["peers"] = peers
        node_status["peer_state"] = (
            "Connected" if pid and len(peers) == len(cluster.nodes) - 1 and all(p["connected"] for p in peers)
            else "Degraded"
        )
    volumes = []
    answering = next((n for n in cluster.nodes if n.glusterd_pid()), None)
    if answering:
        for info in answering.gluster.volume_info():
            volumes.append({"name": info.name, "type": info.type, "status": info.status,
                            "bricks": [b.name for b in info.bricks]})
    status["volumes"] = volumes
    return status


def live_entries() -> list[registry.Entry]:
    from .providers.k8s_local.cluster import is_k8s_local

    return [e for e in registry.entries() if not e.stale and not is_k8s_local(e)]


def cmd_status(args: argparse.Namespace) -> int:
    statuses, starting = [], []
    for entry in live_entries():
        try:  # another process may be starting or tearing the cluster down meanwhile
            statuses.append(cluster_status(LocalCluster.attach(entry)))
        except (HarnessError, OSError, KeyError, ValueError):
            starting.append({"run_id": entry.run_id, "root": entry.root})
    k8s = k8s_local_status(starting)
    if args.json:
        print(json.dumps({"clusters": statuses, "starting": starting, "k8s_local": k8s}, indent=2))
        return 0
    if not statuses and not k8s and not starting:
        print("no cluster is running; start one with `python -m harness up`")
    for st in starting:
        print(f"cluster {st['run_id']} starting or stopping (no complete state), root {st['root']}")
    for st in k8s:
        print(f"cluster {st['run_id']} (k8s-local, {'kept' if st['persistent'] else 'owned by a running test'}), "
              f"root {st['root']}\n  kubeconfig: {st['kubeconfig']}  API server {st['api_server']}")
        for n in st["nodes"]:
            print(f"  {n['name']:8} {n['zone']:8} {'Ready' if n['ready'] else 'NotReady'}")
        if "error" in st:
            print(f"  error: {st['error']}")
    for st in statuses:
        print(f"cluster {st['run_id']} ({'kept' if st['persistent'] else 'owned by a running test'}), root {st['root']}")
        for n in st["nodes"]:
            print(f"  {n['name']:8} {n['zone']:8} {n['address']:15} GlusterFS {n['version']:6} "
                  f"glusterd pid {n['glusterd_pid']} {n['peer_state']}")
        for v in st["volumes"]:
            print(f"  volume {v['name']} {v['type']} {v['status']}")
    return 0


def cmd_down(args: argparse.Namespace) -> int:
    kept = [e for e in registry.entries() if e.persistent]
    if args.run_id:
        kept = [e for e in kept if e.run_id == args.run_id]
        if not kept:
            raise HarnessError(f"no kept cluster named {args.run_id}; see `python -m harness status`")
    for entry in kept:
        with registry.locked():
            teardown(entry.run_id, Path(entry.root))
            registry.release(entry.index)
        print(f"removed {entry.run_id}")
    if not kept:
        print("no kept cluster to remove")
    return 0


def cmd_cleanup(args: argparse.Namespace) -> int:
    with registry.locked():
        removed = sweep_stale()
        if args.all:
            for entry in registry.entries():
                if entry.persistent:
                    teardown(entry.run_id, Path(entry.root))
                    registry.release(entry.index)
                    removed.append(entry.run_id)
    print(f"removed: {', '.join(removed)}" if removed else "nothing stale to remove")
    return 0


def cmd_compare(args: argparse.Namespace) -> int:
    from .report import offline

    return offline.compare_command(args.baseline, args.current, args.regression_pct, args.thresholds, args.profile)


def cmd_report(args: argparse.Namespace) -> int:
    from .report import offline

    return offline.report_command(args.run_dir, args.thresholds, args.profile, args.baseline, args.regression_pct)


COMMANDS = {"up": cmd_up, "status": cmd_status, "down": cmd_down, "cleanup": cmd_cleanup, "compare": cmd_compare,
            "report": cmd_report}
