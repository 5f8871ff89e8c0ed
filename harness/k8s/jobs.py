"""Running workload Jobs on Kubernetes: fio in client/server mode across pods, and their results.

A Job's result is what its pod printed: fio writes its JSON report to stdout, so the log of the
client Job's pod is the report. Logs are read raw (`_preload_content=False`): the client would
otherwise try to parse JSON logs as a JSON response and hand back a Python repr.
"""
from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import Iterable, Mapping

from ..errors import HarnessError
from ..waiting import wait_for
from . import manifests as m
from .client import KubeApi
from .stack import apply, wait_replicas_ready

log = logging.getLogger("harness.k8s")


@dataclass(frozen=True)
class JobResult:
    name: str
    succeeded: bool
    pod: str
    logs: str


def wait_job(api: KubeApi, namespace: str, name: str, timeout: float) -> JobResult:
    """Wait until Job `name` succeeded or failed; return its outcome and its (last) pod's log."""
    def finished() -> object:
        status = api.batch.read_namespaced_job(name, namespace).status  # type: ignore[attr-defined]
        return status if (status.succeeded or 0) > 0 or (status.failed or 0) > 0 else None

    status = wait_for(finished, timeout=timeout, what=f"job {namespace}/{name} to finish", interval=1.0)
    pods = api.core.list_namespaced_pod(namespace, label_selector=f"job-name={name}").items  # type: ignore[attr-defined]
    if not pods:
        raise HarnessError(f"job {namespace}/{name} finished but has no pod to read its output from")
    pod = sorted(pods, key=lambda p: p.metadata.creation_timestamp or "")[-1].metadata.name
    raw = api.core.read_namespaced_pod_log(pod, namespace, _preload_content=False)  # type: ignore[attr-defined]
    text = raw.data.decode(errors="replace")
    return JobResult(name, (status.succeeded or 0) > 0, pod, text)


def delete_objects(api: KubeApi, manifests: Iterable[Mapping]) -> None:
    """Delete what `manifests` created (their pods with them); missing objects are fine."""
    from kubernetes.client.exceptions import ApiException

    from .stack import _methods

    for manifest in reversed(list(manifests)):
        target, suffix, namespaced = _methods(api, manifest["kind"])
        args = [manifest["metadata"]["name"]] + ([manifest["metadata"]["namespace"]] if namespaced else [])
        try:
            getattr(target, f"delete_{suffix}")(*args, propagation_policy="Background")
        except ApiException as exc:
            if exc.status != 404:
                raise HarnessError(f"deleting {manifest['kind']} {args[0]} failed: {exc.status} {exc.reason}") from None


def run_fio_across_pods(api: KubeApi, settings: m.StackSettings, claim: str, job_file: str, servers: int,
                        job_name: str = "fio-client", timeout: float = 900.0) -> dict:
    """fio servers in `servers` pods on the PVC `claim`, driven by one client Job; fio's JSON report.

    Everything made here is deleted afterwards, whatever happened. A failed Job raises HarnessError
    with the tail of its output.
    """
    server_objects = m.fio_servers(settings, claim, servers)
    job_objects = m.fio_client_job(settings, job_name, job_file, servers)
    try:
        apply(api, server_objects)
        wait_replicas_ready(api, settings.namespace, f"app.kubernetes.io/name=fio-server,{m.RUN_LABEL}={settings.run_id}",
                            servers, timeout, f"{servers} fio server pods Ready")
        apply(api, job_objects)
        result = wait_job(api, settings.namespace, job_name, timeout)
    finally:
        delete_objects(api, server_objects + job_objects)
    if not result.succeeded:
        raise HarnessError(f"fio job {job_name} failed (pod {result.pod}); output tail: {result.logs[-1500:]}")
    try:
        # fio's client mode may print progress lines before the report: decode from the first brace
        report, _ = json.JSONDecoder().raw_decode(result.logs[result.logs.index("{"):])
        return report
    except ValueError as exc:
        raise HarnessError(f"fio job {job_name} printed no JSON report ({exc}); output: {result.logs[-500:]}") from None
