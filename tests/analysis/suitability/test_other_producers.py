"""DEMs and class rasters as other producers write them, against independent oracles.

North-down rasters, band scale/offset and vertical units, voids with a declared nodata, fill
values with none declared, a study area that does not fall on cell edges, and sea-floor
depths accepted by a declared ``--height-range``. The oracles are plane geometry (a plane of
known slope), shapely and pyproj.Geod; no qzgeo code.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import rasterio
import shapely
from click.testing import CliRunner
from rasterio.transform import Affine

from qzgeo.cli.main import cli

SLOPE = """
title = "坡度"
resolution_m = 100
area = ["{area}"]
zones = ["zones"]
basemap = "none"
[[factors]]
id = "slope"
kind = "slope"
raster = "dem"
breaks = [{lo2}, {lo1}, {hi1}, {hi2}]
grades = [5, 4, 3, 2, 1]
weight = 1
"""


def probe_model(h: object, degrees: float, *, area: str = "study") -> str:
    """Slope graded 3 only within ±0.05° of ``degrees``."""
    text = SLOPE.format(
        area=area, lo2=degrees - 0.3, lo1=degrees - 0.05, hi1=degrees + 0.05, hi2=degrees + 0.3
    )
    return text + h.FIVE_CLASSES  # type: ignore[attr-defined]


def run(pack: Path, out: Path, *args: str) -> tuple[int, str]:
    res = CliRunner().invoke(
        cli, ["suitability", "--pack", str(pack), "--out", str(out), "--no-progress", *args]
    )
    assert "Traceback" not in res.output, res.output
    return res.exit_code, res.output


def plane(h: object, degrees: float, res: float = 20.0) -> tuple[np.ndarray, Affine]:
    """Heights (m) of a plane rising east by ``degrees`` over the study area + 1 km, north-up."""
    n = int((h.SIZE + 2_000) / res)  # type: ignore[attr-defined]
    x = h.X0 - 1_000 + res * (np.arange(n) + 0.5)  # type: ignore[attr-defined]
    z = np.tile(math.tan(math.radians(degrees)) * (x - h.X0), (n, 1)) + 100.0  # type: ignore[attr-defined]
    t = Affine(res, 0, h.X0 - 1_000, 0, -res, h.Y0 + h.SIZE + 1_000)  # type: ignore[attr-defined]
    return z, t


def write(path: Path, z: np.ndarray, t: Affine, **extra: object) -> Path:
    units = extra.pop("units", None)
    scale = extra.pop("scale", None)
    profile = {
        "driver": "GTiff",
        "width": z.shape[1],
        "height": z.shape[0],
        "count": 1,
        "dtype": "float32",
        "crs": "EPSG:4545",
        "transform": t,
        **extra,
    }
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(z.astype(profile["dtype"]), 1)
        if units is not None:
            dst.units = (units,)
        if scale is not None:
            dst.scales = (scale,)
    return path


def slope_grades(out: Path, model: str, h: object, geom: object = None) -> np.ndarray:
    folder = out / "public" / "suitability" / model
    with rasterio.open(folder / "factor_slope.tif") as src:
        grades, t = src.read(1), src.transform
    rows, cols = np.indices(grades.shape)
    x, y = t.c + t.a * (cols + 0.5), t.f + t.e * (rows + 0.5)
    inside = shapely.contains_xy(geom if geom is not None else h.STUDY, x, y)  # type: ignore[attr-defined]
    return grades[inside]


def test_north_down_dem_is_read_not_refused(make_pack, h, tmp_path):
    """A positive y resolution (rows from south to north) is a valid GeoTIFF layout."""
    pack = make_pack({"p": probe_model(h, 10.0)})
    z, t = plane(h, 10.0)
    flipped = Affine(t.a, 0, t.c, 0, -t.e, t.f + t.e * z.shape[0])
    dem = write(tmp_path / "north_down.tif", z[::-1], flipped)
    code, out = run(pack, tmp_path / "out", "--dem", str(dem))
    assert code == 0, out
    assert set(np.unique(slope_grades(tmp_path / "out", "p", h))) == {3}


def test_dem_in_feet_is_converted_and_said(make_pack, h, tmp_path):
    pack = make_pack({"p": probe_model(h, 10.0)})
    z, t = plane(h, 10.0)
    dem = write(tmp_path / "feet.tif", z / 0.3048, t, units="ft")
    code, out = run(pack, tmp_path / "out", "--dem", str(dem))
    assert code == 0, out
    assert set(np.unique(slope_grades(tmp_path / "out", "p", h))) == {3}
    report = json.loads(
        (tmp_path / "out/public/suitability/p/report.json").read_text(encoding="utf-8")
    )
    assert any("feet.tif" in w and "0.3048" in w for w in report["warnings"])


def test_dem_in_an_unknown_unit_is_refused(make_pack, h, tmp_path):
    pack = make_pack({"p": probe_model(h, 10.0)})
    z, t = plane(h, 10.0)
    dem = write(tmp_path / "fathoms.tif", z / 1.8288, t, units="fathom")
    code, out = run(pack, tmp_path / "out", "--dem", str(dem))
    assert code == 2, out
    assert "fathoms.tif" in out and "'fathom'" in out and "metres" in out


@pytest.mark.parametrize(
    ("unit", "per_metre"),
    [
        ("米", 1.0),
        ("公尺", 1.0),
        ("decimetre", 10.0),
        ("分米", 10.0),
        ("cm", 100.0),
        ("英尺", 1 / 0.3048),
    ],
)
def test_dem_in_a_unit_chinese_producers_write_is_converted(
    make_pack, h, tmp_path, unit, per_metre
):
    """A DEM from a Chinese producer declares 米 (or 分米, 厘米); 米 was refused as an unknown
    unit, and a declared decimetre DEM was refused though its unit says how to convert it."""
    pack = make_pack({"p": probe_model(h, 10.0)})
    z, t = plane(h, 10.0)
    dem = write(tmp_path / "dem.tif", z * per_metre, t, units=unit)
    code, out = run(pack, tmp_path / "out", "--dem", str(dem))
    assert code == 0, out
    assert set(np.unique(slope_grades(tmp_path / "out", "p", h))) == {3}  # 10° plane


def test_dem_band_scale_is_applied(make_pack, h, tmp_path):
    """An int16 DEM of decimetres stored with scale 0.1 (a common way to keep 0.1 m)."""
    pack = make_pack({"p": probe_model(h, 10.0)})
    z, t = plane(h, 10.0)
    dem = write(tmp_path / "dm16.tif", np.round(z * 10), t, dtype="int16", scale=0.1)
    code, out = run(pack, tmp_path / "out", "--dem", str(dem))
    assert code == 0, out
    assert set(np.unique(slope_grades(tmp_path / "out", "p", h))) == {3}


@pytest.mark.parametrize("fill", [-32768, -9999])
def test_fill_value_without_nodata_is_refused(make_pack, h, tmp_path, fill):
    pack = make_pack({"p": probe_model(h, 10.0)})
    z, t = plane(h, 10.0)
    z[:, z.shape[1] * 2 // 3 :] = fill  # a void filled, no nodata declared
    dem = write(tmp_path / "filled.tif", z, t, dtype="int16")
    code, out = run(pack, tmp_path / "out", "--dem", str(dem))
    assert code == 2, out
    assert "filled.tif" in out and str(fill) in out and "gdal_edit.py -a_nodata" in out


def test_void_with_declared_nodata_does_not_bias_slope(make_pack, h, tmp_path):
    """SRTM-style voids (-32768): cells next to a void get no slope rather than a wrong one."""
    pack = make_pack({"p": probe_model(h, 10.0)})
    z, t = plane(h, 10.0)
    z[:, 300:] = -32768  # east of X0 + 5 km
    dem = write(tmp_path / "void.tif", z, t, nodata=-32768)
    code, out = run(pack, tmp_path / "out", "--dem", str(dem))
    assert code == 0, out
    graded = slope_grades(tmp_path / "out", "p", h)
    assert set(np.unique(graded)) == {0, 3}  # no value, or the true slope; never another grade
    report = json.loads(
        (tmp_path / "out/public/suitability/p/report.json").read_text(encoding="utf-8")
    )
    assert any("no value" in w for w in report["warnings"])


def test_study_area_total_is_its_ellipsoidal_area(make_pack, h, tmp_path):
    """The study area's rows are exact like the zones' (not centre-of-cell counts)."""
    pack = make_pack({"p": probe_model(h, 10.0, area="zones").replace("= 100", "= 300")})
    z, t = plane(h, 10.0)
    dem = write(tmp_path / "dem.tif", z, t)
    code, out = run(pack, tmp_path / "out", "--dem", str(dem))
    assert code == 0, out
    folder = tmp_path / "out" / "public" / "suitability" / "p"
    table = pd.read_csv(folder / "zones.csv", encoding="utf-8-sig")
    study = table[table["图层"] == "（评价范围）"].set_index("类别")["面积(m²)"]
    expected = sum(h.geod_area_gk(g) for g in (h.ZONE_A, h.ZONE_B, h.TRIANGLE))
    assert study["合计"] == pytest.approx(expected, rel=1e-6)
    assert study.drop("合计").sum() == pytest.approx(expected, rel=1e-6)
    zones = table[(table["图层"] == "zones") & (table["类别"] != "合计")]
    for cls in study.index.drop("合计"):
        assert study[cls] == pytest.approx(
            zones.loc[zones["类别"] == cls, "面积(m²)"].sum(), rel=1e-6, abs=0.05
        )
    report = json.loads((folder / "report.json").read_text(encoding="utf-8"))
    assert report["areas_m2"]["合计"] == pytest.approx(expected, rel=1e-6)


def test_vrt_mosaic_refused_with_the_gdal_translate_fix(make_pack, h, tmp_path):
    """The README's DEM recipe must end in a file qzgeo accepts."""
    pack = make_pack({"p": probe_model(h, 10.0)})
    z, t = plane(h, 10.0)
    tif = write(tmp_path / "tile.tif", z, t)
    vrt = tmp_path / "dem.vrt"
    vrt.write_text(
        f'<VRTDataset rasterXSize="{z.shape[1]}" rasterYSize="{z.shape[0]}"><VRTRasterBand '
        f'dataType="Float32" band="1"><SimpleSource><SourceFilename>{tif}</SourceFilename>'
        "</SimpleSource></VRTRasterBand></VRTDataset>",
        encoding="utf-8",
    )
    code, out = run(pack, tmp_path / "out", "--dem", str(vrt))
    assert code == 2, out
    assert "dem.vrt" in out and "gdal_translate" in out
    readme = (Path(__file__).parents[3] / "README.md").read_text(encoding="utf-8")
    assert "--dem dem.vrt" not in readme


def test_unlisted_land_cover_codes_are_said_with_file_area_and_fix(make_pack, h, tmp_path):
    """A land-cover raster in EPSG:4326 (another CRS and cell size) with a code the model omits."""
    model = """
title = "地类"
resolution_m = 100
area = ["study"]
zones = ["zones"]
basemap = "none"
[[factors]]
id = "lc"
kind = "class"
raster = "landcover"
classes = { "10" = 5, "20" = 3 }
weight = 1
"""
    pack = make_pack({"lc": model + h.FIVE_CLASSES})
    step = 0.0005  # lon/lat cells; the code is 40 east of 108.04°E, 10 west of it
    lon0, lat1 = 107.98, 21.77
    lon = lon0 + step * (np.arange(200) + 0.5)
    codes = np.tile(np.where(lon > 108.04, 40, 10), (200, 1)).astype("uint8")
    lc = tmp_path / "地类 2020.tif"
    t = Affine(step, 0, lon0, 0, -step, lat1)
    write(lc, codes, t, crs="EPSG:4326", dtype="uint8", nodata=255)
    code, out = run(pack, tmp_path / "out", "--raster", f"landcover={lc}")
    assert code == 0, out
    folder = tmp_path / "out" / "public" / "suitability" / "lc"
    report = json.loads((folder / "report.json").read_text(encoding="utf-8"))
    table = pd.read_csv(folder / "zones.csv", encoding="utf-8-sig")
    unassessed = table[(table["图层"] == "（评价范围）") & (table["类别"] == "未评价")]
    ha = float(unassessed["面积(公顷)"].iloc[0])
    assert ha > 0
    said = [w for w in report["warnings"] if "[40]" in w]
    assert len(said) == 1, report["warnings"]
    assert "'lc'" in said[0] and "地类 2020.tif" in said[0] and "suitability/lc.toml" in said[0]
    assert (
        f"{ha:,.2f} 公顷" in said[0] or abs(float(said[0].split(" 公顷")[0].split()[-1]) - ha) < 1
    )


def test_dem_of_one_cell_is_refused(make_pack, h, tmp_path):
    # Before: stretched into a flat surface, the whole study area graded 5, no warning.
    pack = make_pack({"p": probe_model(h, 10.0)})
    t = Affine(20_000, 0, h.X0 - 5_000, 0, -20_000, h.Y0 + 10_000)
    dem = write(tmp_path / "one_cell.tif", np.array([[150.0]]), t)
    code, out = run(pack, tmp_path / "out", "--dem", str(dem))
    assert code == 2, out
    assert "one_cell.tif" in out and "1 x 1 cell(s)" in out and "at least 2 x 2" in out
    assert not (tmp_path / "out" / "public" / "suitability").exists()


def test_dem_far_coarser_than_the_grid_is_said(make_pack, h, tmp_path):
    pack = make_pack({"p": probe_model(h, 10.0)})
    z, t = plane(h, 10.0, res=1_000.0)  # 1 km cells for a 100 m grid
    dem = write(tmp_path / "coarse.tif", z, t)
    code, out = run(pack, tmp_path / "out", "--dem", str(dem))
    assert code == 0, out
    report = json.loads(
        (tmp_path / "out/public/suitability/p/report.json").read_text(encoding="utf-8")
    )
    said = [w for w in report["warnings"] if "coarse.tif" in w and "coarser" in w]
    assert len(said) == 1 and "about 1,000 m, 10x" in said[0], report["warnings"]
    # a DEM at the grid's resolution gets no such note
    fine = write(tmp_path / "fine.tif", *plane(h, 10.0, res=100.0))
    code, out = run(pack, tmp_path / "out2", "--dem", str(fine))
    report = json.loads(
        (tmp_path / "out2/public/suitability/p/report.json").read_text(encoding="utf-8")
    )
    assert code == 0 and not [w for w in report["warnings"] if "coarser" in w]


# --- a bathymetric DEM (sea floor to -8 000 m) accepted by a declared --height-range ---
# Heights below -1 000 m or above 9 000 m are no land's and are refused as fill values by
# default; a port city's 围填海 planning reads sea-floor depths, so the valid range can be
# declared. Oracle: a trench wall of known slope and depth at each cell centre (bilinear
# resampling of a plane is exact).

DEPTH = """
[[factors]]
id = "depth"
kind = "elevation"
raster = "dem"
breaks = [{b}]
grades = [1, 2, 3, 4, 5]
weight = 1
"""
#: A trench wall rising east by 10°: -7 900 m at the study area's west edge, -6 842 m east.
DEGREES, FLOOR = 10.0, -8_000.0
DEPTH_BREAKS = (-7_700.0, -7_400.0, -7_100.0, -6_950.0)


def _model(h: object) -> str:
    slope = SLOPE.format(area="study", lo2=9.7, lo1=9.95, hi1=10.05, hi2=10.3)
    depth = DEPTH.format(b=", ".join(f"{v:g}" for v in DEPTH_BREAKS))
    return slope + depth + h.FIVE_CLASSES  # type: ignore[attr-defined]


def _sea_floor(h: object, tmp_path: object) -> object:
    z, t = plane(h, DEGREES)
    return write(tmp_path / "bathymetry.tif", z + FLOOR, t)  # type: ignore[operator]


def _grades(path: object, h: object) -> tuple[np.ndarray, np.ndarray]:
    """Grades inside the study area and the planar x of their cell centres."""
    with rasterio.open(path) as src:  # type: ignore[arg-type]
        grades, t = src.read(1), src.transform
    rows, cols = np.indices(grades.shape)
    x, y = t.c + t.a * (cols + 0.5), t.f + t.e * (rows + 0.5)
    inside = shapely.contains_xy(h.STUDY, x, y)  # type: ignore[attr-defined]
    return grades[inside], x[inside]


def test_bathymetric_dem_is_refused_by_default_naming_the_option(make_pack, h, tmp_path):
    pack = make_pack({"p": _model(h)})
    dem = _sea_floor(h, tmp_path)
    code, out = run(pack, tmp_path / "out", "--dem", str(dem))
    assert code == 2, out
    assert "bathymetry.tif" in out and "-1000 to 9000 m" in out and "down to -8" in out
    assert "gdal_edit.py -a_nodata" in out  # the fill-value fix is still offered
    assert "--height-range -9000 9000" in out  # and the fix for real depths, which works:
    code, out = run(pack, tmp_path / "out", "--dem", str(dem), "--height-range", "-9000", "9000")
    assert code == 0, out


def test_bathymetric_dem_with_declared_range_grades_depth_and_slope(make_pack, h, tmp_path):
    pack = make_pack({"p": _model(h)})
    dem = _sea_floor(h, tmp_path)
    code, out = run(pack, tmp_path / "out", "--dem", str(dem), "--height-range", "-9000", "100")
    assert code == 0, out
    folder = tmp_path / "out" / "public" / "suitability" / "p"
    slope, _ = _grades(folder / "factor_slope.tif", h)
    assert set(np.unique(slope)) == {3}
    depth, x = _grades(folder / "factor_depth.tif", h)
    want_z = math.tan(math.radians(DEGREES)) * (x - h.X0) + 100.0 + FLOOR
    assert want_z.min() < -7_800  # real sea-floor depths reached the grading
    want = 1 + np.searchsorted(np.asarray(DEPTH_BREAKS), want_z, side="left")
    clear = np.min(np.abs(want_z[:, None] - np.asarray(DEPTH_BREAKS)[None, :]), axis=1) > 0.5
    assert clear.sum() > 0.9 * len(clear)
    np.testing.assert_array_equal(depth[clear], want[clear])
    report = json.loads((folder / "report.json").read_text(encoding="utf-8"))
    assert any("-9000 to 100 m" in w and "--height-range" in w for w in report["warnings"])


def test_fill_value_outside_the_declared_range_is_still_refused(make_pack, h, tmp_path):
    pack = make_pack({"p": _model(h)})
    z, t = plane(h, DEGREES)
    z = z + FLOOR
    z[:, z.shape[1] * 2 // 3 :] = -32768  # a void filled, no nodata declared
    dem = write(tmp_path / "filled.tif", z, t)
    code, out = run(pack, tmp_path / "out", "--dem", str(dem), "--height-range", "-9000", "100")
    assert code == 2, out
    assert "-32768" in out and "-9000 to 100 m" in out and "gdal_edit.py -a_nodata" in out


@pytest.mark.parametrize(
    ("lo", "hi", "says"),
    [
        ("100", "-9000", "below"),
        ("0", "0", "below"),
        ("nan", "100", "finite"),
        ("-9000", "inf", "finite"),
        ("-40000", "100", "-12000"),
        ("-9000", "12000", "9000"),
    ],
)
def test_bad_height_range_is_refused_before_reading(make_pack, h, tmp_path, lo, hi, says):
    pack = make_pack({"p": _model(h)})
    dem = _sea_floor(h, tmp_path)
    code, out = run(pack, tmp_path / "out", "--dem", str(dem), "--height-range", lo, hi)
    assert code == 2, out
    assert "--height-range" in out and says in out
    assert not (tmp_path / "out").exists()  # refused before anything was read or written


def test_height_range_not_a_number_is_a_usage_error(make_pack, h, tmp_path):
    pack = make_pack({"p": _model(h)})
    code, out = run(pack, tmp_path / "out", "--height-range", "deep", "100")
    assert code == 2, out
    assert "--height-range" in out and "deep" in out


@pytest.mark.parametrize(
    ("dem_m", "grid_m", "east_km"),
    [(20.0, 30.0, 7.0), (30.0, 100.0, 3.0), (12.5, 30.0, 3.0)],
    ids=["20m-on-30m", "30m-half-covering", "alos-12.5m-on-30m-half-covering"],
)
def test_dem_finer_than_the_grid_keeps_a_plane_exact(
    make_pack, h, tmp_path, dem_m, grid_m, east_km
):
    """Heights are sampled at the cell centres: GDAL's downsampling kernel (scaled by the
    ratio of the part of the grid the DEM covers) moved a 10° plane by up to 0.5°."""
    model = probe_model(h, 10.0).replace("resolution_m = 100", f"resolution_m = {grid_m:g}")
    z, t = plane(h, 10.0, res=dem_m)
    z = z[:, : int((1_000 + 1_000 * east_km) / dem_m)]  # a DEM ending east_km east of X0
    dem = write(tmp_path / "dem.tif", z, t)
    code, out = run(make_pack({"p": model}), tmp_path / "out", "--dem", str(dem))
    assert code == 0, out
    graded = slope_grades(tmp_path / "out", "p", h)
    assert set(np.unique(graded)) <= {0, 3}  # the true slope, or none past the DEM's edge
    assert (graded == 3).sum() > 0.4 * graded.size


def test_no_unassessed_area_without_a_void(make_pack, h, tmp_path):
    """未评价 is land with no value, not the parts of edge cells whose centre lies outside the
    study area: a distance-only model over a triangle had 未评价 along its whole boundary."""
    model = """
title = "距离"
resolution_m = 300
area = ["zones"]
zones = ["zones"]
basemap = "none"
[[factors]]
id = "near"
kind = "distance"
layers = ["road"]
breaks = [500, 1500, 3000, 4500]
weight = 1
"""
    code, out = run(make_pack({"p": model + h.FIVE_CLASSES}), tmp_path / "out")
    assert code == 0, out
    folder = tmp_path / "out" / "public" / "suitability" / "p"
    table = pd.read_csv(folder / "zones.csv", encoding="utf-8-sig")
    m2 = table.set_index(["名称", "类别"])["面积(m²)"]
    expected = sum(h.geod_area_gk(g) for g in (h.ZONE_A, h.ZONE_B, h.TRIANGLE))
    assert m2[("（评价范围）", "合计")] == pytest.approx(expected, rel=1e-6)
    assert m2[("（评价范围）", "未评价")] == 0
    assert m2[("T", "未评价")] == 0
    assert m2[("T", "合计")] == pytest.approx(h.geod_area_gk(h.TRIANGLE), rel=1e-6)


def test_no_value_warning_agrees_with_the_zone_table(make_pack, h, tmp_path):
    """The warning's 公顷 with no DEM value is near the study area's 未评价 in zones.csv (cells
    counted by centre: within the boundary cells), not the whole of every cell the area
    touches (4.4 % more here)."""
    model = probe_model(h, 10.0).replace("resolution_m = 100", "resolution_m = 90")
    z, t = plane(h, 10.0)
    dem = write(tmp_path / "dem.tif", z[:, : (1_000 + 3_000) // 20], t)  # west of X0 + 3 km
    code, out = run(make_pack({"p": model}), tmp_path / "out", "--dem", str(dem))
    assert code == 0, out
    folder = tmp_path / "out" / "public" / "suitability" / "p"
    table = pd.read_csv(folder / "zones.csv", encoding="utf-8-sig")
    unassessed = table.set_index(["名称", "类别"]).loc[("（评价范围）", "未评价"), "面积(公顷)"]
    report = json.loads((folder / "report.json").read_text(encoding="utf-8"))
    (said,) = [w for w in report["warnings"] if "no value over" in w]
    ha = float(said.split("no value over ")[1].split(" 公顷")[0].replace(",", ""))
    assert ha == pytest.approx(unassessed, rel=0.025)


def test_dem_with_no_value_in_the_study_area_is_refused(make_pack, h, tmp_path):
    """A DEM inside the study area's bounding box but off the area itself (between the zones):
    every cell was 未评价, exit 0; the README promises such a raster is refused."""
    pack = make_pack({"p": probe_model(h, 10.0, area="zones")})
    t = Affine(20.0, 0, h.X0 + 2_600, 0, -20.0, h.Y0 + 1_000)
    dem = write(tmp_path / "beside.tif", np.full((50, 15), 100.0), t)
    code, out = run(pack, tmp_path / "out", "--dem", str(dem))
    assert code == 2, out
    assert "beside.tif" in out and "no value anywhere in the study area" in out
    assert not (tmp_path / "out" / "public" / "suitability" / "p").exists()


@pytest.mark.parametrize(("crs", "said"), [("EPSG:2433", True), ("EPSG:4326", False)])
def test_dem_on_another_ellipsoid_is_said_to_be_placed_by_ballpark(
    make_pack, h, tmp_path, crs, said
):
    """A Beijing 1954 GK DEM reaches CGCS2000 only by PROJ's ballpark (no datum parameters;
    43 m off in northing here), which was silent; WGS 84 (the same ellipsoid) is not said."""
    pack = make_pack({"p": probe_model(h, 10.0)})
    if crs == "EPSG:4326":
        dem = h.geographic_plane(tmp_path / "dem.tif", 10.0)
        with rasterio.open(dem, "r+") as dst:
            dst.crs = crs
    else:
        z, t = plane(h, 10.0)
        dem = write(tmp_path / "dem.tif", z, t, crs=crs)
    code, out = run(pack, tmp_path / "out", "--dem", str(dem))
    assert code == 0, out
    report = json.loads(
        (tmp_path / "out/public/suitability/p/report.json").read_text(encoding="utf-8")
    )
    notes = [w for w in report["warnings"] if "ballpark" in w]
    assert bool(notes) is said, report["warnings"]
    if said:
        assert "Beijing 1954" in notes[0] and "dem.tif" in notes[0]


def test_slope_at_the_grid_edge_uses_the_dem_beyond_it(make_pack, h, tmp_path):
    """A parabolic cylinder z = c·x², whose central differences are exact: the grid's edge
    cells took a one-sided difference though the DEM went on 1 km past the grid."""
    c = 4.8e-5
    edge_x = h.SIZE - 50.0  # the centre of the grid's easternmost column, metres east of X0
    central = math.degrees(math.atan(2 * c * edge_x))
    one_sided = math.degrees(math.atan(c * (2 * edge_x - h.RES)))
    brk = (central + one_sided) / 2
    model = probe_model(h, 10.0).replace(
        "breaks = [9.7, 9.95, 10.05, 10.3]", f"breaks = [3, 8, 15, {brk!r}]"
    )
    assert str(brk) in model
    n = int((h.SIZE + 2_000) / h.RES)
    x = h.X0 - 1_000 + h.RES * (np.arange(n) + 0.5)  # DEM cells on the grid's cell centres
    z = np.tile(c * (x - h.X0) ** 2, (n, 1)) + 10.0
    t = Affine(h.RES, 0, h.X0 - 1_000, 0, -h.RES, h.Y0 + h.SIZE + 1_000)
    dem = write(tmp_path / "dem.tif", z, t)
    code, out = run(make_pack({"p": model}), tmp_path / "out", "--dem", str(dem))
    assert code == 0, out
    with rasterio.open(tmp_path / "out/public/suitability/p/factor_slope.tif") as src:
        grades, tr = src.read(1), src.transform
    rows, cols = np.indices(grades.shape)
    cx, cy = tr.c + tr.a * (cols + 0.5), tr.f + tr.e * (rows + 0.5)
    inside = shapely.contains_xy(h.STUDY, cx, cy)
    slope = np.degrees(np.arctan(2 * c * np.abs(cx - h.X0)))
    expected = np.select([slope <= 3, slope <= 8, slope <= 15, slope <= brk], [5, 4, 3, 2], 1)
    assert (grades[inside] == expected[inside]).all()
