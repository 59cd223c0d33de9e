"""qzgeo suitability against independent oracles: plane geometry, pyproj.Geod, shapely."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import rasterio
import shapely
from click.testing import CliRunner
from pyproj import Transformer

from qzgeo.cli.main import cli

DISTANCE = """
title = "距离"
resolution_m = 100
area = ["study"]
zones = ["zones"]
basemap = "none"
[[factors]]
id = "near"
kind = "distance"
layers = ["road", "hubs"]
breaks = [150, 420, 777.5, 1500]
grades = [5, 4, 3, 2, 1]
weight = 1
"""


def run(pack: Path, out: Path, *args: str) -> tuple[int, str]:
    res = CliRunner().invoke(
        cli, ["suitability", "--pack", str(pack), "--out", str(out), "--no-progress", *args]
    )
    assert "Traceback" not in res.output, res.output
    return res.exit_code, res.output


def read(path: Path) -> tuple[np.ndarray, rasterio.Affine, dict[str, str]]:
    with rasterio.open(path) as src:
        return src.read(1), src.transform, src.tags()


def centres(t: rasterio.Affine, shape: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    rows, cols = np.indices(shape)
    return t.c + t.a * (cols + 0.5), t.f + t.e * (rows + 0.5)


def cell_areas(t: rasterio.Affine, shape: tuple[int, int], h: object) -> np.ndarray:
    """pyproj.Geod area of every cell's corners (the oracle for ellipsoidal cell areas)."""
    to_ll = Transformer.from_crs(h.GK, "EPSG:4490", always_xy=True)  # type: ignore[attr-defined]
    xs = t.c + t.a * np.arange(shape[1] + 1)
    ys = t.f + t.e * np.arange(shape[0] + 1)
    lon, lat = to_ll.transform(*np.meshgrid(xs, ys))
    out = np.empty(shape)
    for r in range(shape[0]):
        for c in range(shape[1]):
            lo = [lon[r, c], lon[r, c + 1], lon[r + 1, c + 1], lon[r + 1, c]]
            la = [lat[r, c], lat[r, c + 1], lat[r + 1, c + 1], lat[r + 1, c]]
            out[r, c] = abs(h.GEOD.polygon_area_perimeter(lo, la)[0])  # type: ignore[attr-defined]
    return out


def zone_rows(folder: Path) -> pd.DataFrame:
    return pd.read_csv(folder / "zones.csv", encoding="utf-8-sig")


@pytest.mark.parametrize(("degrees", "grade"), [(2.0, 5), (20.0, 2)])
def test_gk_plane_grades_to_one_class_with_geod_areas(make_pack, h, tmp_path, degrees, grade):
    pack = make_pack({"slope": h.SLOPE_ONLY + h.FIVE_CLASSES})
    dem = h.gk_plane(tmp_path / "dem.tif", degrees)
    code, out = run(pack, tmp_path / "out", "--dem", str(dem))
    assert code == 0, out
    folder = tmp_path / "out" / "public" / "suitability" / "slope"
    grades, t, tags = read(folder / "factor_slope.tif")
    inside = shapely.contains_xy(h.STUDY, *centres(t, grades.shape))
    assert set(np.unique(grades[inside])) == {grade}  # every cell of the study area
    assert (grades[~inside] == 0).all()
    assert "≤ 3°" in tags["QZGEO_CLASSES"]
    table = zone_rows(folder)
    for name, geom in (("A", h.ZONE_A), ("B", h.ZONE_B)):
        rows = table[(table["名称"] == name)].set_index("类别")
        expected = h.geod_area_gk(geom)
        assert rows.loc[f"g{grade}", "面积(m²)"] == pytest.approx(expected, rel=1e-7)
        others = [f"g{g}" for g in range(1, 6) if g != grade]
        assert rows.loc[others, "面积(m²)"].sum() == 0
        assert rows.loc[f"g{grade}", "面积(公顷)"] * 15 == pytest.approx(
            rows.loc[f"g{grade}", "面积(亩)"]
        )
    total = table[table["图层"] == "（评价范围）"].set_index("类别")
    assert total.loc[f"g{grade}", "面积(m²)"] == pytest.approx(h.geod_area_gk(h.STUDY), rel=1e-7)


def test_geographic_dem_of_20_degrees(make_pack, h, tmp_path):
    pack = make_pack({"slope": h.SLOPE_ONLY + h.FIVE_CLASSES})
    dem = h.geographic_plane(tmp_path / "dem4490.tif", 20.0)
    code, out = run(pack, tmp_path / "out", "--dem", str(dem))
    assert code == 0, out
    folder = tmp_path / "out" / "public" / "suitability" / "slope"
    grades, t, _ = read(folder / "factor_slope.tif")
    inside = shapely.contains_xy(h.STUDY, *centres(t, grades.shape))
    assert set(np.unique(grades[inside])) == {2}
    rows = zone_rows(folder).set_index(["名称", "类别"])
    assert rows.loc[("B", "g2"), "面积(m²)"] == pytest.approx(h.geod_area_gk(h.ZONE_B), rel=1e-7)


def test_distance_grades_match_shapely(make_pack, h, tmp_path):
    pack = make_pack({"near": DISTANCE + h.FIVE_CLASSES})
    code, out = run(pack, tmp_path / "out")
    assert code == 0, out
    grades, t, _ = read(tmp_path / "out" / "public" / "suitability" / "near" / "factor_near.tif")
    x, y = centres(t, grades.shape)
    target = shapely.union_all([h.ROAD, *h.HUBS])
    d = shapely.distance(shapely.points(x, y), target)
    expected = np.array([5, 4, 3, 2, 1])[np.searchsorted([150, 420, 777.5, 1500], d, "left")]
    inside = shapely.contains_xy(h.STUDY, x, y)
    assert np.array_equal(grades[inside], expected[inside])
    assert (grades[~inside] == 0).all()


def _short_board(h: object, on: bool) -> str:
    board = '[combine]\nshort_board = ["slope"]\n' if on else ""
    return (
        'title = "木桶"\nresolution_m = 100\narea = ["study"]\nzones = ["zones"]\n'
        + 'basemap = "none"\n'
        + board
        + '[[factors]]\nid = "slope"\nkind = "slope"\nraster = "dem"\nweight = 0.1\n'
        + DISTANCE.split("[[factors]]")[1]
        .replace("weight = 1", "weight = 0.9")
        .join(["[[factors]]", ""])
        + h.FIVE_CLASSES  # type: ignore[attr-defined]
    )


def test_short_board_caps_at_the_lowest_grade(make_pack, h, tmp_path):
    pack = make_pack({"board": _short_board(h, True), "mean": _short_board(h, False)})
    dem = h.gk_plane(tmp_path / "dem.tif", 30.0)  # slope grade 1 everywhere
    for name in ("board", "mean"):
        code, out = run(pack, tmp_path / name, "--dem", str(dem), "--model", name)
        assert code == 0, out
    board, _, _ = read(tmp_path / "board/public/suitability/board/result.tif")
    mean, _, _ = read(tmp_path / "mean/public/suitability/mean/result.tif")
    near, _, _ = read(tmp_path / "mean/public/suitability/mean/factor_near.tif")
    inside = near > 0
    assert (board[inside] == 1).all()
    # without the rule: 0.1 * 1 + 0.9 * g  -> classes by breaks 1.5, 2.5, 3.5, 4.5
    score = 0.1 + 0.9 * near[inside]
    expected = np.searchsorted([1.5, 2.5, 3.5, 4.5], score, "right") + 1
    assert np.array_equal(mean[inside], expected)
    assert (mean[inside] == 5).any()


def test_hard_limits_and_internal_output(make_pack, h, tmp_path):
    model = DISTANCE + '[[hard_limits]]\nlayer = "redline"\n' + h.FIVE_CLASSES
    pack = make_pack({"lim": model})
    code, out = run(pack, tmp_path / "out")
    assert code == 0, out
    assert not (tmp_path / "out" / "public").exists()
    folder = tmp_path / "out" / "internal" / "suitability" / "lim"
    assert str(folder.resolve()) in out
    result, t, _ = read(folder / "result.tif")
    grades, _, _ = read(folder / "factor_near.tif")
    x, y = centres(t, result.shape)
    red = shapely.contains_xy(h.REDLINE, x, y)
    assert red.sum() == 100
    assert (result[red] == 1).all()
    assert np.array_equal(result[~red & (grades > 0)], grades[~red & (grades > 0)])
    report = json.loads((folder / "report.json").read_text(encoding="utf-8"))
    assert report["sensitivity"] == "internal"
    assert any("redline" in w for w in report["warnings"])
    assert "（内部）" in (folder / "map.html").read_text(encoding="utf-8")


def test_zone_class_areas_vs_exact_cell_coverage(make_pack, h, tmp_path):
    """Oracle: shapely intersection of each zone with each cell x pyproj.Geod area of the cell."""
    pack = make_pack({"near": DISTANCE + h.FIVE_CLASSES})
    code, out = run(pack, tmp_path / "out")
    assert code == 0, out
    folder = tmp_path / "out" / "public" / "suitability" / "near"
    result, t, _ = read(folder / "result.tif")
    areas = cell_areas(t, result.shape, h)
    rows_, cols_ = np.indices(result.shape)
    cells = shapely.box(
        t.c + t.a * cols_, t.f + t.e * (rows_ + 1), t.c + t.a * (cols_ + 1), t.f + t.e * rows_
    )
    rows = zone_rows(folder).set_index(["名称", "类别"])
    for name, geom in (("A", h.ZONE_A), ("B", h.ZONE_B), ("T", h.TRIANGLE)):
        cover = shapely.area(shapely.intersection(cells, geom)) / (t.a * -t.e)
        for g in range(1, 6):
            expected = (cover * areas)[result == g].sum()
            assert rows.loc[(name, f"g{g}"), "面积(m²)"] == pytest.approx(
                expected, rel=1e-7, abs=0.01
            )
        assessed = sum(rows.loc[(name, f"g{g}"), "面积(m²)"] for g in range(1, 6))
        assert assessed == pytest.approx(h.geod_area_gk(geom), rel=1e-6)
        assert rows.loc[(name, "合计"), "面积(m²)"] == pytest.approx(h.geod_area_gk(geom), rel=1e-6)
        assert rows.loc[(name, "未评价"), "面积(m²)"] == 0


def test_rerun_is_byte_identical(make_pack, h, tmp_path, cache):
    pack = make_pack({"slope": h.SLOPE_ONLY + h.FIVE_CLASSES})
    dem = h.gk_plane(tmp_path / "dem.tif", 20.0)
    folder = tmp_path / "out" / "public" / "suitability" / "slope"
    digests = []
    for _ in range(2):
        code, out = run(pack, tmp_path / "out", "--dem", str(dem))
        assert code == 0, out
        # the second run takes the pack from qzgeo's cache, with the same bytes out
        assert list((cache / "packs").glob("*.qzc")), "the pack was not cached"
        digests.append(
            {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}
        )
    assert digests[0] == digests[1]
    assert set(digests[0]) == {
        "factor_slope.tif",
        "map.html",
        "report.json",
        "result.png",
        "result.tif",
        "zones.csv",
        "zones.csvt",
    }
    with rasterio.open(folder / "result.tif") as src:
        assert src.driver == "GTiff" and src.profile["tiled"] and src.compression.name == "deflate"
        assert src.colormap(1)[2][:3] == (253, 174, 97)
        assert src.tags(ns="IMAGE_STRUCTURE").get("LAYOUT") == "COG"


def test_a_stopped_run_replaces_none_of_the_previous_files(make_pack, h, tmp_path, monkeypatch):
    """Ctrl-C while the map is drawn, after the rasters and the table: the previous run's
    files stay, all of them (the new result.tif beside the old report.json and zones.csv
    would describe two different DEMs), and nothing half-written is left."""
    pack = make_pack({"slope": h.SLOPE_ONLY + h.FIVE_CLASSES})
    out = tmp_path / "out"
    code, text = run(pack, out, "--dem", str(h.gk_plane(tmp_path / "dem1.tif", 20.0)))
    assert code == 0, text
    before = {str(p.relative_to(out)): p.read_bytes() for p in out.rglob("*") if p.is_file()}

    def ctrl_c(*args: object, **kwargs: object) -> None:
        raise KeyboardInterrupt

    import qzgeo.publish.suitability_map as suitability_map

    monkeypatch.setattr(suitability_map, "write_result_map", ctrl_c)
    code, text = run(pack, out, "--dem", str(h.gk_plane(tmp_path / "dem2.tif", 3.0)))
    assert code == 1, text
    after = {str(p.relative_to(out)): p.read_bytes() for p in out.rglob("*") if p.is_file()}
    assert after == before


def test_a_model_that_names_no_basemap_asks_no_tile_host(make_pack, h, tmp_path):
    """Without ``basemap`` the web map had OpenStreetMap's tiles, from a host outside China
    (slow or blocked on phones there), though the model asked for none: now it has none."""
    model = h.SLOPE_ONLY.replace('basemap = "none"\n', "") + h.FIVE_CLASSES
    assert "basemap" not in model
    pack = make_pack({"slope": model})
    code, out = run(pack, tmp_path / "out", "--dem", str(h.gk_plane(tmp_path / "dem.tif", 2.0)))
    assert code == 0, out
    pages = list((tmp_path / "out").rglob("*.html"))
    assert pages
    for page in pages:
        text = page.read_text(encoding="utf-8")
        assert "openstreetmap.org" not in text and "{z}" not in text, page
