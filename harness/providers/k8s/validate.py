"""Validating rendered manifests against Kubernetes OpenAPI schemas (kubernetes-validate, offline)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Mapping

SUPPORTED_MINORS = 3  # the current minor version and the two before it


def schema_versions(count: int = SUPPORTED_MINORS) -> list[str]:
    """The newest `count` minor versions whose schemas kubernetes-validate ships (e.g. 1.35..1.37)."""
    from kubernetes_validate import utils as kubernetes_validate
    from packaging.version import Version

    # all_versions() lists each schema folder (plain and -strict), so one version appears twice.
    minors = sorted({kubernetes_validate.major_minor(v) for v in kubernetes_validate.all_versions()}, key=Version)
    return minors[-count:]


@dataclass(frozen=True)
class SchemaProblem:
    """One manifest that failed one version's schema, with where in the document and why."""

    manifest: str
    version: str
    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.manifest} against Kubernetes {self.version}: {self.path}: {self.message}"


def manifest_id(manifest: Mapping) -> str:
    meta = manifest.get("metadata", {})
    return f"{manifest.get('apiVersion')}/{manifest.get('kind')} {meta.get('namespace', '')}/{meta.get('name')}"


def validate_manifests(manifests: Iterable[Mapping], versions: Iterable[str] | None = None,
                       strict: bool = True) -> list[SchemaProblem]:
    """Every problem of every manifest against every version; empty when all validate.

    Strict mode rejects fields the schema does not know, so a misspelt field is an error rather
    than silently ignored by the API server.
    """
    from kubernetes_validate import utils as kubernetes_validate

    problems = []
    for version in list(versions or schema_versions()):
        for manifest in manifests:
            try:
                kubernetes_validate.validate(dict(manifest), version, strict=strict)
            except kubernetes_validate.ValidationError as exc:
                path = "/".join(str(p) for p in exc.absolute_path) or "(root)"
                problems.append(SchemaProblem(manifest_id(manifest), version, path, exc.message))
            except kubernetes_validate.SchemaNotFoundError as exc:
                problems.append(SchemaProblem(manifest_id(manifest), version, "(kind)", exc.message))
    return problems
