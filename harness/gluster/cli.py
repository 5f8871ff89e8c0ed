"""The gluster CLI of one node, driven through that node's runner."""
from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import TYPE_CHECKING

from ..errors import HarnessError
from . import xml as gx

if TYPE_CHECKING:
    from ..control import Host

CLI_TIMEOUT_S = 120.0


class GlusterError(HarnessError):
    """The gluster CLI refused an operation; carries the node, the command and gluster's reason."""

    def __init__(self, node: str, args: list[str], errstr: str, op_errno: int | None = None) -> None:
        self.node, self.args_, self.errstr, self.op_errno = node, args, errstr, op_errno
        super().__init__(f"gluster {' '.join(args)} failed on {node}: {errstr or '(no message)'}")


class GlusterCLI:
    """Typed access to `gluster --mode=script ... --xml` run inside one node."""

    def __init__(self, host: "Host") -> None:
        self.host = host

    def xml(self, *args: str, timeout: float = CLI_TIMEOUT_S) -> ET.Element:
        argv = ["gluster", "--mode=script", *args, "--xml"]
        result = self.host.run(argv, timeout=timeout, check=False)
        try:
            root = gx.parse_root(result.stdout)
        except gx.XMLShapeError:
            raise GlusterError(self.host.name, list(args), (result.stderr or result.stdout).strip()) from None
        op_ret = root.findtext("opRet", "0").strip()
        if op_ret != "0" or not result.ok:
            errstr = (root.findtext("opErrstr") or result.stderr or "").strip()
            raise GlusterError(self.host.name, list(args), errstr, gx._int_or_none(root.findtext("opErrno")))
        return root

    def peer_probe(self, address: str) -> None:
        self.xml("peer", "probe", address)

    def peer_status(self) -> list[gx.Peer]:
        return gx.parse_peer_status(self.xml("peer", "status"))

    def volume_info(self, volume: str = "all") -> list[gx.VolumeInfo]:
        return gx.parse_volume_info(self.xml("volume", "info", volume))

    def volume_names(self) -> list[str]:
        return [v.text.strip() for v in self.xml("volume", "list").findall("volList/volume") if v.text]

    def volume_status(self, volume: str) -> gx.VolumeStatus:
        statuses = gx.parse_volume_status(self.xml("volume", "status", volume))
        if not statuses:
            raise GlusterError(self.host.name, ["volume", "status", volume], "no status returned")
        return statuses[0]

    def volume_clients(self, volume: str) -> dict[str, frozenset[str]]:
        return gx.parse_volume_clients(self.xml("volume", "status", volume, "clients"))

    def heal_summary(self, volume: str) -> gx.HealSummary:
        return gx.parse_heal_summary(self.xml("volume", "heal", volume, "info", "summary"))

    def heal_pending(self, volume: str) -> list[gx.HealEntriesBrick]:
        return gx.parse_heal_entries(self.xml("volume", "heal", volume, "info"))

    def heal_split_brain(self, volume: str) -> list[gx.HealEntriesBrick]:
        return gx.parse_heal_entries(self.xml("volume", "heal", volume, "info", "split-brain"))

    def volume_set(self, volume: str, option: str, value: str) -> None:
        self.xml("volume", "set", volume, option, value)

    def volume_reset(self, volume: str, option: str) -> None:
        self.xml("volume", "reset", volume, option)

    def volume_get(self, volume: str, option: str) -> str:
        """The option's effective value; "" when gluster has none ("(null)")."""
        root = self.xml("volume", "get", volume, option)
        value = (root.findtext("volGetopts/Opt/Value") or "").strip().removesuffix("(DEFAULT)").strip()
        return "" if value == "(null)" else value

    def version(self) -> str:
        out = self.host.run(["gluster", "--version"], timeout=30).stdout
        return out.split()[1] if out.startswith("glusterfs ") else out.splitlines()[0]
