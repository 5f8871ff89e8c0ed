"""Finding storage nodes, their zones and the gluster pods on them, by labels (reads only)."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from ...errors import ConfigError, HarnessError

# A label key: optional DNS prefix + "/" + name; values: up to 63 of [A-Za-z0-9._-].
_KEY = r"([a-z0-9]([-a-z0-9.]*[a-z0-9])?/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?"
_VALUE = r"([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?"
_TERM = re.compile(rf"^(!?{_KEY}|{_KEY}\s*(=|==|!=)\s*{_VALUE})$")


def check_selector(selector: str, option: str) -> str:
    """The selector, stripped; ConfigError naming the option when it is empty or malformed."""
    selector = selector.strip()
    terms = [t.strip() for t in selector.split(",")]
    if not selector or not all(_TERM.match(t) for t in terms):
        raise ConfigError(
            f"{option} {selector!r} is not a label selector; write key=value pairs separated by commas, "
            f"e.g. storagenode=glusterfs"
        )
    return selector


def equality_labels(selector: str, option: str) -> dict[str, str]:
    """key=value,k2=v2 -> dict (for nodeSelector and node labels); ConfigError for other forms."""
    labels = {}
    for term in check_selector(selector, option).split(","):
        if "!=" in term or "=" not in term:
            raise ConfigError(f"{option} {selector!r} must be key=value pairs only (it labels nodes), got {term!r}")
        key, value = term.replace("==", "=").split("=", 1)
        labels[key.strip()] = value.strip()
    return labels


@dataclass(frozen=True)
class NodeInfo:
    name: str
    zone: str
    address: str
    ready: bool
    labels: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class PodInfo:
    name: str
    namespace: str
    node: str
    uid: str
    phase: str
    ready: bool
    ip: str
    deleting: bool


def node_info(node: Any, zone_label: str) -> NodeInfo:
    labels = dict(node.metadata.labels or {})
    addresses = {a.type: a.address for a in (node.status.addresses or [])}
    conditions = {c.type: c.status for c in (node.status.conditions or [])}
    name = node.metadata.name
    address = addresses.get("InternalIP") or addresses.get("ExternalIP")
    if not address:
        raise HarnessError(f"node {name} reports no InternalIP address; gluster peers are named by node address")
    return NodeInfo(name, labels.get(zone_label, ""), address, conditions.get("Ready") == "True", labels)


def storage_nodes(core: Any, selector: str, zone_label: str, where: str) -> list[NodeInfo]:
    """The nodes matching `selector`, each with its zone; ConfigError when none match or a zone is missing."""
    found = core.list_node(label_selector=selector).items
    if not found:
        all_nodes = core.list_node().items
        sample = "; ".join(
            f"{n.metadata.name}: {','.join(f'{k}={v}' for k, v in sorted((n.metadata.labels or {}).items())) or '-'}"
            for n in all_nodes[:5]
        )
        raise ConfigError(
            f"label selector {selector!r} matches no node in {where} ({len(all_nodes)} node(s) there"
            f"{': ' + sample if sample else ''}); label the storage nodes or pass --gluster-node-selector"
        )
    infos = [node_info(n, zone_label) for n in found]
    unzoned = [n.name for n in infos if not n.zone]
    if unzoned:
        raise ConfigError(
            f"storage node(s) {', '.join(unzoned)} have no {zone_label} label; label them "
            f"(kubectl label node NAME {zone_label}=ZONE) or pass --gluster-zone-label"
        )
    return sorted(infos, key=lambda n: (n.zone, n.name))


def pod_info(pod: Any) -> PodInfo:
    conditions = {c.type: c.status for c in (pod.status.conditions or [])}
    return PodInfo(
        name=pod.metadata.name, namespace=pod.metadata.namespace, node=pod.spec.node_name or "",
        uid=pod.metadata.uid, phase=pod.status.phase or "", ready=conditions.get("Ready") == "True",
        ip=pod.status.pod_ip or "", deleting=pod.metadata.deletion_timestamp is not None,
    )


def pods(core: Any, namespace: str, selector: str, node: str | None = None) -> list[PodInfo]:
    kwargs = {"label_selector": selector}
    if node is not None:
        kwargs["field_selector"] = f"spec.nodeName={node}"
    return [pod_info(p) for p in core.list_namespaced_pod(namespace, **kwargs).items]


def running_pod(core: Any, namespace: str, selector: str, node: str) -> PodInfo | None:
    """The Running, not-deleting pod matching selector on node (the newest if several)."""
    live = [p for p in pods(core, namespace, selector, node) if p.phase == "Running" and not p.deleting]
    return live[-1] if live else None


def gluster_pods_by_node(core: Any, namespace: str, selector: str, nodes: list[NodeInfo],
                         where: str) -> dict[str, PodInfo]:
    """The gluster pod of every storage node; ConfigError naming the nodes that have none running."""
    found = {p.node: p for p in pods(core, namespace, selector) if p.phase == "Running" and not p.deleting}
    missing = [n.name for n in nodes if n.name not in found]
    if missing:
        raise ConfigError(
            f"no running gluster pod (selector {selector!r}, namespace {namespace!r}) on storage node(s) "
            f"{', '.join(missing)} in {where}; check --gluster-namespace and --gluster-pod-selector"
        )
    return {n.name: found[n.name] for n in nodes}
