"""Siting check (选址合规性检查): does a proposed site respect the plan's constraints?

A :class:`SitingContext` is built once from a plan pack (or from the user's own red-line
files): every constraint class merged and cut into small tiles in the pack's planar
Gauss-Krüger CRS, the planned zones in an STRtree, the 平陆运河 corridor lines as indexed
segments. :func:`check_sites` then checks any number of site polygons with vectorised shapely
calls, so one site takes milliseconds and ten thousand take seconds.

Areas are ellipsoidal (CGCS2000/GRS80): a site's own area with :func:`qzgeo.area.ellipsoidal_area`,
overlap pieces as their planar GK area divided by the GK areal scale factor at the piece's
centroid (the linear term of the scale variation cancels at the centroid, so the error is
below 1e-8 for kilometre-sized pieces). Canal distances are geodesic, measured on the ellipsoid
between the nearest points found in the GK plane.
"""

from __future__ import annotations

import html
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import pandas as pd
import shapely
from pyproj import CRS, Proj, Transformer

from qzgeo._errors import CRSError, GeometryError, InputError, PackError
from qzgeo.analysis import ConstraintClass, merge_constraints, zone_name
from qzgeo.area import GEOD, M2_PER_HA, M2_PER_MU, ellipsoidal_area
from qzgeo.crs import STORAGE_CRS, planar_crs_for_bounds
from qzgeo.io import read_layer
from qzgeo.load import load_pack_layers
from qzgeo.pack import Pack
from qzgeo.repair import RepairReport, _polygonal_part, repair_layer

__all__ = [
    "BoundaryShare",
    "Conflict",
    "SiteReport",
    "SitingContext",
    "check_sites",
    "read_sites",
    "reports_to_html",
    "reports_to_json",
    "reports_to_text",
    "split_source",
]

BOUNDARY_HINT = "城镇开发边界"
CLASS_COLUMNS = ("类别", "class", "CLASS", "DLMC")
LABEL_COLUMNS = ("名称", "地块名称", "name", "NAME")
CANAL_HINTS = ("运河", "canal", "pinglu")
MODES = ("auto", "exclusion", "boundary")
# Overlaps below the reporting precision (0.01 m²) are coordinate round-off, not conflicts.
MIN_AREA_M2 = 0.01
TILE_VERTICES = 256
SOURCE_COL, FID_COL = "_site_source", "_site_fid"
_POLYGONAL = (3, 6)  # shapely type ids of Polygon, MultiPolygon


# --- results ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Conflict:
    """Overlap of a site with one constraint class (a boundary: the part outside it)."""

    layer: str
    cls: str  # conflict class, e.g. "永久基本农田" or "城镇开发边界外"
    mode: str
    area_m2: float
    share: float

    def to_dict(self) -> dict[str, Any]:
        return {
            "layer": self.layer,
            "class": self.cls,
            "mode": self.mode,
            **_units(self.area_m2),
            "share": round(self.share, 6),
        }


@dataclass(frozen=True)
class BoundaryShare:
    """Share of a site inside and outside a boundary class (城镇开发边界)."""

    layer: str
    cls: str
    inside_share: float
    outside_share: float

    def to_dict(self) -> dict[str, Any]:
        return {
            "layer": self.layer,
            "class": self.cls,
            "inside_share": round(self.inside_share, 6),
            "outside_share": round(self.outside_share, 6),
        }


@dataclass
class SiteReport:
    """The siting check of one site feature. ``geometry`` and ``patches`` are CGCS2000 lon/lat."""

    site: str
    source: str | None
    index: Any
    area_m2: float
    centroid: tuple[float, float]
    conflicts: list[Conflict]
    development_boundary: BoundaryShare | None
    zones: list[str]
    canal_distance_m: float | None
    warnings: list[str] = field(default_factory=list)
    repairs: list[str] = field(default_factory=list)
    geometry: shapely.Geometry | None = None
    patches: list[tuple[Conflict, shapely.Geometry]] = field(default_factory=list)

    @property
    def verdict(self) -> str:
        """``"conflict"`` if any constraint is hit or the site leaves a boundary."""
        return "conflict" if self.conflicts else "clear"

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict with a fixed key order and rounding (m² to 0.01, shares to 1e-6)."""
        return {
            "site": self.site,
            "source": self.source,
            "index": self.index,
            **_units(self.area_m2),
            "centroid": [round(self.centroid[0], 7), round(self.centroid[1], 7)],
            "conflicts": [c.to_dict() for c in self.conflicts],
            "development_boundary": (
                self.development_boundary.to_dict() if self.development_boundary else None
            ),
            "zones": list(self.zones),
            "canal_distance_m": (
                None if self.canal_distance_m is None else round(self.canal_distance_m, 2)
            ),
            "verdict": self.verdict,
            "warnings": list(self.warnings),
            "repairs": list(self.repairs),
        }


def _units(m2: float) -> dict[str, float]:
    return {
        "area_m2": round(m2, 2),
        "area_ha": round(m2 / M2_PER_HA, 6),
        "area_mu": round(m2 / M2_PER_MU, 5),
    }


# --- reading ------------------------------------------------------------------------------


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


def _read(arg: str, *, crs: str | CRS | None, datum: str | None) -> gpd.GeoDataFrame:
    path, layer = split_source(arg)
    if "://" not in path and not Path(path).exists():
        msg = f"{path} does not exist; check the file name"
        raise InputError(msg)
    return read_layer(path, layer=layer, crs=crs, datum=datum)


def read_sites(
    sources: Sequence[str],
    *,
    crs: str | CRS | None = None,
    datum: str | None = None,
) -> tuple[gpd.GeoDataFrame, list[str]]:
    """Read site polygons from one or more files (``PATH[:LAYER]``), in CGCS2000 lon/lat.

    Every polygonal feature is a site. Features without geometry or with a non-polygonal one
    are skipped and named in the returned warnings; a source without any polygon is an error.

    Parameters
    ----------
    sources
        GeoJSON, Shapefile, GeoPackage (``PATH:LAYER``), 界址点坐标 .txt or any file
        :func:`qzgeo.io.read_layer` reads.
    crs
        CRS of sources that have none (never guessed).
    datum
        ``"gcj02"`` for AMap-style coordinates.

    Returns
    -------
    (GeoDataFrame, warnings)
        The attribute columns of the sources plus ``_site_source`` (the argument) and
        ``_site_fid`` (the feature id in its source), in EPSG:4490.
    """
    if not sources:
        msg = "no site given; pass at least one SITE file"
        raise InputError(msg)
    frames: list[gpd.GeoDataFrame] = []
    warnings: list[str] = []
    for arg in sources:
        gdf = _read(arg, crs=crs, datum=datum)
        warnings.extend(f"{arg}: {w}" for w in gdf.attrs.get("warnings", []))
        geoms = gdf.geometry.values
        missing = shapely.is_missing(geoms) | shapely.is_empty(geoms)
        types = shapely.get_type_id(geoms)
        polygonal = np.isin(types, _POLYGONAL) & ~missing
        for i in np.flatnonzero((types == 7) & ~missing).tolist():
            polygonal[i] = not _polygonal_part(geoms[i]).is_empty  # collections with polygons
        for fid, geom, miss in zip(
            gdf.index[~polygonal], geoms[~polygonal], missing[~polygonal], strict=True
        ):
            kind = "no geometry" if miss else f"a {geom.geom_type}, not a polygon"
            warnings.append(f"{arg}: feature {fid} has {kind}; skipped")
        if not polygonal.any():
            types = sorted({g.geom_type for g in geoms[~missing]}) or ["no geometry"]
            msg = (
                f"{arg} has no polygon features (found: {', '.join(types)}); "
                "a site must be a polygon"
            )
            raise InputError(msg)
        part = gdf.loc[polygonal].to_crs(STORAGE_CRS)
        part[SOURCE_COL] = arg
        part[FID_COL] = part.index.to_numpy()
        frames.append(part)
    out = pd.concat(frames, ignore_index=True)
    return gpd.GeoDataFrame(out, geometry=frames[0].geometry.name, crs=STORAGE_CRS), warnings


def _user_constraints(
    sources: Sequence[str],
    *,
    class_field: str | None,
    mode: str | None,
    crs: str | CRS | None,
    datum: str | None,
    report: RepairReport,
) -> list[tuple[str, gpd.GeoDataFrame, pd.Series]]:
    """Read the user's constraint layers: (layer name, layer in EPSG:4490, class per feature)."""
    mode = mode or "auto"
    if mode not in MODES:
        msg = f"constraint mode must be one of {', '.join(MODES)}, got {mode!r}"
        raise InputError(msg)
    out = []
    for arg in sources:
        path, layer = split_source(arg)
        name = Path(path).stem + (f":{layer}" if layer else "")
        gdf = _read(arg, crs=crs, datum=datum)
        report.warnings.extend(f"{arg}: {w}" for w in gdf.attrs.get("warnings", []))
        gdf = repair_layer(gdf, layer_id=name, report=report, family="polygon")
        if gdf.empty:
            msg = f"{arg} has no polygon features; a constraint layer must hold polygons"
            raise InputError(msg)
        if class_field is not None and class_field not in gdf.columns:
            cols = ", ".join(c for c in gdf.columns if c != gdf.geometry.name) or "(none)"
            msg = f"{arg} has no column {class_field!r} for --class-field; its columns are: {cols}"
            raise InputError(msg)
        col = class_field or next((c for c in CLASS_COLUMNS if c in gdf.columns), None)
        if col is None:
            classes = pd.Series(Path(path).stem, index=gdf.index, dtype="string")
        else:
            classes = gdf[col].astype("string").fillna("").str.strip()
            classes = classes.mask(classes == "", Path(path).stem)
        out.append((name, gdf.to_crs(STORAGE_CRS), classes))
    return out


def _merge_user(
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
            merged = shapely.union_all([_polygonal_part(g) for g in geoms])
            shapely.prepare(merged)
            out.append(ConstraintClass(name, str(cls), cmode, "internal", merged))
    return out


# --- the context --------------------------------------------------------------------------


def _subdivide(geom: shapely.Geometry, *, max_vertices: int = TILE_VERTICES) -> list[Any]:
    """Cut a polygonal geometry into disjoint pieces of at most ``max_vertices`` vertices.

    Small pieces make each site's intersection cost independent of the size of a red line
    with a hundred thousand vertices (like PostGIS ST_Subdivide).
    """
    out: list[Any] = []
    stack: list[tuple[Any, int]] = [(geom, 0)]
    while stack:
        g, depth = stack.pop()
        for part in shapely.get_parts(g):
            if part.is_empty:
                continue
            if shapely.get_num_coordinates(part) <= max_vertices or depth >= 30:
                out.append(part)
                continue
            minx, miny, maxx, maxy = part.bounds
            if maxx - minx >= maxy - miny:
                mid = (minx + maxx) / 2.0
                halves = ((minx - 1, miny - 1, mid, maxy + 1), (mid, miny - 1, maxx + 1, maxy + 1))
            else:
                mid = (miny + maxy) / 2.0
                halves = ((minx - 1, miny - 1, maxx + 1, mid), (minx - 1, mid, maxx + 1, maxy + 1))
            for half in halves:
                # clip_by_rect is fast but may return invalid output; then do it exactly.
                piece = shapely.clip_by_rect(part, *half)
                if not piece.is_valid:
                    piece = shapely.intersection(part, shapely.box(*half))
                piece = _polygonal_part(piece)
                if not piece.is_empty:
                    stack.append((piece, depth + 1))
    return out


@dataclass
class _ClassIndex:
    cls: ConstraintClass
    tiles: npt.NDArray[np.object_]
    tree: shapely.STRtree


@dataclass
class SitingContext:
    """Everything a siting check needs, loaded and indexed once.

    Build it with :meth:`from_pack` (or :meth:`from_layers`), then call :func:`check_sites`
    as often as needed.

    Attributes
    ----------
    planar_crs : pyproj.CRS
        Gauss-Krüger CRS of all geometry work.
    classes : list of ConstraintClass
        Merged, prepared constraint classes (planar), sorted by layer and class.
    zone_names, zone_geoms
        Planned zones (planar), in catalog order.
    canal_segments
        Segments of the 平陆运河 corridor lines (planar), or ``None`` without a corridor line.
    warnings : list of str
        Repeated in every site report (e.g. "no corridor line, no canal distance").
    report : RepairReport
        Repairs made while loading the pack and constraint layers.
    """

    planar_crs: CRS
    classes: list[ConstraintClass]
    zone_names: list[str] = field(default_factory=list)
    zone_geoms: npt.NDArray[np.object_] = field(default_factory=lambda: np.empty(0, dtype=object))
    canal_segments: npt.NDArray[np.object_] | None = None
    warnings: list[str] = field(default_factory=list)
    report: RepairReport = field(default_factory=RepairReport)

    def __post_init__(self) -> None:
        self._index = [
            _ClassIndex(
                c, tiles := np.asarray(_subdivide(c.geometry), dtype=object), shapely.STRtree(tiles)
            )
            for c in self.classes
        ]
        shapely.prepare(self.zone_geoms)
        self._zone_tree = shapely.STRtree(self.zone_geoms)
        self._canal_tree = (
            shapely.STRtree(self.canal_segments) if self.canal_segments is not None else None
        )
        self._to_lonlat = Transformer.from_crs(self.planar_crs, STORAGE_CRS, always_xy=True)
        self._proj = Proj(self.planar_crs)

    @property
    def boundary_class(self) -> ConstraintClass | None:
        """The class reported as ``development_boundary`` (the first 城镇开发边界 boundary)."""
        bounds = [c for c in self.classes if c.mode == "boundary"]
        named = [c for c in bounds if BOUNDARY_HINT in c.cls]
        chosen = named or bounds
        return chosen[0] if chosen else None

    @classmethod
    def from_layers(
        cls,
        *,
        constraints: Sequence[ConstraintClass],
        planar_crs: CRS | str,
        zones: gpd.GeoDataFrame | None = None,
        zone_name_field: str = "name",
        canal: gpd.GeoDataFrame | None = None,
    ) -> SitingContext:
        """Build a context from ready-made pieces (constraint classes already planar).

        ``zones`` (any CRS) name their features by ``zone_name_field``; ``canal`` holds the
        corridor lines (any CRS). Without ``canal`` distances are ``None`` with a warning.
        """
        planar = CRS.from_user_input(planar_crs)
        names: list[str] = []
        zgeoms = np.empty(0, dtype=object)
        if zones is not None and not zones.empty:
            if zone_name_field not in zones.columns:
                msg = f"zones have no column {zone_name_field!r}; pass zone_name_field="
                raise InputError(msg)
            zp = zones.to_crs(planar)
            keep = np.isin(shapely.get_type_id(zp.geometry.values), _POLYGONAL)
            zgeoms = np.asarray(zp.geometry.values[keep], dtype=object)
            names = [str(v) for v in zp.loc[keep, zone_name_field]]
        warnings = []
        segments = None
        if canal is not None and not canal.empty:
            segments = _segments(canal.to_crs(planar).geometry.values)
        if segments is None:
            warnings.append("no 平陆运河 corridor line in the plan pack; canal_distance_m is null")
        return cls(
            planar_crs=planar,
            classes=sorted(constraints, key=lambda c: (c.layer_id, c.cls)),
            zone_names=names,
            zone_geoms=zgeoms,
            canal_segments=segments,
            warnings=warnings,
        )

    @classmethod
    def from_pack(
        cls,
        pack: Pack | None,
        *,
        constraint_sources: Sequence[str] | None = None,
        class_field: str | None = None,
        mode: str | None = None,
        crs: str | CRS | None = None,
        datum: str | None = None,
        canal_layers: Sequence[str] | None = None,
    ) -> SitingContext:
        """Load a pack's constraints, zones and canal once, merged and indexed.

        Parameters
        ----------
        pack
            A pack from :func:`qzgeo.pack.load_pack`, or ``None`` to check against
            ``constraint_sources`` only (no zones, no canal).
        constraint_sources
            ``PATH[:LAYER]`` polygon layers that REPLACE the pack's constraint layers.
            Classes come from ``class_field``, else a column 类别/class/CLASS/DLMC, else the
            file stem; all are exclusions except classes naming 城镇开发边界 (boundaries).
        class_field
            Class column of the ``constraint_sources``.
        mode
            ``"auto"`` (default, as above), ``"exclusion"`` or ``"boundary"`` for every class
            of the ``constraint_sources``.
        crs, datum
            CRS for ``constraint_sources`` without one; ``"gcj02"`` for AMap coordinates.
        canal_layers
            Ids of the corridor layers to measure the canal distance to. Default: the
            corridor-role line layers naming 运河/canal/pinglu, else every corridor-role layer.

        Examples
        --------
        >>> from qzgeo.pack import load_pack
        >>> ctx = SitingContext.from_pack(load_pack("tests/data/minipack"))  # doctest: +SKIP
        """
        if pack is None and not constraint_sources:
            msg = "nothing to check against: give a plan pack or constraint layers (--constraint)"
            raise InputError(msg)
        if (class_field is not None or mode not in (None, "auto")) and not constraint_sources:
            msg = "class_field and mode apply to constraint_sources (--constraint) only"
            raise InputError(msg)
        if pack is not None and pack.problems:
            raise PackError(pack.problems)
        report = RepairReport()
        user = (
            _user_constraints(
                constraint_sources,
                class_field=class_field,
                mode=mode,
                crs=crs,
                datum=datum,
                report=report,
            )
            if constraint_sources
            else []
        )
        zones = None
        canal = None
        if pack is None:
            bounds = np.array([g.total_bounds for _, g, _ in user])
            planar = planar_crs_for_bounds(
                (bounds[:, 0].min(), bounds[:, 1].min(), bounds[:, 2].max(), bounds[:, 3].max())
            )
            classes = _merge_user(user, mode=mode, planar=planar)
        else:
            corridor_ids = _canal_layer_ids(pack, canal_layers)
            wanted = [s.id for s in pack.zone_layers()] + corridor_ids
            if not constraint_sources:
                wanted += [s.id for s in pack.constraint_layers()]
            loaded = load_pack_layers(pack, only=wanted)
            report.extend(loaded.report)
            planar = loaded.planar_crs
            if constraint_sources:
                classes = _merge_user(user, mode=mode, planar=planar)
            else:
                classes = merge_constraints(pack, loaded.layers, planar_crs=planar)
            zones = _pack_zones(pack, loaded.layers)
            lines = [loaded.layers[i] for i in corridor_ids if i in loaded.layers]
            if lines:
                canal = gpd.GeoDataFrame(
                    geometry=np.concatenate([g.geometry.values for g in lines]), crs=STORAGE_CRS
                )
        ctx = cls.from_layers(
            constraints=classes,
            planar_crs=planar,
            zones=zones,
            zone_name_field="name",
            canal=canal,
        )
        ctx.report = report
        return ctx


def _canal_layer_ids(pack: Pack, canal_layers: Sequence[str] | None) -> list[str]:
    if canal_layers is not None:
        unknown = [i for i in canal_layers if i not in pack.layers]
        if unknown:
            msg = f"canal layer(s) {unknown} are not in the pack; it has {sorted(pack.layers)}"
            raise InputError(msg)
        return list(canal_layers)
    corridors = [s for s in pack.layers.values() if s.role == "corridor"]
    named = [
        s
        for s in corridors
        if any(h in f"{s.id} {s.title} {s.title_en or ''}".lower() for h in CANAL_HINTS)
    ]
    return [s.id for s in (named or corridors)]


def _pack_zones(pack: Pack, layers: dict[str, gpd.GeoDataFrame]) -> gpd.GeoDataFrame | None:
    frames = []
    for spec in pack.zone_layers():
        gdf = layers.get(spec.id)
        if gdf is None or gdf.empty:
            continue
        names = [zone_name(spec, gdf, fid) for fid in gdf.index]
        frames.append(gpd.GeoDataFrame({"name": names}, geometry=gdf.geometry.values, crs=gdf.crs))
    if not frames:
        return None
    return gpd.GeoDataFrame(pd.concat(frames, ignore_index=True), crs=frames[0].crs)


def _segments(geoms: npt.ArrayLike) -> npt.NDArray[np.object_] | None:
    """Every straight segment of the line parts of ``geoms`` (polygons are ignored)."""
    parts = shapely.get_parts(np.asarray(geoms, dtype=object))
    lines = parts[np.isin(shapely.get_type_id(parts), (1, 2))]
    if lines.size == 0:
        return None
    coords, idx = shapely.get_coordinates(lines, return_index=True)
    same = idx[1:] == idx[:-1]
    starts, ends = coords[:-1][same], coords[1:][same]
    if starts.size == 0:
        return None
    return np.asarray(shapely.linestrings(np.stack([starts, ends], axis=1)), dtype=object)


# --- the check ----------------------------------------------------------------------------


def _origin(sites: gpd.GeoDataFrame) -> tuple[list[str | None], list[Any]]:
    """Source argument and feature id of each site (``None`` and the index without them)."""
    n = len(sites)
    srcs: list[str | None] = (
        [str(v) for v in sites[SOURCE_COL].tolist()] if SOURCE_COL in sites.columns else [None] * n
    )
    fids = sites[FID_COL].tolist() if FID_COL in sites.columns else sites.index.tolist()
    return srcs, [f.item() if hasattr(f, "item") else f for f in fids]


def _labels(sites: gpd.GeoDataFrame, label_field: str | None) -> list[str]:
    if label_field is not None and label_field not in sites.columns:
        msg = f"label field {label_field!r} is not a column of the sites; they have {list(sites)}"
        raise InputError(msg)
    cols = [label_field] if label_field else [c for c in LABEL_COLUMNS if c in sites.columns]
    values = [sites[c].tolist() for c in cols]
    srcs, fids = _origin(sites)
    out = []
    for i in range(len(sites)):
        label = None
        for col in values:
            value = col[i]
            if isinstance(value, str):
                if value.strip():
                    label = value.strip()
                    break
            elif value is not None and not pd.isna(value):
                label = str(value)
                break
        if label is None:
            if srcs[i] is not None:
                path, layer = split_source(str(srcs[i]))
                label = Path(path).name + (f":{layer}" if layer else "") + f":{fids[i]}"
            else:
                label = str(fids[i])
        out.append(label)
    return out


def _clean_sites(geoms: npt.NDArray[np.object_], labels: list[str]) -> tuple[Any, list[list[str]]]:
    """Polygonal, valid, 2-D site geometries; a repair note per site touched."""
    repairs: list[list[str]] = [[] for _ in range(len(geoms))]
    out = np.array(geoms, dtype=object)
    bad = shapely.is_missing(out) | shapely.is_empty(out)
    types = shapely.get_type_id(out)
    for i in np.flatnonzero(bad | ~np.isin(types, (*_POLYGONAL, 7))):
        what = "no geometry" if bad[i] else f"a {out[i].geom_type}"
        msg = f"site {labels[i]!r} has {what}; a site must be a polygon (read_sites skips these)"
        raise GeometryError(msg)
    for i in np.flatnonzero(shapely.has_z(out)):
        out[i] = shapely.force_2d(out[i])
        repairs[i].append("Z/M coordinates removed (2D check)")
    for i in np.flatnonzero(types == 7):
        out[i] = _polygonal_part(out[i])
        if out[i].is_empty:
            msg = f"site {labels[i]!r} is a GeometryCollection without polygons"
            raise GeometryError(msg)
        repairs[i].append("GeometryCollection: non-polygonal parts dropped")
    for i in np.flatnonzero(~shapely.is_valid(out)):
        reason = shapely.is_valid_reason(out[i])
        fixed = _polygonal_part(
            shapely.make_valid(out[i], method="structure", keep_collapsed=False)
        )
        if fixed.is_empty:
            msg = f"site {labels[i]!r} is invalid ({reason}) and nothing polygonal remains"
            raise GeometryError(msg)
        repairs[i].append(f"invalid ({reason}); repaired with make_valid")
        out[i] = fixed
    return out, repairs


def _piece_m2(ctx: SitingContext, pieces: npt.NDArray[np.object_]) -> npt.NDArray[np.float64]:
    """Ellipsoidal m² of planar pieces: GK area / areal scale factor at the centroid."""
    out = np.zeros(pieces.size)
    area = shapely.area(pieces) if pieces.size else out
    nonempty = np.flatnonzero(area > 0)
    if nonempty.size:
        xy = shapely.get_coordinates(shapely.centroid(pieces[nonempty]))
        lon, lat = ctx._to_lonlat.transform(xy[:, 0], xy[:, 1])
        scale = np.asarray(ctx._proj.get_factors(lon, lat).areal_scale, dtype=float)
        out[nonempty] = area[nonempty] / scale
    return out


def check_sites(
    sites: gpd.GeoDataFrame,
    ctx: SitingContext,
    *,
    label_field: str | None = None,
    with_patches: bool = False,
    min_area_m2: float = MIN_AREA_M2,
) -> list[SiteReport]:
    """Check every site polygon against the constraints, zones and canal of ``ctx``.

    Parameters
    ----------
    sites
        Site polygons in any CRS (e.g. from :func:`read_sites`). Invalid polygons are repaired
        with ``make_valid`` and the repair is reported; non-polygons raise GeometryError.
    ctx
        From :meth:`SitingContext.from_pack`.
    label_field
        Column naming the sites; default 名称/name/NAME, else ``file:fid`` (or the index).
    with_patches
        Also keep the conflict patches (lon/lat geometries) for maps.
    min_area_m2
        Overlaps smaller than this are round-off, not conflicts.

    Returns
    -------
    list of SiteReport, one per row of ``sites``, in order.

    Examples
    --------
    >>> from shapely import box
    >>> from qzgeo.analysis import ConstraintClass
    >>> x, y = 560_000, 2_400_000  # EPSG:4545, near 钦州港
    >>> red = ConstraintClass("red", "生态保护红线", "exclusion", "internal",
    ...                       box(x, y, x + 500, y + 500))
    >>> ctx = SitingContext.from_layers(constraints=[red], planar_crs="EPSG:4545")
    >>> site = gpd.GeoDataFrame(geometry=[box(x + 250, y, x + 750, y + 500)], crs="EPSG:4545")
    >>> rep = check_sites(site, ctx)[0]
    >>> rep.verdict, round(rep.conflicts[0].share, 6)
    ('conflict', 0.5)
    """
    if sites.crs is None:
        msg = "the sites have no CRS; use set_crs() or pass --crs (qzgeo never guesses a CRS)"
        raise CRSError(msg)
    n = len(sites)
    if n == 0:
        return []
    labels = _labels(sites, label_field)
    geoms, repairs = _clean_sites(np.asarray(sites.geometry.values, dtype=object), labels)
    gs = gpd.GeoSeries(geoms, crs=sites.crs)
    lonlat = np.asarray(gs.to_crs(STORAGE_CRS).values, dtype=object)
    planar = np.asarray(gs.to_crs(ctx.planar_crs).values, dtype=object)
    for i in np.flatnonzero(~shapely.is_valid(planar)).tolist():
        # Reprojection can fold a near-degenerate ring; repair rather than fail in GEOS.
        planar[i] = _polygonal_part(shapely.make_valid(planar[i]))
        repairs[i].append("became invalid in the planar CRS; repaired with make_valid")
    site_m2 = ellipsoidal_area(lonlat)
    cent = shapely.get_coordinates(shapely.centroid(lonlat))

    conflicts: list[list[Conflict]] = [[] for _ in range(n)]
    patches: list[list[tuple[Conflict, Any]]] = [[] for _ in range(n)]
    boundary: list[BoundaryShare | None] = [None] * n
    bclass = ctx.boundary_class
    for cindex in ctx._index:
        c = cindex.cls
        inside_m2, inside, pieces_of = _overlap(ctx, cindex, planar, site_m2, with_patches)
        conflict_m2 = site_m2 - inside_m2 if c.mode == "boundary" else inside_m2
        conflict_m2 = np.where(conflict_m2 < min_area_m2, 0.0, np.minimum(conflict_m2, site_m2))
        share = np.divide(conflict_m2, site_m2, out=np.zeros(n), where=site_m2 > 0)
        for i in np.flatnonzero(conflict_m2 > 0).tolist():
            conf = Conflict(
                c.layer_id, c.conflict_class, c.mode, float(conflict_m2[i]), float(share[i])
            )
            conflicts[i].append(conf)
            if with_patches:
                patch = _patch(c.mode, planar[i], inside[i], pieces_of.get(i))
                if patch is not None and not patch.is_empty:
                    patches[i].append((conf, _to_storage(ctx, patch)))
        if c is bclass:
            boundary = [BoundaryShare(c.layer_id, c.cls, 1.0 - float(x), float(x)) for x in share]

    zones = _zones_of(ctx, planar, min_area_m2)
    canal = _canal_distance(ctx, planar)
    srcs, fids = _origin(sites)
    reports = []
    for i in range(n):
        reports.append(
            SiteReport(
                site=labels[i],
                source=srcs[i],
                index=fids[i],
                area_m2=float(site_m2[i]),
                centroid=(float(cent[i, 0]), float(cent[i, 1])),
                conflicts=conflicts[i],
                development_boundary=boundary[i],
                zones=zones[i],
                canal_distance_m=None if canal is None else float(canal[i]),
                warnings=list(ctx.warnings),
                repairs=repairs[i],
                geometry=lonlat[i],
                patches=patches[i],
            )
        )
    return reports


def _overlap(
    ctx: SitingContext,
    cindex: _ClassIndex,
    planar: npt.NDArray[np.object_],
    site_m2: npt.NDArray[np.float64],
    with_patches: bool,
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.bool_], dict[int, list[Any]]]:
    """Ellipsoidal m² of each site inside one class; which sites lie wholly inside it."""
    n = planar.size
    inside_m2 = np.zeros(n)
    inside = np.zeros(n, dtype=bool)
    pieces_of: dict[int, list[Any]] = {}
    if cindex.tiles.size == 0:
        return inside_m2, inside, pieces_of
    site_idx, tile_idx = cindex.tree.query(planar, predicate="intersects")
    if site_idx.size == 0:
        return inside_m2, inside, pieces_of
    hit = np.unique(site_idx)
    # Fast path: a site wholly inside the (prepared, merged) class needs no intersection.
    whole = shapely.contains_properly(cindex.cls.geometry, planar[hit])
    inside[hit[whole]] = True
    inside_m2[inside] = site_m2[inside]
    partial = ~inside[site_idx]
    s, t = site_idx[partial], tile_idx[partial]
    pieces = shapely.intersection(planar[s], cindex.tiles[t])
    m2 = _piece_m2(ctx, np.asarray(pieces, dtype=object))
    inside_m2 += np.bincount(s, weights=m2, minlength=n)
    if with_patches:
        for i, piece in zip(s.tolist(), pieces, strict=True):
            pieces_of.setdefault(i, []).append(piece)
    return inside_m2, inside, pieces_of


def _patch(mode: str, site: Any, inside: bool, pieces: list[Any] | None) -> Any:
    if mode == "boundary":
        if inside:
            return None
        if not pieces:
            return site
        return _polygonal_part(shapely.difference(site, shapely.union_all(pieces)))
    if inside:
        return site
    return _polygonal_part(shapely.union_all(pieces)) if pieces else None


def _to_storage(ctx: SitingContext, geom: Any) -> Any:
    t = ctx._to_lonlat
    return shapely.transform(geom, lambda xy: np.column_stack(t.transform(xy[:, 0], xy[:, 1])))


def _zones_of(
    ctx: SitingContext, planar: npt.NDArray[np.object_], min_area_m2: float
) -> list[list[str]]:
    """Names of the zones each site overlaps with area (a shared edge is not a touch)."""
    out: list[list[str]] = [[] for _ in range(planar.size)]
    if ctx.zone_geoms.size == 0:
        return out
    s, z = ctx._zone_tree.query(planar, predicate="intersects")
    if s.size == 0:
        return out
    within = shapely.within(planar[s], ctx.zone_geoms[z])
    keep = within.copy()
    rest = np.flatnonzero(~within)
    if rest.size:
        keep[rest] = (
            shapely.area(shapely.intersection(planar[s[rest]], ctx.zone_geoms[z[rest]]))
            >= min_area_m2
        )
    order = np.lexsort((z, s))
    for k in order[keep[order]]:
        name = ctx.zone_names[z[k]]
        if name not in out[s[k]]:
            out[s[k]].append(name)
    return out


def _canal_distance(
    ctx: SitingContext, planar: npt.NDArray[np.object_]
) -> npt.NDArray[np.float64] | None:
    """Geodesic distance (m) from each site to the nearest canal segment; 0 if it crosses."""
    if ctx._canal_tree is None or ctx.canal_segments is None:
        return None
    s, j = ctx._canal_tree.query_nearest(planar, all_matches=False)
    lines = shapely.shortest_line(planar[s], ctx.canal_segments[j])
    xy = shapely.get_coordinates(lines).reshape(-1, 2, 2)
    lon0, lat0 = ctx._to_lonlat.transform(xy[:, 0, 0], xy[:, 0, 1])
    lon1, lat1 = ctx._to_lonlat.transform(xy[:, 1, 0], xy[:, 1, 1])
    _, _, dist = GEOD.inv(lon0, lat0, lon1, lat1)
    out = np.zeros(planar.size)
    out[s] = np.asarray(dist, dtype=float)
    return out


# --- output -------------------------------------------------------------------------------


def reports_to_json(reports: Sequence[SiteReport]) -> str:
    """A JSON array, one object per site, with fixed key order and rounding."""
    return json.dumps([r.to_dict() for r in reports], ensure_ascii=False, indent=2) + "\n"


def _pct(share: float) -> str:
    return f"{share * 100:.4f}%"


def reports_to_text(reports: Sequence[SiteReport]) -> str:
    """A human summary in Chinese and English, one block per site, then a total line."""
    lines: list[str] = []
    for r in reports:
        d = r.to_dict()
        where = f" ({r.source}:{r.index})" if r.source is not None else ""
        lines.append(f"== 地块 Site: {r.site}{where} ==")
        lines.append(
            f"面积 Area: {d['area_m2']:.2f} m² = {d['area_ha']:.6f} 公顷 ha = "
            f"{d['area_mu']:.5f} 亩 mu"
        )
        if r.conflicts:
            lines.append("冲突 Conflicts:")
            for c in r.conflicts:
                cd = c.to_dict()
                lines.append(
                    f"  - {c.layer} / {c.cls}: {cd['area_m2']:.2f} m² = {cd['area_ha']:.6f} 公顷"
                    f" = {cd['area_mu']:.5f} 亩 ({_pct(c.share)})"
                )
        else:
            lines.append("冲突 Conflicts: 无 none")
        b = r.development_boundary
        if b is not None:
            lines.append(
                f"{b.cls} Development boundary: 内 inside {_pct(b.inside_share)}, "
                f"外 outside {_pct(b.outside_share)}"
            )
        lines.append(f"规划分区 Zones: {'、'.join(r.zones) if r.zones else '无 none'}")
        dist = d["canal_distance_m"]
        lines.append(
            "距平陆运河 Distance to the Pinglu Canal: "
            + ("未知 unknown" if dist is None else f"{dist:.2f} m")
        )
        verdict = "冲突 CONFLICT" if r.verdict == "conflict" else "合规 CLEAR"
        lines.append(f"结论 Verdict: {verdict}")
        for w in r.warnings:
            lines.append(f"警告 Warning: {w}")
        for rep in r.repairs:
            lines.append(f"修复 Repair: {rep}")
        lines.append("")
    n_conf = sum(r.verdict == "conflict" for r in reports)
    lines.append(
        f"共 {len(reports)} 个地块: {len(reports) - n_conf} 合规 clear, {n_conf} 冲突 conflict"
    )
    return "\n".join(lines) + "\n"


def _leaflet_inline() -> tuple[str, str]:
    """Leaflet's JS and CSS for offline pages (the publishing module's copy when present)."""
    try:
        from qzgeo.publish.assets import leaflet_css_inline, leaflet_js_inline
    except ImportError:  # pragma: no cover - the publishing module ships with qzgeo
        import xstatic.pkg.leaflet as xleaflet

        base = Path(xleaflet.BASE_DIR)
        return (
            (base / "leaflet.js").read_text(encoding="utf-8"),
            (base / "leaflet.css").read_text(encoding="utf-8"),
        )
    return leaflet_js_inline(), leaflet_css_inline()


_SITE_STYLE = {"color": "#1f4e9c", "weight": 2, "fillOpacity": 0.05}
# Exclusion overlaps in red, the part outside a boundary (城镇开发边界外) in purple.
_PATCH_STYLES = {
    "exclusion": {"color": "#b30000", "weight": 1, "fillColor": "#ff3300", "fillOpacity": 0.5},
    "boundary": {"color": "#5b2a7a", "weight": 1, "fillColor": "#7b3fa0", "fillOpacity": 0.45},
}


def reports_to_html(
    reports: Sequence[SiteReport],
    *,
    title: str = "选址合规性检查 Siting check",
    max_map_sites: int = 1000,
) -> str:
    """A self-contained page: a Folium map of the sites and conflict patches, and the table.

    Leaflet is inlined (no network, no tiles); every value from the input is HTML-escaped.
    Patches are drawn when the reports were made with ``check_sites(..., with_patches=True)``.
    Only the first ``max_map_sites`` sites are drawn; the table lists all.
    """
    import branca.element as be
    import folium

    drawn = [r for r in reports if r.geometry is not None][:max_map_sites]
    fmap = folium.Map(tiles=None, control_scale=True, height="60%")
    fmap.default_js = []
    fmap.default_css = []
    if drawn:
        sites_fc = _feature_collection(
            [(r.geometry, {"label": html.escape(r.site), "verdict": r.verdict}) for r in drawn]
        )
        patch_fc = _feature_collection(
            [
                (g, {"label": html.escape(f"{r.site}: {c.cls} ({_pct(c.share)})"), "mode": c.mode})
                for r in drawn
                for c, g in r.patches
            ]
        )
        folium.GeoJson(
            sites_fc,
            name="选址 Sites",
            style_function=lambda _f: _SITE_STYLE,
            tooltip=folium.GeoJsonTooltip(fields=["label"], labels=False),
        ).add_to(fmap)
        if patch_fc["features"]:
            folium.GeoJson(
                patch_fc,
                name="冲突 Conflicts",
                style_function=lambda f: _PATCH_STYLES[f["properties"]["mode"]],
                tooltip=folium.GeoJsonTooltip(fields=["label"], labels=False),
            ).add_to(fmap)
        minx, miny, maxx, maxy = shapely.total_bounds([r.geometry for r in drawn])
        fmap.fit_bounds([[miny, minx], [maxy, maxx]])
    root = fmap.get_root()
    assert isinstance(root, be.Figure)
    js, css = _leaflet_inline()
    root.header.add_child(be.Element(f"<style>{css}</style>"), name="leaflet_css")
    root.header.add_child(be.Element(f"<script>{js}</script>"), name="leaflet_js")
    root.header.add_child(be.Element(f"<title>{html.escape(title)}</title>"), name="title")
    note = ""
    if len(drawn) < len(reports):
        note = f"<p>地图只画前 {len(drawn)} 个地块 (map shows the first {len(drawn)} sites).</p>"
    root.html.add_child(be.Element(_table(reports, title) + note), name="table")
    _fix_ids(root)
    return str(root.render())


def _feature_collection(items: list[tuple[Any, dict[str, Any]]]) -> dict[str, Any]:
    feats = [
        {
            "type": "Feature",
            "properties": props,
            "geometry": shapely.geometry.mapping(shapely.set_precision(g, 1e-7)),
        }
        for g, props in items
        if g is not None and not g.is_empty
    ]
    return {"type": "FeatureCollection", "features": feats}


def _fix_ids(root: Any) -> None:
    """Replace Folium's random element ids by sequential ones: re-runs are byte-identical."""
    count = 0
    stack = [root]
    while stack:
        el = stack.pop(0)
        el._id = f"{count:032x}"
        count += 1
        stack.extend(el._children.values())


def _table(reports: Sequence[SiteReport], title: str) -> str:
    e = html.escape
    head = (
        "<tr><th>地块 Site</th><th>来源 Source</th><th>面积 Area (公顷 ha / 亩 mu)</th>"
        "<th>冲突 Conflicts</th><th>城镇开发边界外 Outside boundary</th><th>分区 Zones</th>"
        "<th>距运河 Canal (m)</th><th>结论 Verdict</th><th>警告 Warnings</th></tr>"
    )
    rows = []
    for r in reports:
        d = r.to_dict()
        conf = (
            "<br>".join(
                e(f"{c.layer} / {c.cls}: {c.to_dict()['area_ha']:.6f} 公顷 ({_pct(c.share)})")
                for c in r.conflicts
            )
            or "—"
        )
        b = r.development_boundary
        outside = _pct(b.outside_share) if b is not None else "—"
        dist = "—" if d["canal_distance_m"] is None else f"{d['canal_distance_m']:.2f}"
        verdict = "冲突 conflict" if r.verdict == "conflict" else "合规 clear"
        src = "" if r.source is None else f"{r.source}:{r.index}"
        rows.append(
            f'<tr class="{r.verdict}"><td>{e(r.site)}</td><td>{e(src)}</td>'
            f"<td>{d['area_ha']:.6f} / {d['area_mu']:.5f}</td><td>{conf}</td>"
            f"<td>{outside}</td><td>{e('、'.join(r.zones)) or '—'}</td><td>{dist}</td>"
            f"<td>{verdict}</td><td>{'<br>'.join(e(w) for w in r.warnings + r.repairs)}</td></tr>"
        )
    style = (
        "<style>.qz-check{font-family:sans-serif;margin:1em}"
        ".qz-check table{border-collapse:collapse}.qz-check td,.qz-check th"
        "{border:1px solid #999;padding:3px 6px;font-size:13px;vertical-align:top}"
        ".qz-check tr.conflict td{background:#fde2de}</style>"
    )
    return (
        f'{style}<div class="qz-check"><h2>{e(title)}</h2><table>{head}'
        f"{''.join(rows)}</table></div>"
    )


def exit_code(reports: Sequence[SiteReport]) -> int:
    """0 if every site is clear, 1 if any site conflicts (for scripts)."""
    return 1 if any(r.verdict == "conflict" for r in reports) else 0
