"""boto3 clients for an S3Endpoint, entering the endpoint's network namespace (s3compat makes
them speak to Swift)."""
from __future__ import annotations

import socket
import urllib.parse
from contextlib import nullcontext
from typing import Any

from ..errors import ConfigError
from .nsenter import InNamespace, entered
from .s3compat import CONNECT_TIMEOUT_S, READ_TIMEOUT_S, add_content_md5, boto3_client
from .s3gateway import S3Endpoint

__all__ = ["add_content_md5", "check_endpoint", "make_client"]


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
    client = boto3_client(endpoint.url, endpoint.access_key, endpoint.secret_key, endpoint.region, retries=retries,
                          connect_timeout=connect_timeout, read_timeout=read_timeout)
    return InNamespace(client, endpoint.netns) if endpoint.netns else client
