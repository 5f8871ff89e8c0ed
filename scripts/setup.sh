#!/usr/bin/env bash
# All set-up for `make test` / `make qualify` on Debian 12 as root. Idempotent and quick when done.
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(
  glusterfs-server glusterfs-client fio iproute2 iptables nftables attr psmisc procps util-linux
  python3 python3-venv
  libnetfilter-queue-dev python3-dev build-essential
  chromium fonts-dejavu-core
  swift swift-proxy swift-object swift-container swift-account memcached
)

if [ "$(id -u)" -ne 0 ]; then
  echo "error: set-up needs root (apt-get, network namespaces, FUSE mounts); missing: root privileges." >&2
  echo "       run it as root, e.g. sudo make test" >&2
  exit 1
fi

missing=()
for pkg in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing Debian packages: ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# The packages' own glusterd must not run on the host: every node runs its own in a namespace.
if command -v systemctl >/dev/null && systemctl is-active --quiet glusterd 2>/dev/null; then
  systemctl disable --now glusterd
fi
# Likewise Swift and memcached: each S3 gateway runs per run inside a client host's namespace.
for unit in memcached swift-proxy swift-account swift-container swift-object; do
  if command -v systemctl >/dev/null && systemctl is-active --quiet "$unit" 2>/dev/null; then
    systemctl disable --now "$unit"
  fi
done

[ -e /dev/fuse ] || modprobe fuse

PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
stamp=.venv/.installed
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
  .venv/bin/pip install -q --upgrade pip
  .venv/bin/pip install -q -e '.[dev]'
  touch "$stamp"
fi

# GlusterFS 11.1 for the rolling-upgrade suite (suites/test_upgrade.py): fetched with the harness's
# own apt configuration into its cache and unpacked there, never installed; nodes swap it in inside
# their own mount namespaces. Idempotent: skipped when the cache's stamp is there.
# A failed fetch (no network) does not stop the rest: the upgrade suite then fails saying so.
if ! .venv/bin/python -m harness.gluster.versions fetch 11.1 >/dev/null; then
  echo "warning: fetching GlusterFS 11.1 failed; suites/test_upgrade.py will fail until it is fetched" >&2
fi
