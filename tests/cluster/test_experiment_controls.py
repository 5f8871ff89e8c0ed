"""The chaos extension and experiments: `chaos validate` on every experiment, the extension's
catalog, bad input, and negative controls on a real cluster (a broken steady state is reported
naming the probe; a method that raises midway still leaves the cluster whole)."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from harness.chaos import actions, discover, probes, workload
from harness.chaos.experiment import EXPERIMENTS_DIR, check_journal, experiment_files, load
from harness.chaos.target import RUN_ID_KEY, STATE_KEY, VOLUME_KEY, find_entry, target
from harness.errors import ConfigError
from harness.faults import KINDS, KillBrick
from harness.health import wait_volume_whole
from harness.pytest.plugin import expect
from harness.providers.local import LocalCluster
from harness.runner import run
from harness.volume import VolumeType

CHAOS = shutil.which("chaos", path=str(Path(__file__).resolve().parents[2] / ".venv" / "bin")) or shutil.which("chaos")
EXPERIMENTS = experiment_files()

# Each fault kind's inject action and its revert (the fault library's kinds, one pair each).
PAIRS = {
    "kill-brick": ("kill_brick", "revert_kill_brick"), "kill-glusterd": ("kill_glusterd", "revert_kill_glusterd"),
    "kill-self-heal": ("kill_self_heal", "revert_kill_self_heal"), "restart-pod": ("restart_pod", "revert_restart_pod"),
    "node-crash": ("crash_node", "revert_crash_node"), "node-hang": ("hang_node", "revert_hang_node"),
    "zone-outage": ("zone_outage", "revert_zone_outage"),
    "network-partition": ("partition_network", "revert_partition_network"),
    "isolate-node": ("isolate_node", "revert_isolate_node"), "packet-loss": ("packet_loss", "revert_packet_loss"),
    "latency": ("add_latency", "revert_latency"), "slow-disk": ("slow_disk", "revert_slow_disk"),
    "failing-disk": ("failing_disk", "revert_failing_disk"), "brick-loss": ("lose_brick", "revert_lose_brick"),
    "rolling-restart": ("rolling_restart", "revert_rolling_restart"),
}


@pytest.mark.parametrize("experiment", EXPERIMENTS, ids=[p.stem for p in EXPERIMENTS])
def test_validate_cli_accepts_experiment(experiment: Path, tmp_path: Path) -> None:
    assert CHAOS, "the chaos command is missing; run `bash scripts/setup.sh` (installs chaostoolkit)"
    result = run([CHAOS, "--no-version-check", "--log-file", str(tmp_path / "chaos.log"), "validate", str(experiment)],
                 timeout=120, check=False)
    assert result.ok, f"`chaos validate {experiment}` failed:\n{result.stdout}\n{result.stderr}"
    assert "experiment syntax and semantic look valid" in result.stdout + result.stderr


def test_validate_cli_rejects_a_broken_experiment(tmp_path: Path) -> None:
    """Negative control for the validation above: an unknown function is refused."""
    broken = json.loads((EXPERIMENTS_DIR / "node-crash.json").read_text())
    broken["method"][1]["provider"]["func"] = "no_such_action"
    path = tmp_path / "broken.json"
    path.write_text(json.dumps(broken))
    result = run([CHAOS, "--no-version-check", "--log-file", str(tmp_path / "chaos.log"), "validate", str(path)],
                 timeout=120, check=False)
    assert not result.ok and "no_such_action" in result.stdout + result.stderr
    with pytest.raises(ConfigError, match="no_such_action"):
        load(path)


def test_extension_catalog_covers_every_fault_kind_and_probe() -> None:
    # The chaos target is the local provider's cluster: every kind it can serve has its pair.
    served = {kind for kind, cls in KINDS.items() if cls.needs <= LocalCluster.capabilities}
    assert served and set(PAIRS) == served, "a fault kind of harness.faults has no chaos inject/revert pair"
    found = {(a["type"], a["name"]) for a in discover()["activities"]}
    for inject, revert in PAIRS.values():
        assert {("action", inject), ("action", revert)} <= found
    assert {("action", n) for n in ("start_workload", "stop_workload", "wait_volume_whole", "revert_fault",
                                    "revert_all_faults", "start_index_heal", "add_zone_latency")} <= found
    assert {("probe", n) for n in probes.__all__} <= found
    assert set(actions.__all__) | set(workload.__all__) == {n for t, n in found if t == "action"}


def test_experiments_have_hypothesis_method_and_rollbacks() -> None:
    for path in EXPERIMENTS:
        exp = json.loads(path.read_text())
        probe_names = [p["name"] for p in exp["steady-state-hypothesis"]["probes"]]
        assert {"volume-healthy", "pending-heal-is-zero", "no-split-brain", "client-can-write-and-read"} <= set(probe_names)
        funcs = [a["provider"]["func"] for a in exp["method"]]
        reverts = [a["provider"]["func"] for a in exp["rollbacks"]]
        if "rolling_upgrade" in funcs:  # an upgrade is no fault: its rollback goes back to the installed version
            assert "restore_installed_version" in reverts and "stop_workload" in reverts, path.name
            continue
        injected = [f for f in funcs if f in {i for i, _ in PAIRS.values()} | {"add_zone_latency"}]
        assert len(injected) == 1, f"{path.name}: one fault per experiment, got {injected}"
        assert any(f.startswith("revert_") for f in reverts), f"{path.name}: no revert in the rollbacks"
        assert "start_workload" in funcs and "stop_workload" in reverts, f"{path.name}: no background workload"
        assert set(exp["configuration"]) >= {RUN_ID_KEY, VOLUME_KEY}


def test_unknown_run_id_is_one_clear_error() -> None:
    with pytest.raises(ConfigError, match="no running cluster glh999; running: .*harness status"):
        find_entry({RUN_ID_KEY: "glh999"})


def test_unreadable_state_file_is_one_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read the cluster state file"):
        find_entry({STATE_KEY: str(tmp_path / "cluster.json")})


def test_bad_label_is_refused_before_anything_changes(gluster_cluster, volume_factory) -> None:
    config = {RUN_ID_KEY: gluster_cluster.run_id, VOLUME_KEY: volume_factory(VolumeType.REPLICA3).name}
    with pytest.raises(ConfigError, match="fault label '../x'"):
        actions.crash_node("node2", label="../x", configuration=config)
    with pytest.raises(ConfigError, match="no node named 'node9'"):
        actions.crash_node("node9", configuration=config)
    assert actions.revert_crash_node(configuration=config)["reverted"] is False
    assert all(n.glusterd_pid() for n in gluster_cluster.nodes)
    assert not list((target(config).state_dir / "faults").glob("*.json"))


def test_self_heal_daemon_off_makes_the_experiment_deviate_naming_the_probe(volume_factory, mount_factory,
                                                                             chaos_runner) -> None:
    """Negative control: with the self-heal daemon disabled, what the client wrote while node2 was
    down is never healed, so the hypothesis after the method fails on pending heal."""
    volume = volume_factory(VolumeType.REPLICA3, {"cluster.self-heal-daemon": "off"})
    mount_factory(volume)
    journal = chaos_runner(EXPERIMENTS_DIR / "node-crash.json", volume, heal_timeout=10)
    assert journal["deviated"] is True and journal["steady_states"]["before"]["steady_state_met"] is True
    result = check_journal(journal, "node-crash")
    assert result.passed is False
    failed = result.observed["steady state deviated after the method; failed probes"]
    assert any(f.startswith("pending-heal-is-zero") for f in failed), failed
    with pytest.raises(pytest.fail.Exception, match="pending-heal-is-zero"):
        expect(result)  # what the suite's assertion says
    assert any("pending heal of" in n for n in result.evidence["why (the extension's warnings)"])


def test_brick_killed_before_the_run_fails_the_hypothesis_naming_the_probe(gluster_cluster, volume_factory,
                                                                          mount_factory, chaos_runner) -> None:
    volume = volume_factory(VolumeType.REPLICA3)
    mount_factory(volume)
    with KillBrick(gluster_cluster, volume, bricks=[1]):
        journal = chaos_runner(EXPERIMENTS_DIR / "zone-outage.json", volume)
    assert journal["run"] == [] or journal["run"] is None  # the method never ran
    result = check_journal(journal, "zone-outage")
    assert result.passed is False
    failed = result.observed["steady state before the method did not hold; failed probes"]
    assert failed and failed[0].startswith("volume-healthy"), failed
    with pytest.raises(pytest.fail.Exception, match="volume-healthy"):
        expect(result)


def explode() -> None:
    """A method step that fails midway (referenced by the experiment below)."""
    raise RuntimeError("the method broke midway on purpose")


def node_crash_then(step: str) -> dict:
    """node-crash.json's method up to the crash (writes started, node2 crashed), then `step` of this
    module: nothing in the method reverts; only the rollbacks do."""
    experiment = json.loads((EXPERIMENTS_DIR / "node-crash.json").read_text())
    method = experiment["method"]
    experiment["method"] = [method[0], {**method[1], "pauses": {}}, {
        "type": "action", "name": step, "provider": {"type": "python", "module": __name__, "func": step}}]
    return experiment


def assert_rolled_back(cluster, config: dict) -> None:
    assert all(n.glusterd_pid() for n in cluster.nodes)
    assert not list((target(config).state_dir / "faults").glob("*.json")), "a fault record outlived its revert"
    assert not target(config).workloads, "the background workload outlived the rollbacks"


def test_method_raising_midway_still_leaves_the_cluster_whole(gluster_cluster, volume_factory, mount_factory,
                                                              chaos_runner, profile) -> None:
    experiment = node_crash_then("explode")
    volume = volume_factory(VolumeType.REPLICA3)
    mount = mount_factory(volume)
    journal = chaos_runner(experiment, volume)
    statuses = {r["activity"]["name"]: r["status"] for r in journal["run"]}
    assert statuses == {"start-background-writes": "succeeded", "crash-node2": "succeeded", "explode": "failed"}
    assert [r["status"] for r in journal["rollbacks"]] == ["succeeded", "succeeded"]
    assert check_journal(journal).passed is False  # the failure is reported, not hidden
    # Whole again: every brick online, peers Connected, the client's children up, nothing to heal.
    wait_volume_whole(volume, [mount], timeout=profile.heal_timeout_s)
    config = {RUN_ID_KEY: gluster_cluster.run_id, VOLUME_KEY: volume.name}
    assert probes.volume_healthy(config) and probes.client_can_write_and_read(configuration=config)
    assert_rolled_back(gluster_cluster, config)


def interrupt() -> None:
    """What Ctrl-C (or SIGTERM, which the plugin turns into KeyboardInterrupt) does midway."""
    raise KeyboardInterrupt


def test_ctrl_c_midway_runs_the_rollbacks_then_stops_the_caller(gluster_cluster, volume_factory, mount_factory,
                                                                 chaos_runner, profile) -> None:
    experiment = node_crash_then("interrupt")
    volume = volume_factory(VolumeType.REPLICA3)
    mount = mount_factory(volume)
    # chaoslib alone would end the run as "interrupted" and return: a pytest session went on to the
    # next experiment after a SIGTERM.
    with pytest.raises(KeyboardInterrupt, match="interrupted by a signal; its rollbacks ran"):
        chaos_runner(experiment, volume)
    wait_volume_whole(volume, [mount], timeout=profile.heal_timeout_s)
    assert_rolled_back(gluster_cluster, {RUN_ID_KEY: gluster_cluster.run_id, VOLUME_KEY: volume.name})


def _journal_with_findings(*findings: dict) -> dict:
    met = {"steady_state_met": True, "probes": []}
    step = {"activity": {"name": "upgrade-every-node"}, "status": "succeeded", "duration": 1.0,
            "output": {"version": "11.1", "effect": {"steps": [], "findings": list(findings)}}}
    return {"status": "completed", "deviated": False, "steady_states": {"before": met, "after": met},
            "run": [step], "rollbacks": [], "duration": 1.0}


def test_a_defect_worked_around_during_an_experiment_is_a_known_defect_not_a_pass() -> None:
    """The rolling-upgrade experiment gets past gluster/glusterfs#4016 only by a workaround: its verdict
    must name the defect (the journal's status alone said pass)."""
    found = {"issue": "gluster/glusterfs#4016", "node": "node2", "version": "11.1", "worked_around": True,
             "observed": "Peer Rejected"}
    result = check_journal(_journal_with_findings(found), "rolling-upgrade")
    assert result.passed is False and result.known_defect == "gluster/glusterfs#4016", result.explain()
    unworked = check_journal(_journal_with_findings({**found, "worked_around": False}), "rolling-upgrade")
    assert unworked.passed is False and unworked.known_defect is None  # not got past: a plain failure
    assert check_journal(_journal_with_findings(), "rolling-upgrade").passed is True


def test_a_passing_experiment_row_carries_its_figures() -> None:
    journal = _journal_with_findings()
    journal["steady_states"] = {"before": {"steady_state_met": True, "probes": [{}, {}, {}]},
                                "after": {"steady_state_met": True, "probes": [{}, {}]}}
    journal["duration"] = 84.26
    assert check_journal(journal, "rolling-upgrade").observed == (
        "completed in 84.3 s, no deviation: steady state met before (3 probes) and after (2 probes); "
        "1 method activities and 0 rollbacks succeeded")
