"""`qzgeo convert IN OUT` without --overwrite never replaces a file that appears at OUT while
it writes (another program's export, a second convert run into the same name).

OUT is checked before the (possibly long) read and write, and was then put in place with a
rename, which replaces whatever had appeared there meanwhile. The final step now gives the
finished temporary file OUT's name only if the name is still free (a hard link), all the
Shapefile's files or none; a file that appeared is left byte for byte and the run exits 2
naming it. The file is made to appear by a hook on the writer's first step (its temporary).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import geopandas as gpd
import pytest
import shapely
from _cli import assert_exit2, qzgeo

from qzgeo.io import atomic, shapefile_write

E0, N0 = 39_566_227.0, 3_500_719.0  # 3-degree GK zone 39, with the zone prefix
THEIRS = "另一个程序的文件\n".encode("gbk")


def _parcels(path: Path) -> Path:
    square = shapely.box(E0, N0, E0 + 200, N0 + 200)
    gpd.GeoDataFrame({"名称": ["甲"]}, geometry=[square], crs=4527).to_file(path)
    return path


def _appear_during_write(monkeypatch: pytest.MonkeyPatch, appearing: Path) -> None:
    """Once the writer has made its temporary (OUT was checked free before), ``appearing``
    is written by 'another program'."""

    def hooked(original: Callable[..., Path]) -> Callable[..., Path]:
        def temp_beside(target: Path, **kw: object) -> Path:
            tmp = original(target, **kw)
            if not appearing.exists():
                appearing.write_bytes(THEIRS)
            return tmp

        return temp_beside

    for module in (atomic, shapefile_write):
        monkeypatch.setattr(module, "temp_beside", hooked(module.temp_beside))


@pytest.mark.parametrize(
    ("name", "appears"),
    [
        ("out.gpkg", "out.gpkg"),
        ("out.geojson", "out.geojson"),
        ("out.fgb", "out.fgb"),
        ("o.parquet", "o.parquet"),
        ("界址点.txt", "界址点.txt"),
        ("zones.shp", "zones.shp"),
        ("zones.shp", "zones.dbf"),  # a sidecar alone: none of qzgeo's files is put in place
        ("zones.shp", "zones.qix"),  # an index of other geometries would describe ours
    ],
)
def test_a_file_that_appears_at_out_is_left_and_exit_2(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str, appears: str
) -> None:
    src = _parcels(tmp_path / "in.gpkg")
    theirs = tmp_path / appears
    _appear_during_write(monkeypatch, theirs)
    res = qzgeo("convert", src, tmp_path / name)
    assert_exit2(res, str(theirs), "appeared while it was being written", "--overwrite")
    assert theirs.read_bytes() == THEIRS
    # nothing of qzgeo's left: no other file of OUT, no temporary
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["in.gpkg", appears])


@pytest.mark.parametrize("name", ["out.geojson", "zones.shp", "界址点.txt"])
def test_with_overwrite_the_file_that_appears_is_replaced(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    src = _parcels(tmp_path / "in.gpkg")
    out = tmp_path / name
    _appear_during_write(monkeypatch, out)
    res = qzgeo("convert", src, out, "--overwrite")
    assert res.exit_code == 0, res.output
    assert out.read_bytes() != THEIRS
    if name.endswith(".txt"):
        assert out.read_bytes().decode("gbk").count(",@") == 1
    else:
        assert gpd.read_file(out)["名称"].tolist() == ["甲"]


@pytest.mark.parametrize("name", ["out.geojson", "zones.shp"])
def test_a_free_out_is_written_whole_and_no_temporary_is_left(tmp_path: Path, name: str) -> None:
    src = _parcels(tmp_path / "in.gpkg")
    res = qzgeo("convert", src, tmp_path / name)
    assert res.exit_code == 0, res.output
    assert gpd.read_file(tmp_path / name)["名称"].tolist() == ["甲"]
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".qzgeo-")]
    assert all(p.stat().st_nlink == 1 for p in tmp_path.iterdir())  # the temp's name is gone
