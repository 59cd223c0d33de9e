"""DXF (CAD) input: closed polylines become polygons.

Planning drawings arrive as DXF with parcels drawn as closed polylines. A closed
LWPOLYLINE/POLYLINE (closed flag set, or first point equal to the last) becomes a polygon; an
open one is an error naming its entity handle, so it can be found and closed in CAD. Arcs
(bulges) are flattened to 0.01 drawing units. DXF carries no CRS: the caller declares one.
"""

from __future__ import annotations

import os
from collections import Counter
from pathlib import Path

import geopandas as gpd
import numpy as np
import shapely
from pyproj import CRS

from qzgeo._errors import GeometryError, InputError
from qzgeo.notices import Notices, attach_notices

_POLYLINES = ("LWPOLYLINE", "POLYLINE")
_FLATTEN = 0.01  # max distance of the flattened arc from the true arc, in drawing units


def read_dxf(path: str | os.PathLike[str], *, crs: str | CRS | None = None) -> gpd.GeoDataFrame:
    """Read the closed polylines of a DXF file's model space as polygons.

    Parameters
    ----------
    path
        The ``.dxf`` file.
    crs
        CRS of the drawing coordinates (e.g. ``"EPSG:4528"``); DXF files do not carry one.

    Returns
    -------
    GeoDataFrame with columns ``layer`` (CAD layer) and ``handle``; ``attrs["notices"]``
    lists the entity types that were not read (text, hatches, blocks...).

    Raises
    ------
    InputError
        Unreadable file.
    GeometryError
        Open polylines (listed by handle) or polylines with fewer than 3 points.
    """
    import ezdxf
    from ezdxf import path as ezpath

    path = Path(path)
    try:
        doc = ezdxf.readfile(path)
    except (OSError, ezdxf.DXFError) as exc:
        msg = f"cannot read {path} as DXF: {exc}"
        raise InputError(msg) from exc
    layers: list[str] = []
    handles: list[str] = []
    geoms: list[shapely.Polygon] = []
    open_lines: list[str] = []
    skipped: Counter[str] = Counter()
    for entity in doc.modelspace():
        kind = entity.dxftype()
        if kind not in _POLYLINES or (kind == "POLYLINE" and not _is_2d_or_3d_polyline(entity)):
            skipped[kind] += 1
            continue
        handle = str(entity.dxf.handle)
        try:
            pts = np.asarray([(v.x, v.y) for v in ezpath.make_path(entity).flattening(_FLATTEN)])
        except Exception as exc:  # ezdxf raises several types for broken entities
            msg = f"{path.name}: {kind} handle {handle} cannot be read: {exc}"
            raise InputError(msg) from exc
        closed = bool(getattr(entity, "is_closed", False)) or (
            len(pts) > 1 and np.allclose(pts[0], pts[-1])
        )
        if not closed:
            open_lines.append(f"{kind} handle {handle} on layer {entity.dxf.layer!r}")
            continue
        if len(np.unique(pts, axis=0)) < 3:
            msg = f"{path.name}: {kind} handle {handle} has fewer than 3 distinct points"
            raise GeometryError(msg)
        geoms.append(shapely.Polygon(pts))
        layers.append(str(entity.dxf.layer))
        handles.append(handle)
    if open_lines:
        msg = (
            f"{path.name}: {len(open_lines)} open polyline(s) cannot be read as polygons: "
            + "; ".join(open_lines[:20])
            + ("; ..." if len(open_lines) > 20 else "")
            + ". Close them in CAD (or delete them) and export again"
        )
        raise GeometryError(msg)
    notes = Notices()
    for kind, n in sorted(skipped.items()):
        notes.add(
            f"{path.name}: {n} {kind} entit{'y' if n == 1 else 'ies'} not read (only closed "
            "polylines become polygons)",
            source=path.name,
        )
    gdf = gpd.GeoDataFrame({"layer": layers, "handle": handles}, geometry=geoms, crs=crs)
    attach_notices(gdf, notes)
    return gdf


def _is_2d_or_3d_polyline(entity: object) -> bool:
    # POLYLINE also encodes polyface and polygon meshes, which are not parcels.
    return bool(entity.is_2d_polyline or entity.is_3d_polyline)  # type: ignore[attr-defined]
