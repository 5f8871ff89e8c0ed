"""The pytest plugin: options, the session's run folder and report, and `expect`; its fixtures
are harness.pytest.fixtures, its markers harness.pytest.markers. State lives in config.stash,
never in module globals.
"""
from __future__ import annotations

import logging
import os
import signal
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Iterator

import pytest

from ..conformance import format_table, write_matrix
from ..errors import HarnessError, KnownDefectTimeout
from ..providers.k8s.options import K8S_OPTIONS, k8s_options_from
from ..profiles import PROFILES, Profile, get_profile
from ..providers import PROVIDERS
from ..providers.local import live_clusters
from ..report.outcomes import OutcomeCollector
from ..results import CheckResult, Recorder
from ..rundir import RunDir, new_run_id

pytest_plugins = ("harness.pytest.fixtures",)

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
    "beside": ("GLUSTER_BESIDE", None, str, "summary.json (or run folder) of another provider's run: the report shows "
               "its conformance matrix beside this run's, a verdict column each"),
    "regression_pct": ("GLUSTER_REGRESSION_PCT", None, float,
                       "with --baseline: worse by more than this percentage fails (default: the thresholds file's)"),
}
OPTIONS.update(K8S_OPTIONS)  # the kind and existing providers' options
OUTCOMES_STASH = pytest.StashKey[OutcomeCollector]()
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
    from . import markers

    markers.register(config)
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
        # per-test outcomes for summary.json; pytest-xdist forwards workers' reports to the controller
        config.stash[OUTCOMES_STASH] = OutcomeCollector()
        config.pluginmanager.register(config.stash[OUTCOMES_STASH], "harness-outcomes")
    run.extras.update(report_inputs, started=time.time(), allure=bool(getattr(config.option, "allure_report_dir", None)))
    if workerinput is None and not config.getini("log_cli") and config.getoption("log_cli_level", None) is None:
        from ..report import live

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
def pytest_configure_node(node: Any) -> None:
    """pytest-xdist controller (node: its WorkerController): every worker writes into the same run folder."""
    node.workerinput["harness_run_id"] = node.config.stash[RUN_STASH].run_dir.run_id


def harness_run(config: pytest.Config) -> HarnessRun:
    return config.stash[RUN_STASH]


def _load_report_inputs(config: pytest.Config, profile: str) -> dict:
    """Thresholds and baseline, read before anything runs: a bad file is a UsageError naming it."""
    from ..report.baseline import load_summary
    from ..report.build import SummaryFile
    from ..report.offline import summary_path
    from ..report.gates import DEFAULT_THRESHOLDS, load_thresholds
    from ..report.summary import ran_no_tests

    thresholds = option(config, "thresholds")
    baseline = option(config, "baseline")
    try:
        path = DEFAULT_THRESHOLDS if thresholds == OPTIONS["thresholds"][1] else Path(str(thresholds))
        inputs: dict = {"thresholds": load_thresholds(path, profile), "regression_pct": option(config, "regression_pct")}
        if inputs["regression_pct"] is not None and inputs["regression_pct"] < 0:
            raise pytest.UsageError(f"--regression-pct must be >= 0 (a percentage), got {inputs['regression_pct']}")
        if baseline:
            inputs["baseline"] = SummaryFile(Path(str(baseline)), load_summary(Path(str(baseline))))
            if ran_no_tests(inputs["baseline"].summary):  # nothing measured: every comparison would be "new"
                raise pytest.UsageError(f"baseline {baseline} is of a run that ran no test; pass an earlier "
                                        f"run's summary.json that has test results")
        if beside := option(config, "beside"):
            file = summary_path(Path(str(beside)))
            inputs["beside"] = SummaryFile(file, load_summary(file, "--beside"))
    except HarnessError as exc:
        raise pytest.UsageError(str(exc)) from None
    return inputs


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None) -> Iterator[object]:
    """Fault events recorded during a test's setup, call and teardown name that test: its plots
    shade its own faults only."""
    from ..timeline import set_current_test

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
        from ..report import allure, failure_logs

        item.stash[LOGS_KEPT] = True  # now: after the last test's teardown the cluster is gone
        logs = allure.node_logs(cluster) + allure.heal_state(cluster) if cluster is not None else []
        for other in own:  # under failed/<test>/<run id>-<node>/
            logs += [replace(a, name=f"{other.run_id}-{a.name}")
                     for a in allure.node_logs(other) + allure.heal_state(other)]
        failure_logs.keep(logs, failure_logs.folder_for(run.run_dir.path, item.nodeid))
        if run.extras.get("allure"):
            allure.attach(logs)
    if report.when == "teardown" and run.extras.get("allure"):
        from ..report import allure

        allure.attach(allure.test_files(run.run_dir.path, item.nodeid))
    return report


def pytest_sessionfinish(session: pytest.Session) -> None:
    run = session.config.stash.get(RUN_STASH, None)
    if run is not None and not run.is_worker and not run.extras.get("no_run"):
        run.extras["conformance"] = write_matrix(run.run_dir)
        if run.extras["conformance"]:  # what another provider's run shows beside its own (--beside)
            run.run_dir.link_as(f"latest-{run.provider}")
        from ..report.build import build_run_report

        try:
            report = build_run_report(
                run.run_dir.path, run_id=run.run_dir.run_id, provider=run.provider, profile=run.profile.name,
                started=run.extras["started"], tests=session.config.stash[OUTCOMES_STASH].outcomes(),
                thresholds=run.extras.get("thresholds"), baseline=run.extras.get("baseline"),
                regression_pct=run.extras.get("regression_pct"), beside=run.extras.get("beside"))
        except Exception as exc:  # a report that cannot be built must be seen and must fail the run
            run.extras["report_error"] = f"{type(exc).__name__}: {exc}"
            session.exitstatus = pytest.ExitCode.INTERNAL_ERROR
            return
        run.extras["report"] = report
        if run.extras.get("allure"):
            from ..report import allure

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
    report = run.extras.get("report")
    if report is not None and report.summary.get("beside"):
        from ..report.beside import format_beside

        terminalreporter.section(f"beside {report.summary['beside']['runs'][1]['provider']}")
        for line in format_beside(report.summary["beside"]):
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
