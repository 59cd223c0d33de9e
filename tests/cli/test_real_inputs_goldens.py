"""Golden outputs of the small pack (tests/data/minipack), compared byte for byte.

The goldens in tests/data/golden/ are written by tests/data/real_shaped/make_goldens.py with
geopandas.overlay and pyproj.Geod, not by qzgeo (see that script for the one qzgeo-only value).
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import geopandas as gpd
import shapely
from _cli import MINIPACK, qzgeo

GOLDEN = Path(__file__).resolve().parents[1] / "data" / "golden"
X0, Y0 = 36_564_000.0, 2_399_000.0


def _publish(tmp: Path) -> Path:
    out = tmp / "out"
    res = qzgeo("publish", "--pack", MINIPACK, "--out", out, "--no-maps")
    assert res.exit_code == 0, res.output
    return out / "internal"  # analysis tables are internal (issue 10)


def test_zone_summary_csv(tmp_path: Path) -> None:
    # Areas are printed to 0.01 m² (m² 2 decimals, 公顷 6, 亩 5: README). The oracle's m²
    # and qzgeo's differ by ~1e-5 m², so a value on a rounding tie (749922.63 m² is
    # 1124.883945 亩 exactly) may print one unit apart in its last decimal: the layout and
    # text byte for byte, each number to within that unit, with the same decimals.
    got = (_publish(tmp_path) / "zone_summary.csv").read_text("utf-8").splitlines()
    want = (GOLDEN / "minipack_zone_summary.csv").read_text("utf-8").splitlines()
    assert got[0] == want[0] and len(got) == len(want)
    for g_row, w_row in zip(got[1:], want[1:], strict=True):
        for g, w in zip(g_row.split(","), w_row.split(","), strict=True):
            if "." not in w:
                assert g == w
                continue
            places = len(w.split(".")[1])
            assert len(g.split(".")[1]) == places, (g, w)
            assert abs(float(g) - float(w)) <= 1.01 * 10.0**-places, (g, w)


def test_conflicts_table(tmp_path: Path) -> None:
    gdf = gpd.read_file(_publish(tmp_path) / "analysis.gpkg", layer="conflicts")
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["id", "class", "area_m2"])
    w.writerows(sorted((r["id"], r["类别"], f"{r['area_m2']:.2f}") for _, r in gdf.iterrows()))
    assert buf.getvalue() == (GOLDEN / "minipack_conflicts.csv").read_text("utf-8")


def test_site_json(tmp_path: Path) -> None:
    site = tmp_path / "site.gpkg"
    gpd.GeoDataFrame(
        {"名称": ["东片地块"]},
        geometry=[shapely.box(X0 + 1500, Y0, X0 + 2000, Y0 + 1000)],
        crs="EPSG:4524",
    ).to_file(site, engine="pyogrio")
    res = qzgeo("check", site, "--pack", MINIPACK, "--format", "json")
    assert res.exit_code == 1, res.output
    got = res.stdout.replace(f'"source": "{site}"', '"source": "<SITE>"')
    assert got == (GOLDEN / "minipack_site.json").read_text("utf-8")


def test_report_available_ha_to_six_decimals(tmp_path: Path) -> None:
    # 公顷 to 6 decimals (0.01 m²) as every table: report.json said 4 (1 m²). The oracle: the
    # golden zones' available m² (one zone layer: the union is their sum), by hand to 公顷
    import json

    text = (GOLDEN / "minipack_zone_summary.csv").read_text("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(text)))
    want = sum(float(r["可用面积(m²)"]) for r in rows) / 1e4
    rep = json.loads((_publish(tmp_path) / "report.json").read_text(encoding="utf-8"))
    got = rep["summary"]["available_ha"]
    assert abs(got - want) <= 1.01e-6, (got, want)
    assert got == round(got, 6) and rep["summary"]["available_ha_by_layer"] == {"zones": got}


def test_zone_summary_layer_has_each_class_in_three_units(tmp_path: Path) -> None:
    """The class columns were in 公顷 only beside headline columns in m², 公顷 and 亩: the
    GeoPackage layer holds each class as ``<class>_m2``, ``_ha``, ``_mu`` (every digit), the
    classes in name order after the headline columns, equal to the oracle's m² (the golden
    CSV, geopandas.overlay and pyproj.Geod) and to 1 公顷 = 15 亩 = 10 000 m²."""
    gdf = gpd.read_file(_publish(tmp_path) / "analysis.gpkg", layer="zone_summary")
    classes = ["城镇开发边界外", "永久基本农田", "生态保护红线"]  # sorted by name
    want_cols = [f"{c}_{u}" for c in classes for u in ("m2", "ha", "mu")]
    assert list(gdf.columns)[-len(want_cols) - 1 : -1] == want_cols
    text = (GOLDEN / "minipack_zone_summary.csv").read_text("utf-8-sig")
    rows = {int(r["要素编号"]): r for r in csv.DictReader(io.StringIO(text))}
    for _, row in gdf.iterrows():
        oracle = rows[int(row["zone_fid"])]
        for c in classes:
            m2 = float(oracle[f"{c}(m²)"])
            assert abs(row[f"{c}_m2"] - m2) <= 0.01, (c, row[f"{c}_m2"], m2)
            assert abs(row[f"{c}_ha"] - row[f"{c}_m2"] / 10_000) <= 1e-9
            assert abs(row[f"{c}_mu"] - row[f"{c}_m2"] * 15 / 10_000) <= 1e-9
