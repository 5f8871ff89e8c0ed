"""TCP probes run inside a host's namespace, and the statistics they report.

The script part (`python probe.py connect ADDR PORT COUNT TIMEOUT`) uses only the standard library
because it runs as its own process inside a node or client namespace. It prints one JSON object:
connect times in milliseconds of the attempts that got an answer (a SYN-ACK, or a RST: both mean
packets crossed), and the count of attempts that timed out (packets did not cross).
"""
from __future__ import annotations

import json
import socket
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..cluster import Host

GLUSTERD_PORT = 24007


def connect_times(address: str, port: int, count: int, timeout: float) -> dict:
    answered: list[float] = []
    timeouts = 0
    for _ in range(count):
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.settimeout(timeout)
        start = time.perf_counter()
        try:
            sock.connect((address, port))
            answered.append((time.perf_counter() - start) * 1000.0)
        except ConnectionRefusedError:  # a RST came back: the path is open
            answered.append((time.perf_counter() - start) * 1000.0)
        except (socket.timeout, TimeoutError, OSError):
            timeouts += 1
        finally:
            sock.close()
    return {"ms": answered, "timeouts": timeouts}


@dataclass(frozen=True)
class ProbeResult:
    source: str
    target: str
    ms: tuple[float, ...]
    timeouts: int

    @property
    def attempts(self) -> int:
        return len(self.ms) + self.timeouts

    @property
    def blocked(self) -> bool:
        """No attempt got an answer: packets do not cross."""
        return not self.ms

    @property
    def median_ms(self) -> float | None:
        return statistics.median(self.ms) if self.ms else None

    def percentile_ms(self, q: float) -> float | None:
        # Imported here: the rest of this file also runs alone, as a script in a host (stdlib only).
        from ..timeseries import percentile

        return percentile(self.ms, q)

    @property
    def loss(self) -> float:
        return self.timeouts / self.attempts if self.attempts else 0.0


def probe_connect(source: "Host", address: str, port: int = GLUSTERD_PORT, count: int = 1,
                  timeout: float = 0.3) -> ProbeResult:
    """TCP connects from inside `source` to address:port; measured in source's namespace. The script
    goes along as text (`python3 -c`): a pod has neither this file nor this interpreter."""
    out = source.run(["python3", "-c", Path(__file__).read_text(), "connect", address, str(port), str(count), str(timeout)],
                     timeout=count * timeout + 30).stdout
    data = json.loads(out)
    return ProbeResult(source.name, f"{address}:{port}", tuple(data["ms"]), int(data["timeouts"]))


if __name__ == "__main__":
    if len(sys.argv) != 6 or sys.argv[1] != "connect":
        print("usage: probe.py connect ADDRESS PORT COUNT TIMEOUT_S", file=sys.stderr)
        sys.exit(2)
    print(json.dumps(connect_times(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), float(sys.argv[5]))))
