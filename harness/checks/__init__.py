"""Checks: functions from (history, cluster state) to a CheckResult. They never assert."""
from .access import AccessReport, OpOutcome, check_access, prepare_access_probe, probe_access
from .brick_snapshot import snapshot_brick
from .consistency import check_bricks_consistent
from .disperse import check_disperse_consistent
from .heal import check_heal
from .quorum import check_client_quorum, check_management_refused, check_server_quorum, client_quorum_met
from .splitbrain import (
    BrickCopy, brick_copies, check_no_split_brain, check_split_brain_resolved, expected_winner, split_brain_entries,
)

__all__ = [
    "AccessReport", "OpOutcome", "check_access", "check_bricks_consistent", "check_client_quorum", "check_heal",
    "check_no_split_brain", "check_server_quorum", "client_quorum_met", "prepare_access_probe", "probe_access",
    "snapshot_brick", "split_brain_entries", "check_management_refused",
    "BrickCopy", "brick_copies", "check_disperse_consistent", "check_split_brain_resolved", "expected_winner",
]
