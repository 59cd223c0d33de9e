"""A FlatGeobuf without a spatial index whose header counts fewer features than it holds.

GDAL reads as many features as the header counts: 10 parcels under a header saying 5 gave
``qzgeo analyze`` 5 parcels and "0 dropped". Such a file is now refused (exit 2) with both
numbers. The files are patched here by hand (the count is the only 64-bit 10 in the header),
and the oracle counts are those written, not qzgeo's.
"""

from __future__ import annotations

import struct
from pathlib import Path

import geopandas as gpd
import pyogrio
import pytest
import shapely
from click.testing import CliRunner

from qzgeo._errors import InputError
from qzgeo.cli.main import cli
from qzgeo.io.fgb_count import arrow_safe
from qzgeo.io.vector import read_layer, read_layer_features

N = 10


def _fgb(path: Path, *, count: int | None = None, index: bool = False) -> Path:
    """N squares on the bundled pack's land (GK zone 36, with prefix); the header's feature
    count set to ``count`` afterwards."""
    g = gpd.GeoDataFrame(
        {"地块编号": [f"QZ-{i}" for i in range(N)]},
        geometry=[shapely.box(36_564_000 + 300 * i, 2_399_000, 36_564_100 + 300 * i, 2_399_100)
                  for i in range(N)],
        crs="EPSG:4524",
    )  # fmt: skip
    pyogrio.write_dataframe(g, path, SPATIAL_INDEX="YES" if index else "NO")
    if count is not None:
        data = bytearray(path.read_bytes())
        (size,) = struct.unpack_from("<I", data, 8)
        header = bytes(data[12 : 12 + size])
        at = header.find(struct.pack("<Q", N))
        assert at >= 0 and header.count(struct.pack("<Q", N)) == 1
        data[12 + at : 12 + at + 8] = struct.pack("<Q", count)
        path.write_bytes(bytes(data))
        assert pyogrio.read_info(path)["features"] == (count or -1)  # 0: unknown to GDAL
    return path


def test_a_count_too_low_is_refused_with_both_numbers(tmp_path: Path) -> None:
    path = _fgb(tmp_path / "地块.fgb", count=5)
    assert len(pyogrio.read_dataframe(path)) == 5  # what GDAL alone gives: 5 of 10
    for read in (lambda: read_layer(path), lambda: read_layer_features(path, (0, 3))):
        with pytest.raises(InputError, match=r"counts 5 features but it holds 10.*drop 5"):
            read()


@pytest.mark.parametrize("command", ["analyze", "check"])
def test_commands_exit_2_and_write_nothing(tmp_path: Path, command: str) -> None:
    path = _fgb(tmp_path / "地块.fgb", count=5)
    before = path.read_bytes()
    out = tmp_path / "out"
    args = ["analyze", "--parcels", str(path)] if command == "analyze" else ["check", str(path)]
    res = CliRunner().invoke(cli, [*args, "--out", str(out)])
    assert res.exit_code == 2, res.output
    assert str(path) in res.output and "holds 10" in res.output and "Traceback" not in res.output
    assert not out.exists() and path.read_bytes() == before


@pytest.mark.parametrize(("count", "index"), [(None, False), (None, True), (0, False), (15, False)])
def test_other_counts_are_read_whole(tmp_path: Path, count: int | None, index: bool) -> None:
    """Right counts; 0 ("unknown": GDAL reads to the end); too high (GDAL stops at the end)."""
    path = _fgb(tmp_path / "地块.fgb", count=count, index=index)
    gdf = read_layer(path)
    assert sorted(gdf["地块编号"]) == sorted(f"QZ-{i}" for i in range(N))


@pytest.mark.parametrize("keep", [5, 8, 20, 700])
def test_a_header_cut_short_is_exit_2_not_a_traceback(tmp_path: Path, keep: int) -> None:
    """A FlatGeobuf cut inside its header: GDAL opened it with no layer, and pyogrio's
    default layer raised a bare IndexError (a traceback, exit 1)."""
    whole = _fgb(tmp_path / "whole.fgb").read_bytes()
    path = tmp_path / "截断.fgb"
    path.write_bytes(whole[:keep])
    res = CliRunner().invoke(cli, ["analyze", "--parcels", str(path), "--out", str(tmp_path / "o")])
    assert res.exit_code == 2, (res.output, res.exception)
    assert str(path) in res.output and "cut short" in res.output, res.output


@pytest.mark.parametrize(("count", "index"), [(None, True), (None, False), (0, False)])
def test_arrow_safe_agrees_with_gdal_on_the_spatial_index(
    tmp_path: Path, count: int | None, index: bool
) -> None:
    """Read from the header without opening GDAL (it was a ``read_info`` per chunk): the
    answer is GDAL's own ``fast_spatial_filter``, also for a count of 0 (unknown)."""
    path = _fgb(tmp_path / "a.fgb", count=count, index=index)
    assert arrow_safe(path) is pyogrio.read_info(path)["capabilities"]["fast_spatial_filter"]
    assert arrow_safe(tmp_path / "a.gpkg") is True
