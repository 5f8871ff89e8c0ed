"""Latency: NFQUEUE (with bypass) plus the userspace delayer (harness/providers/host/delayer.py) in each target
host's namespace. There is no netem on this kernel.

The delay applies to packets the target hosts send to the chosen destinations, so a probe from a
target to a destination sees the delay once per round trip. For "5 ms round trip between zones",
use `between_zones(cluster, rtt_ms=5)`: every node delays what it sends to other zones by half.
The delay achieved is measured (TCP connect time from a target to a destination node, which is
one round trip) and recorded on the Timeline with the requested value.
"""
from __future__ import annotations

import os
import signal
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, Sequence

from ..control import Capability
from ..providers.host import delayer
from ..errors import ConfigError, HarnessError
from ..providers.host.netns import is_alive
from . import netfilter
from .base import Fault, resolve_host, state_dir
from .probe import ProbeResult, probe_connect

if TYPE_CHECKING:
    from ..cluster import Cluster

MAX_DELAY_MS = 1000.0
QUEUE_BASE = 1000
CONFIRM_PROBES = 30
DELAYER_SCRIPT = Path(delayer.__file__).resolve()


class Latency(Fault):
    """Add `delay_ms` to what the target hosts (names, or every node of `zones`) send to `to`
    (host or zone names; default every host outside the targets). With `cross_zone=True`, each
    target delays only what it sends to nodes of other zones."""

    kind = "latency"
    needs = frozenset({Capability.PACKET_DELAY})

    def __init__(self, cluster: "Cluster", hosts: Sequence[str] = (), zones: Sequence[str] = (), delay_ms: float = 5.0,
                 to: Sequence[str] | None = None, cross_zone: bool = False, probes: int = CONFIRM_PROBES,
                 **kw: Any) -> None:
        super().__init__(cluster, **kw)
        if not isinstance(delay_ms, (int, float)) or not 0 < delay_ms <= MAX_DELAY_MS:
            raise ConfigError(f"delay_ms must be within (0, {MAX_DELAY_MS:g}] milliseconds, got {delay_ms!r}")
        zone_names = set(cluster.zones)
        for z in zones:
            if z not in zone_names:
                raise ConfigError(f"no zone {z!r}; zones are {', '.join(sorted(zone_names))}")
        names = [resolve_host(cluster, h).name for h in hosts]
        names += [n.name for z in zones for n in cluster.nodes_in_zone(z) if n.name not in names]
        if not names:
            raise ConfigError("latency needs target hosts or zones")
        self.hosts, self.zones, self.delay_ms = list(hosts), list(zones), float(delay_ms)
        self.to, self.cross_zone, self.probes = (list(to) if to is not None else None), bool(cross_zone), int(probes)
        self.names = names
        self.destinations: dict[str, list[str]] = {}
        all_hosts = [*cluster.nodes, *cluster.clients]
        for name in names:
            if self.cross_zone:
                zone = cluster.node(name).zone
                dest = [n.name for n in cluster.nodes if n.zone != zone]
            elif self.to is not None:
                dest = []
                for t in self.to:
                    dest += [n.name for n in cluster.nodes_in_zone(t)] if t in zone_names else [resolve_host(cluster, t).name]
            else:
                dest = [h.name for h in all_hosts if h.name not in names]
            dest = [d for d in dict.fromkeys(dest) if d != name]
            if not dest:
                raise ConfigError(f"latency on {name} has no destination host; check `to` / zones")
            self.destinations[name] = dest
        self.queue = QUEUE_BASE + int(self.fault_id.rsplit("-", 1)[1]) % 60000
        self.addresses = {h.name: h.address for h in all_hosts}
        self.baseline: ProbeResult | None = None
        self.measured: ProbeResult | None = None

    def params(self) -> dict[str, Any]:
        return {"hosts": self.hosts, "zones": self.zones, "delay_ms": self.delay_ms, "to": self.to,
                "cross_zone": self.cross_zone, "probes": self.probes}

    def targets(self) -> tuple[str, ...]:
        return tuple(self.names)

    def _pid_file(self, name: str) -> Path:
        directory = state_dir(self.cluster)
        if directory is None:
            raise HarnessError("latency faults need a cluster with a local run root for delayer pid files")
        return directory / f"{self.fault_id}.{name}.delayer.pid"

    def _probe_pair(self) -> tuple[str, str] | None:
        """A target and a destination node to measure the delay between (connect = one RTT)."""
        node_names = {n.name for n in self.cluster.nodes}
        for name in self.names:
            dest = next((d for d in self.destinations[name] if d in node_names), None)
            if dest:
                return name, dest
        return None

    def measure(self, count: int | None = None) -> ProbeResult | None:
        """Connect times from a target to a destination node, or None when no pair has a listener."""
        pair = self._probe_pair()
        if pair is None:
            return None
        return probe_connect(resolve_host(self.cluster, pair[0]), self.addresses[pair[1]], count=count or self.probes,
                             timeout=max(1.0, self.delay_ms * 10 / 1000))

    def _apply(self) -> None:
        self.baseline = self.measure()
        for name in self.names:
            host = resolve_host(self.cluster, name)
            pid_file = self._pid_file(name)
            pid_file.parent.mkdir(parents=True, exist_ok=True)
            self.note_artefact("delayer_pid_files", str(pid_file))
            host.run_in_network([sys.executable, str(DELAYER_SCRIPT), "--queue", str(self.queue), "--delay-ms",
                                 str(self.delay_ms), "--pid-file", str(pid_file), "--log",
                                 str(pid_file.with_suffix(".log"))], timeout=30)
            dest = ",".join(self.addresses[d] for d in self.destinations[name])
            self.note_artefact("iptables", {"host": name, "comment": self.fault_id})
            # --queue-bypass: if the delayer dies, packets pass undelayed instead of being dropped.
            netfilter.add_iptables_rule(host, "OUTPUT", ["-d", dest, "-j", "NFQUEUE", "--queue-num", str(self.queue),
                                                         "--queue-bypass"], self.fault_id)

    def _confirm_effect(self) -> dict[str, Any]:
        self.measured = self.measure()
        result: dict[str, Any] = {"requested_ms": self.delay_ms}
        if self.baseline is not None and self.baseline.median_ms is not None:
            result["baseline_median_ms"] = round(self.baseline.median_ms, 3)
        if self.measured is None:
            return result  # only clients on the far side: nothing listens to measure against
        if self.measured.median_ms is None:
            raise HarnessError(f"latency {self.fault_id}: every probe from {self.measured.source} to "
                               f"{self.measured.target} timed out; the delayer may be stuck (see its log under "
                               f"{state_dir(self.cluster)})")
        source, dest = self._probe_pair()  # type: ignore[misc]
        # A connect is one round trip: delayed on the way out, and on the way back too when the
        # destination is itself a target delaying what it sends to the source.
        back = self.delay_ms if dest in self.destinations and source in self.destinations[dest] else 0.0
        result["requested_rtt_ms"] = self.delay_ms + back
        result.update(measured_median_ms=round(self.measured.median_ms, 3),
                      measured_p99_ms=round(self.measured.percentile_ms(99) or 0.0, 3),
                      probe=f"{self.measured.source}->{self.measured.target}", probes=len(self.measured.ms))
        if self.measured.median_ms < result["requested_rtt_ms"] * 0.9:
            raise HarnessError(
                f"latency {self.fault_id}: requested {result['requested_rtt_ms']} ms round trip on {', '.join(self.names)} but measured "
                f"median {self.measured.median_ms:.3f} ms ({self.measured.source}->{self.measured.target}); "
                f"is the delayer bound to queue {self.queue}? (`nft list ruleset` inside the node)")
        return result

    def _undo(self) -> None:
        errors = []
        for name in self.names:  # rules first: with them gone, nothing is queued any more
            try:
                netfilter.delete_iptables_rules(resolve_host(self.cluster, name), self.fault_id)
            except HarnessError as exc:
                errors.append(str(exc))
        for name in self.names:
            stop_delayer(self._pid_file(name))
        if errors:
            raise HarnessError(f"latency {self.fault_id}: could not remove rules: {'; '.join(errors)}")

    def _confirm_revert(self) -> None:
        self.wait(lambda: not any(netfilter.iptables_rules(resolve_host(self.cluster, n), self.fault_id)
                                  for n in self.names), f"iptables rules commented {self.fault_id} to be gone")
        self.wait(lambda: not any(_pid(self._pid_file(n)) for n in self.names), "every delayer process to exit")
        self.confirm_whole()


def _pid(pid_file: Path) -> int | None:
    try:
        pid = int(pid_file.read_text().strip())
    except (FileNotFoundError, ValueError):
        return None
    return pid if is_alive(pid) and _is_delayer(pid) else None


def _is_delayer(pid: int) -> bool:
    """Guard against pid reuse: only signal a process whose command line is our delayer."""
    try:
        return DELAYER_SCRIPT.name.encode() in Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False


def stop_delayer(pid_file: Path) -> None:
    """SIGTERM the delayer named by pid_file (it releases what it holds and removes the file)."""
    pid = _pid(pid_file)
    if pid is not None:
        try:
            os.kill(pid, signal.SIGCONT)  # a delayer on a hung node must be able to act on SIGTERM
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
    if pid is None:
        pid_file.unlink(missing_ok=True)


def between_zones(cluster: "Cluster", rtt_ms: float = 5.0, **kw: Any) -> Latency:
    """`rtt_ms` added to the round trip between any two zones: every node delays what it sends to
    other zones by rtt_ms / 2."""
    if not isinstance(rtt_ms, (int, float)) or not 0 < rtt_ms <= 2 * MAX_DELAY_MS:
        raise ConfigError(f"rtt_ms must be within (0, {2 * MAX_DELAY_MS:g}], got {rtt_ms!r}")
    return Latency(cluster, zones=cluster.zones, delay_ms=rtt_ms / 2.0, cross_zone=True, **kw)
