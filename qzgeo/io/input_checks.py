"""Checks on what a reader returns: the datum (Xian 1980, Beijing 1954) and the pack extent.

Used by :func:`qzgeo.io.vector.read_layer` (datum) and by every stage that knows the pack
extent (sites, parcels, pack layers): nothing far from the plan gets a confident answer.
"""

from __future__ import annotations

import warnings as _warnings
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import shapely
from pyproj import CRS

from qzgeo._errors import CRSError
from qzgeo.geo.area import ellipsoidal_area
from qzgeo.geo.coverage import (
    DENSIFY_DEG,
    EDGE_TOLERANCE_M2,
    CheckedArea,
    Coverage,
    as_coverage,
    coverage_in,
)
from qzgeo.geo.crs import CRS_FIX, STORAGE_CRS, gk_epsg, gk_zone_of_epsg, old_datum
from qzgeo.geo.edges import densify_rings
from qzgeo.geo.extent import (
    INPUT_CAUSES,
    extent_status,
    format_extent,
    outside_extent_message,
)
from qzgeo.notices import Notices

__all__ = [
    "ASSUME_DATUM_FLAG",
    "check_datum",
    "coverage_notices",
    "enforce_extent",
    "outside_coverage",
    "refuse_wholly_outside",
]

#: The option that accepts an old datum (Xian 1980, Beijing 1954) as if it were CGCS2000.
ASSUME_DATUM_FLAG = "--assume-datum-shift-negligible"


def check_datum(
    gdf: gpd.GeoDataFrame,
    src: str,
    notes: Notices,
    *,
    assumed: bool,
    towgs84: tuple[float, ...] | None,
) -> gpd.GeoDataFrame:
    """Refuse an old datum (Xian 1980, Beijing 1954) unless the user gives the shift.

    ``assumed``: read as if CGCS2000 (errors of tens of metres), with a warning. ``towgs84``:
    the 7 parameters (dx, dy, dz m; rx, ry, rz arc-seconds; ds ppm; PROJ ``+towgs84``,
    position-vector convention) to WGS84, taken as CGCS2000 (they agree to well under a
    metre); the data come back in EPSG:4490, with a note.
    """
    crs = gdf.crs
    old = old_datum(crs)
    name = Path(src).name if "://" not in src else src
    if old is None:
        if towgs84 is not None:
            notes.add(
                f"{name}: --towgs84 ignored: its CRS ({crs.name}) is not on Xian 1980 or "
                "Beijing 1954",
                kind="note",
                source=name,
            )
        if (said := unknown_datum_notice(crs, name)) is not None:
            notes.add(said, source=name)
        return gdf
    if towgs84 is not None:
        return _apply_towgs84(gdf, towgs84, name, old, notes)
    if not assumed:
        msg = (
            f"{src}: its CRS ({crs.name}) is on the {old} datum, tens of metres away from "
            "CGCS2000, and qzgeo has no datum transformation for it. Convert the data to "
            "CGCS2000 with your bureau's 7-parameter transformation first (e.g. ogr2ogr "
            f"-s_srs '+towgs84=...'), give its 7 parameters with --towgs84 DX,DY,DZ,RX,RY,RZ,DS, "
            f"or pass {ASSUME_DATUM_FLAG} to read it as if the datums agreed (positions off by "
            "tens of metres)"
        )
        raise CRSError(msg)
    notes.add(
        f"{name}: CRS {crs.name} is on the {old} datum; read as CGCS2000 without a datum "
        f"shift ({ASSUME_DATUM_FLAG}): positions may be off by tens of metres",
        source=name,
    )
    return gdf


#: Datums read as CGCS2000 without a word: CGCS2000 itself, and WGS 84 and the ITRF frames it
#: is realised in, which agree with it to well under a metre in China.
_KNOWN_DATUM_WORDS = ("china 2000", "china_2000", "cgcs2000", "world geodetic system 1984",
                      "wgs_1984", "wgs 1984", "wgs84", "international terrestrial reference frame",
                      "itrf")  # fmt: skip


def unknown_datum_notice(crs: CRS | None, name: str) -> str | None:
    """What reading ``crs``'s data as CGCS2000 assumes when its datum is none qzgeo knows (an
    ESRI .prj's D_unknown on GRS 1980, EPSG:4019 "Not specified"): the coordinates are taken
    as CGCS2000 with no shift, a guess said rather than made silently. ``None`` for CGCS2000,
    WGS 84 and ITRF, and for a CRS without a datum (said elsewhere)."""
    if crs is None or crs.datum is None or crs.is_bound:  # bound: its +towgs84 shift applies
        return None
    datum = crs.datum.name
    low = datum.lower()
    # "Unknown based on WGS84 ellipsoid" names an ellipsoid, not the datum
    unnamed = low.startswith(("unknown", "not specified", "not_specified", "unspecified", "d_unk"))
    if not unnamed and any(w in low for w in _KNOWN_DATUM_WORDS):
        return None
    ellipsoid = crs.ellipsoid.name if crs.ellipsoid is not None else "an unnamed ellipsoid"
    return (
        f"{name}: its CRS names datum {datum!r} (on {ellipsoid}), not CGCS2000: read as "
        "CGCS2000 with no datum shift, as a CAD or survey export in CGCS2000 with an unnamed "
        "datum should be; if the data are on another datum (a city's local system), convert "
        "them to CGCS2000 with the bureau's parameters first"
    )


def _apply_towgs84(
    gdf: gpd.GeoDataFrame, towgs84: tuple[float, ...], name: str, old: str, notes: Notices
) -> gpd.GeoDataFrame:
    """Move old-datum data to WGS84 with a 7-parameter Helmert, then call it CGCS2000."""
    params = ",".join(f"{v:g}" for v in towgs84)
    with _warnings.catch_warnings():
        _warnings.simplefilter("ignore")  # "you will likely lose important projection information"
        bound = CRS.from_user_input(f"{gdf.crs.to_proj4()} +towgs84={params}")
    moved = gdf.set_crs(bound, allow_override=True).to_crs("EPSG:4326")
    notes.add(
        f"{name}: moved from {gdf.crs.name} ({old}) to CGCS2000 with the 7-parameter "
        f"transformation +towgs84={params} (to WGS84, taken as CGCS2000)",
        kind="note",
        source=name,
    )
    return moved.set_crs(STORAGE_CRS, allow_override=True)


def enforce_extent(
    gdf: gpd.GeoDataFrame,
    extent: CheckedArea | None,
    *,
    source: str,
    per_feature: bool = True,
    scope: str | None = None,
    read_crs: Any = None,
    causes: str = INPUT_CAUSES,
) -> Notices:
    """Refuse data wholly outside the pack ``extent``; a notice for data partly outside.

    With ``per_feature`` (sites, parcels) any feature wholly outside is refused and each
    feature partly outside gets a notice; otherwise (a pack layer) only a layer wholly
    outside is refused, and a layer partly outside gets one notice. No ``extent``: no check.
    ``scope`` says which features ``gdf`` holds when it is part of a layer read in chunks
    (the count of features outside is then the chunk's). ``read_crs``: the CRS the data were
    read in, if ``gdf`` has been moved since (sites): the refusal names the GK zone in which
    they would fit. ``causes``: the likely causes said with a refusal and their fixes (a pack
    layer's are in its catalog, not on the command line).

    ``extent`` may be the pack's :class:`~qzgeo.geo.coverage.Coverage`: what lies wholly
    outside its box is refused all the same, and the notices are about the coverage
    (:func:`coverage_notices`: a feature partly or wholly outside it).

    Raises
    ------
    CRSError
        Naming the source, the extent and the likely causes (wrong pack, CRS or zone).
    """
    area = as_coverage(extent)
    if area is None or gdf.empty or gdf.crs is None:
        return Notices()
    warn = area.is_box or not per_feature
    notes = _enforce_box(
        gdf,
        area.extent,
        source=source,
        per_feature=per_feature,
        scope=scope,
        warn=warn,
        read_crs=read_crs if read_crs is not None else gdf.crs,
        causes=causes,
    )
    if warn:
        return notes
    return coverage_notices(gdf, area, source=source)


def _zone_hint(
    crs: Any, bounds: tuple[float, float, float, float], extent: tuple[float, float, float, float]
) -> str:
    """The CGCS2000 GK zone (without prefix) in which data refused as outside would fit.

    Zones of one family differ only by their central meridian, so data read in the wrong one
    lie whole multiples of its width east or west of where they are: name the shift that puts
    them in ``extent``; one or two zones off, that is likelier than another city at the same
    latitude. A 6-degree zone's data may be 3-degree ones 3° off (the CM 111E of the other
    list picked in ArcGIS). Zone-prefixed CRSs carry the zone in the eastings (checked on
    reading).
    """
    epsg = crs.to_epsg() if crs is not None else None
    width, zone = 0, 0
    for w in (3, 6):
        got = gk_zone_of_epsg(epsg, width=w) if epsg else None
        if got is not None and not got[1]:
            width, zone = w, got[0]
    if not width or not (bounds[1] <= extent[3] and bounds[3] >= extent[1]):
        return ""  # not a GK zone without prefix, or the latitudes miss too
    cm0 = zone * width - (3 if width == 6 else 0)
    # a neighbour zone, then one of the other family (the 6-degree CM 120E picked for the
    # 3-degree CM 117E: 3° off); farther off, the wrong pack is likelier
    for shift in (-width, width, -3, 3, -2 * width, 2 * width):
        w = width if shift % width == 0 else 9 - width
        lon0, lon1 = bounds[0] + shift, bounds[2] + shift
        if lon0 <= extent[2] and lon1 >= extent[0]:
            cm = cm0 + shift
            try:
                code = gk_epsg((cm + (3 if w == 6 else 0)) // w, width=w)
            except ValueError:
                return ""
            return (
                f". In EPSG:{code} (CM {cm}E) they would "
                f"lie at lon {lon0:.4f}..{lon1:.4f}, in the extent: their CRS is probably "
                f"EPSG:{code}, not EPSG:{epsg}"
            )
    return ""


def _enforce_box(
    gdf: gpd.GeoDataFrame,
    extent: tuple[float, float, float, float],
    *,
    source: str,
    per_feature: bool,
    scope: str | None,
    warn: bool = True,
    read_crs: Any = None,
    causes: str = INPUT_CAUSES,
) -> Notices:
    """:func:`enforce_extent` of the box (``warn``: with the notices of what lies partly out)."""
    notes = Notices()
    with _warnings.catch_warnings():
        _warnings.simplefilter("ignore")
        lonlat = gdf.geometry.to_crs(STORAGE_CRS)
    geoms = np.asarray(lonlat.values, dtype=object)
    if per_feature:
        _refuse_stray_vertices(gdf, geoms, source=source)
    out, part = extent_status(geoms, extent)
    if not per_feature:  # the layer as one: wholly outside if every feature is
        present = ~(shapely.is_missing(geoms) | shapely.is_empty(geoms))
        whole = bool(out[present].all()) if present.any() else False
        # a layer of null or empty geometries only has no box (total_bounds raised)
        box = shapely.box(*shapely.total_bounds(geoms[present])) if present.any() else None
        geoms = np.asarray([box], dtype=object)
        out, part = np.array([whole]), np.array([not whole and bool(part.any() or out.any())])
    if out.any():
        i = int(np.flatnonzero(out)[0])
        n = int(out.sum())
        what = (
            "the layer"
            if not per_feature
            else (
                f"feature {gdf.index[i]}"
                + (f" (and {n - 1} more{f' among {scope}' if scope else ''})" if n > 1 else "")
            )
        )
        x0, y0, x1, y1 = (float(v) for v in shapely.bounds(geoms[i]))
        msg = outside_extent_message(source, what, extent, (x0, y0, x1, y1), causes)
        raise CRSError(msg + _zone_hint(read_crs, (x0, y0, x1, y1), extent))
    for i in np.flatnonzero(part).tolist() if warn else []:
        fid: Any = gdf.index[i] if per_feature else None
        what = f"feature {fid}" if per_feature else "the layer"
        notes.add(
            f"{source}: {what} lies partly outside the pack extent {format_extent(extent)}; "
            f"the part outside{_outside_part(geoms[i], extent) if per_feature else ''} is "
            "checked against no plan data",
            source=source,
            feature=fid.item() if hasattr(fid, "item") else fid,
        )
    return notes


def refuse_wholly_outside(
    gdf: gpd.GeoDataFrame,
    extent: tuple[float, float, float, float],
    *,
    source: str,
    scope: str | None = None,
) -> None:
    """The refusal of :func:`enforce_extent` (features wholly outside the box), no notices."""
    if not gdf.empty and gdf.crs is not None:
        _enforce_box(gdf, extent, source=source, per_feature=True, scope=scope, warn=False)


#: Step (degrees, ~10 m) of the points put on the extent's edges before the cut: a parallel
#: bows from the geodesic between them by micrometres (between the two points where a 1 km
#: site crosses it: ~2 cm, 12 m² at 42°N), so the part outside is cut along the parallel, as
#: the analysis cuts it (:func:`qzgeo.analysis.parcel_extent.extent_polygon`).
_EDGE_STEP_DEG = 1e-4


def _extent_box_near(geom: Any, extent: tuple[float, float, float, float]) -> shapely.Polygon:
    """The lon/lat ``extent`` box around ``geom`` (clipped to its bounds), edges densified."""
    x0, y0, x1, y1 = extent
    gx0, gy0, gx1, gy1 = shapely.bounds(geom)
    pad = 2 * _EDGE_STEP_DEG  # the clipped sides lie off the geometry
    box = shapely.box(
        max(x0, gx0 - pad), max(y0, gy0 - pad), min(x1, gx1 + pad), min(y1, gy1 + pad)
    )
    return shapely.segmentize(box, _EDGE_STEP_DEG)


def _outside_part(geom: Any, extent: tuple[float, float, float, float]) -> str:
    """`` (lon a..b, lat c..d; N m², P % of it)``: the part of lon/lat ``geom`` outside."""
    outside = shapely.difference(geom, _extent_box_near(geom, extent))
    if outside.is_empty:
        return ""
    out_m2, all_m2 = ellipsoidal_area([outside, geom])
    x0, y0, x1, y1 = outside.bounds
    share = f"; {out_m2:,.2f} m², {100 * out_m2 / all_m2:.2f} % of it" if all_m2 > 0 else ""
    return f" (lon {x0:.4f}..{x1:.4f}, lat {y0:.4f}..{y1:.4f}{share})"


def outside_coverage(
    gdf: gpd.GeoDataFrame, coverage: Coverage
) -> tuple[np.ndarray, np.ndarray, dict[int, tuple[Any, float, float]]]:
    """Positions of the features of ``gdf`` (any CRS) partly and wholly outside ``coverage``
    (a coverage layer's), and for those partly outside: the part outside (lon/lat), its m²
    and the feature's.

    Tested in ``gdf``'s own CRS against the coverage projected there: a feature moves to
    lon/lat only if it meets the coverage's edge; the part outside is then cut and measured
    in lon/lat, as the box's, and a part under :data:`EDGE_TOLERANCE_M2` is none.
    """
    geoms = np.asarray(gdf.geometry.values, dtype=object)
    wkt = CRS.from_user_input(gdf.crs).to_wkt()
    shape = shapely.from_wkb(shapely.to_wkb(coverage_in(wkt, coverage)))  # ours to prepare
    shapely.prepare(shape)
    near = np.flatnonzero(~(shapely.is_missing(geoms) | shapely.is_empty(geoms)))
    with np.errstate(invalid="ignore"):  # NaN coordinates: left to the repair after this
        near = near[~shapely.contains_properly(shape, geoms[near])]
        meets = shapely.intersects(shape, geoms[near])
    edge = near[meets]
    cuts = {
        int(i): _outside_coverage(g, coverage)
        for i, g in zip(edge.tolist(), _lonlat(gdf, edge), strict=True)
    }
    partly = np.asarray([i for i, c in cuts.items() if c[1] >= EDGE_TOLERANCE_M2], dtype=int)
    return partly, near[~meets], {i: cuts[i] for i in partly.tolist()}


def coverage_notices(gdf: gpd.GeoDataFrame, coverage: Coverage, *, source: str) -> Notices:
    """A notice for each feature of ``gdf`` (sites) partly or wholly outside ``coverage`` (a
    coverage layer's; a box coverage: see :func:`enforce_extent`), by
    :func:`outside_coverage`."""
    notes = Notices()
    if gdf.empty or gdf.crs is None or coverage.is_box:
        return notes
    partly, wholly, cuts = outside_coverage(gdf, coverage)
    hits = np.sort(np.concatenate([partly, wholly])).astype(int)
    for i, g in zip(hits.tolist(), _lonlat(gdf, hits), strict=True):
        piece, out_m2, all_m2 = cuts[i] if i in cuts else (g, *ellipsoidal_area([g, g]))
        x0, y0, x1, y1 = piece.bounds
        where = f"lon {x0:.4f}..{x1:.4f}, lat {y0:.4f}..{y1:.4f}; {out_m2:,.2f} m²"
        text = (
            f"lies partly outside {coverage.describe()}; the part outside ({where}, "
            f"{100 * out_m2 / all_m2:.2f} % of it) is checked against no plan data"
            if i in cuts and all_m2 > 0
            else f"lies wholly outside {coverage.describe()} ({where}): it is checked against "
            "no plan data"
        )
        fid: Any = gdf.index[i]
        fid = fid.item() if hasattr(fid, "item") else fid
        notes.add(f"{source}: feature {fid} {text}", source=source, feature=fid)
    return notes


def _lonlat(gdf: gpd.GeoDataFrame, rows: np.ndarray) -> np.ndarray:
    """The geometries of ``gdf`` at positions ``rows``, in lon/lat."""
    if not len(rows):
        return np.zeros(0, dtype=object)
    with _warnings.catch_warnings():
        _warnings.simplefilter("ignore")
        return np.asarray(gdf.geometry.iloc[rows].to_crs(STORAGE_CRS).values, dtype=object)


def _outside_coverage(geom: Any, coverage: Coverage) -> tuple[Any, float, float]:
    """The part of lon/lat ``geom`` outside ``coverage``, its m² and ``geom``'s m².

    The coverage is clipped to around ``geom`` first, its edges densified as the analysis
    densifies them before projecting (:data:`qzgeo.geo.coverage.DENSIFY_DEG`).
    """
    x0, y0, x1, y1 = shapely.bounds(geom)
    pad = 2 * DENSIFY_DEG
    rect = (x0 - pad, y0 - pad, x1 + pad, y1 + pad)
    near = shapely.clip_by_rect(coverage.lonlat(), *rect)
    if not shapely.is_valid(near):  # the fast clip does not promise valid output
        near = shapely.intersection(coverage.lonlat(), shapely.box(*rect))
    # Ring by ring, as coverage_in: GEOS's segmentize may keep a sliver of a spiky polygon.
    dense = densify_rings(np.array([near], dtype=object), DENSIFY_DEG)[0]
    outside = shapely.difference(geom, dense)
    out_m2, all_m2 = ellipsoidal_area([outside, geom])
    return outside, float(out_m2), float(all_m2)


def _refuse_stray_vertices(gdf: gpd.GeoDataFrame, lonlat: np.ndarray, *, source: str) -> None:
    """Refuse features with a finite vertex that does not transform to lon/lat.

    Typically one stray vertex (a CAD point at the origin in a zone-prefixed CRS): the
    feature would otherwise stretch the analysis over thousands of kilometres.
    """
    with np.errstate(invalid="ignore"):
        src = np.isfinite(shapely.bounds(np.asarray(gdf.geometry.values, dtype=object)))
        bad = src.all(axis=1) & ~np.isfinite(shapely.bounds(lonlat)).all(axis=1)
    if not bad.any():
        return
    i = int(np.flatnonzero(bad)[0])
    xy = shapely.get_coordinates(gdf.geometry.iloc[i])
    k = int(np.argmin(np.isfinite(shapely.get_coordinates(lonlat[i])).all(axis=1)))
    more = f" (and {int(bad.sum()) - 1} more)" if bad.sum() > 1 else ""
    code = gdf.crs.to_epsg()
    msg = (
        f"{source}: feature {gdf.index[i]}{more} has a vertex at ({xy[k, 0]:.3f}, "
        f"{xy[k, 1]:.3f}) that does not transform from {f'EPSG:{code}' if code else gdf.crs.name}"
        f": a stray vertex? Fix or delete it (or {CRS_FIX})"
    )
    raise CRSError(msg)
