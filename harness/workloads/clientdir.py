"""A folder of a client host for one program's run (fio, locust, the S3 gateway): made there, its
inputs sent in and its outputs brought back into a folder here through the client's file API
(harness.mountfiles), then removed. A pod's filesystem is not this host's, so nothing here reads the
client's files directly; the local provider's clients take the same path.
"""
from __future__ import annotations

import base64
import errno
import os
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Iterator, Mapping

from ..cluster import ClientHost
from ..errors import HarnessError
from ..mountfiles import MountFiles, payload, raise_for


@dataclass(frozen=True)
class ClientFolder:
    client: ClientHost
    path: str  # as the client sees it

    @property
    def files(self) -> MountFiles:
        return MountFiles.of(self.client, self.path)

    def send(self, inputs: Mapping[str, bytes], folders: Iterable[str] = ()) -> None:
        """Make `folders`, then write each input (a path relative to this folder -> its bytes)."""
        calls = [{"op": "mkdir", "path": f} for f in folders]
        calls += [{"op": "write", "path": name, "fsync": False, **payload(data)} for name, data in inputs.items()]
        files = self.files
        for call, outcome in zip(calls, files.call(calls, stop_on_error=True)):
            raise_for(outcome, files.where, files.path(call["path"]))

    def bring_back(self, here: Path, names: Iterable[str], optional: Iterable[str] = ()) -> None:
        """Copy each named file into `here` (same relative path), whole: written beside and renamed into
        place, so a reader sees the old copy or the new one. A missing `optional` one is skipped. Read
        through the page cache: the client's /tmp may refuse O_DIRECT."""
        names, skippable = list(names), set(optional)
        files = self.files
        for name, outcome in zip(names, files.call([{"op": "read", "path": n, "uncached": False} for n in names])):
            if not outcome["ok"] and outcome["errno"] == errno.ENOENT and name in skippable:
                continue
            raise_for(outcome, files.where, files.path(name))
            local = here / name
            local.parent.mkdir(parents=True, exist_ok=True)
            partial = local.with_name(local.name + ".part")
            partial.write_bytes(base64.b64decode(outcome["value"]))
            os.replace(partial, local)

    def remove(self) -> None:
        self.client.run(["rm", "-rf", self.path], timeout=60, check=False)


def make_folder(client: ClientHost, prefix: str) -> ClientFolder:
    made = client.run(["mktemp", "-d", f"/tmp/{prefix}.XXXXXX"], timeout=30, check=False)
    if not made.ok:
        raise HarnessError(f"client {client.name} could not make a folder for {prefix}: {made.stderr.strip()}")
    return ClientFolder(client, made.stdout.strip())


@contextmanager
def client_folder(client: ClientHost, prefix: str) -> Iterator[ClientFolder]:
    """A new folder /tmp/PREFIX.XXXXXX of the client, removed whatever happens."""
    folder = make_folder(client, prefix)
    try:
        yield folder
    finally:
        folder.remove()
