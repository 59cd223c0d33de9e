"""Write the minipack golden outputs in tests/data/golden/ by an independent computation.

No qzgeo code runs here: the overlay is geopandas.overlay in the pack's planar CRS (EPSG:4545,
the CGCS2000 GK zone of the minipack's extent, which the README says qzgeo picks), every piece
is moved to EPSG:4490 and measured with pyproj.Geod (GRS80). The layout of the files (column
names, order, decimals, JSON keys) is qzgeo's documented output format (README: zone_summary.csv,
`qzgeo check` JSON); values that can only come from qzgeo are marked below.

    python tests/data/real_shaped/make_goldens.py
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import geopandas as gpd
import shapely
from pyproj import Geod

HERE = Path(__file__).resolve().parent
MINI = HERE.parent / "minipack" / "layers" / "mini.gpkg"
OUT = HERE.parent / "golden"
PLANAR = "EPSG:4545"
GEOD = Geod(ellps="GRS80")
X0, Y0 = 36_564_000.0, 2_399_000.0
SITE = shapely.box(X0 + 1500, Y0, X0 + 2000, Y0 + 1000)  # EPSG:4524, 东片地块
MU = 10_000 / 15
DENSIFY_M = 50.0  # README: "after its edges are densified to 50 m in the planar CRS"
CLASSES = {"生态保护红线": "exclusion", "永久基本农田": "exclusion", "城镇开发边界": "boundary"}


def m2(geom_planar: shapely.Geometry) -> float:
    if geom_planar.is_empty:
        return 0.0
    g = gpd.GeoSeries([geom_planar], crs=PLANAR).to_crs("EPSG:4490").iloc[0]
    parts = getattr(g, "geoms", [g])
    return sum(
        abs(GEOD.polygon_area_perimeter(*p.exterior.xy)[0])
        - sum(abs(GEOD.polygon_area_perimeter(*r.xy)[0]) for r in p.interiors)
        for p in parts
        if p.geom_type == "Polygon"
    )


def _layers() -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    zones = gpd.read_file(MINI, layer="zones", fid_as_index=True).to_crs(PLANAR)
    # README (Analysis semantics): zone edges are straight in the planar CRS, densified to
    # 50 m there before the overlay, so the vertices an overlay inserts lie on the measured edge.
    zones = zones.set_geometry(shapely.segmentize(zones.geometry.values, DENSIFY_M))
    cons = gpd.read_file(MINI, layer="control_lines").to_crs("EPSG:4490").to_crs(PLANAR)
    return zones, cons


def _dense(piece: shapely.Geometry) -> shapely.Geometry:
    """README: a piece is measured along its straight planar edges, densified to 50 m (a piece
    keeps the constraint's own edges, as long as they were drawn)."""
    return shapely.segmentize(piece, DENSIFY_M)


def _pieces(geom: shapely.Geometry, cons: gpd.GeoDataFrame) -> dict[str, shapely.Geometry]:
    """Per class: the conflict piece (exclusion: overlap; boundary: the part outside)."""
    one = gpd.GeoDataFrame(geometry=[geom], crs=PLANAR)
    out = {}
    for cls, mode in CLASSES.items():
        inter = gpd.overlay(one, cons[cons["类别"] == cls], how="intersection")
        inside = shapely.union_all(inter.geometry.values) if len(inter) else shapely.Polygon()
        out[cls] = geom.difference(inside) if mode == "boundary" else inside
    return out


def zone_summary() -> str:
    zones, cons = _layers()
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    head = ["图层", "要素编号", "名称"]
    for what in ("分区面积", "可用面积", "受限面积"):
        head += [f"{what}(m²)", f"{what}(公顷)", f"{what}(亩)"]
    head += ["冲突图斑数"]
    for cls in ("城镇开发边界外", "永久基本农田", "生态保护红线"):  # by name, each in 3 units
        head += [f"{cls}(m²)", f"{cls}(公顷)", f"{cls}(亩)"]
    w.writerow(head)
    for fid, row in zones.iterrows():
        pieces = _pieces(row.geometry, cons)
        total = m2(row.geometry)
        constrained = m2(_dense(shapely.union_all(list(pieces.values()))))
        avail = total - constrained
        per = {c: m2(_dense(g)) for c, g in pieces.items()}
        n = sum(1 for v in per.values() if v >= 1.0)  # min_patch_m2 default 1 m²
        vals = []
        for v in (total, avail, constrained):
            # README: m² to 2 decimals, 公顷 to 6, 亩 to 5 (each carries 0.01 m²)
            vals += [f"{v:.2f}", f"{v / 1e4:.6f}", f"{v / MU:.5f}"]
        vals.append(n)
        for c in ("城镇开发边界", "永久基本农田", "生态保护红线"):
            vals += [f"{per[c]:.2f}", f"{per[c] / 1e4:.6f}", f"{per[c] / MU:.5f}"]
        w.writerow(["zones", fid, row["名称"], *vals])
    return "\ufeff" + buf.getvalue()


def conflicts_csv() -> str:
    zones, cons = _layers()
    rows = []
    for fid, row in zones.iterrows():
        for cls, g in _pieces(row.geometry, cons).items():
            a = m2(_dense(g))
            if a >= 1.0:
                name = cls + "外" if CLASSES[cls] == "boundary" else cls
                # The id pattern <zone layer>-<fid>-<constraint layer>-<class>-<n> is qzgeo's
                # documented format (README), not a computed value.
                rows.append((f"zones-{fid}-control_lines-{name}-1", name, f"{a:.2f}"))
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["id", "class", "area_m2"])
    w.writerows(sorted(rows))
    return buf.getvalue()


def site_json() -> str:
    zones, cons = _layers()
    site = gpd.GeoSeries([SITE], crs="EPSG:4524").to_crs(PLANAR).iloc[0]
    lonlat = gpd.GeoSeries([SITE], crs="EPSG:4524").to_crs("EPSG:4490").iloc[0]
    # README: a site drawn in GK keeps its straight edges, as a piece does: both measured
    # along them (densified in the planar CRS, which has the site's central meridian)
    total = m2(_dense(site))
    pieces = _pieces(site, cons)

    def units(v: float) -> dict[str, float]:
        return {"area_m2": round(v, 2), "area_ha": round(v / 1e4, 6), "area_mu": round(v / MU, 5)}

    conflicts = []
    for cls in sorted(CLASSES):  # qzgeo orders classes by (layer, class)
        a = m2(_dense(pieces[cls]))
        if a >= 0.01:
            mode = CLASSES[cls]
            conflicts.append(
                {
                    "layer": "control_lines",
                    "class": cls + "外" if mode == "boundary" else cls,
                    "mode": mode,
                    **units(a),
                    "share": round(a / total, 6),
                }
            )
    outside = m2(_dense(pieces["城镇开发边界"])) / total
    zone_names = [
        r["名称"] for _, r in zones.iterrows() if site.intersection(r.geometry).area >= 0.01
    ]
    c = lonlat.centroid
    d = {
        "site": "东片地块",
        "site_field": "名称",  # the column the label came from
        "source": "<SITE>",  # the path as given: replaced by the test
        "index": 1,  # the GeoPackage feature id (FIDs start at 1)
        **units(total),
        "centroid": [round(c.x, 7), round(c.y, 7)],
        "conflicts": conflicts,
        "development_boundary": {
            "layer": "control_lines",
            "class": "城镇开发边界",
            "inside_share": round(1 - outside, 6),
            "outside_share": round(outside, 6),
        },
        "zones": zone_names,
        "distances": [],  # the minipack lists no [[distances]]
        "verdict": "conflict" if conflicts else "clear",
        "warnings": [],
        "repairs": [],
    }
    return json.dumps([d], ensure_ascii=False, indent=2) + "\n"


def main() -> None:
    OUT.mkdir(exist_ok=True)
    (OUT / "minipack_zone_summary.csv").write_bytes(zone_summary().encode("utf-8"))
    (OUT / "minipack_conflicts.csv").write_bytes(conflicts_csv().encode("utf-8"))
    (OUT / "minipack_site.json").write_bytes(site_json().encode("utf-8"))


if __name__ == "__main__":
    main()
