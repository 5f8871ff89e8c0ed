"""boto3 clients for an S3Endpoint, with the Swift compatibility fix and namespace entry.

boto3 >= 1.36 protects DeleteObjects with a CRC32 checksum, while Swift 2.30's s3api insists on
Content-MD5 for it (answering InvalidRequest otherwise); a `before-call` hook adds the MD5.
"""
from __future__ import annotations

import base64
import hashlib
import socket
import urllib.parse
from contextlib import nullcontext
from typing import Any

from ..errors import ConfigError
from .nsenter import InNamespace, entered
from .s3gateway import S3Endpoint

CONNECT_TIMEOUT_S = 2.0
READ_TIMEOUT_S = 30.0


def add_content_md5(params: dict, **_: Any) -> None:
    """botocore event hook: set Content-MD5 of the request body (DeleteObjects)."""
    body = params.get("body") or b""
    if isinstance(body, str):
        body = body.encode()
    params["headers"]["Content-MD5"] = base64.b64encode(hashlib.md5(body).digest()).decode()


def check_endpoint(endpoint: S3Endpoint, timeout: float = CONNECT_TIMEOUT_S) -> None:
    """ConfigError unless a TCP connection to the endpoint succeeds from its namespace."""
    url = urllib.parse.urlsplit(endpoint.url)
    if url.scheme not in ("http", "https") or not url.hostname:
        raise ConfigError(f"S3 endpoint {endpoint.url!r} must be an http:// or https:// URL")
    port = url.port or (443 if url.scheme == "https" else 80)
    try:
        with entered(endpoint.netns) if endpoint.netns else nullcontext():
            with socket.create_connection((url.hostname, port), timeout=timeout):
                return
    except OSError as exc:
        where = f" from {endpoint.netns}" if endpoint.netns else ""
        raise ConfigError(f"S3 endpoint {endpoint.url} is unreachable{where}: {exc.strerror or exc}; "
                          f"is the gateway running (S3Gateway.dead() names stopped servers)?") from None


def make_client(endpoint: S3Endpoint, *, retries: int = 0, connect_timeout: float = CONNECT_TIMEOUT_S,
                read_timeout: float = READ_TIMEOUT_S) -> Any:
    """A boto3 S3 client for `endpoint`.

    With `endpoint.netns` set, the result wraps the client so every call runs in that network
    namespace (see nsenter.py); `.wrapped` is the bare client. `retries=0` by default: the
    history clients and the tests must see each failure, not botocore's retries hiding it.
    """
    if not endpoint.url.startswith(("http://", "https://")):
        raise ConfigError(f"S3 endpoint {endpoint.url!r} must be an http:// or https:// URL")
    if retries < 0:
        raise ConfigError(f"retries must be >= 0, got {retries}")
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
    client = boto3.session.Session().client(
        "s3", endpoint_url=endpoint.url, aws_access_key_id=endpoint.access_key,
        aws_secret_access_key=endpoint.secret_key, region_name=endpoint.region, config=config,
    )
    client.meta.events.register("before-call.s3.DeleteObjects", add_content_md5)
    return InNamespace(client, endpoint.netns) if endpoint.netns else client
