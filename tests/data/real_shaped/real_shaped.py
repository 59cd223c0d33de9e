"""Real-shaped input files for the outsider's tests (issue 9), written at test time.

Nothing here imports qzgeo: the files are written byte by byte (界址点 text, GeoJSON) or with
pyogrio/geopandas plus hand-patched sidecars (.prj, .dbf), in the shapes that land-approval
offices meet: CAD-digitised 界址点 files whose holes wind like their shell, GBK and UTF-16
exports, unit-suffixed 面积, Xian-80 / Beijing-54 data, parcels from another city.

Coordinates near the minipack (tests/data/minipack) are given in EPSG:4524 (CGCS2000 3-degree
GK zone 36 with the zone prefix): ``X0, Y0`` is its south-west corner.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import shapely
from pyproj import Transformer

X0, Y0 = 36_564_000.0, 2_399_000.0  # EPSG:4524 easting (zone-prefixed), northing
GK36 = "EPSG:4524"
Ring = list[tuple[float, float]]  # (easting, northing) or (lon, lat), open (no repeat)

# A real 杭州 parcel location (西湖区, ~120.2E 30.3N) in CGCS2000 GK zone 40.
HZ_LON, HZ_LAT = 120.15, 30.28

ESRI_XIAN80_CM108 = (
    'PROJCS["Xian_1980_3_Degree_GK_CM_108E",GEOGCS["GCS_Xian_1980",DATUM["D_Xian_1980",'
    'SPHEROID["Xian_1980",6378140.0,298.257]],PRIMEM["Greenwich",0.0],'
    'UNIT["Degree",0.0174532925199433]],PROJECTION["Gauss_Kruger"],'
    'PARAMETER["False_Easting",500000.0],PARAMETER["False_Northing",0.0],'
    'PARAMETER["Central_Meridian",108.0],PARAMETER["Scale_Factor",1.0],'
    'PARAMETER["Latitude_Of_Origin",0.0],UNIT["Meter",1.0]]'
)
ESRI_BEIJING54_CM108 = (
    'PROJCS["Beijing_1954_3_Degree_GK_CM_108E",GEOGCS["GCS_Beijing_1954",DATUM["D_Beijing_1954",'
    'SPHEROID["Krasovsky_1940",6378245.0,298.3]],PRIMEM["Greenwich",0.0],'
    'UNIT["Degree",0.0174532925199433]],PROJECTION["Gauss_Kruger"],'
    'PARAMETER["False_Easting",500000.0],PARAMETER["False_Northing",0.0],'
    'PARAMETER["Central_Meridian",108.0],PARAMETER["Scale_Factor",1.0],'
    'PARAMETER["Latitude_Of_Origin",0.0],UNIT["Meter",1.0]]'
)


# --- rings ------------------------------------------------------------------------------------


def signed_area(ring: Sequence[tuple[float, float]]) -> float:
    """Shoelace area of an open ring: > 0 counter-clockwise (x east, y north)."""
    xy = np.asarray(ring, dtype=float)
    x, y = xy[:, 0], xy[:, 1]
    return float(0.5 * (np.dot(x, np.roll(y, -1)) - np.dot(np.roll(x, -1), y)))


def oriented(ring: Sequence[tuple[float, float]], *, ccw: bool) -> Ring:
    """``ring`` (open) wound counter-clockwise (``ccw=True``) or clockwise."""
    out = [(float(x), float(y)) for x, y in ring]
    if (signed_area(out) > 0) != ccw:
        out = out[::-1]
    return out


def rect(x0: float, y0: float, x1: float, y1: float, *, ccw: bool = True) -> Ring:
    """Open rectangle ring (x east, y north)."""
    return oriented([(x0, y0), (x1, y0), (x1, y1), (x0, y1)], ccw=ccw)


def gk_rect(dx0: float, dy0: float, dx1: float, dy1: float, *, ccw: bool = True) -> Ring:
    """Rectangle relative to the minipack corner (X0, Y0), metres in EPSG:4524."""
    return rect(X0 + dx0, Y0 + dy0, X0 + dx1, Y0 + dy1, ccw=ccw)


# --- 界址点 files -------------------------------------------------------------------------------


@dataclass
class JzdParcel:
    """One parcel of a 界址点 file. Rings are (easting, northing), open; ring 0 is the shell.

    ``order`` lists ring indices in the order their rows appear in the file (圈号 stays
    index + 1); ``declared`` is the 面积 field text as written; ``points`` the 点数 text
    (default: the number of vertex rows written).
    """

    rings: list[Ring]
    declared: str = ""
    points: str | None = None
    code: str = "A-1"
    name: str = "地块"
    use: str = "工业用地"
    order: list[int] | None = None
    close_rings: bool = True
    swap: bool = False  # write X = easting, Y = northing (a swapped export)
    extra: dict[str, str] = field(default_factory=dict)


def jzd_text(
    parcels: Sequence[JzdParcel],
    *,
    coord_sys: str = "2000国家大地坐标系",
    width: str = "3",
    zone: str | None = "36",
    extra_meta: Sequence[str] = (),
) -> str:
    """The text of a 界址点坐标 file (X = northing, Y = easting, one point label per vertex)."""
    lines = [
        "[属性描述]",
        "格式版本号=1.01版本",
        "数据产生单位=国土资源部",
        "数据产生日期=2023-05-11",
        f"坐标系={coord_sys}",
        f"几度分带={width}",
        "投影类型=高斯克吕格",
        "计量单位=米",
    ]
    if zone is not None:
        lines.append(f"带号={zone}")
    lines += ["精度=0.001", "转换参数=,,,,,,", *extra_meta, "[地块坐标]"]
    for p in parcels:
        body: list[str] = []
        n = 0
        for k in p.order if p.order is not None else range(len(p.rings)):
            ring = p.rings[k]
            first = n + 1
            pts = [*ring, ring[0]] if p.close_rings else list(ring)
            for j, (e, north) in enumerate(pts):
                closing = p.close_rings and j == len(pts) - 1
                label = first if closing else n + 1
                if not closing:
                    n += 1
                x, y = (e, north) if p.swap else (north, e)
                body.append(f"J{label},{k + 1},{x:.3f},{y:.3f}")
        points = p.points if p.points is not None else str(len(body))
        header = [points, p.declared, p.code, p.name, "面", "", p.use, "", "@"]
        lines.append(",".join(header))
        lines.extend(body)
    return "\r\n".join(lines) + "\r\n"


def write_text(path: Path, text: str, encoding: str) -> Path:
    """Write ``text`` as ``encoding``: 'utf-8', 'utf-8-sig', 'gbk' or 'utf-16le-bom'."""
    if encoding == "utf-16le-bom":
        data = b"\xff\xfe" + text.encode("utf-16-le")
    else:
        data = text.encode(encoding)
    path.write_bytes(data)
    return path


def hole_parcel(*, shell_ccw: bool, hole_ccw: Sequence[bool], order: list[int]) -> JzdParcel:
    """A 300 m × 200 m shell near the minipack with one or two 40 m × 30 m holes."""
    shell = gk_rect(100, 100, 400, 300, ccw=shell_ccw)
    holes = [
        gk_rect(150, 150, 190, 180, ccw=hole_ccw[0]),
        gk_rect(300, 220, 340, 250, ccw=hole_ccw[-1]),
    ][: len(hole_ccw)]
    return JzdParcel(rings=[shell, *holes], order=order, code="KD-001", name="孔洞地块")


# --- GeoJSON / shapefiles ---------------------------------------------------------------------


def geojson_polygons(
    path: Path, polygons: Sequence[Sequence[Ring]], names: Sequence[str] | None = None
) -> Path:
    """Hand-written GeoJSON (lon/lat, rings exactly as given, closed here)."""
    feats = []
    for i, rings in enumerate(polygons):
        coords = [[[x, y] for x, y in [*r, r[0]]] for r in rings]
        props = {"名称": names[i]} if names else {}
        feats.append(
            {
                "type": "Feature",
                "properties": props,
                "geometry": {"type": "Polygon", "coordinates": coords},
            }
        )
    path.write_text(
        json.dumps({"type": "FeatureCollection", "features": feats}, ensure_ascii=False),
        encoding="utf-8",
    )
    return path


def to_lonlat(ring: Sequence[tuple[float, float]], crs: str = GK36) -> Ring:
    t = Transformer.from_crs(crs, "EPSG:4490", always_xy=True)
    xy = np.asarray(ring, dtype=float)
    lon, lat = t.transform(xy[:, 0], xy[:, 1])
    return list(zip(np.asarray(lon).tolist(), np.asarray(lat).tolist(), strict=True))


def from_lonlat(ring: Sequence[tuple[float, float]], crs: str) -> Ring:
    t = Transformer.from_crs("EPSG:4490", crs, always_xy=True)
    xy = np.asarray(ring, dtype=float)
    x, y = t.transform(xy[:, 0], xy[:, 1])
    return list(zip(np.asarray(x).tolist(), np.asarray(y).tolist(), strict=True))


def shapefile_with_prj(path: Path, rings: Sequence[Ring], prj: str, *, crs: str) -> Path:
    """A one-polygon shapefile (UTF-8 .cpg) whose .prj is replaced by ESRI ``prj`` text."""
    gdf = gpd.GeoDataFrame(
        {"名称": ["旧坐标系地块"]}, geometry=[shapely.Polygon(rings[0], rings[1:])], crs=crs
    )
    gdf.to_file(path, engine="pyogrio", encoding="UTF-8")
    path.with_suffix(".prj").write_text(prj, encoding="ascii")
    return path


def shapefile_cut_field_name(path: Path) -> Path:
    """A shapefile whose DBF field name was cut by GDAL inside a UTF-8 character (10 bytes)."""
    gdf = gpd.GeoDataFrame(
        {"NAMEXXXXXX": ["甲地块"]},
        geometry=[shapely.Polygon(gk_rect(400, 100, 900, 900))],
        crs=GK36,
    )
    gdf.to_file(path, engine="pyogrio", encoding="UTF-8")
    dbf = path.with_suffix(".dbf")
    data = bytearray(dbf.read_bytes())
    cut = "地块名称".encode()[:10]  # 地块名 + the first byte of 称
    k = data.index(b"NAMEXXXXXX")
    data[k : k + 10] = cut
    dbf.write_bytes(bytes(data))
    path.with_suffix(".cpg").write_text("UTF-8", encoding="ascii")
    return path


# --- the 杭州 parcel -----------------------------------------------------------------------------


def hangzhou_rings(crs: str) -> list[Ring]:
    """A 200 m × 150 m parcel at 杭州 (120.15E, 30.28N), in ``crs`` (e.g. EPSG:4528/4549)."""
    t = Transformer.from_crs("EPSG:4490", crs, always_xy=True)
    e, n = t.transform(HZ_LON, HZ_LAT)
    return [rect(e, n, e + 200, n + 150)]


# --- packs ------------------------------------------------------------------------------------


def edit_catalog(
    pack: Path, *, pack_lines: str = "", replace: dict[str, str] | None = None
) -> Path:
    """Add ``pack_lines`` to [pack] of ``pack``/layers/catalog.toml and apply text replacements."""
    cat = pack / "layers" / "catalog.toml"
    text = cat.read_text(encoding="utf-8")
    if pack_lines:
        text = text.replace("[pack]\n", f"[pack]\n{pack_lines}\n", 1)
    for old, new in (replace or {}).items():
        assert old in text, old
        text = text.replace(old, new, 1)
    cat.write_text(text, encoding="utf-8")
    return cat


def add_layer(pack: Path, entry: str, files: Sequence[Path] = ()) -> None:
    """Append a [[layers]] entry and copy its data files into layers/."""
    cat = pack / "layers" / "catalog.toml"
    cat.write_text(cat.read_text(encoding="utf-8") + "\n" + entry, encoding="utf-8")
    for f in files:
        shutil.copy(f, pack / "layers" / f.name)
