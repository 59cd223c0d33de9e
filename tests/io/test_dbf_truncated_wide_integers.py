"""A truncated .dbf whose shapefile holds a 19-digit 宗地代码 (a DBF ``N(19,0)`` field).

Such a field makes qzgeo open the file with GDAL's ``ADJUST_TYPE`` (so that the codes are
read as 64-bit integers), and GDAL 3.12 then scans the records: on a .dbf shorter than its
header says (a copy cut short) it crashed the process (exit 139, no message) before qzgeo's
own truncation check ran. The same file without that field was refused with exit 2.

Each command runs in a child process, since the failure was a segmentation fault.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import geopandas as gpd
import pytest
import shapely

ROOT = Path(__file__).resolve().parents[2]


def _cut_shapefile(tmp_path: Path, *, wide: bool) -> Path:
    codes = [4507020010010000001, 4507020010010000002, 4507020010010000003]
    data = {"名称": ["甲", "乙", "丙"], **({"ZDDM": codes} if wide else {})}
    boxes = [shapely.box(108.6 + 0.01 * i, 21.7, 108.605 + 0.01 * i, 21.705) for i in range(3)]
    shp = tmp_path / "宗地.shp"
    gpd.GeoDataFrame(data, geometry=boxes, crs=4490).to_file(shp, encoding="UTF-8")
    dbf = shp.with_suffix(".dbf")
    head = dbf.read_bytes()
    # The header, read independently of qzgeo: the records the file must hold.
    n, header_len, record_len = (
        int.from_bytes(head[a:b], "little") for a, b in ((4, 8), (8, 10), (10, 12))
    )
    assert (n, head[32 + 11 : 32 + 12]) == (3, b"C")
    dbf.write_bytes(head[: header_len + 2 * record_len + 5])  # the third record cut short
    return shp


@pytest.mark.parametrize("wide", [True, False])
@pytest.mark.parametrize("command", ["convert", "check"])
def test_truncated_dbf_is_refused_not_crashed(tmp_path: Path, wide: bool, command: str) -> None:
    shp = _cut_shapefile(tmp_path, wide=wide)
    args = [shp, tmp_path / "out.gpkg"] if command == "convert" else [shp]
    env = {**os.environ, "QZGEO_NO_CACHE": "1", "PYTHONPATH": str(ROOT)}
    out = subprocess.run(
        [sys.executable, "-m", "qzgeo", command, *map(str, args)],
        capture_output=True, text=True, timeout=120, cwd=tmp_path, env=env,
    )  # fmt: skip
    text = out.stdout + out.stderr
    assert out.returncode == 2, (out.returncode, text)
    assert "Traceback" not in text
    assert "宗地.dbf is truncated" in text and "copy or export it again" in text, text
