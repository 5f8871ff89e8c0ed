"""fio client/server across pods as Kubernetes Jobs: orchestration and results, against the FAKE API
server (its Job controller ends a Job with the outcome and log the test sets; no fio runs here)."""
from __future__ import annotations

import json

import pytest

from harness.errors import HarnessError
from harness.k8s.client import connect
from harness.k8s.jobs import run_fio_across_pods
from harness.k8s.manifests import StackSettings, namespace
from harness.k8s.stack import apply
from tests.fake_kube_api import FakeKubeApi, seed_gluster_nodes

SETTINGS = StackSettings("glh-jobs", namespace="work")
REPORT = {"fio version": "fio-3.33", "client_stats": [{"hostname": f"fio-server-{i}", "jobname": "randrw"}
                                                       for i in range(3)]}


@pytest.fixture
def api(tmp_path):
    with FakeKubeApi() as fake:
        seed_gluster_nodes(fake, [("w1", "198.18.9.11", "zone-a"), ("w2", "198.18.9.12", "zone-b")])
        client = connect(fake.write_kubeconfig(tmp_path / "kc"), None)
        apply(client, [namespace(SETTINGS)])
        client.fake = fake  # type: ignore[attr-defined]
        yield client
        client.close()


def created(fake, kind_path):
    return [p for m, p in fake.requests if m == "POST" and p.endswith(kind_path)]


def test_fio_servers_and_client_job_run_and_the_json_report_comes_back_whole(api):
    fake = api.fake
    fake.job_results["fio-client"] = (True, "<fio-server-0> progress line\n" + json.dumps(REPORT) + "\n")
    report = run_fio_across_pods(api, SETTINGS, "v1", "[randrw]\nrw=randrw\n", servers=3, timeout=10)
    assert report == REPORT
    assert created(fake, "/statefulsets") and created(fake, "/jobs") and created(fake, "/configmaps")
    # everything made for the run is gone afterwards
    for resource in ("statefulsets", "jobs", "configmaps", "services"):
        assert fake.list(resource, "work") == [], resource


def test_a_failed_fio_job_raises_with_its_output_and_still_cleans_up(api):
    fake = api.fake
    fake.job_results["fio-client"] = (False, "fio: failed to connect to fio-server-1\n")
    with pytest.raises(HarnessError, match="fio job fio-client failed .*failed to connect to fio-server-1"):
        run_fio_across_pods(api, SETTINGS, "v1", "[x]\n", servers=2, timeout=10)
    assert fake.list("jobs", "work") == [] and fake.list("statefulsets", "work") == []


def test_a_job_that_never_finishes_times_out_and_cleans_up(api):
    from harness.errors import WaitTimeout

    with pytest.raises(WaitTimeout, match="job work/fio-client to finish"):
        run_fio_across_pods(api, SETTINGS, "v1", "[x]\n", servers=1, timeout=2)
    assert api.fake.list("jobs", "work") == []
