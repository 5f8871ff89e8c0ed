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
    def create(cls, reports: Path, run_id: str | None = None, link_latest: bool = True,
               provider: str | None = None) -> "RunDir":
        """The run's folder; with link_latest, reports/latest (and reports/latest-PROVIDER, which
        another provider's run can show beside its own: --beside) point at it."""
        run_id = run_id or new_run_id()
        path = reports / run_id
        path.mkdir(parents=True, exist_ok=True)
        if link_latest:
            for name in ("latest", *([f"latest-{provider}"] if provider else [])):
                tmp = reports / f".{name}-{os.getpid()}"
                tmp.unlink(missing_ok=True)
                tmp.symlink_to(run_id)
                tmp.replace(reports / name)  # atomic: readers never see a missing link
        return cls(path, run_id)

    def write_json(self, name: str, data: Any) -> Path:
        target = self.path / name
        tmp = target.with_suffix(target.suffix + ".tmp")
        tmp.write_text(json.dumps(data, indent=2, sort_keys=True, default=str))
        tmp.replace(target)
        return target
