"""A parcel file with a ``fid`` field: QGIS copies a GeoPackage's fid into a Shapefile it
exports, and a merge of two such files repeats it.

Found by out13: GDAL takes a GeoPackage column named ``fid`` (any case) as the feature ids,
so analyze stopped at writing parcels.gpkg ("UNIQUE constraint failed: parcels.fid", or
"FID column 'fid' should be int" for a text fid) and blamed a full disk; a unique integer
fid became the output's feature ids and left the attributes. It is kept as ``fid_input``,
like the other columns named like analyze's own.
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pyogrio
import pytest
from packs import all_output, run_cli
from shapely.geometry import box

X0, Y0 = 36_564_000.0, 2_399_000.0


def _parcels(path: Path, fids: list[object], column: str) -> Path:
    boxes = [box(X0 + 400 * i, Y0 + 100, X0 + 400 * i + 300, Y0 + 400) for i in range(len(fids))]
    gdf = gpd.GeoDataFrame(
        {column: fids, "编号": [f"P{i}" for i in range(len(fids))]},
        geometry=boxes,
        crs="EPSG:4524",
    )
    gdf.to_file(path, encoding="UTF-8")
    return path


@pytest.mark.parametrize("chunked", [False, True], ids=["in-memory", "chunks"])
@pytest.mark.parametrize(
    ("column", "fids"),
    [("fid", [1, 1, 2]), ("FID", ["a", "b", "c"]), ("fid", [5, 3, 9])],
    ids=["repeated", "text", "unique"],
)
def test_a_fid_field_is_kept_as_an_attribute(
    mini: Path, tmp_path: Path, column: str, fids: list[object], chunked: bool
) -> None:
    src = _parcels(tmp_path / "merged.shp", fids, column)
    out = tmp_path / "out"
    extra = ["--chunk-rows", "1"] if chunked else []
    res = run_cli("analyze", "--parcels", src, "--pack", mini, "--out", out, *extra)
    assert res.exit_code == 0, all_output(res)
    [gpkg] = out.rglob("parcels.gpkg")
    got = pyogrio.read_dataframe(gpkg, fid_as_index=True)
    assert list(got[f"{column}_input"]) == fids  # the user's values, in the file's order
    assert list(got["编号"]) == ["P0", "P1", "P2"]
    assert list(got["source_fid"]) == [0, 1, 2]
    assert sorted(got.index) == list(got.index)
    [report] = out.rglob("parcels_report.json")
    assert f"{column}_input" in report.read_text(encoding="utf-8")
