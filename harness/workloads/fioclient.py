"""fio's folder in a client host, for one run (harness.workloads.clientdir): the job file sent in,
fio's outputs brought back into the run folder here once it is done. While fio runs, its progress is
read in the client.
"""
from __future__ import annotations

import threading
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from ..cluster import ClientHost
from ..errors import ConfigError
from .clientdir import client_folder as make_client_folder

# fio writes its status to PROGRESS_FILE every status interval while it runs (its latency log only
# at the end), then its final report.
PROGRESS_FILE = "progress.json"
LAT_LOG = "lat_clat.1.log"
GFAPI_LOG = "tmp/fio_gfapi.log"
STATUS_TAIL_BYTES = 256 << 10  # several whole status documents (one is ~10 KB)
# Run folder here -> (client, its folder there) while fio runs: its progress is read in the client.
_running: dict[Path, tuple[ClientHost, str]] = {}
_running_lock = threading.Lock()


@contextmanager
def client_folder(client: ClientHost, run_dir: Path, job_file: Path) -> Iterator[str]:
    """The client's folder for fio (its path there), holding `job_file` and an empty tmp/; once the
    block ends without error, fio's outputs are in run_dir (the status file last, so a progress count
    reads either the client's copy or this one). The folder is removed whatever happens."""
    if not client.run(["sh", "-c", "command -v fio"], timeout=30, check=False).ok:
        raise ConfigError(f"fio is not installed in client {client.name}; its image needs the fio package "
                          f"(the images `make k8s` builds have it)")
    with make_client_folder(client, "harness-fio") as folder:
        folder.send({job_file.name: job_file.read_bytes()}, folders=["tmp"])
        with _running_lock:
            _running[run_dir] = (client, folder.path)
        try:
            yield folder.path
            folder.bring_back(run_dir, (LAT_LOG, GFAPI_LOG, PROGRESS_FILE), optional=(LAT_LOG, GFAPI_LOG))
        finally:
            with _running_lock:
                del _running[run_dir]


def status_text(run_dir: Path) -> str | None:
    """The run's status file: brought back here once fio is done, else the tail of the client's copy."""
    try:
        return (run_dir / PROGRESS_FILE).read_text()
    except FileNotFoundError:
        pass
    with _running_lock:
        running = _running.get(run_dir)
    if running is None:
        return None
    client, there = running
    tail = client.run(["tail", "-c", str(STATUS_TAIL_BYTES), f"{there}/{PROGRESS_FILE}"], timeout=15, check=False)
    return tail.stdout if tail.ok else None
