"""A chaostoolkit extension for GlusterFS clusters of this harness.

`harness.chaos.actions` injects and reverts every fault kind of harness.faults;
`harness.chaos.workload` drives a background workload and waits for the volume to be whole; `harness.chaos.probes` reads the steady state (volume healthy, pending heal
0, no split brain, a client writes and reads, write p99 under a bound). Activities find their
cluster from the state `python -m harness up` leaves (see harness.chaos.target for the
configuration keys). `harness.chaos.experiment` runs experiment files through chaoslib and
judges their journals (the pytest suite and the tests use it).
"""
from __future__ import annotations

from typing import Any

__all__ = ["__version__", "discover"]
__version__ = "0.1.0"


def discover(discover_system: bool = True) -> dict[str, Any]:
    """What `chaos discover glusterharness` reports: this extension's actions and probes."""
    from chaoslib.discovery.discover import discover_actions, discover_probes, initialize_discovery_result

    discovery = initialize_discovery_result("gluster-conformance-harness", __version__, "glusterharness")
    discovery["activities"].extend(discover_actions("harness.chaos.actions"))
    discovery["activities"].extend(discover_actions("harness.chaos.workload"))
    discovery["activities"].extend(discover_probes("harness.chaos.probes"))
    return discovery
