"""Locust users over S3 (boto3): GET, PUT, HEAD, LIST, DELETE and multipart uploads.

Each boto3 call fires locust's `events.request`, so locust's own statistics, CSV and history
cover S3 like HTTP. Configuration from the environment:
  S3_ENDPOINT (required, e.g. http://198.18.0.101:8080), S3_ACCESS_KEY, S3_SECRET_KEY,
  S3_BUCKET (default "locust", created at test start), S3_OBJECT_SIZE (bytes, default 4096),
  S3_WAIT_S (seconds each user waits between requests, default 0: as fast as the gateway answers),
  LOCUST_SAMPLES (optional: a CSV file receiving one line per request: unix_time,latency_ms,name,ok).
By hand, from the repository:
  S3_ENDPOINT=http://HOST:8080 python -m locust -f workloads/locustfile_s3.py --headless -u 4 -r 4 --run-time 10s
The harness runs it as a program in a client host (harness.workloads.locust): importing locust
would monkey-patch the harness's own process with gevent.
"""
from __future__ import annotations

import os
import random
import time
import uuid

import gevent
from locust import User, constant, events, task

try:
    from s3compat import ACCESS_KEY, SECRET_KEY, boto3_client  # the harness sends it beside this file
except ModuleNotFoundError:  # run by hand from the repository
    from harness.workloads.s3compat import ACCESS_KEY, SECRET_KEY, boto3_client

BUCKET = os.environ.get("S3_BUCKET", "locust")
OBJECT_SIZE = int(os.environ.get("S3_OBJECT_SIZE", "4096"))
WAIT_S = float(os.environ.get("S3_WAIT_S", "0"))


def s3_client():
    url = os.environ.get("S3_ENDPOINT")
    if not url:
        raise SystemExit("S3_ENDPOINT is not set; export S3_ENDPOINT=http://HOST:PORT of the S3 gateway")
    return boto3_client(url, os.environ.get("S3_ACCESS_KEY", ACCESS_KEY), os.environ.get("S3_SECRET_KEY", SECRET_KEY))


_samples = open(os.environ["LOCUST_SAMPLES"], "a", buffering=1) if os.environ.get("LOCUST_SAMPLES") else None


@events.request.add_listener
def _record_sample(request_type, name, response_time, response_length, exception=None, **_):
    if _samples is not None:
        _samples.write(f"{time.time():.6f},{response_time:.3f},{name},{0 if exception else 1}\n")


@events.init.add_listener
def _count_run_time_from_now(**_):
    # --run-time is a gevent timer, timed from the loop's cached clock, which may predate blocking
    # start-up work: after locust's start-up blocked 2.1 s on a loaded machine, a 3 s run ended in
    # 0.9 s, before its first request. Refresh the clock just before locust sets the timer.
    gevent.get_hub().loop.update_now()


@events.test_start.add_listener
def _create_bucket(environment, **_):
    client = s3_client()
    try:
        client.create_bucket(Bucket=BUCKET)
    except client.exceptions.BucketAlreadyOwnedByYou:
        pass


class S3User(User):
    wait_time = constant(WAIT_S)

    def on_start(self) -> None:
        self.s3 = s3_client()
        self.prefix = f"u-{uuid.uuid4().hex[:8]}/"
        self.keys: list[str] = []
        self.body = os.urandom(OBJECT_SIZE)
        self._put()

    def _call(self, name: str, fn):
        start = time.perf_counter()
        exception, length, result = None, 0, None
        try:
            result = fn()
            length = int(result.get("ContentLength", 0)) if isinstance(result, dict) else 0
        except Exception as exc:  # every boto3 failure is a failed request in locust's stats
            exception = exc
        events.request.fire(request_type="S3", name=name, response_time=(time.perf_counter() - start) * 1000,
                            response_length=length, exception=exception, context={})
        return result if exception is None else None

    def _put(self) -> None:
        key = f"{self.prefix}{uuid.uuid4().hex}"
        if self._call("PUT", lambda: self.s3.put_object(Bucket=BUCKET, Key=key, Body=self.body)) is not None:
            self.keys.append(key)

    @task(4)
    def get(self) -> None:
        if self.keys:
            key = random.choice(self.keys)
            self._call("GET", lambda: self._read(key))

    def _read(self, key: str) -> dict:
        response = self.s3.get_object(Bucket=BUCKET, Key=key)
        body = response["Body"].read()
        return {"ContentLength": len(body)}

    @task(2)
    def put(self) -> None:
        self._put()

    @task(1)
    def head(self) -> None:
        if self.keys:
            key = random.choice(self.keys)
            self._call("HEAD", lambda: self.s3.head_object(Bucket=BUCKET, Key=key))

    @task(1)
    def list(self) -> None:
        self._call("LIST", lambda: self.s3.list_objects_v2(Bucket=BUCKET, Prefix=self.prefix, MaxKeys=100))

    @task(1)
    def delete(self) -> None:
        if len(self.keys) > 1:
            key = self.keys.pop(0)
            self._call("DELETE", lambda: self.s3.delete_object(Bucket=BUCKET, Key=key))

    @task(1)
    def multipart(self) -> None:
        key = f"{self.prefix}mp-{uuid.uuid4().hex}"

        def upload() -> dict:
            upload_id = self.s3.create_multipart_upload(Bucket=BUCKET, Key=key)["UploadId"]
            part = self.s3.upload_part(Bucket=BUCKET, Key=key, UploadId=upload_id, PartNumber=1, Body=self.body)
            return self.s3.complete_multipart_upload(Bucket=BUCKET, Key=key, UploadId=upload_id,
                                                     MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": part["ETag"]}]})

        if self._call("MULTIPART", upload) is not None:
            self.keys.append(key)
