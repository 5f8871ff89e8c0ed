"""The run folder: reports/<run-id>/ with reports/latest pointing at the newest."""
from __future__ import annotations

import json
import os
import secrets
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any


def new_run_id() -> str:
    return time.strftime("%Y%m%d-%H%M%S") + "-" + secrets.token_hex(2)


@dataclass(frozen=True)
class RunDir:
    path: Path
    run_id: str

    @classmethod
    def create(cls, reports: Path, run_id: str | None = None, link_latest: bool = True) -> "RunDir":
        """The run's folder; with link_latest, reports/latest points at it."""
        run_id = run_id or new_run_id()
        path = reports / run_id
        path.mkdir(parents=True, exist_ok=True)
        made = cls(path, run_id)
        if link_latest:
            made.link_as("latest")
        return made

    def link_as(self, name: str) -> None:
        """reports/<name> -> this run, replaced atomically (readers never see a missing link)."""
        reports = self.path.parent
        tmp = reports / f".{name}-{os.getpid()}"
        tmp.unlink(missing_ok=True)
        tmp.symlink_to(self.run_id)
        tmp.replace(reports / name)

    def write_json(self, name: str, data: Any) -> Path:
        target = self.path / name
        tmp = target.with_suffix(target.suffix + ".tmp")
        tmp.write_text(json.dumps(data, indent=2, sort_keys=True, default=str))
        tmp.replace(target)
        return target
