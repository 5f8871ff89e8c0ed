"""Client and server quorum (SCENARIOS.md Q1-Q6, A1, SQ1): what a client can do while bricks or
glusterds are down, and that the volume heals afterwards."""
from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from harness import Capability
from harness.checks import (
    check_access, check_bricks_consistent, check_heal, check_management_refused, check_server_quorum,
    prepare_access_probe, probe_access,
)
from harness.faults import KillBrick, KillGlusterd
from harness.results import CheckResult, all_passed
from harness.volume import VolumeType
from harness.waiting import wait_for

pytestmark = pytest.mark.quorum

OK, ENOTCONN = "ok", "ENOTCONN"


@dataclass(frozen=True)
class QuorumCase:
    scenario: str
    volume: VolumeType
    options: dict[str, str]
    down: tuple[int, ...]  # brick indexes killed
    expected: dict[str, str]  # op -> ok | errno name
    consistent_after: bool = False
    observe_default: dict[str, str] = field(default_factory=dict)  # option -> value `volume get` must report

    @property
    def id(self) -> str:
        return f"{self.scenario}-{self.volume.value}-down{'+'.join(map(str, self.down))}"


AUTO = {"cluster.quorum-type": "auto"}
CASES = [
    QuorumCase("Q1", VolumeType.REPLICA3, AUTO, (2,), dict.fromkeys(("read", "write", "create", "mkdir"), OK),
               consistent_after=True),
    QuorumCase("Q2", VolumeType.REPLICA3, AUTO, (1, 2),
               dict.fromkeys(("read", "write", "create", "mkdir", "link", "symlink"), ENOTCONN)),
    QuorumCase("Q3", VolumeType.REPLICA2, AUTO, (0,), dict.fromkeys(("read", "write"), ENOTCONN)),
    QuorumCase("Q4", VolumeType.REPLICA2, AUTO, (1,), dict.fromkeys(("read", "write", "create"), OK)),
    QuorumCase("Q5", VolumeType.REPLICA3, {"cluster.quorum-type": "fixed", "cluster.quorum-count": "3"}, (2,),
               dict.fromkeys(("write", "read", "flock"), ENOTCONN)),
    QuorumCase("Q5", VolumeType.REPLICA2, {"cluster.quorum-type": "fixed", "cluster.quorum-count": "2"}, (1,),
               dict.fromkeys(("write", "read", "flock"), ENOTCONN)),
    # Q6 sets no quorum option on purpose: it checks the default, which must read "none".
    QuorumCase("Q6", VolumeType.REPLICA2, {}, (0,), dict.fromkeys(("read", "write", "create"), OK),
               observe_default={"cluster.quorum-type": "none"}),
    QuorumCase("Q6", VolumeType.REPLICA2, {}, (1,), dict.fromkeys(("read", "write", "create"), OK),
               observe_default={"cluster.quorum-type": "none"}),
    QuorumCase("A1", VolumeType.ARBITER, AUTO, (0,), dict.fromkeys(("write", "setxattr", "read"), OK)),
]


@pytest.mark.requires(Capability.NODE_PROCESSES)  # KillBrick; the access probe runs in the client host
@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_client_quorum(case, gluster_cluster, volume_factory, mount_factory, profile, conform):
    volume = volume_factory(case.volume, case.options)
    mount = mount_factory(volume)
    defaults = {opt: gluster_cluster.gluster.volume_get(volume.name, opt) for opt in case.observe_default}
    prepare_access_probe(mount)
    with KillBrick(gluster_cluster, volume, case.down, mounts=[mount], timeout=profile.fault_timeout_s):
        during = check_access(probe_access(mount, list(case.expected)), case.expected, "client access during fault")
    checks = [during, check_heal(volume, profile.heal_timeout_s)]
    checks.append(check_access(probe_access(mount, ["read", "write", "create"]), dict.fromkeys(
        ("read", "write", "create"), OK), "client access after revert"))
    if case.consistent_after:
        checks.append(check_bricks_consistent(volume))
    result = all_passed(checks)
    if case.observe_default:
        result = all_passed([result, _defaults_result(defaults, case.observe_default)])
    conform(case.scenario, volume, f"kill brick(s) {', '.join(map(str, case.down))}", result)


def _defaults_result(observed: dict[str, str], expected: dict[str, str]) -> CheckResult:
    return CheckResult("defaults reported by volume get", observed == expected, observed, expected)


@pytest.mark.slow
@pytest.mark.requires(Capability.GLUSTERD_CONTROL)  # glusterd killed and restarted inside its node
def test_server_quorum_kills_the_bricks_of_a_node_that_lost_it(gluster_cluster, volume_factory, mount_factory,
                                                               profile, conform):
    """SQ1: with server quorum on, glusterd on the surviving node stops its own brick when the
    other two glusterds die. Their bricks keep running (only glusterd was killed), so the client
    still reaches 2 of 3 bricks: I/O continuing is the observed, documented behaviour. The node
    without quorum refuses management operations ("Quorum not met")."""
    volume = volume_factory(VolumeType.REPLICA3, {"cluster.server-quorum-type": "server", **AUTO})
    mount = mount_factory(volume)
    survivor, *others = gluster_cluster.nodes
    prepare_access_probe(mount)
    with KillGlusterd(gluster_cluster, nodes=[n.name for n in others], timeout=profile.fault_timeout_s) as fault:
        wait_for(lambda: check_server_quorum(volume, survivor, expect_bricks_online=False).passed,
                 timeout=profile.fault_timeout_s, what=f"{survivor.name} to stop its brick")
        offline = check_server_quorum(volume, survivor, expect_bricks_online=False)
        refused = check_management_refused(volume, survivor)
        io = check_access(probe_access(mount, ["read", "write"]), {"read": OK, "write": OK},
                          "client I/O through the bricks of the glusterd-less nodes")
    # The fault's revert confirmed every brick online, the survivor's included. It also repairs what
    # GlusterFS defects of the glusterds' return leave (harness.gluster.glusterd_volumes): the row names them.
    named = [f"{r['node']}: {r['repair']} ({r['known_defect'][:60]}...)" for r in fault.repairs]
    named += [f"{n}: runs no self-heal daemon for {v} (glusterd's attach ended unattached)" for n, v in
              sorted(fault.shd_given_up)]
    repairs = CheckResult("revert repairs of GlusterFS defects", True, named or "none", "none, or named")
    result = all_passed([offline, refused, io, repairs, check_server_quorum(volume, survivor, True),
                         check_heal(volume, profile.heal_timeout_s)])
    conform("SQ1", volume, f"kill glusterd on {others[0].name} and {others[1].name}", result)
