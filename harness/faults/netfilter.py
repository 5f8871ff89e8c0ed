"""nftables tables inside a host's namespace: one table per fault, named after the fault id.

One table per fault keeps faults composable (a partition during a latency fault) and makes the
revert a single `nft delete table`, which cannot leave half a rule set behind.
"""
from __future__ import annotations

import re
from typing import TYPE_CHECKING, Sequence

from ..errors import HarnessError

if TYPE_CHECKING:
    from ..cluster import Host

FAMILY = "inet"
NFT_TIMEOUT_S = 15.0
TABLE_RE = re.compile(r"^table\s+(\w+)\s+(\S+)", re.MULTILINE)


def table_name(fault_id: str) -> str:
    """nft identifiers take letters, digits and '_': glh3-f123-4 -> glh3_f123_4."""
    return re.sub(r"[^A-Za-z0-9_]", "_", fault_id)


def ruleset(table: str, input_rules: Sequence[str] = (), output_rules: Sequence[str] = ()) -> str:
    """An nft script creating `table` with filter chains for incoming and outgoing packets.

    Priority -10 runs before the default filter (0) so other tables cannot accept first.
    """
    lines = [f"table {FAMILY} {table} {{"]
    for chain, hook, rules in (("faults_in", "input", input_rules), ("faults_out", "output", output_rules)):
        lines.append(f"  chain {chain} {{")
        lines.append(f"    type filter hook {hook} priority -10; policy accept;")
        lines.extend(f"    {r}" for r in rules)
        lines.append("  }")
    lines.append("}")
    return "\n".join(lines) + "\n"


def apply_table(host: "Host", script: str) -> None:
    host.run(["nft", "-f", "-"], input=script, timeout=NFT_TIMEOUT_S)


def list_tables(host: "Host") -> list[str]:
    result = host.run(["nft", "list", "tables"], timeout=NFT_TIMEOUT_S, check=False)
    if not result.ok:
        raise HarnessError(f"cannot list nft tables on {host.name}: {result.stderr.strip()}")
    return [m.group(2) for m in TABLE_RE.finditer(result.stdout) if m.group(1) == FAMILY]


def has_table(host: "Host", table: str) -> bool:
    return table in list_tables(host)


def delete_table(host: "Host", table: str) -> None:
    """Delete the table if present (idempotent)."""
    if has_table(host, table):
        host.run(["nft", "delete", "table", FAMILY, table], timeout=NFT_TIMEOUT_S)


def address_set(addresses: Sequence[str]) -> str:
    return "{ " + ", ".join(addresses) + " }"


# iptables (iptables-nft) for what nft's own expressions cannot do on this kernel: the native nft
# `queue` expression is missing (nft_queue), while iptables' NFQUEUE target works through the
# xtables compat layer. Rules carry the fault id as their comment, so they can be found again.
IPTABLES_CHAINS = ("OUTPUT", "INPUT")


def add_iptables_rule(host: "Host", chain: str, spec: Sequence[str], comment: str) -> None:
    host.run(["iptables", "-w", "5", "-A", chain, *spec, "-m", "comment", "--comment", comment], timeout=NFT_TIMEOUT_S)


def iptables_rules(host: "Host", marker: str) -> list[list[str]]:
    """Rules (as `-A CHAIN ...` argument lists) whose comment contains marker."""
    import shlex

    result = host.run(["iptables", "-w", "5", "-S"], timeout=NFT_TIMEOUT_S, check=False)
    if not result.ok:
        raise HarnessError(f"cannot list iptables rules on {host.name}: {result.stderr.strip()}")
    rules = []
    for line in result.stdout.splitlines():
        if line.startswith("-A ") and "--comment" in line:
            args = shlex.split(line)
            comment = args[args.index("--comment") + 1]
            if marker in comment:
                rules.append(args)
    return rules


def delete_iptables_rules(host: "Host", marker: str) -> int:
    """Delete every rule whose comment contains marker (idempotent); returns how many."""
    rules = iptables_rules(host, marker)
    for args in rules:
        host.run(["iptables", "-w", "5", "-D", *args[1:]], timeout=NFT_TIMEOUT_S)
    return len(rules)
