"""Test outcomes read back from junit.xml, for rebuilding a report offline from a run folder."""
from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

from ..errors import ConfigError


def outcomes_from_junit(path: Path) -> list[dict]:
    """One outcome per <testcase>; node ids are rebuilt from classname and name (module path ::
    class :: test), as close to pytest's as junit keeps them."""
    try:
        root = ET.parse(path).getroot()
    except (OSError, ET.ParseError) as exc:
        raise ConfigError(f"cannot read test outcomes from {path}: {exc}") from None
    tests = []
    for case in root.iter("testcase"):
        outcome, message = "passed", None
        for child in case:
            if child.tag == "failure":
                outcome, message = "failed", child.get("message")
            elif child.tag == "error":
                outcome, message = "error", child.get("message")
            elif child.tag == "skipped":
                xfail = (child.get("type") or "") == "pytest.xfail"
                outcome, message = ("xfailed" if xfail else "skipped"), child.get("message")
        tests.append({"nodeid": _nodeid(case.get("classname", ""), case.get("name", "")), "outcome": outcome,
                      "duration_s": float(case.get("time") or 0.0), "message": message})
    return tests


def _nodeid(classname: str, name: str) -> str:
    parts = classname.split(".")
    # pytest writes "tests.test_x.TestClass" / "tests.test_x": the module is the last lower-case run of parts
    module_end = len(parts)
    while module_end > 1 and parts[module_end - 1][:1].isupper():
        module_end -= 1
    module = "/".join(parts[:module_end]) + ".py"
    return "::".join([module, *parts[module_end:], name])
