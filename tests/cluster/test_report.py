"""Reports end to end, on records of a real self-heal scenario (tests/report_realrun.py):
summary.json against its schema, report.html in headless chromium, gates and baselines failing
or passing a real pytest run (pytester, with the plugin), live progress, allure attachments."""
from __future__ import annotations

import copy
import hashlib
import html
import json
import re
import shutil
import sys
from pathlib import Path

import pytest

from tests import report_realrun
from tests.report_records import write_run
from harness.errors import ConfigError
from harness.report.build import build_run_report
from harness.report.gates import DEFAULT_THRESHOLDS, load_thresholds
from harness.report.summary import build_summary, validate_summary
from harness.results import Recorder
from harness.runner import run

TESTS = Path(__file__).resolve().parents[1]
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync"]

INNER_TEST = """
import sys
from pathlib import Path
sys.path.insert(0, {tests!r})
import report_realrun

def test_h1_scenario(run_dir, request):
    report_realrun.adopt(Path({source!r}), run_dir.path, request.node.nodeid)
"""


@pytest.fixture(scope="module")
def real_records(tmp_path_factory: pytest.TempPathFactory, gluster_cluster, profile) -> Path:  # noqa: ANN001
    return report_realrun.produce(tmp_path_factory.getbasetemp() / "real-h1", gluster_cluster, profile)


def inner_run(pytester: pytest.Pytester, source: Path, *args: str) -> tuple[pytest.RunResult, Path]:
    """A real pytest run (subprocess, the plugin loaded from its entry point) adopting the records."""
    pytester.makepyfile(test_inner=INNER_TEST.format(tests=str(TESTS), source=str(source)))
    reports = pytester.path / "reports"
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "--report-dir", str(reports), *args)
    return result, (reports / "latest").resolve()


def chromium(*args: str, profile_dir: Path) -> str:
    if shutil.which("chromium") is None:
        pytest.fail("chromium is not installed; run `bash scripts/setup.sh` (it installs Debian's chromium)")
    result = run(["chromium", *CHROMIUM_FLAGS, f"--user-data-dir={profile_dir}", *args], timeout=120)
    return result.stdout


def test_real_summary_follows_its_schema(real_records: Path) -> None:
    summary = build_summary(real_records, run_id="real", provider="local", profile="fast", started=None)
    validate_summary(summary)
    h1 = summary["metrics"]["H1"]
    assert h1["heal_s"] and h1["heal_s"] > 0, "the real heal took time"
    assert h1["lost_writes"] == 0 and h1["split_brain_entries"] == 0
    assert summary["cluster"]["gluster_version"].startswith("glusterfs ")
    assert summary["cluster"]["zones"] == ["zone-a", "zone-b", "zone-c"]
    [window] = summary["faults"]
    assert window["start"] < window["effect"] < window["revert_start"] < window["end"]
    assert window["test"] == report_realrun.TEST_ID and window["fault_id"], "the fault names its test and id"
    assert set(summary["workloads"][0]["phases"]) >= {"before", "during_fault", "during_heal"}


def test_schema_rejects_a_broken_summary(real_records: Path) -> None:
    summary = build_summary(real_records, run_id="real", provider="local", profile="fast", started=None)
    broken = copy.deepcopy(summary)
    broken["scenarios"][0]["verdict"] = "probably"
    with pytest.raises(ConfigError, match=r"scenarios/0/verdict"):
        validate_summary(broken)
    del broken["metrics"]
    with pytest.raises(ConfigError, match="metrics"):
        validate_summary(broken)


def test_run_folder_and_report_in_headless_chromium(pytester: pytest.Pytester, real_records: Path,
                                                   run_dir, tmp_path: Path) -> None:  # noqa: ANN001
    result, folder = inner_run(pytester, real_records)
    assert result.ret == 0, result.stdout.str()
    result.stdout.fnmatch_lines(["*verdict PASS: 0 gate violation(s) of * checked*"])
    summary = json.loads((folder / "summary.json").read_text())
    validate_summary(summary)
    assert [t["outcome"] for t in summary["tests"]] == ["passed"]
    assert summary["verdict"] == {"result": "pass", "reasons": []}
    assert "testcase" in (folder / "junit.xml").read_text()
    assert {p.name for p in (folder / "plots").glob("*.png")} == {"H1-latency.png", "H1-heal.png"}

    url = (folder / "report.html").as_uri()
    dom = chromium("--virtual-time-budget=5000", "--dump-dom", url, profile_dir=tmp_path / "chromium")
    assert re.search(r"<body[^>]*data-images-loaded=\"2/2\"", dom), "every embedded plot decodes in the browser"
    assert re.search(r"id=\"verdict\" class=\"pass\">PASS", dom)
    matrix = re.search(r"<table id=\"matrix\">.*?</table>", dom, re.S)
    assert matrix and "<td>H1</td>" in matrix.group(0) and "pass" in matrix.group(0)
    assert re.search(r"<img class=\"plot timeline\"[^>]*src=\"data:image/png;base64,", dom)
    shot = folder / "report-screenshot.png"
    chromium("--window-size=1280,2200", "--hide-scrollbars", f"--screenshot={shot}", url,
             profile_dir=tmp_path / "chromium")
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 50_000
    shutil.copy(shot, run_dir.path / "report-screenshot.png")  # kept with this test run's own reports too


def test_browser_check_sees_a_broken_plot(tmp_path: Path) -> None:
    """Negative control for the image check used above: a corrupt embedded PNG is reported."""
    from harness.report.html import IMAGE_CHECK

    page = tmp_path / "broken.html"
    page.write_text(f"<html><body><img src='data:image/png;base64,bm90IGEgcG5n'>{IMAGE_CHECK}</body></html>")
    dom = chromium("--virtual-time-budget=5000", "--dump-dom", page.as_uri(), profile_dir=tmp_path / "chromium")
    assert 'data-images-loaded="0/1"' in dom


# Appended to a copy of report.html: what the page measures of itself once laid out, on <body>.
FIT_CHECK = ("<script>window.addEventListener('load',function(){var d=document.documentElement,"
             "all=function(s){return Array.prototype.slice.call(document.querySelectorAll(s));};"
             "document.body.setAttribute('data-fit',JSON.stringify({inner:innerWidth,scroll:d.scrollWidth,"
             "client:d.clientWidth,tables:all('table').map(function(t){return [t.id,t.scrollWidth,t.clientWidth,"
             "t.getBoundingClientRect().right];}),cells:all('td,th').filter(function(c){"
             "return c.scrollWidth>c.clientWidth;}).map(function(c){return c.textContent.slice(0,60);}),"
             "font:parseFloat(getComputedStyle(document.querySelector('#matrix td')).fontSize)}));});</script>")
SHA = hashlib.sha256(b"fragment").hexdigest()
BRICK = "/var/lib/glusterfs-harness/glh7-0f3c2a91/node2/bricks/conformance-disperse-4-plus-2-heal-under-load/brick0"


def test_matrix_fits_a_1400_px_window_and_long_cells_wrap(tmp_path: Path) -> None:
    """A report as wide as real ones get: long observed sentences, a sha256 and a brick path (unbroken
    tokens), many option pairs, long test ids; at 1400 px nothing scrolls sideways or spills out of a cell."""
    run = write_run(tmp_path / "run", [{"id": f"N{i}", "iops": 900.0, "heal_s": 4.0} for i in range(3)])
    recorder = Recorder(run, "main")
    options = {"cluster.quorum-type": "auto", "cluster.self-heal-daemon": "on", "performance.write-behind": "off",
               "cluster.favorite-child-policy": "mtime", "network.ping-timeout": "5", "disperse.eager-lock": "off"}
    for i in range(24):
        recorder.record("scenario", {
            "scenario": f"D{i}", "volume_type": "disperse-4+2", "options": options,
            "fault": f"corrupt one fragment on {BRICK}/dir{i}/file-{i}.bin, then kill the brick and partition node3",
            "expected": f"every file reads back with its checksum {SHA}; trusted.ec.version, trusted.ec.size and "
                        "trusted.ec.dirty agree across bricks",
            "observed": f"not passed: fragments agree (FAILED). {BRICK}/dir{i}/file-{i}.bin: trusted.ec.version "
                        f"0x{SHA[:32]} on node1 but 0x{SHA[32:]} on node2; sha256 {SHA} != {SHA[::-1]}; " * 2,
            "verdict": ("pass", "fail", "unknown", "known-defect")[i % 4], "evidence": {}}, test=f"t{i}")
    tests = [{"nodeid": f"suites/test_disperse.py::test_a_tampered_fragment_is_found_and_healed[{BRICK}-{i}]",
              "outcome": "failed", "duration_s": 12.5, "message": f"AssertionError: {BRICK} sha256 {SHA} " * 3}
             for i in range(5)]
    report = build_run_report(run, run_id="r", provider="local", profile="fast", started=None, tests=tests,
                              thresholds=load_thresholds(None, "fast"))
    page = tmp_path / "fit.html"
    page.write_text(report.html_path.read_text().replace("</body>", FIT_CHECK + "</body>"))
    dom = chromium("--window-size=1400,900", "--virtual-time-budget=5000", "--dump-dom", page.as_uri(),
                   profile_dir=tmp_path / "chromium")
    fit = json.loads(html.unescape(re.search(r'data-fit="([^"]*)"', dom).group(1)))
    assert fit["inner"] == 1400, "the window really is 1400 px wide"
    assert fit["scroll"] <= fit["client"] <= 1400, f"the page scrolls sideways: {fit}"
    for table_id, scroll, client, right in fit["tables"]:
        assert scroll <= client and right <= fit["client"], f"table {table_id or '(no id)'} is too wide: {fit}"
    assert fit["cells"] == [], "cells whose content spills out instead of wrapping"
    assert fit["font"] >= 12, "fitting must not shrink the text out of reading size"
    assert SHA in dom and BRICK in dom, "long tokens are wrapped, not cut"


def test_gate_violation_fails_the_run_with_its_line(pytester: pytest.Pytester, real_records: Path) -> None:
    thresholds = pytester.path / "strict.toml"
    thresholds.write_text(DEFAULT_THRESHOLDS.read_text().replace("max_heal_s = 60", "max_heal_s = 1", 1))
    result, folder = inner_run(pytester, real_records, "--thresholds", str(thresholds))
    summary = json.loads((folder / "summary.json").read_text())
    measured = summary["metrics"]["H1"]["heal_s"]
    assert result.ret == 1
    result.stdout.fnmatch_lines([f"gate max_heal_s VIOLATED: limit 1 s, measured {measured:g} s, scenario H1",
                                 "*verdict FAIL: 1 gate violation(s)*"])
    assert result.parseoutcomes() == {"passed": 1}, "the test passed; the gate alone failed the run"
    assert summary["verdict"]["result"] == "fail"
    assert [v["gate"] for v in summary["gates"]["violations"]] == ["max_heal_s"]


def test_unchanged_baseline_passes_and_a_regression_fails(pytester: pytest.Pytester, real_records: Path) -> None:
    first, folder = inner_run(pytester, real_records)
    assert first.ret == 0
    baseline = folder / "summary.json"

    same, _ = inner_run(pytester, real_records, "--baseline", str(baseline))
    assert same.ret == 0, same.stdout.str()
    same.stdout.fnmatch_lines(["*verdict PASS: 0 gate violation(s) of * checked, 0 regression(s) of * compared*"])

    # A baseline that was three times faster (and did twice the IOPS) than what this run measures.
    faster = json.loads(baseline.read_text())
    for w in faster["workloads"]:
        w["iops"] *= 2
        for stats in w["phases"].values():
            stats["p50_ms"] /= 3
            stats["p99_ms"] /= 3
    faster_path = pytester.path / "faster-baseline.json"
    faster_path.write_text(json.dumps(faster))
    worse, folder = inner_run(pytester, real_records, "--baseline", str(faster_path))
    assert worse.ret == 1
    worse.stdout.fnmatch_lines(["baseline H1 fio-randwrite-file iops REGRESSION: * -> * (-50.0 %)"])
    summary = json.loads((folder / "summary.json").read_text())
    assert summary["verdict"]["result"] == "fail"
    regressed = [r for r in summary["baseline"]["rows"] if r["regressed"]]
    # p99s tripled: each one above the absolute floor (2 ms) is a regression line; p50s stay below it
    assert {r["metric"] for r in regressed} == {"fio-randwrite-file iops"} | {
        r["metric"] for r in summary["baseline"]["rows"]
        if r["metric"].endswith("p99_ms") and r["current"] - r["baseline"] > 2}
    for r in regressed:
        worse.stdout.fnmatch_lines([r["line"]])

    compare_ok = run([sys.executable, "-m", "harness", "compare", str(baseline), str(baseline)], timeout=60, check=False)
    assert compare_ok.returncode == 0 and "0 regression(s)" in compare_ok.stdout
    compare_bad = run([sys.executable, "-m", "harness", "compare", str(faster_path), str(baseline)], timeout=60,
                      check=False)
    assert compare_bad.returncode == 1
    assert re.search(r"^H1\s+fio-randwrite-file iops\s+\S+\s+\S+\s+-50\.0 %\s+REGRESSION$", compare_bad.stdout, re.M)


def test_report_command_rebuilds_a_run_folder(pytester: pytest.Pytester, real_records: Path) -> None:
    result, folder = inner_run(pytester, real_records)
    assert result.ret == 0
    before = json.loads((folder / "summary.json").read_text())
    (folder / "report.html").unlink()
    shutil.rmtree(folder / "plots")
    rebuilt = run([sys.executable, "-m", "harness", "report", str(folder)], timeout=120, check=False)
    assert rebuilt.returncode == 0, rebuilt.stdout + rebuilt.stderr
    assert "verdict PASS" in rebuilt.stdout
    after = json.loads((folder / "summary.json").read_text())
    assert after["tests"] == before["tests"] and after["metrics"] == before["metrics"]
    assert (folder / "report.html").is_file() and (folder / "plots" / "H1-latency.png").is_file()


def test_progress_of_long_waits_shows_live(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_wait="""
        import time
        import harness.waiting as waiting

        def test_slow_state(monkeypatch):
            monkeypatch.setattr(waiting, "PROGRESS_EVERY_S", 0.2)
            end = time.monotonic() + 1.0
            waiting.wait_for(lambda: time.monotonic() > end, timeout=10, what="the slow state",
                             describe=lambda: "backlog 7")
            with waiting.progress("a fio run", expected_s=1, every=0.2, describe=lambda: "2 of 3 jobs"):
                time.sleep(0.7)
    """)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "--report-dir", str(pytester.path / "reports"))
    assert result.ret == 0
    result.stdout.fnmatch_lines(["[[]harness[]] *waiting * s for the slow state (backlog 7)",
                                 "[[]harness[]] *a fio run: * s elapsed of ~1 s (2 of 3 jobs)"])


def test_allure_results_carry_plots_fio_json_and_node_logs_of_failures(pytester: pytest.Pytester,
                                                                         real_records: Path) -> None:
    pytester.makepyfile(test_allure=f"""
        import sys
        from pathlib import Path
        sys.path.insert(0, {str(TESTS)!r})
        import report_realrun

        def test_h1_passes(run_dir, request):
            report_realrun.adopt(Path({str(real_records)!r}), run_dir.path, request.node.nodeid)

        def test_breaks(gluster_cluster):
            assert gluster_cluster.nodes, "a cluster is up"
            raise AssertionError("broken on purpose: the node logs must be attached")
    """)
    results = pytester.path / "allure"
    run = pytester.runpytest_subprocess("-p", "no:cacheprovider", "--report-dir", str(pytester.path / "reports"),
                                        "--alluredir", str(results))
    assert run.ret == 1
    by_name = {}
    for path in results.glob("*-result.json"):
        data = json.loads(path.read_text())
        by_name[data["name"]] = data
    passed, failed = by_name["test_h1_passes"], by_name["test_breaks"]
    assert passed["status"] == "passed" and failed["status"] == "failed"
    names = {a["name"] for a in passed.get("attachments", [])}
    assert {"H1 latency timeline", "H1 heal backlog"} <= names
    assert any(n.endswith("fio.json") for n in names) and not any(n.startswith("node") for n in names)
    logs = [a for a in failed.get("attachments", []) if a["name"].startswith("node")]
    assert any(a["name"] == "node1: glusterd.log" for a in logs), [a["name"] for a in logs]
    for a in passed["attachments"] + logs:
        assert (results / a["source"]).stat().st_size > 0
    globals_ = [json.loads(p.read_text()) for p in results.glob("*-globals.json")]
    assert {a["name"] for g in globals_ for a in g.get("attachments", [])} >= {"summary.json", "report.html"}


def test_a_failing_test_leaves_its_node_logs_in_the_run_folder_without_allure(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_logs="""
        def test_passes(gluster_cluster):
            assert gluster_cluster.nodes

        def test_breaks(gluster_cluster, volume_factory):
            from harness.volume import VolumeType
            volume_factory(VolumeType.REPLICA2, name="kept")
            raise AssertionError("broken on purpose: the node logs must be kept")
    """)
    run = pytester.runpytest_subprocess("-p", "no:cacheprovider", "--report-dir", str(pytester.path / "reports"))
    assert run.ret == 1
    failed = sorted({p.resolve() for p in (pytester.path / "reports").glob("*/failed/*")})  # run folder and latest
    assert [p.name for p in failed] == ["test_logs.py_test_breaks"], failed
    for node in ("node1", "node2", "node3"):
        log = failed[0] / node / "glusterd.log"
        assert "Started running version" in log.read_text(), f"{log} is not {node}'s glusterd log"
    heal = failed[0] / "node1" / "heal"
    assert "Number of entries: 0" in (heal / "kept-info.txt").read_text()
    assert "Crawl statistics for brick no 1" in (heal / "kept-statistics.txt").read_text()


def test_a_failing_test_on_a_cluster_of_its_own_keeps_that_clusters_logs(pytester: pytest.Pytester) -> None:
    """Tests that need a cluster-wide setting (multiplexing, mixed versions) make their own cluster; when one
    fails, its evidence is that cluster's logs (kept under <run id>-<node>), not only the session cluster's."""
    pytester.makepyfile(test_own="""
        import pytest
        from harness.providers.local import LocalProvider

        @pytest.fixture(scope="module")
        def own_cluster():
            cluster = LocalProvider(nodes=2, zones=2, clients=0).up()
            yield cluster
            cluster.down()

        def test_breaks(own_cluster):
            raise AssertionError(f"broken on purpose on {own_cluster.run_id}")
    """)
    run = pytester.runpytest_subprocess("-p", "no:cacheprovider", "--report-dir", str(pytester.path / "reports"))
    assert run.ret == 1
    failed = sorted({p.resolve() for p in (pytester.path / "reports").glob("*/failed/*")})
    assert [p.name for p in failed] == ["test_own.py_test_breaks"], failed
    kept = sorted(p.name for p in failed[0].iterdir())
    assert len(kept) == 2 and all(name.startswith("glh") for name in kept), kept
    assert [name.rsplit("-", 1)[1] for name in kept] == ["node1", "node2"], kept
    for folder in kept:
        assert "Started running version" in (failed[0] / folder / "glusterd.log").read_text()
