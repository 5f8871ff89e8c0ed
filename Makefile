# Two commands on a fresh Debian 12 machine as root: `make qualify` and `make test`.
PY := .venv/bin/python
PYTEST := $(PY) -m pytest

.PHONY: setup test qualify bench bench-faults bench-storm cleanup

setup:
	@bash scripts/setup.sh

# The project's own tests, and the suites, on the embedded local cluster.
test: setup
	$(PYTEST) tests suites

# The qualification gate: every conformance suite on the embedded local cluster, then the report.
qualify: setup
	$(PYTEST) suites

bench: setup
	$(PY) benchmarks/cluster_lifecycle.py

# Fault library: inject->effect and revert->whole per fault kind, latency accuracy (issue 3).
bench-faults: setup
	$(PY) benchmarks/faults.py

# Provisioning storm: 1000 replica-3 volumes with brick multiplexing; time, p99, peak memory (issue 9).
bench-storm: setup
	$(PY) benchmarks/storm.py --volumes 1000

cleanup: setup
	$(PY) -m harness cleanup
