"""A GeoPackage in WAL mode in a read-only folder is read without pyogrio's warning on stderr.

GDAL cannot make the ``-shm`` file there and retries with IMMUTABLE=YES, which is right (a
``-wal`` holding changes is refused before); pyogrio printed 'RuntimeWarning: unable to open
database file: this file is a WAL-enabled database... Retrying with IMMUTABLE=YES' and its own
source line twice per command. As root no folder is read-only to permissions, so the folder is
made read-only with a bind mount when the test can make one, and the test is skipped otherwise.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import geopandas as gpd
import pytest
from shapely.geometry import box
from support import ROOT


@pytest.fixture
def read_only_wal_gpkg(tmp_path: Path) -> Iterator[Path]:
    src = tmp_path / "src"
    src.mkdir()
    gpkg = src / "宗地.gpkg"
    gdf = gpd.GeoDataFrame(
        {"name": ["a"]}, geometry=[box(108.6, 21.7, 108.61, 21.71)], crs="EPSG:4490"
    )
    gdf.to_file(gpkg, driver="GPKG")
    con = sqlite3.connect(gpkg)
    assert con.execute("PRAGMA journal_mode=WAL").fetchone() == ("wal",)
    con.close()
    if os.geteuid() != 0:
        src.chmod(0o555)
        yield gpkg
        src.chmod(0o755)
        return
    ro = tmp_path / "ro"
    ro.mkdir()
    mount = subprocess.run(["mount", "--bind", str(src), str(ro)], capture_output=True)
    if mount.returncode:
        pytest.skip("root without mount: no folder can be made read-only")
    try:
        subprocess.run(["mount", "-o", "remount,ro,bind", str(ro)], check=True)
        yield ro / gpkg.name
    finally:
        subprocess.run(["umount", str(ro)], check=True)


def test_no_warning_on_stderr(read_only_wal_gpkg: Path, tmp_path: Path) -> None:
    with pytest.raises(OSError):
        (read_only_wal_gpkg.parent / "probe").touch()
    out = tmp_path / "out.geojson"
    res = subprocess.run(
        [sys.executable, "-m", "qzgeo", "convert", str(read_only_wal_gpkg), str(out)],
        capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(ROOT)}, timeout=120,
    )  # fmt: skip
    assert res.returncode == 0, res.stderr
    assert "Warning" not in res.stderr and "WAL" not in res.stderr, res.stderr
    assert list(gpd.read_file(out)["name"]) == ["a"]
