"""Reading sites and the user's own constraint layers for the siting check."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import pandas as pd
import shapely
from pyproj import CRS

from qzgeo._errors import GeometryError, InputError
from qzgeo.analysis.overlay_plan import POLYGONAL_TYPES, ConstraintClass
from qzgeo.geo.coverage import CheckedArea
from qzgeo.geo.crs import STORAGE_CRS
from qzgeo.geo.edges import drawn_edges
from qzgeo.geo.repair import RepairReport, polygonal_part, repair_layer, valid_polygonal
from qzgeo.geo.reproject import to_crs
from qzgeo.io.csv_wkt import UNPARSED
from qzgeo.io.guard import refuse_virtual
from qzgeo.io.input_checks import enforce_extent
from qzgeo.io.layer_info import layer_form_hint
from qzgeo.io.postgis_uri import is_postgis_uri, parse_postgis_uri
from qzgeo.io.vector import ReadOptions, read_layer
from qzgeo.notices import Notices, notices_of
from qzgeo.pack.class_values import class_texts

__all__ = [
    "clean_sites",
    "merge_user_constraints",
    "read_sites",
    "read_user_constraints",
    "site_extent_notices",
    "site_labels",
    "site_notes",
    "site_origin",
    "split_source",
]

BOUNDARY_HINT = "城镇开发边界"
CLASS_COLUMNS = ("类别", "class", "CLASS", "DLMC")
MODES = ("auto", "exclusion", "boundary")
SOURCE_COL, FID_COL = "_site_source", "_site_fid"
#: The CRS (WKT) each site was read in: sites wholly outside the extent get the GK zone they
#: would fit (:func:`qzgeo.io.input_checks.enforce_extent`), though they are in lon/lat by then.
CRS_COL = "_site_crs"
# Columns naming a site, the first with a value. 宗地代码 (ZDDM in 地籍数据库 exports; also
# 宗地编码, 宗地号) is how GIS staff name parcels; a 名称 someone wrote comes first (项目名称 in a
# 选址 file). A 界址点 file's parcel without a 地块名称 has its 地块编号 (DKBH). Name: KML.
# 文字: the text a DXF drawing writes inside the polygon (a CASS 宗地图's 宗地号).
LABEL_COLUMNS = (
    "名称", "地块名称", "项目名称", "宗地代码", "ZDDM", "zddm", "宗地编码", "宗地号", "地块编号",
    "DKBH", "name", "Name", "NAME", "文字",
)  # fmt: skip


def split_source(arg: str) -> tuple[str, str | None]:
    """Split ``PATH[:LAYER]`` into the path and the layer name.

    An existing path wins, so file names containing ``:`` still work; URIs are kept whole.

    Examples
    --------
    >>> split_source("plan.gpkg:sites")
    ('plan.gpkg', 'sites')
    >>> split_source("sites.geojson")
    ('sites.geojson', None)
    """
    if "://" in arg or Path(arg).exists() or ":" not in arg:
        return arg, None
    path, layer = arg.rsplit(":", 1)
    if not path or not layer:
        return arg, None
    return path, layer


def source_names(path: str) -> tuple[str, str]:
    """``(name, stem)`` of a source for labels: ``("红线.shp", "红线")`` for a file,
    ``("规划.红线", "红线")`` for a PostGIS table (``Path`` would cut its URI at ``/`` and
    ``.``: ``db?table=规划`` for every table of the schema).

    Examples
    --------
    >>> source_names("data/红线.shp")
    ('红线.shp', '红线')
    >>> source_names("postgresql://gis@db/plan?table=规划.红线")
    ('规划.红线', '红线')
    """
    if is_postgis_uri(path):
        src = parse_postgis_uri(path)
        return src.qualified, src.table
    return Path(path).name, Path(path).stem


def _read(
    arg: str, *, crs: str | CRS | None, datum: str | None, options: ReadOptions | None
) -> tuple[gpd.GeoDataFrame, Notices]:
    """Read ``PATH[:LAYER]``; its notices carry ``arg`` as their source."""
    path, layer = split_source(arg)
    if "://" not in path:
        refuse_virtual(arg)
    if "://" not in path and not Path(path).exists():
        msg = f"{path} does not exist; {layer_form_hint(path) or 'check the file name'}"
        raise InputError(msg)
    kw = (options or ReadOptions()).kwargs()
    gdf = read_layer(path, layer=layer, crs=crs, datum=datum, **kw)
    return gdf, notices_of(gdf).with_source(arg)


def read_sites(
    sources: Sequence[str],
    *,
    crs: str | CRS | None = None,
    datum: str | None = None,
    options: ReadOptions | None = None,
) -> tuple[gpd.GeoDataFrame, Notices]:
    """Read site polygons from one or more files (``PATH[:LAYER]``), in CGCS2000 lon/lat.

    Every polygonal feature is a site. Features without geometry or with a non-polygonal one
    are skipped and named in the returned warnings; a source without any polygon is an error.

    Parameters
    ----------
    sources
        GeoJSON, Shapefile, GeoPackage (``PATH:LAYER``), 界址点坐标 .txt or any file
        :func:`qzgeo.io.vector.read_layer` reads.
    crs
        CRS of sources that have none (never guessed).
    datum
        ``"gcj02"`` for AMap-style coordinates.
    options
        Encoding, X/Y order, size cap and datum assumption (:class:`ReadOptions`).

    Returns
    -------
    (GeoDataFrame, Notices)
        The attribute columns of the sources plus ``_site_source`` (the argument),
        ``_site_fid`` (the feature id in its source) and ``_site_crs`` (the WKT of the CRS it
        was read in), in EPSG:4490; the readers' notices,
        with ``source`` the argument and ``feature`` the feature id (pass them to
        :func:`qzgeo.analysis.site_check.check_sites`, which puts each in its site's report).
    """
    if not sources:
        msg = "no site given; pass at least one SITE file"
        raise InputError(msg)
    frames: list[gpd.GeoDataFrame] = []
    notes = Notices()
    for arg in sources:
        gdf, read_notes = _read(arg, crs=crs, datum=datum, options=options)
        notes.extend(read_notes)
        polygonal = _usable_sites(arg, gdf, notes)
        if not polygonal.any():
            geoms = gdf.geometry.values
            missing = shapely.is_missing(geoms) | shapely.is_empty(geoms)
            types = sorted({g.geom_type for g in geoms[~missing]}) or ["no geometry"]
            msg = (
                f"{arg} has no polygon features (found: {', '.join(types)}); "
                "a site must be a polygon"
            )
            said = [m for m in read_notes.messages() if UNPARSED in m][:3]
            said += [m for m in notes.messages() if m.startswith(f"{arg}: ")][:3]
            # an arg typed as the bare file name starts the reader's notes too: once each
            raise InputError("; ".join([msg, *dict.fromkeys(said)]))  # why a WKT gave none
        # the CRS checks of the read built this transformer (~40 ms from WGS 84): reuse it.
        # A site drawn in GK (a 界址点 file, a CAD export) keeps its straight edges: measured
        # between its vertices in lon/lat, a 10 km square at 88.4E was 20.5 m² over the
        # polygon its overlaps (and analyze, and publish) measure.
        part = to_crs(drawn_edges(gdf.loc[polygonal]), STORAGE_CRS)
        part[SOURCE_COL] = arg
        part[FID_COL] = part.index.to_numpy()
        part[CRS_COL] = gdf.crs.to_wkt() if gdf.crs is not None else ""
        frames.append(part)
    out = pd.concat(frames, ignore_index=True)
    return gpd.GeoDataFrame(out, geometry=frames[0].geometry.name, crs=STORAGE_CRS), notes


def _usable_sites(arg: str, gdf: gpd.GeoDataFrame, notes: Notices) -> npt.NDArray[np.bool_]:
    """Which features of ``gdf`` are sites; a note in ``notes`` for each one skipped.

    A NaN or infinite coordinate skips its feature, as analyze drops it: the reprojection and
    the densification of the edges would drop the vertex without a word, and the check would
    be of another polygon (a square with a NaN corner checked as a triangle).
    """
    geoms = gdf.geometry.values
    missing = shapely.is_missing(geoms) | shapely.is_empty(geoms)
    types = shapely.get_type_id(geoms)
    polygonal = np.isin(types, POLYGONAL_TYPES) & ~missing
    for i in np.flatnonzero((types == 7) & ~missing).tolist():
        polygonal[i] = not polygonal_part(geoms[i]).is_empty  # collections with polygons
    xy, at = shapely.get_coordinates(geoms, return_index=True)
    finite = np.ones(len(geoms), dtype=bool)
    finite[at[~np.isfinite(xy).all(axis=1)]] = False  # bounds skip NaN: every vertex
    for i in np.flatnonzero(~polygonal | ~finite).tolist():
        if missing[i]:
            kind = "no geometry"
        elif not polygonal[i]:
            kind = f"a {geoms[i].geom_type}, not a polygon"
        else:
            xy = shapely.get_coordinates(geoms[i])
            k = int(np.argmin(np.isfinite(xy).all(axis=1)))
            kind = (
                f"a NaN or infinite coordinate (vertex {k + 1}: {xy[k, 0]}, {xy[k, 1]}); fix or "
                "delete the vertex"
            )
        notes.add(f"{arg}: feature {gdf.index[i]} has {kind}; skipped", source=arg)
    return np.asarray(polygonal & finite)


def read_user_constraints(
    sources: Sequence[str],
    *,
    class_field: str | None,
    mode: str | None,
    crs: str | CRS | None,
    datum: str | None,
    report: RepairReport,
    options: ReadOptions | None = None,
) -> list[tuple[str, gpd.GeoDataFrame, pd.Series]]:
    """Read the user's constraint layers: (layer name, layer in EPSG:4490, class per feature)."""
    mode = mode or "auto"
    if mode not in MODES:
        msg = f"constraint mode must be one of {', '.join(MODES)}, got {mode!r}"
        raise InputError(msg)
    out = []
    for arg in sources:
        path, layer = split_source(arg)
        named, stem = source_names(path)  # most notices start with the file: not twice
        name = (named if is_postgis_uri(path) else stem) + (f":{layer}" if layer else "")
        gdf, notes = _read(arg, crs=crs, datum=datum, options=options)
        report.warnings.extend(
            m if named in m.split(" ", 1)[0] else f"{arg}: {m}" for m in notes.messages()
        )
        gdf = repair_layer(gdf, layer_id=name, report=report, family="polygon")
        if gdf.empty:
            msg = f"{arg} has no polygon features; a constraint layer must hold polygons"
            raise InputError(msg)
        if class_field is not None and class_field not in gdf.columns:
            cols = ", ".join(c for c in gdf.columns if c != gdf.geometry.name) or "(none)"
            msg = f"{arg} has no column {class_field!r} for --class-field; its columns are: {cols}"
            raise InputError(msg)
        col = class_field or next((c for c in CLASS_COLUMNS if c in gdf.columns), None)
        # A FileGDB's or GeoPackage's layer names its class (三线.gdb:城镇开发边界), not the file
        default = layer or stem
        if col is None:
            classes = pd.Series(default, index=gdf.index, dtype="string")
        else:
            # a REAL code 1.0 is the class "1", as in the pack's layers
            classes = class_texts(gdf[col]).fillna("").astype("string").str.strip()
            blank = (classes == "").to_numpy()
            if blank.any():
                report.warnings.append(_blank_classes(arg, col, gdf.index[blank], default, mode))
            classes = classes.mask(classes == "", default)
        # a red line drawn in GK keeps its edges, whatever zone the overlay runs in
        out.append((name, drawn_edges(gdf).to_crs(STORAGE_CRS), classes))
    return out


def _blank_classes(arg: str, col: str, ids: pd.Index, default: str, mode: str) -> str:
    """The warning for features of a --constraint layer with no class in ``col``."""
    boundary = mode == "boundary" or (mode == "auto" and BOUNDARY_HINT in default)
    first = ", ".join(str(i) for i in ids[:10]) + (", ..." if len(ids) > 10 else "")
    return (
        f"{arg}: {len(ids)} feature(s) have no {col} (feature {first}); they are checked as "
        f"the class {default!r} (its layer or file name), "
        + ("a boundary" if boundary else "an exclusion: a conflict wherever a site meets them")
        + f"; fill in their {col}, or pass --class-field with the column that holds the class"
    )


def merge_user_constraints(
    layers: list[tuple[str, gpd.GeoDataFrame, pd.Series]], *, mode: str | None, planar: CRS
) -> list[ConstraintClass]:
    out = []
    for name, gdf, classes in layers:
        gp = gdf.to_crs(planar)
        for cls in sorted(set(classes)):
            if mode in (None, "auto"):
                cmode = "boundary" if BOUNDARY_HINT in cls else "exclusion"
            else:
                cmode = mode
            geoms = gp.geometry.values[(classes == cls).to_numpy()]
            merged = shapely.union_all([polygonal_part(g) for g in geoms])
            shapely.prepare(merged)
            out.append(ConstraintClass(name, str(cls), cmode, "internal", merged))
    return out


# --- sites as the check sees them ------------------------------------------------------------


def site_origin(sites: gpd.GeoDataFrame) -> tuple[list[str | None], list[Any]]:
    """Source argument and feature id of each site (``None`` and the index without them)."""
    n = len(sites)
    srcs: list[str | None] = (
        [str(v) for v in sites[SOURCE_COL].tolist()] if SOURCE_COL in sites.columns else [None] * n
    )
    fids = sites[FID_COL].tolist() if FID_COL in sites.columns else sites.index.tolist()
    return srcs, [f.item() if hasattr(f, "item") else f for f in fids]


def site_places(sites: gpd.GeoDataFrame) -> list[str]:
    """``"FILE: feature ID: "`` of each site, to start a message about it ("" unknown)."""
    srcs, fids = site_origin(sites)
    return [f"{s}: feature {f}: " if s is not None else "" for s, f in zip(srcs, fids, strict=True)]


def site_labels(
    sites: gpd.GeoDataFrame, label_field: str | None
) -> tuple[list[str], list[str | None]]:
    """Each site's label and the column it came from (None: made of the file and feature id).

    Without ``label_field``, the first of :data:`LABEL_COLUMNS` with a value in that row.

    Examples
    --------
    >>> import shapely
    >>> code = "450702001001GB00001"
    >>> g = gpd.GeoDataFrame({"宗地代码": [code]}, geometry=[shapely.box(0, 0, 1, 1)])
    >>> site_labels(g, None)
    (['450702001001GB00001'], ['宗地代码'])
    """
    if label_field is not None and label_field not in sites.columns:
        # the user's columns: not the geometry nor the source and feature id qzgeo added
        ours = (SOURCE_COL, FID_COL, CRS_COL, sites.geometry.name)
        theirs = [c for c in sites.columns if c not in ours]
        msg = f"label field {label_field!r} is not a column of the sites; they have {theirs}"
        raise InputError(msg)
    cols = [label_field] if label_field else [c for c in LABEL_COLUMNS if c in sites.columns]
    values = [sites[c].tolist() for c in cols]
    srcs, fids = site_origin(sites)
    out, used = [], []
    for i in range(len(sites)):
        label, field = None, None
        for name, col in zip(cols, values, strict=True):
            value = col[i]
            if isinstance(value, str):
                if value.strip():
                    label, field = value.strip(), name
                    break
            elif value is not None and not pd.isna(value):
                label, field = str(value), name
                break
        used.append(field)
        if label is None:
            if srcs[i] is not None:
                path, layer = split_source(str(srcs[i]))
                label = source_names(path)[0] + (f":{layer}" if layer else "") + f":{fids[i]}"
            else:
                label = str(fids[i])
        out.append(label)
    return out, used


def clean_sites(
    geoms: npt.NDArray[np.object_], labels: list[str], where: list[str] | None = None
) -> tuple[Any, list[list[str]]]:
    """Polygonal, valid, 2-D site geometries; a repair note per site touched.

    ``where``: each site's file and feature (``"a.shp: feature 3: "``), to start a refusal.
    """
    at = where or [""] * len(geoms)
    repairs: list[list[str]] = [[] for _ in range(len(geoms))]
    out = np.array(geoms, dtype=object)
    bad = shapely.is_missing(out) | shapely.is_empty(out)
    types = shapely.get_type_id(out)
    for i in np.flatnonzero(bad | ~np.isin(types, (*POLYGONAL_TYPES, 7))):
        what = "no geometry" if bad[i] else f"a {out[i].geom_type}"
        msg = f"site {labels[i]!r} has {what}; a site must be a polygon (read_sites skips these)"
        raise GeometryError(msg)
    # M alone too: GDAL's Arrow reader keeps the measures of an ArcGIS PolygonM
    for i in np.flatnonzero(shapely.has_z(out) | shapely.has_m(out)):
        out[i] = shapely.force_2d(out[i])
        repairs[i].append("Z/M coordinates removed (2D check)")
    for i in np.flatnonzero(types == 7):
        out[i] = polygonal_part(out[i])
        if out[i].is_empty:
            msg = f"site {labels[i]!r} is a GeometryCollection without polygons"
            raise GeometryError(msg)
        repairs[i].append("GeometryCollection: non-polygonal parts dropped")
    for i in np.flatnonzero(~shapely.is_valid(out)):
        reason = shapely.is_valid_reason(out[i])
        fixed = valid_polygonal(out[i])
        if fixed.is_empty:
            msg = (
                f"{at[i]}site {labels[i]!r} is invalid ({reason}) and nothing polygonal "
                "remains: fix its outline (an outer ring of 3 or more distinct points, given "
                "first, its holes inside it) or remove the feature"
            )
            raise GeometryError(msg)
        repairs[i].append(f"invalid ({reason}); repaired with make_valid")
        out[i] = fixed
    return out, repairs


def site_extent_notices(sites: gpd.GeoDataFrame, extent: CheckedArea | None) -> Notices:
    """Refuse sites wholly outside the pack ``extent``; a notice for each site partly outside.

    ``extent`` may be the pack's coverage (:class:`~qzgeo.geo.coverage.Coverage`): a notice
    then for each site partly or wholly outside it (wholly outside its box: refused).

    Raises :class:`~qzgeo._errors.CRSError` naming the site's file, the extent and the likely
    causes (wrong pack, CRS or zone).
    """
    notes = Notices()
    if extent is None or sites.empty:
        return notes
    srcs, fids = site_origin(sites)
    read_in = sites[CRS_COL].tolist() if CRS_COL in sites.columns else [""] * len(sites)
    for src in dict.fromkeys(srcs):
        rows = [i for i, s in enumerate(srcs) if s == src]
        part = gpd.GeoDataFrame(
            geometry=sites.geometry.values[rows], index=[fids[i] for i in rows], crs=sites.crs
        )
        wkt = read_in[rows[0]]
        notes.extend(
            enforce_extent(
                part,
                extent,
                source=src or "the sites",
                read_crs=CRS.from_wkt(wkt) if wkt else None,
            )
        )
    if srcs and srcs[0] is None:
        notes = Notices([replace(n, source=None) for n in notes])
    return notes


def site_notes(
    notes: Notices, source: str | None, fid: Any, repairs: list[str]
) -> tuple[list[str], list[str]]:
    """``(warnings, repairs)`` of one site: the notices about it, then its own repairs."""
    mine = notes.for_feature(source, fid)
    warned = [n.message for n in mine if n.kind != "repair"]
    return warned, [n.message for n in mine if n.kind == "repair"] + repairs
