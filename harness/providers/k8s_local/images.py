"""Gluster images without a registry: the ones `make k8s` builds, or a docker-archive of one's own.

k8s-local imports them on every node; kind loads them into its node containers (`kind load
image-archive`); an existing cluster needs the image in a registry it can pull from.
"""
from __future__ import annotations

import json
import tarfile
from pathlib import Path

from ...errors import ConfigError
from ..k8s.manifests import DEFAULT_GLUSTER_IMAGE
from ...gluster.versions import installed_version
from . import build as k8s_build


def resolve(image: str) -> str:
    """--gluster-image with the default spelled out: the build's image of the installed GlusterFS."""
    return k8s_build.image_tag(installed_version()) if image in ("", DEFAULT_GLUSTER_IMAGE) else image


def local_archive(image: str) -> tuple[str, Path] | None:
    """(tag, docker-archive) when --gluster-image names an image the harness holds: the default or a tag
    of the build (glusterharness/gluster:11.1; `make k8s` builds them), or the path of a docker-archive
    .tar (docker save); None for any other name, which a registry must serve."""
    image = resolve(image)
    if image.startswith(f"{k8s_build.IMAGE_REPO}:"):
        built = k8s_build.require()
        archive = built.image(f"gluster-{image.split(':', 1)[1]}")
        if not archive.exists():
            raise ConfigError(f"--gluster-image {image}: `make k8s` builds no such image (see {built.root}/images)")
        return image, archive
    archive = Path(image)
    if archive.suffix == ".tar" and archive.is_file():
        with tarfile.open(archive) as tar:
            manifest = json.load(tar.extractfile("manifest.json"))  # type: ignore[arg-type]
        return manifest[0]["RepoTags"][0], archive
    return None
