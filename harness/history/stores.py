"""Stores a history client writes to and reads from: files on a mounted volume, or S3 objects."""
from __future__ import annotations

import errno as errno_mod
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from ..clientops import PutError
from ..mountfiles import MountFiles


class Outcome(Exception):
    """Raised by a store to report a failed (definite=True) or unknown-outcome operation."""

    def __init__(self, error: str, definite: bool) -> None:
        super().__init__(error)
        self.error, self.definite = error, definite


class Store(Protocol):
    name: str

    def write(self, key: str, value: str) -> None:
        """Store value under key; raise Outcome on failure."""

    def read(self, key: str) -> str | None:
        """The value under key, None if absent; raise Outcome on failure."""


def _errno_name(exc: OSError) -> str:
    return errno_mod.errorcode.get(exc.errno or 0, str(exc.errno))


@dataclass
class FileStore:
    """Keys are files in a directory of a mounted volume; the directory must exist.

    `directory` is the mount's client-side files (`mount.files.sub("history")`: every op runs inside
    the client host, on any provider) or a path of this host (run in this process by the same code)."""

    directory: MountFiles | Path
    name: str = "file"

    def __post_init__(self) -> None:
        if not isinstance(self.directory, MountFiles):
            self.directory = MountFiles.here(Path(self.directory))
        self.files: MountFiles = self.directory

    def write(self, key: str, value: str) -> None:
        """Write a temporary file, fsync, rename onto the key (clientops.put): readers see the whole
        value or none (an in-place write would let them see an empty file between create and write)."""
        try:
            self.files.put(key, value.encode())
        except TimeoutError as exc:
            raise Outcome("timeout", definite=False) from exc  # no answer: any stage may have happened
        except OSError as exc:
            # Before the rename the key was not touched; a failed rename may have happened.
            renamed = isinstance(exc, PutError) and exc.stage == "rename"
            raise Outcome(_errno_name(exc), definite=not renamed) from None

    def read(self, key: str) -> str | None:
        """Uncached: a writer's own page cache would answer its reads, and the final read-back, with
        a value the bricks may have lost."""
        try:
            return self.files.read(key).decode(errors="replace")
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise Outcome(_errno_name(exc), definite=True) from None


@dataclass
class S3Store:
    """Keys are objects in a bucket; `client` from s3client.make_client (in its namespace)."""

    client: Any
    bucket: str
    name: str = "s3"

    def write(self, key: str, value: str) -> None:
        try:
            self.client.put_object(Bucket=self.bucket, Key=key, Body=value.encode())
        except Exception as exc:
            raise _s3_outcome(exc) from None

    def read(self, key: str) -> str | None:
        try:
            return self.client.get_object(Bucket=self.bucket, Key=key)["Body"].read().decode(errors="replace")
        except Exception as exc:
            code = _s3_code(exc)
            if code in ("NoSuchKey", "404"):
                return None
            raise Outcome(code or type(exc).__name__, definite=True) from None


def _s3_code(exc: Exception) -> str | None:
    response = getattr(exc, "response", None)
    return response.get("Error", {}).get("Code") if isinstance(response, dict) else None


def _s3_outcome(exc: Exception) -> Outcome:
    """4xx answers and refused connections: the write did not happen; anything later is unknown."""
    from botocore.exceptions import ConnectTimeoutError, EndpointConnectionError

    code = _s3_code(exc)
    if code is not None:
        response = getattr(exc, "response", None) or {}  # botocore's ClientError carries the HTTP answer
        status = response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
        return Outcome(code, definite=400 <= status < 500 and status != 408)
    if isinstance(exc, (EndpointConnectionError, ConnectTimeoutError)):
        return Outcome(type(exc).__name__, definite=True)
    return Outcome(type(exc).__name__, definite=False)
