"""The harness's pytest fixtures: the session's cluster, run folder and recorder, per-test volume
and mount factories (torn down in dependency order), and the workload, S3 and chaos runners.
Registered by harness.pytest.plugin (its `pytest_plugins`)."""
from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Iterator

import pytest

from ..cluster import ClientHost, Cluster
from ..conformance import ConformanceRecorder, ScenarioRow
from ..errors import HarnessError
from ..mount import FuseMount
from .plugin import HarnessRun, expect, harness_run
from ..profiles import Profile
from ..providers import make_provider
from ..results import CheckResult, Recorder
from ..rundir import RunDir
from ..volume import Volume, VolumeSpec, VolumeType, create_volume

if TYPE_CHECKING:
    from ..timeline import Timeline
    from ..workloads.fio import FioResult
    from ..workloads.s3gateway import S3Endpoint, S3Gateway


@pytest.fixture(scope="session")
def harness_settings(pytestconfig: pytest.Config) -> HarnessRun:
    return harness_run(pytestconfig)


@pytest.fixture(scope="session")
def run_dir(harness_settings: HarnessRun) -> RunDir:
    return harness_settings.run_dir


@pytest.fixture(scope="session")
def recorder(harness_settings: HarnessRun) -> Recorder:
    return harness_settings.recorder


@pytest.fixture
def conformance(request: pytest.FixtureRequest, recorder: Recorder) -> ConformanceRecorder:
    """Record conformance-matrix rows for this test."""
    return ConformanceRecorder(recorder, request.node.nodeid)


@pytest.fixture
def conform(conformance: ConformanceRecorder) -> Callable[..., CheckResult]:
    """conform(scenario, volume, fault, result): add the row to the matrix, then expect(result)."""

    def record_and_expect(scenario: str, volume: Volume, fault: str, result: CheckResult) -> CheckResult:
        __tracebackhide__ = True
        conformance.record(ScenarioRow.from_result(scenario, volume.spec.type.value, dict(volume.spec.options),
                                                   fault, result))
        return expect(result)

    return record_and_expect


@pytest.fixture(scope="session")
def profile(harness_settings: HarnessRun) -> Profile:
    return harness_settings.profile


@pytest.fixture(scope="session")
def gluster_cluster(harness_settings: HarnessRun) -> Iterator[Cluster]:
    """A cluster for the whole session (one per xdist worker), torn down at the end."""
    s = harness_settings
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    k8s = s.extras.get("k8s")
    try:
        provider = make_provider(s.provider, nodes=s.nodes, zones=s.zones, clients=s.clients, root=s.root,
                                 k8s=k8s.for_worker(worker) if k8s else None, versions=s.extras.get("versions"))
        cluster = provider.up()
    except HarnessError as exc:
        pytest.exit(f"cannot start the {s.provider} cluster: {exc}", returncode=3)
    s.extras["cluster"] = cluster  # its nodes' logs are kept for failing tests
    from ..faults.base import revert_active_faults, set_default_timeline
    from ..timeline import Timeline

    # Faults record on one timeline per session (per xdist worker), mirrored to the run folder.
    set_default_timeline(cluster, Timeline(s.run_dir.path / (f"timeline-{worker}.jsonl" if worker else "timeline.jsonl")))
    from ..report.summary import describe_cluster

    s.recorder.record("cluster", describe_cluster(cluster))
    try:
        yield cluster
    finally:
        revert_active_faults(cluster)  # safety net: whatever a test left injected
        s.extras.pop("cluster", None)
        if s.keep_cluster:
            cluster.keep()
        else:
            cluster.down()


VolumeFactory = Callable[..., Volume]


@pytest.fixture
def volume_factory(gluster_cluster: Cluster, profile: Profile) -> Iterator[VolumeFactory]:
    """Create volumes for one test: factory(type_or_spec, options=None, name=None); deleted afterwards.

    The profile's volume options apply unless the test states the same option itself.
    """
    created: list[Volume] = []

    def make(kind: "VolumeType | str | VolumeSpec", options: dict | None = None, name: str | None = None) -> Volume:
        if isinstance(kind, VolumeSpec):
            spec = VolumeSpec(kind.type, {**profile.volume_options, **kind.options}, kind.distribute,
                              kind.disperse_data, kind.redundancy)
        else:
            spec = VolumeSpec(VolumeType.parse(kind), {**profile.volume_options, **(options or {})})
        volume = create_volume(gluster_cluster, spec, name)
        created.append(volume)
        return volume

    yield make
    from ..faults.base import revert_active_faults

    revert_active_faults(gluster_cluster)  # a fault the test left active must not outlive its volumes
    for volume in reversed(created):
        volume.delete()


@pytest.fixture(autouse=True)
def _revert_faults_left_by_test(request: pytest.FixtureRequest) -> Iterator[None]:
    """Safety net per test: a fault a test injected and did not revert (no `with`, an exception
    between inject and revert) is reverted when that test ends, before the next one starts."""
    yield
    if "gluster_cluster" in request.fixturenames:
        from ..faults.base import revert_active_faults

        revert_active_faults(request.getfixturevalue("gluster_cluster"))


@pytest.fixture(scope="session")
def timeline(gluster_cluster: Cluster) -> "Timeline":
    """The session's fault Timeline (JSON lines in the run folder); faults record on it by default."""
    from ..faults.base import default_timeline

    return default_timeline(gluster_cluster)


MountFactory = Callable[..., FuseMount]


@pytest.fixture
def mount_factory(gluster_cluster: Cluster, volume_factory: VolumeFactory) -> Iterator[MountFactory]:
    """Mount volumes for one test: factory(volume, client=None); unmounted afterwards.

    Depends on volume_factory so that mounts always go before their volumes are deleted.
    """
    mounts: list[FuseMount] = []

    def make(volume: Volume, client: ClientHost | str | None = None) -> FuseMount:
        host = gluster_cluster.client(client) if isinstance(client, str) else client
        mount = gluster_cluster.mount(volume, host)
        mounts.append(mount)
        return mount

    yield make
    from ..faults.base import revert_active_faults

    revert_active_faults(gluster_cluster)  # reverted while the mounts can still confirm children up
    for mount in reversed(mounts):
        gluster_cluster.unmount(mount)


@pytest.fixture
def replica3_mount(volume_factory: VolumeFactory, mount_factory: MountFactory) -> FuseMount:
    """A mounted replica-3 volume with the profile's options."""
    return mount_factory(volume_factory(VolumeType.REPLICA3))


@pytest.fixture
def fio_runner(gluster_cluster: Cluster, run_dir: RunDir) -> Callable[..., "FioResult"]:
    """run(target, job, client=None) -> FioResult: fio from a client host (default the first);
    fio's JSON, latency log and gfapi log land under reports/<run-id>/workloads/."""
    from ..workloads.fio import run_fio

    def run(target: object, job: object, client: ClientHost | None = None) -> "FioResult":
        return run_fio(client or gluster_cluster.clients[0], target, job,  # type: ignore[arg-type]
                       run_dir.path / "workloads" / str(os.getpid()))

    return run


@pytest.fixture
def s3_gateway(gluster_cluster: Cluster, volume_factory: VolumeFactory, mount_factory: MountFactory,
               run_dir: RunDir) -> Iterator["S3Gateway"]:
    """A Swift S3 gateway (the "gateway pod") on the first client host, its devices on a fresh
    replica-3 volume mounted there; stopped before the mount goes."""
    from ..workloads.s3gateway import start_gateway

    volume = volume_factory(VolumeType.REPLICA3)
    mount = mount_factory(volume, gluster_cluster.clients[0])
    gateway = start_gateway(gluster_cluster.clients[0], mount,
                            run_dir.path / "s3gateway" / f"{os.getpid()}-{volume.name}")
    try:
        yield gateway
    finally:
        gateway.stop()


@pytest.fixture
def s3_endpoint(s3_gateway: "S3Gateway", gluster_cluster: Cluster) -> "S3Endpoint":
    """URL and credentials of s3_gateway, reached from the last client host (so requests cross
    the cluster network when there are two or more clients)."""
    return s3_gateway.endpoint(gluster_cluster.clients[-1])


@pytest.fixture
def chaos_runner(gluster_cluster: Cluster, mount_factory: MountFactory, run_dir: RunDir,
                 profile: Profile) -> Iterator[Callable[..., dict]]:
    """run(experiment, volume, heal_timeout=None) -> journal: a chaostoolkit experiment (a file of
    chaos/ or a dict) run through chaoslib against this session's cluster and `volume` (mounted by
    the test); the journal lands in reports/<run-id>/chaos/, fault events in timeline-chaos.jsonl.
    Afterwards whatever the experiment left injected or running is reverted and stopped, before
    the test's mounts go (this fixture depends on mount_factory for that order)."""
    from ..chaos.actions import revert_all_faults
    from ..chaos.workload import stop_workload
    from ..chaos.experiment import run_experiment_file
    from ..chaos.target import RUN_ID_KEY, VOLUME_KEY, target

    used: list[dict] = []

    def run(experiment: "Path | dict", volume: Volume, heal_timeout: float | None = None) -> dict:
        stem = experiment.stem if isinstance(experiment, Path) else "experiment"
        used.append({RUN_ID_KEY: gluster_cluster.run_id, VOLUME_KEY: volume.name})
        return run_experiment_file(
            experiment, gluster_cluster.run_id, volume.name, timeline=run_dir.path / "timeline-chaos.jsonl",
            heal_timeout=heal_timeout or profile.heal_timeout_s,
            journal_path=run_dir.path / "chaos" / f"{stem}-{os.getpid()}-{volume.name}.journal.json")

    yield run
    for config in used:
        for name in list(target(config).workloads):
            stop_workload(name, judge=False, configuration=config)
        revert_all_faults(config)
