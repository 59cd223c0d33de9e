"""`qzgeo check` and `qzgeo analyze` answer the same, byte for byte, whether the pack is read,
taken from the cache, or read with the cache off (QZGEO_NO_CACHE=1); each run a new process,
as a user runs them."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import geopandas as gpd
import pytest
import shapely
from support import ROOT


def _qzgeo(
    *args: str | Path, cache: Path, no_cache: bool = False
) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "QZGEO_NO_CACHE"}
    env["QZGEO_CACHE_DIR"] = str(cache)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    if no_cache:
        env["QZGEO_NO_CACHE"] = "1"
    code = "from qzgeo.cli.main import cli; cli(prog_name='qzgeo')"
    return subprocess.run(
        [sys.executable, "-c", code, *map(str, args)],
        env=env, capture_output=True, text=True, check=False, timeout=300,
    )  # fmt: skip


def _entries(cache: Path, kind: str) -> dict[str, tuple[int, int]]:
    """Each entry's inode and modification time: a hit marks its entry used (a newer time,
    the same file); a miss would replace it (another inode)."""
    return {p.name: (p.stat().st_ino, p.stat().st_mtime_ns) for p in (cache / kind).glob("*.qzc")}


def _age(cache: Path, kind: str = "packs") -> tuple[str, int, int]:
    """The one entry of ``kind``, made a second older: its name, inode and new time."""
    [(name, (ino, mtime))] = _entries(cache, kind).items()
    os.utime(cache / kind / name, ns=(mtime - 10**9, mtime - 10**9))
    return name, ino, mtime - 10**9


def _was_hit(cache: Path, aged: tuple[str, int, int], kind: str = "packs") -> bool:
    name, ino, mtime = aged
    now = _entries(cache, kind)
    return name in now and now[name][0] == ino and now[name][1] > mtime


@pytest.fixture
def sites(tmp_path: Path) -> Path:
    """Sites in WGS 84: clear, in conflict, partly outside the coverage."""
    path = tmp_path / "sites.geojson"
    gpd.GeoDataFrame(
        {"名称": ["港区", "红树林", "海上"]},
        geometry=[
            shapely.box(108.600, 21.700, 108.605, 21.705),
            shapely.box(108.50, 21.80, 108.56, 21.86),
            shapely.box(108.70, 21.50, 108.80, 21.60),
        ],
        crs="EPSG:4326",
    ).to_file(path)
    return path


def test_check_json_is_the_same_cached_or_not(sites: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    args = ("check", sites, "--format", "json")
    first = _qzgeo(*args, cache=cache)
    assert first.returncode in (0, 1), first.stderr
    aged = _age(cache, "siting")  # the first run saved the pack's siting context
    second = _qzgeo(*args, cache=cache)
    assert _was_hit(cache, aged, "siting")  # ... and the second used it
    off = _qzgeo(*args, cache=tmp_path / "unused", no_cache=True)
    assert not (tmp_path / "unused").exists()
    assert '"verdict"' in first.stdout
    for other in (second, off):
        assert (other.returncode, other.stdout, other.stderr) == (
            first.returncode, first.stdout, first.stderr,
        )  # fmt: skip


def _tree(root: Path) -> dict[str, str]:
    return {
        p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def test_analyze_outputs_are_the_same_cached_or_not(tmp_path: Path) -> None:
    parcels = tmp_path / "parcels.gpkg"
    boxes = [
        shapely.box(108.55 + 0.01 * i, 21.65 + 0.01 * j, 108.558 + 0.01 * i, 21.658 + 0.01 * j)
        for i in range(6)
        for j in range(6)
    ]  # some in conflict, some partly outside the coverage (the sea)
    gpd.GeoDataFrame(
        {"地块编号": [f"P{i}" for i in range(len(boxes))]}, geometry=boxes, crs="EPSG:4490"
    ).to_file(parcels)
    cache = tmp_path / "cache"
    runs = {}
    for label, no_cache in (("first", False), ("cached", False), ("off", True)):
        out = tmp_path / label
        res = _qzgeo("analyze", "--parcels", parcels, "--out", out, cache=cache, no_cache=no_cache)
        assert res.returncode == 0, res.stderr
        runs[label] = _tree(out)
        if label == "first":
            aged = _age(cache)
        if label == "cached":
            assert _was_hit(cache, aged)  # the pack came from the cache
    assert (
        "internal/parcels.gpkg" in runs["first"] and "internal/parcels_report.json" in runs["first"]
    )
    assert runs["cached"] == runs["first"] and runs["off"] == runs["first"]
