"""check_bricks_consistent on disperse volumes (the erasure-coding analogue), with its negative
controls, and on a volume type it cannot judge."""
from __future__ import annotations

import hashlib

import pytest

from harness.checks import check_bricks_consistent
from harness.checks.disperse import EcConfig, read_groups
from harness.faults import attach_volume
from harness.volume import VolumeSpec, VolumeType

DISPERSE_3_1 = VolumeSpec(VolumeType.DISPERSE, disperse_data=2, redundancy=1)
SIZES = {"empty": 0, "small": 100, "odd": 5000, "stripes": 1 << 20, "d/nested": 70_001}


def write_files(mount) -> dict[str, str]:
    """The files of SIZES (distinct bytes each), and their sha256 by path."""
    (mount / "d").mkdir()
    expected = {}
    for n, (name, size) in enumerate(SIZES.items()):
        data = bytes((i * 7 + n) % 251 for i in range(size))
        (mount / name).write_bytes(data)
        expected[name] = hashlib.sha256(data).hexdigest()
    return expected


@pytest.mark.parametrize("size, fragment", [(0, 0), (1, 512), (1024, 512), (1025, 1024), (5000, 2560)])
def test_fragment_size_of_a_disperse_3_redundancy_1_file(size, fragment):
    assert EcConfig.parse("0000080301000200").fragment_size(size) == fragment


@pytest.mark.parametrize("size, redundancy, groups", [
    (3, 1, [(0,), (1,), (2,)]),
    (6, 2, [(0, 1), (1, 2), (2, 3), (3, 4), (4, 5), (5, 0)]),
])
def test_every_brick_is_both_read_and_left_out(size, redundancy, groups):
    assert read_groups(size, redundancy) == groups


def test_disperse_consistency_passes_on_a_healthy_volume(volume_factory, mount_factory):
    volume = volume_factory(DISPERSE_3_1)
    expected = write_files(mount_factory(volume))
    result = check_bricks_consistent(volume, expected_sha256=expected)
    assert result.passed is True, result.explain()
    assert result.evidence["entries_compared"] == len(SIZES)
    # Three fresh mounts, each without one brick, read every file.
    assert result.evidence["reads"] == {f"bricks left out {i}": len(SIZES) for i in range(3)}


def test_disperse_consistency_reports_one_tampered_fragment(volume_factory, mount_factory):
    volume = volume_factory(DISPERSE_3_1)
    expected = write_files(mount_factory(volume))
    brick = volume.bricks[1]
    # Same size, same xattrs: only a read that decodes from this fragment can tell.
    brick.node.run(["sh", "-c", f"printf tampered | dd of={brick.path}/odd bs=1 seek=100 conv=notrunc status=none"])
    result = check_bricks_consistent(volume, expected_sha256=expected)
    assert result.passed is False, result.explain()
    assert result.observed["mismatches"] == [] and result.observed["dirty"] == []
    [problem] = result.observed["read_back"]
    assert problem.startswith(f"odd: expected sha256 {expected['odd'][:12]}…, read "), problem
    assert "without brick 0" in problem and "without brick 2" in problem and "without brick 1" not in problem
    # Without expected checksums the reads disagree with each other.
    unaided = check_bricks_consistent(volume)
    assert unaided.passed is False
    assert [p.partition(":")[0] for p in unaided.observed["read_back"]] == ["odd"], unaided.explain()


def test_disperse_consistency_reports_a_tampered_version_xattr(volume_factory, mount_factory):
    volume = volume_factory(DISPERSE_3_1)
    write_files(mount_factory(volume))
    brick = volume.bricks[2]
    brick.node.run(["setfattr", "-n", "trusted.ec.version", "-v", "0x00000000000000070000000000000001",
                    f"{brick.path}/small"])
    result = check_bricks_consistent(volume)
    assert result.passed is False, result.explain()
    tampered = f"{brick.name}=00000000000000070000000000000001"
    assert any(m.startswith("small: trusted.ec.version differs") and tampered in m
               for m in result.observed["mismatches"]), result.explain()


def test_a_volume_type_without_copies_is_unknown_not_an_error(gluster_cluster):
    node = gluster_cluster.nodes[0]
    name = "plaindist"
    gluster_cluster.gluster.xml("volume", "create", name, f"{node.address}:{node.brick_path(name, 0)}", "force")
    volume = attach_volume(gluster_cluster, name)
    try:
        volume.start()
        result = check_bricks_consistent(volume)
    finally:
        volume.delete()
    assert result.passed is None
    assert result.observed == "cannot judge a Distribute volume"
    assert f"{name} is of type Distribute" in result.evidence["reason"]
