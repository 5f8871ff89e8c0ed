"""Gluster on Kubernetes: API clients, manifests, discovery, pod exec, and faults.

Modules: client (kubeconfig + context -> API clients), manifests (the stack and workloads as
dicts), validate (OpenAPI schema checks), discovery (nodes, zones, pods by labels), podexec
(commands in pods), stack (apply and wait), cluster (the Cluster interface over pods),
noderuntime (kind node containers), faults (pod, node, zone and network faults), jobs (fio
client/server across pods), options.
"""
