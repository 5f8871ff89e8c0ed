"""No import circle in harness/: the layers (contract -> cluster -> volume -> access -> ...) point one way.

Every import counts, also those inside functions (a lazy import only hides a circle) and under
TYPE_CHECKING (a type that names a module above is a dependency on it all the same).
"""
from __future__ import annotations

import ast
from pathlib import Path

HARNESS = Path(__file__).resolve().parents[2] / "harness"


def module_name(path: Path, package_root: Path) -> str:
    parts = list(path.relative_to(package_root.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(path: Path, name: str, known: set[str]) -> set[str]:
    """Modules of `known` that the file imports anywhere in its body."""
    package = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = ".".join(package[:len(package) - node.level + 1] + [node.module or ""]).strip(".") \
                if node.level else (node.module or "")
            # `from . import x` imports the module x when there is one, else a name of the package
            found.update(f"{base}.{a.name}" if f"{base}.{a.name}" in known else base for a in node.names)
    return {m for m in found if m in known and m != name}


def import_graph(package_root: Path) -> dict[str, set[str]]:
    files = {module_name(p, package_root): p for p in package_root.rglob("*.py")}
    return {name: imports_of(path, name, set(files)) for name, path in files.items()}


def circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def test_harness_has_no_import_circle() -> None:
    graph = import_graph(HARNESS)
    assert len(graph) > 50, "the walk must see the whole package"
    assert circles(graph) == []


def test_a_circle_is_found_through_a_lazy_or_type_checking_import(tmp_path: Path) -> None:
    """Negative control: the shape harness/ had (cluster -> volume inside a method, volume -> cluster
    for its annotations) is reported."""
    pkg = tmp_path / "pkg"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "base.py").write_text("")
    (pkg / "cluster.py").write_text("from . import base\n\ndef create():\n    from .volume import make\n")
    (pkg / "volume.py").write_text("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from .cluster import C\n")
    assert circles(import_graph(pkg)) == [["pkg.cluster", "pkg.volume"]]


def unresolved_relative_imports(package_root: Path) -> list[str]:
    """`file:line module` for each relative import (lazy ones too) naming no module or package of the tree:
    what a move leaves behind, found here rather than when the function first runs."""
    files = {module_name(p, package_root): p for p in package_root.rglob("*.py")}
    missing = []
    for name, path in sorted(files.items()):
        package = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.ImportFrom) and node.level:
                base = ".".join(package[:len(package) - node.level + 1] + [node.module or ""]).strip(".")
                if base not in files:
                    missing.append(f"{path.relative_to(package_root.parent)}:{node.lineno} {base}")
    return missing


def test_every_relative_import_names_a_module_of_the_package() -> None:
    assert unresolved_relative_imports(HARNESS) == []


def test_a_lazy_import_left_behind_by_a_move_is_found(tmp_path: Path) -> None:
    """Negative control: the shape a move left (harness/pytest/fixtures.py importing .chaos in a fixture)."""
    pkg = tmp_path / "pkg"
    (pkg / "pytest").mkdir(parents=True)
    (pkg / "chaos").mkdir()
    for init in (pkg, pkg / "pytest", pkg / "chaos"):
        (init / "__init__.py").write_text("")
    (pkg / "chaos" / "actions.py").write_text("")
    (pkg / "pytest" / "fixtures.py").write_text("from ..chaos import actions\n\ndef f():\n    from .chaos.actions import x\n")
    assert unresolved_relative_imports(pkg) == ["pkg/pytest/fixtures.py:4 pkg.pytest.chaos.actions"]
