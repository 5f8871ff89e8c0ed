"""The gluster image's PyPI wheels (harness/providers/k8s_local/wheels.py): pinned, and part of the
image recipes, so a changed pin rebuilds both images."""
from __future__ import annotations

from pathlib import Path

from harness.providers.k8s_local import build, wheels


def test_pins_are_exact_and_cover_what_is_installed():
    names = [pin.split("==")[0] for pin in wheels.PINS]
    assert all(pin.count("==") == 1 for pin in wheels.PINS)
    assert len(names) == len(set(names))
    assert set(wheels.INSTALL) <= set(wheels.PINS)
    assert {name.split("==")[0] for name in wheels.INSTALL} == {"locust", "boto3"}


def test_a_changed_pin_rebuilds_both_images_and_nothing_else(monkeypatch):
    before = {name: part.key for name, part in build.recipes().items()}
    monkeypatch.setattr(wheels, "PINS", (*wheels.PINS[:-1], "zope-interface==0"))
    after = {name: part.key for name, part in build.recipes().items()}
    assert {name for name in before if before[name] != after[name]} == {"wheels", "gluster-10.3", "gluster-11.1"}


def test_the_hook_installs_from_the_wheels_folder_only_into_the_image_python():
    hook = wheels.customize_hook(Path("/cache/parts/wheels-x"))
    assert "--no-index" in hook and "--find-links /cache/parts/wheels-x" in hook
    # a folder of their own, on the path of the wrapper alone: Debian's Swift keeps its libraries
    assert '--target "$1/opt/harness-python" locust==' in hook and "dist-packages" not in hook
    assert 'PYTHONPATH=/opt/harness-python exec /usr/bin/python3.11 "$@"' in hook
    assert '> "$1/usr/local/bin/harness-python3" && chmod 755 "$1/usr/local/bin/harness-python3"' in hook
    assert "PIP_CONFIG_FILE=/dev/null" in hook and "--python-version 3.11 --abi cp311" in hook
