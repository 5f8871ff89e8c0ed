"""Workloads over every access path of a volume.

- fio: fio jobs (workloads/*.fio) from a client host against a FUSE file, a loop block device
  (block.py) or libgfapi; JSON and per-I/O latency logs parsed into harness.timeseries.
- s3gateway: Swift with s3api + tempauth as the "gateway pod" in a client host, its devices on a
  FUSE mount; s3client: boto3 clients for it (DeleteObjects Content-MD5 hook).
- locust: locust over S3 as a subprocess (workloads/locustfile_s3.py), CSV history parsed.
- nsenter: in-process clients enter a client host's network namespace per thread.
- scenario: a workload and the history clients (harness.history) across a fault's phases.
"""
