"""A docker-archive tar of one layer (what `ctr images import` reads), made without a daemon."""
from __future__ import annotations

import hashlib
import io
import json
import tarfile
from pathlib import Path

from ...clientops import sha256_file


def pack_image(layer: Path, tag: str, config: dict, out: Path) -> None:
    """A docker-archive tar (what `ctr images import` reads) of one layer, without a daemon."""
    diff_id = sha256_file(str(layer))
    image_config = json.dumps({
        "architecture": "amd64", "os": "linux",
        "config": {"Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"], **config},
        "rootfs": {"type": "layers", "diff_ids": [f"sha256:{diff_id}"]},
    }, sort_keys=True).encode()
    config_name = f"{hashlib.sha256(image_config).hexdigest()}.json"
    manifest = json.dumps([{"Config": config_name, "RepoTags": [tag], "Layers": [f"{diff_id}/layer.tar"]}]).encode()
    with tarfile.open(out, "w") as tar:
        for name, data in ((config_name, image_config), ("manifest.json", manifest)):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
        tar.add(layer, arcname=f"{diff_id}/layer.tar")
