"""Kubernetes API clients built from a kubeconfig and a context, with clear errors for bad input.

Every Kubernetes API call of the harness goes through the official `kubernetes` client; this
module is the one place that builds it. Nothing here touches the cluster: it only reads the
kubeconfig, so bad input is reported before anything changes.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ...errors import ConfigError

DEFAULT_KUBECONFIG = Path("~/.kube/config")


@dataclass(frozen=True)
class KubeTarget:
    """Which cluster to talk to: a kubeconfig file and a context in it (None: its current one)."""

    kubeconfig: Path
    context: str | None = None

    def describe(self) -> str:
        return f"{self.kubeconfig} (context {self.context or 'current-context'})"


def resolve_kubeconfig(kubeconfig: str | os.PathLike | None) -> Path:
    """The kubeconfig to use: the argument, else $KUBECONFIG (first entry), else ~/.kube/config.

    Raises ConfigError when the file does not exist, naming where the path came from.
    """
    if kubeconfig:
        path, source = Path(kubeconfig).expanduser(), "--kubeconfig"
    elif os.environ.get("KUBECONFIG"):
        path, source = Path(os.environ["KUBECONFIG"].split(os.pathsep)[0]).expanduser(), "$KUBECONFIG"
    else:
        path, source = DEFAULT_KUBECONFIG.expanduser(), "the default location"
    if not path.is_file():
        raise ConfigError(
            f"kubeconfig {path} (from {source}) does not exist or is not a file; "
            f"pass --kubeconfig PATH (env GLUSTER_KUBECONFIG) pointing at the cluster's kubeconfig"
        )
    return path


def check_context(target: KubeTarget) -> str:
    """Return the context that will be used; ConfigError if it is absent from the kubeconfig.

    Reads the file as YAML itself: the client's own listing insists on a current-context even
    when the user names one.
    """
    import yaml

    try:
        data = yaml.safe_load(target.kubeconfig.read_text())
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"kubeconfig {target.kubeconfig} cannot be read: {exc}; check the file") from None
    if not isinstance(data, dict):
        raise ConfigError(f"kubeconfig {target.kubeconfig} cannot be read: not a mapping; check the file")
    names = [c.get("name") for c in data.get("contexts") or [] if isinstance(c, dict)]
    wanted = target.context or data.get("current-context")
    if not wanted:
        raise ConfigError(
            f"kubeconfig {target.kubeconfig} has no current-context; pass --kube-context NAME "
            f"(contexts: {', '.join(names) or 'none'})"
        )
    if wanted not in names:
        raise ConfigError(
            f"context {wanted!r} is not in kubeconfig {target.kubeconfig}; contexts there: "
            f"{', '.join(names) or 'none'}; pass --kube-context with one of them"
        )
    return wanted


@dataclass
class KubeApi:
    """The API groups the harness uses, sharing one ApiClient (the kubernetes client's objects carry no
    type information, hence Any)."""

    api_client: Any
    core: Any
    apps: Any
    target: KubeTarget

    @classmethod
    def from_api_client(cls, api_client: object, target: KubeTarget) -> "KubeApi":
        from kubernetes import client

        return cls(api_client, client.CoreV1Api(api_client), client.AppsV1Api(api_client), target)

    def close(self) -> None:
        close = getattr(self.api_client, "close", None)
        if close:
            close()


def connect(kubeconfig: str | os.PathLike | None, context: str | None) -> KubeApi:
    """Build the API clients for kubeconfig + context; ConfigError for a missing file or context."""
    from kubernetes import config
    from kubernetes.config.config_exception import ConfigException

    target = KubeTarget(resolve_kubeconfig(kubeconfig), context or None)
    used = check_context(target)
    target = KubeTarget(target.kubeconfig, used)
    try:
        api_client = config.new_client_from_config(config_file=str(target.kubeconfig), context=used,
                                                   persist_config=False)
    except ConfigException as exc:
        raise ConfigError(f"context {used!r} of {target.kubeconfig} is unusable: {exc}") from None
    return KubeApi.from_api_client(api_client, target)
