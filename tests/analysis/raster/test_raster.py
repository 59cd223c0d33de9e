"""Rasterize and zonal statistics against hand computation on tiny synthetic rasters."""

from __future__ import annotations

import hashlib
import json
import math
import re
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import rasterio
from rasterio.transform import Affine
from shapely import Point, box

import qzgeo.analysis.raster as qr
from qzgeo._errors import CRSError, GeometryError, InputError
from qzgeo.analysis.raster import rasterize_layer, slope_share, zonal_stats
from qzgeo.geo.area import GEOD, ellipsoidal_area

X0, Y0 = 564_000.0, 2_400_000.0  # EPSG:4545, 64 km east of the central meridian 108E


def write_tif(path: Path, arr: np.ndarray, crs: str, transform: Affine, nodata=None) -> Path:
    with rasterio.open(
        path, "w", driver="GTiff", width=arr.shape[1], height=arr.shape[0], count=1,
        dtype=arr.dtype, crs=crs, transform=transform, nodata=nodata,
    ) as dst:  # fmt: skip
        dst.write(arr, 1)
    return path


@pytest.fixture(params=[False, True], ids=["one-strip", "many-strips"])
def strips(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """Run a test with the default strips and with tiny ones, which must agree."""
    if request.param:
        monkeypatch.setattr(qr, "STRIP_CELLS", 97)
        monkeypatch.setattr(qr, "STRIP_ROWS", 7)


def test_planar_categorical_matches_hand_computation(tmp_path: Path, strips: None) -> None:
    arr = np.zeros((60, 80), dtype="uint8")
    arr[0:50, 0:50] = 1  # 2500 cells of 100 m²
    arr[50:60, 20:80] = 2  # 600 cells
    tif = write_tif(tmp_path / "c.tif", arr, "EPSG:4545", Affine(10, 0, X0, 0, -10, Y0), 0)
    zones = gpd.GeoDataFrame({"n": ["all", "left"]}, crs=4545, index=[7, 3], geometry=[
        box(X0, Y0 - 600, X0 + 800, Y0), box(X0, Y0 - 600, X0 + 250, Y0)])  # fmt: skip
    out = zonal_stats(tif, zones.to_crs(4490), categorical=True)
    assert list(out.index) == [7, 3]
    assert "0_m2" not in out.columns  # nodata is not a class
    # GK scale k ≈ 1 + 5e-5 here, so ground areas are smaller than grid areas by ~1e-4.
    assert out.loc[7, "1_m2"] == pytest.approx(250_000, rel=2e-4)
    assert out.loc[7, "1_m2"] < 250_000
    assert out.loc[7, "2_m2"] == pytest.approx(60_000, rel=2e-4)
    assert out.loc[3, "2_m2"] == pytest.approx(5 * 10 * 100, rel=2e-4)
    assert out.loc[7, "1_ha"] == pytest.approx(25, rel=2e-4)
    assert out.loc[7, "1_mu"] == pytest.approx(375, rel=2e-4)
    assert out.loc[7, "area_m2"] == pytest.approx(out.loc[7, "1_m2"] + out.loc[7, "2_m2"])
    # ...and exactly (to 1e-6) the ellipsoidal area of the class-1 block polygon.
    block = gpd.GeoSeries([box(X0, Y0 - 500, X0 + 500, Y0)], crs=4545).to_crs(4490)
    assert out.loc[7, "1_m2"] == pytest.approx(ellipsoidal_area(block.values)[0], rel=1e-6)


def test_geographic_cells_use_ellipsoidal_area_per_row(tmp_path: Path, strips: None) -> None:
    d, lon0, lat0 = 0.001, 108.6, 22.02
    arr = np.arange(20 * 30, dtype="int16").reshape(20, 30) % 3 + 1
    tif = write_tif(tmp_path / "g.tif", arr, "EPSG:4490", Affine(d, 0, lon0, 0, -d, lat0))
    zone = box(lon0 + 0.0031, lat0 - 0.0172, lon0 + 0.0224, lat0 - 0.0013)
    out = zonal_stats(tif, gpd.GeoDataFrame(geometry=[zone], crs=4490), categorical=True)
    expected = {1: 0.0, 2: 0.0, 3: 0.0}
    for r in range(20):
        for c in range(30):
            x, y = lon0 + (c + 0.5) * d, lat0 - (r + 0.5) * d
            if zone.contains(Point(x, y)):
                cell = box(x - d / 2, y - d / 2, x + d / 2, y + d / 2)
                expected[int(arr[r, c])] += ellipsoidal_area([cell])[0]
    for code, m2 in expected.items():
        assert out.loc[0, f"{code}_m2"] == pytest.approx(m2, rel=1e-6)
    assert out.loc[0, "area_m2"] == pytest.approx(sum(expected.values()), rel=1e-6)


def test_continuous_stats_exclude_nodata_and_handle_empty_zones(tmp_path: Path) -> None:
    arr = np.arange(100, dtype="float32").reshape(10, 10)
    arr[0, 0] = -9999
    arr[0, 1] = np.nan
    tif = write_tif(tmp_path / "dem.tif", arr, "EPSG:4545", Affine(10, 0, X0, 0, -10, Y0), -9999)
    zones = gpd.GeoDataFrame(crs=4545, geometry=[
        box(X0, Y0 - 20, X0 + 30, Y0), box(X0 + 5000, Y0, X0 + 5100, Y0 + 100), None])  # fmt: skip
    out = zonal_stats(tif, zones)
    assert out.loc[0, "count"] == 4  # cells 2, 10, 11, 12
    assert (out.loc[0, "min"], out.loc[0, "mean"], out.loc[0, "max"]) == (2, 8.75, 12)
    assert out.loc[0, "area_m2"] == pytest.approx(400, rel=2e-4)
    assert out.loc[1, "count"] == 0 and math.isnan(out.loc[1, "mean"])
    assert out.loc[2, "count"] == 0 and out.loc[2, "area_m2"] == 0


def square_km(lon: float = 108.61, lat: float = 21.95) -> gpd.GeoDataFrame:
    x, y = gpd.GeoSeries([Point(lon, lat)], crs=4490).to_crs(4545).iloc[0].coords[0]
    sq = box(x + 3.3, y + 7.1, x + 1003.3, y + 1007.1)  # off the 10 m grid on purpose
    return gpd.GeoDataFrame({"类别": ["建设用地"]}, geometry=[sq], crs=4545).to_crs(4490)


def test_rasterize_zonal_round_trip(tmp_path: Path, strips: None) -> None:
    sq = square_km()
    info = rasterize_layer(sq, tmp_path / "sq.tif", class_field="类别")
    assert info.crs == "EPSG:4545" and info.classes == {1: "建设用地"} and info.dtype == "uint8"
    assert info.transform[0] % 10 == 0 and info.transform[3] % 10 == 0  # snapped to the grid
    out = zonal_stats(info.path, sq, categorical=True)
    truth = ellipsoidal_area(sq.geometry.values)[0]
    assert out.loc[0, "建设用地_m2"] == pytest.approx(truth, rel=0.02)
    with rasterio.open(info.path) as src:
        assert json.loads(src.tags()[qr.CLASSES_TAG]) == {"1": "建设用地"}
        assert src.profile["tiled"] and src.profile["compress"] == "deflate"
        assert src.nodata == 0


def test_rasterize_is_deterministic_and_layers_align(tmp_path: Path) -> None:
    sq = square_km()
    a = rasterize_layer(sq, tmp_path / "a.tif", resolution_m=5)
    b = rasterize_layer(sq, tmp_path / "b.tif", resolution_m=5)
    rasterize_layer(sq, tmp_path / "a.tif", resolution_m=5)  # re-run over the same path
    digest = [hashlib.sha256(p.read_bytes()).hexdigest() for p in (a.path, b.path)]
    assert digest[0] == digest[1]
    # Equal digests a second apart could still hide a timestamp; look for one explicitly.
    assert re.search(rb"\d{4}:\d\d:\d\d \d\d:\d\d:\d\d", a.path.read_bytes()) is None
    with rasterio.open(a.path) as src:
        assert "TIFFTAG_DATETIME" not in src.tags()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.tif", "b.tif"]  # no temp files left
    other = rasterize_layer(square_km(108.62, 21.96), tmp_path / "c.tif", resolution_m=5)
    for t in (a.transform, other.transform):
        assert t[0] % 5 == 0 and t[3] % 5 == 0


def test_overlap_priority(tmp_path: Path) -> None:
    g = gpd.GeoDataFrame({"c": ["A", "B"]}, crs=4545, geometry=[
        box(X0, Y0, X0 + 100, Y0 + 100), box(X0 + 50, Y0, X0 + 150, Y0 + 100)])  # fmt: skip
    g = g.iloc[::-1]  # B before A in the rows: the class table decides, not the row order
    default = rasterize_layer(g, tmp_path / "d.tif", class_field="c", crs="EPSG:4545")
    flipped = rasterize_layer(g, tmp_path / "f.tif", class_field="c", priority=["B", "A"])
    with rasterio.open(default.path) as d, rasterio.open(flipped.path) as f:
        assert np.bincount(d.read(1).ravel()).tolist() == [0, 100, 50]  # A (code 1) wins
        assert np.bincount(f.read(1).ravel()).tolist() == [0, 100, 50]  # B (code 1) wins
    assert default.classes == {1: "A", 2: "B"} and flipped.classes == {1: "B", 2: "A"}
    with pytest.raises(InputError, match="missing"):
        rasterize_layer(g, tmp_path / "x.tif", class_field="c", priority=["B"])


def tilted_dem(path: Path, slope_deg: float, *, geographic: bool) -> Path:
    n = 40
    if geographic:  # rises northwards; the height of each row from the true meridian distance
        d, lon0, lat0 = 0.0002, 108.6, 21.9
        lats = lat0 - (np.arange(n) + 0.5) * d
        north = GEOD.inv(np.full(n, lon0), np.full(n, lat0 - n * d), np.full(n, lon0), lats)[2]
        z = np.repeat((north * math.tan(math.radians(slope_deg)))[:, None], n, axis=1)
        return write_tif(path, z.astype("float64"), "EPSG:4490", Affine(d, 0, lon0, 0, -d, lat0))
    # Rises eastwards in grid metres; ground distances are shorter by k ≈ 1 + 5e-5.
    x = (np.arange(n) + 0.5) * 10.0
    z = np.repeat((x * math.tan(math.radians(slope_deg)))[None, :], n, axis=0)
    return write_tif(path, z, "EPSG:4545", Affine(10, 0, X0, 0, -10, Y0))


@pytest.mark.parametrize("geographic", [False, True])
def test_slope_share_of_tilted_plane(tmp_path: Path, geographic: bool, strips: None) -> None:
    dem = tilted_dem(tmp_path / "dem.tif", 30.0, geographic=geographic)
    with rasterio.open(dem) as src:
        zone = box(*src.bounds).buffer(-0.00001 if geographic else -1)
        crs = src.crs.to_wkt()
    zones = gpd.GeoDataFrame(geometry=[zone], crs=crs)
    steep = slope_share(dem, zones, threshold_deg=25)
    assert steep.loc[0, "share"] == 1.0
    assert steep.loc[0, "steep_m2"] == pytest.approx(steep.loc[0, "assessed_m2"])
    assert slope_share(dem, zones, threshold_deg=35).loc[0, "share"] == 0.0
    # The slope is 30° to ~1e-4, so thresholds just either side of it split cleanly.
    assert slope_share(dem, zones, threshold_deg=29.9).loc[0, "share"] == 1.0
    assert slope_share(dem, zones, threshold_deg=30.1).loc[0, "share"] == 0.0


def test_slope_skips_cells_next_to_nodata(tmp_path: Path) -> None:
    z = np.full((10, 10), 5.0)
    z[4, 4] = -9999
    dem = write_tif(tmp_path / "d.tif", z, "EPSG:4545", Affine(10, 0, X0, 0, -10, Y0), -9999)
    zones = gpd.GeoDataFrame(geometry=[box(X0, Y0 - 100, X0 + 100, Y0)], crs=4545)
    out = slope_share(dem, zones)
    assert out.loc[0, "share"] == 0.0
    assert out.loc[0, "assessed_m2"] == pytest.approx(95 * 100, rel=2e-4)  # 100 - 1 - 4 cells


def test_errors(tmp_path: Path) -> None:
    tif = write_tif(
        tmp_path / "f.tif", np.ones((4, 4), "float32"), "EPSG:4545", Affine(10, 0, X0, 0, -10, Y0)
    )
    zones = gpd.GeoDataFrame(geometry=[box(X0, Y0 - 40, X0 + 40, Y0)])
    with pytest.raises(CRSError, match=r"set_crs\('EPSG:4490'\)"):
        zonal_stats(tif, zones)
    with pytest.raises(CRSError, match="set_crs"):
        slope_share(tif, zones)
    with pytest.raises(InputError, match="does not exist"):
        zonal_stats(tmp_path / "missing.tif", zones.set_crs(4545))
    (tmp_path / "junk.tif").write_text("not a raster")
    with pytest.raises(InputError, match="cannot read raster"):
        zonal_stats(tmp_path / "junk.tif", zones.set_crs(4545))
    with pytest.raises(InputError, match="integer raster"):
        zonal_stats(tif, zones.set_crs(4545), categorical=True)
    with pytest.raises(InputError, match="band=2"):
        zonal_stats(tif, zones.set_crs(4545), band=2)
    with pytest.raises(CRSError, match="set_crs"):
        rasterize_layer(zones, tmp_path / "o.tif")
    with pytest.raises(CRSError, match="not planar"):
        rasterize_layer(zones.set_crs(4545), tmp_path / "o.tif", crs="EPSG:4490")
    lines = gpd.GeoDataFrame(geometry=[box(0, 0, 1, 1).exterior], crs=4545)
    with pytest.raises(GeometryError, match="not \\(non-empty\\) polygons"):
        rasterize_layer(lines, tmp_path / "o.tif", crs="EPSG:4545")
    with pytest.raises(InputError, match="not a column"):
        rasterize_layer(zones.set_crs(4545), tmp_path / "o.tif", class_field="nope")
    assert not (tmp_path / "o.tif").exists()


def test_a_data_source_named_tif_is_not_opened(tmp_path: Path) -> None:
    # GDAL picks a driver by content: a .tif holding <GDAL_WMS> XML would fetch tiles.
    wms = tmp_path / "wms.tif"
    wms.write_text(
        '<GDAL_WMS><Service name="TMS"><ServerUrl>http://127.0.0.1:9/${z}/${x}/${y}.png'
        "</ServerUrl></Service><DataWindow><UpperLeftX>-20037508.34</UpperLeftX>"
        "<UpperLeftY>20037508.34</UpperLeftY><LowerRightX>20037508.34</LowerRightX>"
        "<LowerRightY>-20037508.34</LowerRightY><TileLevel>18</TileLevel>"
        "<TileCountX>1</TileCountX><TileCountY>1</TileCountY><YOrigin>top</YOrigin>"
        "</DataWindow><Projection>EPSG:3857</Projection><BandsCount>1</BandsCount>"
        "<DataType>Float32</DataType></GDAL_WMS>",
        encoding="utf-8",
    )
    zones = gpd.GeoDataFrame(geometry=[box(X0, Y0 - 40, X0 + 40, Y0)], crs=4545)
    with pytest.raises(InputError, match="cannot read raster"):
        zonal_stats(wms, zones)
