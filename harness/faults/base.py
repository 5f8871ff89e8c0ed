"""The Fault base class: inject/revert, context manager, confirmation, Timeline, leftovers.

Contract of every fault:
- targets are validated in __init__ (ConfigError) before anything on the machine changes;
- inject() applies the fault and returns only once its effect is confirmed; if that fails it
  reverts what it did and raises (WaitTimeout / HarnessError naming what was not observed);
- revert() is idempotent and safe after a half-done inject; it returns once the revert is
  confirmed (bricks online, peers Connected, every client child up, rules gone);
- __exit__ always reverts; a fault still active at session end is reverted by the plugin;
- four events go on the Timeline: start, effect-confirmed, revert-started, revert-confirmed (or
  revert-partial, naming what the revert left in place);
- what it creates carries its fault id (which starts with the cluster's run id), and a state
  file under the run root names its artefacts, so a SIGKILLed run's leftovers can be removed
  (harness.faults.leftovers).
- describe() returns a JSON-friendly dict from which harness.faults.build() rebuilds it.
"""
from __future__ import annotations

import itertools
import json
import logging
import os
import time
from abc import ABC, abstractmethod
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Sequence

from ..errors import ConfigError, HarnessError
from ..health import peers_connected
from ..providers.host.proc import process_start_time
from ..timeline import Phase, Timeline
from ..waiting import wait_for

if TYPE_CHECKING:
    from ..cluster import Cluster, Host, Node
    from ..mount import FuseMount
    from ..volume import Volume

log = logging.getLogger("harness.faults")

DEFAULT_TIMEOUT_S = 30.0
_sequence = itertools.count(1)


def default_timeline(cluster: "Cluster") -> Timeline:
    """The cluster's timeline (the plugin installs the session's; else an in-memory one)."""
    if cluster.fault_timeline is None:
        cluster.fault_timeline = Timeline()
    return cluster.fault_timeline


def set_default_timeline(cluster: "Cluster", timeline: Timeline) -> None:
    cluster.fault_timeline = timeline


def state_dir(cluster: "Cluster") -> Path | None:
    """Where fault state files live: <run root>/faults (None for clusters without a local root)."""
    return Path(cluster.root) / "faults" if cluster.root is not None else None


def resolve_host(cluster: "Cluster", name: str) -> "Host":
    for host in [*cluster.nodes, *cluster.clients]:
        if host.name == name:
            return host
    known = ", ".join(h.name for h in [*cluster.nodes, *cluster.clients])
    raise ConfigError(f"no node or client host named {name!r}; known hosts: {known}")


class Fault(ABC):
    """Base of every fault. Subclasses implement _apply, _confirm_effect, _undo, _confirm_revert,
    params (the JSON-friendly constructor arguments) and targets."""

    kind: ClassVar[str]
    # The capabilities (harness.control.Capability) this kind needs of its cluster: a cluster
    # without them refuses it when it is built (Unsupported), before anything changes.
    needs: ClassVar[frozenset[str]] = frozenset()
    # Ways to do it, in order of preference: the cluster must have one of them, and the first it has
    # is how this fault acts (self.mechanism; None when the kind has a single way).
    needs_one_of: ClassVar[tuple[str, ...]] = ()

    def __init__(self, cluster: "Cluster", *, timeline: Timeline | None = None, timeout: float = DEFAULT_TIMEOUT_S,
                 mounts: "Sequence[FuseMount] | None" = None) -> None:
        if timeout <= 0:
            raise ConfigError(f"fault timeout must be positive, got {timeout}")
        cluster.require(*sorted(self.needs), what=self.kind)
        self.mechanism = cluster.require_one_of(*self.needs_one_of, what=self.kind) if self.needs_one_of else None
        self.cluster = cluster
        self.timeline = timeline if timeline is not None else default_timeline(cluster)
        self.timeout = float(timeout)
        self._mounts = list(mounts) if mounts is not None else None
        self.fault_id = f"{cluster.run_id}-f{os.getpid()}-{next(_sequence)}"
        self.active = False  # something may have changed on the machine and is not yet reverted
        self.effect: dict[str, Any] = {}  # what the effect confirmation measured
        self._artefacts: dict[str, Any] = {}

    # --- what subclasses provide -------------------------------------------------------------
    @abstractmethod
    def params(self) -> dict[str, Any]:
        """JSON-friendly constructor arguments (besides cluster, timeline, mounts)."""

    @abstractmethod
    def targets(self) -> tuple[str, ...]:
        """Names of what the fault acts on (nodes, zones, bricks, volumes), for the Timeline."""

    @abstractmethod
    def _apply(self) -> None:
        """Change the machine. May be interrupted half-way: _undo must cope."""

    def _prepare(self) -> None:
        """Look (read only) at the cluster just before the start is recorded, e.g. which bricks of
        other volumes share a brick process the fault will kill, so its targets name them."""

    def _confirm_effect(self) -> dict[str, Any]:
        """Wait (up to self.timeout) until the effect is observable; return what was measured."""
        return {}

    @abstractmethod
    def _undo(self) -> None:
        """Undo whatever _apply did, tolerating parts that were never done or already undone."""

    def _confirm_revert(self) -> None:
        """Wait until the revert is observable; default: the affected volumes are whole again."""
        self.confirm_whole()

    def _reverted_as(self) -> tuple[Phase, dict[str, Any]]:
        """The last event of a revert and its details: confirmed, unless the fault's revert leaves
        part of its change on purpose (a rolling upgrade's nodes keep their new version)."""
        return Phase.REVERTED, {}

    # --- the public contract -----------------------------------------------------------------
    def describe(self) -> dict[str, Any]:
        return {"kind": self.kind, "fault_id": self.fault_id, "run_id": self.cluster.run_id, **self.params()}

    def inject(self) -> "Fault":
        if self.active:
            raise HarnessError(f"{self.kind} fault {self.fault_id} is already injected; revert it first")
        self.cluster.require_destructive(f"inject {self.kind} on {', '.join(self.targets())}")
        self._prepare()  # nothing has changed yet: a failure here needs no revert
        self.timeline.record(self.fault_id, self.kind, Phase.START, self.targets(), params=self.params())
        self.timeline.activate(self.fault_id, self)
        self.active = True
        self._save_state()
        start = time.monotonic()
        try:
            self._apply()
            self.effect = dict(self._confirm_effect() or {})
        except BaseException as exc:
            self.timeline.record(self.fault_id, self.kind, Phase.FAILED, self.targets(), error=str(exc)[:500])
            log.warning("%s %s: inject failed (%s); reverting", self.kind, self.fault_id, str(exc).splitlines()[0])
            try:
                self.revert()
            except BaseException as revert_exc:  # keep the first error; say the revert failed too
                raise HarnessError(f"{exc}\n(and reverting {self.fault_id} failed: {revert_exc})") from exc
            raise
        self.effect.setdefault("seconds", round(time.monotonic() - start, 4))
        self.timeline.record(self.fault_id, self.kind, Phase.EFFECT, self.targets(), **self.effect)
        log.info("%s %s on %s: effect confirmed %s", self.kind, self.fault_id, ",".join(self.targets()), self.effect)
        return self

    def revert(self) -> None:
        if not self.active:
            return
        self.timeline.record(self.fault_id, self.kind, Phase.REVERT, self.targets())
        start = time.monotonic()
        self._undo()
        self._confirm_revert()
        self.active = False
        self.timeline.deactivate(self.fault_id)
        self._remove_state()
        details: dict[str, Any] = {"seconds": round(time.monotonic() - start, 4)}
        if "whole_check_left_to" in self.effect:
            details["whole_check_left_to"] = self.effect["whole_check_left_to"]
        phase, left = self._reverted_as()
        self.timeline.record(self.fault_id, self.kind, phase, self.targets(), **details, **left)
        log.info("%s %s %s %s", self.kind, self.fault_id, phase.value, left or "")

    def __enter__(self) -> "Fault":
        return self.inject()

    def __exit__(self, *exc_info: object) -> None:
        self.revert()

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.fault_id}, {', '.join(self.targets())})"

    # --- helpers for subclasses --------------------------------------------------------------
    @property
    def mounts(self) -> "list[FuseMount]":
        """Mounts whose children must be up for a revert to count: given, else the cluster's."""
        if self._mounts is not None:
            return self._mounts
        return list(self.cluster.mounts)

    def volumes(self) -> "list[Volume]":
        """Volumes to check after a revert: the mounts' volumes plus any the fault names."""
        found: list[Volume] = []
        for v in [*self._own_volumes(), *(m.volume for m in self.mounts)]:
            if v not in found and not v.deleted:
                found.append(v)
        return found

    def _own_volumes(self) -> "list[Volume]":
        return []

    def confirm_whole(self, exclude: "Sequence[Node]" = ()) -> None:
        """Bricks of the affected volumes online, peers Connected, every mount's children up.

        While another fault on the same timeline is still active (this one was nested inside it,
        or is a part of it), the volume cannot be whole yet: the check is left to the outermost
        fault's revert, and this revert confirms only its own undo (rules gone, processes back).
        """
        outer = [f.fault_id for f in self.timeline.active_faults() if f is not self]
        if outer:
            self.effect["whole_check_left_to"] = outer
            return
        deadline = time.monotonic() + self.timeout
        via = next((n for n in self.cluster.nodes if n not in exclude), None)
        for volume in self.volumes():
            volume.wait_bricks_online(timeout=max(deadline - time.monotonic(), 1.0), via=via)
        last = [""]

        def peers_ok() -> bool:
            ok, last[0] = peers_connected(self.cluster)
            return ok

        wait_for(peers_ok, timeout=max(deadline - time.monotonic(), 1.0),
                 what=f"every peer Connected after reverting {self.kind} {self.fault_id}", describe=lambda: last[0])
        for mount in self.mounts:
            mount.wait_children_up(timeout=max(deadline - time.monotonic(), 1.0))

    def wait(self, probe: Any, what: str, describe: Any = None, interval: float = 0.05) -> Any:
        return wait_for(probe, timeout=self.timeout, what=f"{what} ({self.kind} {self.fault_id})",
                        describe=describe, interval=interval)

    def note_artefact(self, key: str, value: Any) -> None:
        """Record something this fault made (nft table, delayer pid file, stopped pids) in its
        state file before or as it is made, so a killed run's leftovers can be found."""
        self._artefacts.setdefault(key, []).append(value)
        self._save_state()

    def _state_file(self) -> Path | None:
        directory = state_dir(self.cluster)
        return directory / f"{self.fault_id}.json" if directory else None

    def _save_state(self) -> None:
        path = self._state_file()
        if path is None:
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        pid = os.getpid()
        data = {"description": self.describe(), "owner_pid": pid, "owner_start": process_start_time(pid),
                "artefacts": self._artefacts}
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(data, indent=1, default=str))
        tmp.replace(path)

    def _remove_state(self) -> None:
        path = self._state_file()
        if path is not None:
            path.unlink(missing_ok=True)


def revert_active_faults(cluster: "Cluster") -> list[str]:
    """Revert every fault still active on the cluster's timeline, newest first (the safety net
    the plugin runs after each test and at session end). Returns the ids reverted; a fault whose
    revert fails is logged and left for `python -m harness cleanup`, the others still revert."""
    timeline = cluster.fault_timeline
    reverted = []
    for fault in timeline.active_faults() if timeline is not None else []:
        log.warning("reverting %s %s left active by the test", fault.kind, fault.fault_id)
        try:
            fault.revert()
            reverted.append(fault.fault_id)
        except Exception as exc:  # noqa: BLE001 - keep reverting the others
            log.error("could not revert %s %s: %s", fault.kind, fault.fault_id, exc)
    return reverted
