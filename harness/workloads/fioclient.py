"""fio's folder in a client host, for one run: made there with the job file sent in, fio's outputs
brought back into the run folder here through the client's file API (harness.mountfiles), then
removed. A pod's filesystem is not this host's, so nothing here reads the client's files directly;
the local provider's clients take the same path.
"""
from __future__ import annotations

import base64
import errno
import os
import threading
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from ..cluster import ClientHost
from ..errors import ConfigError, HarnessError
from ..mountfiles import MountFiles, payload, raise_for

# fio writes its status to PROGRESS_FILE every status interval while it runs (its latency log only
# at the end), then its final report.
PROGRESS_FILE = "progress.json"
LAT_LOG = "lat_clat.1.log"
GFAPI_LOG = "tmp/fio_gfapi.log"
# 127 when fio is missing there (an image without it), before any folder is made.
MAKE_CLIENT_DIR = 'command -v fio >/dev/null || exit 127; exec mktemp -d /tmp/harness-fio.XXXXXX'
STATUS_TAIL_BYTES = 256 << 10  # several whole status documents (one is ~10 KB)
# Run folder here -> (client, its folder there) while fio runs: its progress is read in the client.
_running: dict[Path, tuple[ClientHost, str]] = {}
_running_lock = threading.Lock()


@contextmanager
def client_folder(client: ClientHost, run_dir: Path, job_file: Path) -> Iterator[str]:
    """The client's folder for fio (its path there), holding `job_file` and an empty tmp/; once the
    block ends without error, fio's outputs are in run_dir. The folder is removed whatever happens."""
    made = client.run(["sh", "-c", MAKE_CLIENT_DIR], timeout=30, check=False)
    if made.returncode == 127:
        raise ConfigError(f"fio is not installed in client {client.name}; its image needs the fio package "
                          f"(the images `make k8s` builds have it)")
    if not made.ok:
        raise HarnessError(f"client {client.name} could not make a folder for fio: {made.stderr.strip()}")
    there = made.stdout.strip()
    files = MountFiles.of(client, there)
    try:
        for outcome in files.call([{"op": "write", "path": job_file.name, "fsync": False,
                                    **payload(job_file.read_bytes())},
                                   {"op": "mkdir", "path": "tmp"}], stop_on_error=True):
            raise_for(outcome, files.where, there)
        with _running_lock:
            _running[run_dir] = (client, there)
        try:
            yield there
            bring_back(files, run_dir)
        finally:
            with _running_lock:
                del _running[run_dir]
    finally:
        client.run(["rm", "-rf", there], timeout=60, check=False)


def bring_back(files: MountFiles, run_dir: Path) -> None:
    """fio's outputs from its client folder into run_dir, the status file last and whole (renamed into
    place), so a progress count reads either the client's copy or this one. Read through the page
    cache: the client's /tmp may refuse O_DIRECT."""
    names = (LAT_LOG, GFAPI_LOG, PROGRESS_FILE)
    for name, outcome in zip(names, files.call([{"op": "read", "path": n, "uncached": False} for n in names])):
        if not outcome["ok"] and outcome["errno"] == errno.ENOENT and name != PROGRESS_FILE:
            continue  # no gfapi log (another engine)
        raise_for(outcome, files.where, files.path(name))
        local = run_dir / name
        local.parent.mkdir(parents=True, exist_ok=True)
        partial = local.with_name(local.name + ".part")
        partial.write_bytes(base64.b64decode(outcome["value"]))
        os.replace(partial, local)


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
