"""Faults: pod, node, zone, network, latency, disk, brick and rolling-restart failures that always
revert, each recorded on the run's Timeline. See harness.faults.base for the contract."""
