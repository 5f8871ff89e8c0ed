"""The pytest plugin: options, markers, and thin fixtures over the library.

The only module that imports pytest. State lives in config.stash, never in module globals.
"""
from __future__ import annotations

import logging
import os
import signal
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Iterator

import pytest

from .cluster import ClientHost, Cluster
from .conformance import ConformanceRecorder, ScenarioRow, format_table, write_matrix
from .errors import HarnessError, KnownDefectTimeout
from .k8s.options import K8S_OPTIONS, k8s_options_from
from .mount import FuseMount
from .profiles import PROFILES, Profile, get_profile
from .providers import PROVIDERS, make_provider
from .providers.local import live_clusters
from .results import CheckResult, Recorder
from .rundir import RunDir, new_run_id
from .volume import Volume, VolumeSpec, VolumeType, create_volume

if TYPE_CHECKING:
    from .timeline import Timeline
    from .workloads.fio import FioResult
    from .workloads.s3gateway import S3Endpoint, S3Gateway

MARKERS = {
    "quorum": "client and server quorum behaviour",
    "splitbrain": "split-brain avoidance and resolution",
    "selfheal": "self-heal after faults",
    "chaos": "chaostoolkit experiments",
    "workload": "fio / locust / history workloads",
    "scale": "provisioning at scale",
    "slow": "long-running scenarios",
    "upgrade": "rolling upgrades between GlusterFS versions, mixed-version clusters",
}

# option name -> (environment variable, default, type, help)
OPTIONS: dict[str, tuple[str, object, type, str]] = {
    "gluster_provider": ("GLUSTER_PROVIDER", "local", str, f"where the cluster comes from ({', '.join(PROVIDERS)})"),
    "gluster_nodes": ("GLUSTER_NODES", 3, int, "storage nodes of the local cluster"),
    "gluster_zones": ("GLUSTER_ZONES", 3, int, "zones the nodes are spread over"),
    "gluster_clients": ("GLUSTER_CLIENTS", 2, int, "client hosts for mounts and workloads"),
    "gluster_version": ("GLUSTER_VERSION", None, str,
                        "GlusterFS version of the local cluster's nodes: one for all, or one per node separated by "
                        "commas, e.g. 10.3,10.3,11.1 (default: the installed one)"),
    "gluster_root": ("GLUSTER_ROOT", "/var/tmp/glusterharness", str, "directory the harness owns for run roots"),
    "gluster_profile": ("GLUSTER_PROFILE", "fast", str, f"timeouts and defaults ({', '.join(PROFILES)})"),
    "report_dir": ("GLUSTER_REPORT_DIR", "reports", str, "where run folders reports/<run-id>/ are written"),
    "thresholds": ("GLUSTER_THRESHOLDS", "gates/thresholds.toml", str, "gate limits (TOML) checked at the end of the run"),
    "baseline": ("GLUSTER_BASELINE", None, str, "summary.json of an earlier run: a regression against it fails the run"),
    "regression_pct": ("GLUSTER_REGRESSION_PCT", None, float,
                       "with --baseline: worse by more than this percentage fails (default: the thresholds file's)"),
}
OPTIONS.update(K8S_OPTIONS)  # the kind and existing providers' options
OUTCOMES_STASH = pytest.StashKey["object"]()
LOGS_KEPT = pytest.StashKey[bool]()

RUN_STASH = pytest.StashKey["HarnessRun"]()


@dataclass
class HarnessRun:
    """Per-session state: settings and the run folder."""

    provider: str
    nodes: int
    zones: int
    clients: int
    root: Path
    keep_cluster: bool
    profile: Profile
    run_dir: RunDir
    is_worker: bool
    recorder: Recorder
    extras: dict = field(default_factory=dict)


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("gluster", "GlusterFS conformance harness")
    for name, (env, default, typ, help_text) in OPTIONS.items():
        kwargs: dict = {"dest": name, "default": None, "type": typ, "help": f"{help_text} (env {env}, default {default})"}
        if name == "gluster_provider":
            kwargs["choices"] = PROVIDERS
        if name == "gluster_profile":
            kwargs["choices"] = tuple(PROFILES)
        group.addoption("--" + name.replace("_", "-"), **kwargs)
    group.addoption("--keep-cluster", dest="keep_cluster", action="store_true", default=None,
                    help="leave the cluster running after the session (env GLUSTER_KEEP_CLUSTER=1); "
                         "remove it with `python -m harness down`")
    group.addoption("--allow-destructive-faults", dest="allow_destructive_faults", action="store_true", default=None,
                    help="existing provider: allow faults that disrupt the cluster (delete pods, partitions) "
                         "(env GLUSTER_ALLOW_DESTRUCTIVE_FAULTS=1)")


def option(config: pytest.Config, name: str) -> object:
    """Command line first, then the environment variable, then the default."""
    value = config.getoption(name)
    if value is not None:
        return value
    env, default, typ, _ = OPTIONS[name]
    raw = os.environ.get(env)
    if raw is None:
        return default
    try:
        return typ(raw)
    except ValueError:
        raise pytest.UsageError(f"{env}={raw!r} is not a valid {typ.__name__}") from None


def pytest_configure(config: pytest.Config) -> None:
    for name, description in MARKERS.items():
        config.addinivalue_line("markers", f"{name}: {description}")
    from . import requires

    config.addinivalue_line("markers", requires.MARKER)
    if not config.pluginmanager.is_registered(requires):
        config.pluginmanager.register(requires, "harness-requires")
    logging.getLogger("harness").setLevel(logging.INFO)
    workerinput = getattr(config, "workerinput", None)
    run_id = workerinput["harness_run_id"] if workerinput else new_run_id()
    try:
        profile = get_profile(str(option(config, "gluster_profile")))
    except HarnessError as exc:
        raise pytest.UsageError(str(exc)) from None
    report_inputs = _load_report_inputs(config, profile.name) if workerinput is None else {}
    keep = config.getoption("keep_cluster") or os.environ.get("GLUSTER_KEEP_CLUSTER", "") in ("1", "true", "yes")
    reports = Path(str(option(config, "report_dir"))).resolve()
    no_run = _runs_no_tests(config)
    # A session that cannot run a test (--collect-only, --help, --markers, --fixtures) writes nothing:
    # no run folder, reports/latest left pointing at the last real run.
    run_dir = RunDir(reports / run_id, run_id) if no_run else \
        RunDir.create(reports, run_id, link_latest=workerinput is None)
    run = HarnessRun(
        provider=str(option(config, "gluster_provider")),
        nodes=int(option(config, "gluster_nodes")),  # type: ignore[arg-type]
        zones=int(option(config, "gluster_zones")),  # type: ignore[arg-type]
        clients=int(option(config, "gluster_clients")),  # type: ignore[arg-type]
        root=Path(str(option(config, "gluster_root"))),
        keep_cluster=bool(keep),
        profile=profile,
        run_dir=run_dir,
        is_worker=workerinput is not None,
        recorder=Recorder(run_dir.path, workerinput["workerid"] if workerinput else "main"),
    )
    config.stash[RUN_STASH] = run
    if no_run:
        run.extras["no_run"] = no_run
    destructive = config.getoption("allow_destructive_faults") or \
        os.environ.get("GLUSTER_ALLOW_DESTRUCTIVE_FAULTS", "") in ("1", "true", "yes")
    run.extras["k8s"] = k8s_options_from(lambda name: option(config, name), bool(destructive))
    run.extras["versions"] = option(config, "gluster_version")
    if workerinput is None:
        from .report.outcomes import OutcomeCollector

        # per-test outcomes for summary.json; pytest-xdist forwards workers' reports to the controller
        config.stash[OUTCOMES_STASH] = OutcomeCollector()
        config.pluginmanager.register(config.stash[OUTCOMES_STASH], "harness-outcomes")
    run.extras.update(report_inputs, started=time.time(), allure=bool(getattr(config.option, "allure_report_dir", None)))
    if workerinput is None and not config.getini("log_cli") and config.getoption("log_cli_level", None) is None:
        from .report import live

        handler = live.install(1)  # progress of long phases shows live, not only in failure reports
        config.add_cleanup(lambda: live.uninstall(handler))
    if workerinput is None and not no_run and not config.getoption("xmlpath", None):
        config.option.xmlpath = str(run.run_dir.path / "junit.xml")
    # SIGTERM (CI cancelling a job) unwinds like Ctrl-C, so fixtures revert faults and tear down.
    if signal.getsignal(signal.SIGTERM) in (signal.SIG_DFL, None):
        signal.signal(signal.SIGTERM, _raise_keyboard_interrupt)


def _runs_no_tests(config: pytest.Config) -> str | None:
    """The option that makes this session run no test at all, or None."""
    for dest, flag in (("collectonly", "--collect-only"), ("help", "--help"), ("markers", "--markers"),
                       ("showfixtures", "--fixtures"), ("show_fixtures_per_test", "--fixtures-per-test")):
        if getattr(config.option, dest, False):
            return flag
    return None


def _raise_keyboard_interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node: object) -> None:
    """pytest-xdist controller: every worker writes into the same run folder."""
    node.workerinput["harness_run_id"] = node.config.stash[RUN_STASH].run_dir.run_id  # type: ignore[attr-defined]


def harness_run(config: pytest.Config) -> HarnessRun:
    return config.stash[RUN_STASH]


def _load_report_inputs(config: pytest.Config, profile: str) -> dict:
    """Thresholds and baseline, read before anything runs: a bad file is a UsageError naming it."""
    from .report.baseline import load_summary
    from .report.build import BaselineInput
    from .report.gates import DEFAULT_THRESHOLDS, load_thresholds
    from .report.summary import ran_no_tests

    thresholds = option(config, "thresholds")
    baseline = option(config, "baseline")
    try:
        path = DEFAULT_THRESHOLDS if thresholds == OPTIONS["thresholds"][1] else Path(str(thresholds))
        inputs: dict = {"thresholds": load_thresholds(path, profile), "regression_pct": option(config, "regression_pct")}
        if inputs["regression_pct"] is not None and inputs["regression_pct"] < 0:
            raise pytest.UsageError(f"--regression-pct must be >= 0 (a percentage), got {inputs['regression_pct']}")
        if baseline:
            inputs["baseline"] = BaselineInput(Path(str(baseline)), load_summary(Path(str(baseline))))
            if ran_no_tests(inputs["baseline"].summary):  # nothing measured: every comparison would be "new"
                raise pytest.UsageError(f"baseline {baseline} is of a run that ran no test; pass an earlier "
                                        f"run's summary.json that has test results")
    except HarnessError as exc:
        raise pytest.UsageError(str(exc)) from None
    return inputs


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None) -> Iterator[object]:
    """Fault events recorded during a test's setup, call and teardown name that test: its plots
    shade its own faults only."""
    from .timeline import set_current_test

    set_current_test(item.nodeid)
    try:
        return (yield)
    finally:
        set_current_test(None)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> Iterator[pytest.TestReport]:
    report = yield
    if report.when == "call" and report.failed and call.excinfo and isinstance(call.excinfo.value, KnownDefectTimeout):
        # GlusterFS did what a filed upstream defect says it does: xfailed with the evidence, neither
        # a pass nor a harness failure (expect() does the same for a check's result).
        report.outcome, report.wasxfail = "skipped", call.excinfo.value.defect
    run = item.config.stash.get(RUN_STASH, None)
    if run is None:
        return report
    cluster = run.extras.get("cluster")
    own = [c for c in live_clusters() if c is not cluster]  # clusters tests made for themselves
    if (report.failed or hasattr(report, "wasxfail")) and (cluster is not None or own) \
            and not item.stash.get(LOGS_KEPT, False):
        from .report import allure, failure_logs

        item.stash[LOGS_KEPT] = True  # now: after the last test's teardown the cluster is gone
        logs = allure.node_logs(cluster) + allure.heal_state(cluster) if cluster is not None else []
        for other in own:  # under failed/<test>/<run id>-<node>/
            logs += [replace(a, name=f"{other.run_id}-{a.name}")
                     for a in allure.node_logs(other) + allure.heal_state(other)]
        failure_logs.keep(logs, failure_logs.folder_for(run.run_dir.path, item.nodeid))
        if run.extras.get("allure"):
            allure.attach(logs)
    if report.when == "teardown" and run.extras.get("allure"):
        from .report import allure

        allure.attach(allure.test_files(run.run_dir.path, item.nodeid))
    return report


def pytest_sessionfinish(session: pytest.Session) -> None:
    run = session.config.stash.get(RUN_STASH, None)
    if run is not None and not run.is_worker and not run.extras.get("no_run"):
        run.extras["conformance"] = write_matrix(run.run_dir)
        from .report.build import build_run_report

        try:
            report = build_run_report(
                run.run_dir.path, run_id=run.run_dir.run_id, provider=run.provider, profile=run.profile.name,
                started=run.extras["started"], tests=session.config.stash[OUTCOMES_STASH].outcomes(),  # type: ignore[attr-defined]
                thresholds=run.extras.get("thresholds"), baseline=run.extras.get("baseline"),
                regression_pct=run.extras.get("regression_pct"))
        except Exception as exc:  # a report that cannot be built must be seen and must fail the run
            run.extras["report_error"] = f"{type(exc).__name__}: {exc}"
            session.exitstatus = pytest.ExitCode.INTERNAL_ERROR
            return
        run.extras["report"] = report
        if run.extras.get("allure"):
            from .report import allure

            allure.attach_run([report.summary_path, report.html_path])
        if report.failed and session.exitstatus == pytest.ExitCode.OK:
            session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter, config: pytest.Config) -> None:
    run = config.stash.get(RUN_STASH, None)
    if run is None or run.is_worker:
        return
    if run.extras.get("no_run"):
        terminalreporter.write_line(f"no report written ({run.extras['no_run']} runs no test)")
        return
    lines = format_table(run.extras.get("conformance", []))
    if lines:
        terminalreporter.section("conformance matrix")
        for line in lines:
            terminalreporter.write_line(line)
    if run.extras.get("report_error"):
        terminalreporter.write_line(f"report could not be built: {run.extras['report_error']}", red=True)
    report = run.extras.get("report")
    if report is not None:
        lines = report.failure_lines()
        terminalreporter.section("gates and baseline", red=bool(lines), green=not lines)
        for line in lines:
            terminalreporter.write_line(line, red=True)
        verdict = report.summary["verdict"]["result"].upper()
        checked = len(report.summary["gates"]["results"]) if report.summary["gates"] else 0
        compared = len(report.baseline_rows)
        terminalreporter.write_line(f"verdict {verdict}: {len(report.violations)} gate violation(s) of {checked} "
                                    f"checked, {sum(r.regressed for r in report.baseline_rows)} regression(s) "
                                    f"of {compared} compared; report: {report.html_path}")
    terminalreporter.write_line(f"run folder: {run.run_dir.path}")


def expect(result: CheckResult) -> CheckResult:
    """The one place that asserts on a check: fails the test with the check's whole explanation,
    or xfails it when the failure is a filed GlusterFS defect's (CheckResult.known_defect)."""
    __tracebackhide__ = True
    if result.known_defect:
        pytest.xfail(result.known_defect)
    if result.passed is not True:
        pytest.fail(result.explain(), pytrace=False)
    return result


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
    try:
        provider = make_provider(s.provider, nodes=s.nodes, zones=s.zones, clients=s.clients, root=s.root,
                                 k8s=s.extras.get("k8s"), versions=s.extras.get("versions"))
        cluster = provider.up()
    except HarnessError as exc:
        pytest.exit(f"cannot start the {s.provider} cluster: {exc}", returncode=3)
    s.extras["cluster"] = cluster  # its nodes' logs are kept for failing tests
    from .faults.base import revert_active_faults, set_default_timeline
    from .timeline import Timeline

    # Faults record on one timeline per session (per xdist worker), mirrored to the run folder.
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    set_default_timeline(cluster, Timeline(s.run_dir.path / (f"timeline-{worker}.jsonl" if worker else "timeline.jsonl")))
    from .report.summary import describe_cluster

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
    from .faults.base import revert_active_faults

    revert_active_faults(gluster_cluster)  # a fault the test left active must not outlive its volumes
    for volume in reversed(created):
        volume.delete()


@pytest.fixture(autouse=True)
def _revert_faults_left_by_test(request: pytest.FixtureRequest) -> Iterator[None]:
    """Safety net per test: a fault a test injected and did not revert (no `with`, an exception
    between inject and revert) is reverted when that test ends, before the next one starts."""
    yield
    if "gluster_cluster" in request.fixturenames:
        from .faults.base import revert_active_faults

        revert_active_faults(request.getfixturevalue("gluster_cluster"))


@pytest.fixture(scope="session")
def timeline(gluster_cluster: Cluster) -> "Timeline":
    """The session's fault Timeline (JSON lines in the run folder); faults record on it by default."""
    from .faults.base import default_timeline

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
    from .faults.base import revert_active_faults

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
    from .workloads.fio import run_fio

    def run(target: object, job: object, client: ClientHost | None = None) -> "FioResult":
        return run_fio(client or gluster_cluster.clients[0], target, job,  # type: ignore[arg-type]
                       run_dir.path / "workloads" / str(os.getpid()))

    return run


@pytest.fixture
def s3_gateway(gluster_cluster: Cluster, volume_factory: VolumeFactory, mount_factory: MountFactory,
               run_dir: RunDir) -> Iterator["S3Gateway"]:
    """A Swift S3 gateway (the "gateway pod") on the first client host, its devices on a fresh
    replica-3 volume mounted there; stopped before the mount goes."""
    from .workloads.s3gateway import start_gateway

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
    from .chaos.actions import revert_all_faults, stop_workload
    from .chaos.experiment import run_experiment_file
    from .chaos.target import RUN_ID_KEY, VOLUME_KEY, target

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
