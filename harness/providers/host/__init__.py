"""Host machinery of the providers whose nodes are namespaces of this host (local, k8s-local):
namespaces and node init, network plan, run registry, cgroups, processes, the delayer, teardown."""
