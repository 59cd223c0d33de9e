"""A FlatGeobuf whose header counts more features than it holds (with its spatial index).

GDAL's Arrow reader stops with Arrow's bare "Unexpected I/O failure: reading feature"; qzgeo
printed just that, without the file or a fix. Now: exit 2 naming the file, what is wrong with
it and what to do. The file is made here: pyogrio writes 300 parcels, and the header's
``features_count`` (a little-endian uint64 in the FlatBuffers header) is set to 301.
"""

from __future__ import annotations

import struct
import subprocess
import sys
from pathlib import Path

import geopandas as gpd
import numpy as np
import pyogrio
import pytest
import shapely

from qzgeo._errors import InputError
from qzgeo.io.vector import read_layer


def _counted_one_too_many(path: Path, n: int = 300) -> Path:
    x = 36_500_000 + 50.0 * np.arange(n)
    gdf = gpd.GeoDataFrame(
        {"pid": np.arange(n)}, geometry=shapely.box(x, 2_400_000, x + 40, 2_400_040),
        crs="EPSG:4524",
    )  # fmt: skip
    pyogrio.write_dataframe(gdf, path)
    raw = bytearray(path.read_bytes())
    size = struct.unpack("<I", raw[8:12])[0]
    header = bytes(raw[12 : 12 + size])
    at = header.find(struct.pack("<Q", n))
    assert at >= 0 and header.count(struct.pack("<Q", n)) == 1
    raw[12 + at : 12 + at + 8] = struct.pack("<Q", n + 1)
    path.write_bytes(bytes(raw))
    assert pyogrio.read_info(path)["features"] == n + 1
    return path


def test_read_layer_names_the_file_and_the_fix(tmp_path: Path) -> None:
    path = _counted_one_too_many(tmp_path / "宗地.fgb")
    with pytest.raises(InputError) as err:
        read_layer(path)
    text = str(err.value)
    assert str(path) in text and "does not match its features" in text
    assert "export it again" in text


def test_analyze_exits_2_with_the_message_and_no_traceback(tmp_path: Path) -> None:
    path = _counted_one_too_many(tmp_path / "parcels.fgb")
    done = subprocess.run(
        [sys.executable, "-c", "from qzgeo.cli.main import main; main()", "analyze",
         "--parcels", str(path), "--out", str(tmp_path / "out")],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 2
    assert f"cannot read {path}" in done.stderr and "Traceback" not in done.stderr
