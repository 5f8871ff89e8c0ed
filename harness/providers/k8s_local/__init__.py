"""k8s-local: a real multi-node Kubernetes on this machine, built from Debian's archive (`build`)
and run with one network namespace per node (`cluster`)."""
