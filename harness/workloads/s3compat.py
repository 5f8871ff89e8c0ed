"""boto3 made to speak to Swift's s3api, in one module that imports nothing of the harness: the
harness's own clients use it, and it goes with the locustfile into the client host locust runs in
(a pod has no harness).

boto3 >= 1.36 protects DeleteObjects with a CRC32 checksum, while Swift 2.30's s3api insists on
Content-MD5 for it (answering InvalidRequest otherwise); a `before-call` hook adds the MD5.
"""
from __future__ import annotations

import base64
import hashlib
from typing import Any

ACCESS_KEY = "test:tester"
SECRET_KEY = "testing"
REGION = "us-east-1"
CONNECT_TIMEOUT_S = 2.0
READ_TIMEOUT_S = 30.0


def add_content_md5(params: dict, **_: Any) -> None:
    """botocore event hook: set Content-MD5 of the request body (DeleteObjects)."""
    body = params.get("body") or b""
    if isinstance(body, str):
        body = body.encode()
    params["headers"]["Content-MD5"] = base64.b64encode(hashlib.md5(body).digest()).decode()


def boto3_client(url: str, access_key: str = ACCESS_KEY, secret_key: str = SECRET_KEY, region: str = REGION, *,
                 retries: int = 0, connect_timeout: float = CONNECT_TIMEOUT_S,
                 read_timeout: float = READ_TIMEOUT_S) -> Any:
    """A boto3 S3 client for a Swift gateway at `url`; `retries=0`: every failure is seen."""
    import boto3  # heavy import, only for S3 users
    from botocore.config import Config

    config = Config(
        s3={"addressing_style": "path"},  # no DNS for bucket.host names here
        signature_version="s3v4",
        retries={"max_attempts": retries + 1, "mode": "standard"},
        connect_timeout=connect_timeout,
        read_timeout=read_timeout,
        request_checksum_calculation="when_required",
        response_checksum_validation="when_required",
    )
    client = boto3.session.Session().client("s3", endpoint_url=url, aws_access_key_id=access_key,
                                            aws_secret_access_key=secret_key, region_name=region, config=config)
    client.meta.events.register("before-call.s3.DeleteObjects", add_content_md5)
    return client
