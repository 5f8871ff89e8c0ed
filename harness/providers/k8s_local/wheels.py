"""locust and boto3 for the gluster image's python, from PyPI wheels.

Client pods run the S3 workloads (Swift's gateway, locust over boto3) with the image's own python.
locust is on PyPI only, and Debian's python3-boto3 is older than the harness needs (>= 1.36), so
`make k8s` downloads the wheels below once (the `wheels` part) and mmdebstrap's customize hook
installs them into the rootfs with the host's pip (the image has no pip). They go into a folder of
their own that only the LOCUST_PYTHON wrapper puts on the path: Debian's python3 reads /usr/local's
dist-packages before its own, so there they would replace the libraries Debian's Swift runs on
(greenlet 3.5 under eventlet 0.33, urllib3 2 for 1.26, ...), and the gateway in a pod would not be the
one the local provider runs.

PINS is the whole dependency closure at the versions the harness's venv runs (pip freeze), so a
rebuild gets the same files and a pin changed here rebuilds the images. To move it, in the venv:
`pip download -d D -c <(pip freeze | grep -v ^-e) locust==X boto3==Y` and list D's files.
"""
from __future__ import annotations

import shlex
import sys
from pathlib import Path

from ...errors import HarnessError
from ...runner import run
from ...workloads.locust import LOCUST_PYTHON

INSTALL = ("locust==2.47.0", "boto3==1.44.18")
PINS = (
    *INSTALL, "bidict==0.24.1", "blinker==1.9.0", "botocore==1.44.18", "brotli==1.2.1", "certifi==2026.10.19.post1",
    "charset-normalizer==3.5.3", "click==8.5.1", "configargparse==1.9.0", "flask==3.1.3", "flask-cors==6.0.5",
    "flask-login==0.6.3", "gevent==26.9.0", "geventhttpclient==2.6.1", "greenlet==3.5.6", "h11==0.16.0",
    "idna==3.21", "iniconfig==2.3.1", "itsdangerous==2.2.0", "jinja2==3.1.6", "jmespath==1.1.0",
    "markupsafe==3.0.4", "msgpack==1.2.4", "packaging==26.4", "pluggy==1.7.0", "psutil==7.2.2",
    "pygments==2.21.0", "pytest==9.2.0", "python-dateutil==2.9.0.post0", "python-engineio==4.15.1",
    "python-socketio==5.18.1", "pyzmq==27.3.0", "requests==2.34.2", "s3transfer==0.19.3",
    "simple-websocket==1.1.0", "six==1.17.0", "typing-extensions==4.16.0", "urllib3==2.8.0",
    "websocket-client==1.9.2", "werkzeug==3.1.9", "wsproto==1.3.2", "zope-event==6.2", "zope-interface==8.7",
)
# bookworm's python3 and glibc: cp311 wheels, any manylinux up to glibc 2.36.
PYTHON, ABI = "3.11", "cp311"
PLATFORMS = (*(f"manylinux_2_{minor}_x86_64" for minor in range(36, 4, -1)),
             "manylinux2014_x86_64", "manylinux2010_x86_64", "manylinux1_x86_64")
SITE = "opt/harness-python"
# $@: python3's arguments, run with SITE on its path.
WRAPPER = f'#!/bin/sh\nPYTHONPATH=/{SITE} exec /usr/bin/python{PYTHON} "$@"\n'
PIP_TIMEOUT_S = 600.0


def recipe() -> dict:
    return {"pins": PINS, "install": INSTALL, "python": PYTHON, "abi": ABI, "platforms": PLATFORMS, "site": SITE,
            "wrapper": [LOCUST_PYTHON, WRAPPER]}


def _target() -> list[str]:
    # The image's interpreter, not the host's, decides which files fit; binaries only (no compiler there).
    return ["--only-binary=:all:", "--implementation", "cp", "--python-version", PYTHON, "--abi", ABI,
            *(arg for platform in PLATFORMS for arg in ("--platform", platform))]


def download(into: Path) -> None:
    """The pinned wheels into `into`; --no-deps, so the install step proves the closure complete."""
    run([sys.executable, "-m", "pip", "download", "--no-deps", "--dest", str(into), *_target(), *PINS],
        timeout=PIP_TIMEOUT_S, log_to=into / "pip-download.log")
    got = len(list(into.glob("*.whl")))
    if got != len(PINS):
        raise HarnessError(f"pip downloaded {got} wheels for {len(PINS)} pins into {into}; see pip-download.log")


def customize_hook(wheels: Path) -> str:
    """An mmdebstrap --customize-hook (sh, the rootfs in $1): INSTALL and their dependencies from
    `wheels` only (--no-index: a missing or conflicting pin fails the build) into the image's SITE."""
    # Only `wheels`: no index, no config (PIP_CONFIG_FILE=/dev/null skips even the global files).
    pip = shlex.join(["env", "PIP_CONFIG_FILE=/dev/null", sys.executable, "-m", "pip", "--isolated", "install",
                      "--quiet", "--no-index", "--no-cache-dir", "--find-links", str(wheels), *_target()])
    # The image must still have the python the wheels are for; the console scripts pip writes carry
    # the host's interpreter in their #! line, so they go (`LOCUST_PYTHON -m locust` is how pods run it).
    wrapper = f"$1/usr/local/bin/{LOCUST_PYTHON}"
    return (f'test -x "$1/usr/bin/python{PYTHON}" && {pip} --target "$1/{SITE}" {shlex.join(INSTALL)}'
            f' && rm -rf "$1/{SITE}/bin" && printf %s {shlex.quote(WRAPPER)} > "{wrapper}" && chmod 755 "{wrapper}"')
