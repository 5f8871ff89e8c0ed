"""gluster/glusterfs#1101's port race, diagnosed from brick logs, and the storm verdict it gives.

The brick log lines are recorded from a real storm (CI at 31276f2, node1 of a local cluster): two
volume starts within a millisecond, storm-00001's brick given the port storm-00000's brick took."""
from __future__ import annotations

from dataclasses import dataclass

from harness.gluster.port_race import ISSUE_1101, port_race_evidence
from harness.storm import StormPlan, StormResult, VolumeTiming
from harness.storm_verdict import check_storm, diagnose_failures

RECORDED_BIND_FAILURE = (
    b"[2026-12-07 07:06:30.439528 +0000] I [rpcsvc.c:2697:rpcsvc_set_outstanding_rpc_limit] 0-rpc-service: "
    b"Configured rpc.outstanding-rpc-limit with value 64\n"
    b"[2026-12-07 07:06:30.439677 +0000] E [socket.c:938:__socket_server_bind] 0-tcp.storm-00001-server: "
    b"binding to  failed: Address already in use\n"
    b"[2026-12-07 07:06:32.441150 +0000] W [MSGID: 115045] [server.c:1254:server_init] 0-storm-00001-server: "
    b"creation of listener failed [] \n")
START_ERROR = ("GlusterError: gluster volume start storm-00001 failed on node1: Commit failed on localhost. "
               "Please check log file for details.")


@dataclass
class LogNode:
    """A node that only gives its log tails (here: recorded ones)."""

    name: str
    logs: dict[str, bytes]

    def log_tails(self, max_bytes: int) -> dict[str, bytes]:
        return self.logs


def nodes(bind_failure: bytes = RECORDED_BIND_FAILURE) -> list[LogNode]:
    brick = "bricks/var-tmp-glusterharness-glh1-node{}-bricks-storm-0000{}-b0.log"
    return [LogNode("node1", {brick.format(1, 1): bind_failure, brick.format(1, 0): b"I started\n",
                              "glusterd.log": b"E binding to  failed: Address already in use\n"}),
            LogNode("node2", {brick.format(2, 1): b"I started\n"})]


def storm(failed_error: str = START_ERROR, p99_s: float = 1.0, leftovers: tuple[str, ...] = ()) -> StormResult:
    timings = [VolumeTiming(f"storm-{i:05d}", True, p99_s, {}) for i in (0, 2, 3)]
    timings.append(VolumeTiming("storm-00001", False, 2.0, {}, error=failed_error))
    return StormResult(StormPlan(4), "glh1", 3, 0, timings, [], 10.0, 5.0, list(leftovers), None)


def test_the_race_is_found_in_the_failed_volumes_brick_log_only():
    evidence = port_race_evidence(nodes(), "storm-00001")
    assert evidence == ["node1 bricks/var-tmp-glusterharness-glh1-node1-bricks-storm-00001-b0.log: [2026-12-07 "
                        "07:06:30.439677 +0000] E [socket.c:938:__socket_server_bind] 0-tcp.storm-00001-server: "
                        "binding to  failed: Address already in use"]
    assert port_race_evidence(nodes(), "storm-00000") == []  # glusterd.log's line is no brick's
    assert port_race_evidence(nodes(), "storm-0000") == []


def test_a_storm_lost_only_to_the_race_is_that_known_defect():
    result = storm()
    check = check_storm(result, 10.0, diagnose_failures(result, nodes()))
    assert check.passed is False and check.known_defect.startswith(ISSUE_1101 + ": node1 bricks/")
    assert "only 3 of 4 volumes provisioned" in check.observed


def test_negative_controls_a_failure_the_race_does_not_explain_stays_a_failure():
    quiet = nodes(bind_failure=b"I started\n")  # the brick bound its port: something else failed
    result = storm()
    assert check_storm(result, 10.0, diagnose_failures(result, quiet)).known_defect is None
    assert check_storm(result, 10.0).known_defect is None  # not diagnosed at all
    slow = storm(p99_s=20.0)  # the race, and a p99 over the gate besides
    assert check_storm(slow, 10.0, diagnose_failures(slow, nodes())).known_defect is None
    left = storm(leftovers=("volume storm-00003",))
    assert check_storm(left, 10.0, diagnose_failures(left, nodes())).known_defect is None
