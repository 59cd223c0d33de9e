"""DXF (CAD) input: closed polylines become polygons.

Planning drawings arrive as DXF with parcels drawn as closed polylines. A closed
LWPOLYLINE/POLYLINE (closed flag set, or first point equal to the last) becomes a polygon; an
open one is an error naming its entity handle, so it can be found and closed in CAD. Arcs
(bulges) are flattened to 0.01 drawing units inside the circle, with a warning naming them. DXF
carries no CRS: the caller declares one.
"""

from __future__ import annotations

import os
from collections import Counter
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import shapely
from pyproj import CRS

from qzgeo._errors import GeometryError, InputError
from qzgeo.io.dxf_codepage import UNICODE_FROM, gbk_misread, names_and_text
from qzgeo.notices import Notices, attach_notices

_POLYLINES = ("LWPOLYLINE", "POLYLINE")
_TEXTS = ("TEXT", "MTEXT")
#: The column of the text written inside each polygon (a CASS 宗地图's 宗地号, a 地块编号).
TEXT_COLUMN = "文字"
_FLATTEN = 0.01  # max distance of the flattened arc from the true arc, in drawing units
# How near its first point a polyline must end to be closed, in drawing units: a point snapped
# onto the start (a micrometre in metres). Not relative to the coordinates' size: that took an
# end 24 m from the start (365 m in zone-prefixed eastings) for closed.
_CLOSED_WITHIN = 1e-6


def read_dxf(
    path: str | os.PathLike[str], *, crs: str | CRS | None = None, encoding: str | None = None
) -> gpd.GeoDataFrame:
    """Read the closed polylines of a DXF file's model space as polygons.

    Parameters
    ----------
    path
        The ``.dxf`` file.
    crs
        CRS of the drawing coordinates (e.g. ``"EPSG:4528"``); DXF files do not carry one.
    encoding
        Code page of a DXF R12–R2004 (default: its ``$DWGCODEPAGE``, or GBK when the names
        are GBK under another code page, with a warning); R2007 and later are UTF-8.

    Returns
    -------
    GeoDataFrame with columns ``layer`` (CAD layer), ``handle`` and :data:`TEXT_COLUMN`: the
    TEXT and MTEXT written inside the polygon (the innermost around its insertion point), in
    reading order, top to bottom; ``attrs["notices"]`` lists the entity types that were not
    read (hatches, blocks, text outside every polygon...) and a code page not read as
    declared; ``attrs["encoding"]`` the code page given or chosen.

    Raises
    ------
    InputError
        Unreadable file.
    GeometryError
        Open polylines (listed by handle) or polylines with fewer than 3 points.
    """
    path = Path(path)
    notes = Notices()
    doc, used = _open(path, encoding, notes)
    layers: list[str] = []
    handles: list[str] = []
    geoms: list[shapely.Polygon] = []
    open_lines: list[str] = []
    curved: list[str] = []  # handles of the polylines with arcs
    skipped: Counter[str] = Counter()
    texts: list[tuple[float, float, str]] = []
    for entity in doc.modelspace():
        kind = entity.dxftype()
        if kind in _TEXTS and (text := _text_of(entity)) is not None:
            texts.append(text)
            continue
        if kind not in _POLYLINES or (kind == "POLYLINE" and not _is_2d_or_3d_polyline(entity)):
            skipped[kind] += 1
            continue
        handle = str(entity.dxf.handle)
        if (found := _closed_points(entity, path)) is None:
            open_lines.append(f"{kind} handle {handle} on layer {entity.dxf.layer!r}")
            continue
        pts, arcs = found
        if arcs:
            curved.append(handle)
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
    written, outside = _place_texts(texts, geoms)
    _note_read(skipped, curved, outside, path.name, notes)
    _note_nested(geoms, handles, path.name, notes)
    gdf = gpd.GeoDataFrame(
        {"layer": layers, "handle": handles, TEXT_COLUMN: written}, geometry=geoms, crs=crs
    )
    attach_notices(gdf, notes)
    if used is not None:
        gdf.attrs["encoding"] = used
    return gdf


def _text_of(entity: Any) -> tuple[float, float, str] | None:
    """A TEXT or MTEXT's position and its plain text (formatting codes removed): a TEXT aligned
    other than left on its baseline (a 宗地号 centred in its parcel) stands at its alignment
    point, its insertion point then being only where CAD last drew its first letter."""
    try:
        text = " ".join(entity.plain_text().split())
        point = entity.dxf.insert
        aligned = entity.dxftype() == "TEXT" and (entity.dxf.halign or entity.dxf.valign)
        if aligned and entity.dxf.hasattr("align_point"):
            point = entity.dxf.align_point
    except Exception:  # ezdxf raises several types for broken entities: leave it unread
        return None
    return (float(point.x), float(point.y), text) if text else None


def _place_texts(
    texts: list[tuple[float, float, str]], geoms: list[shapely.Polygon]
) -> tuple[list[str | None], int]:
    """Each polygon's texts (those whose insertion point lies in it and in no smaller polygon
    inside it), top to bottom then left to right, joined by spaces; how many fell outside all.
    """
    out: list[list[tuple[float, float, str]]] = [[] for _ in geoms]
    if not texts or not geoms:
        return [None] * len(geoms), len(texts)
    xy = np.asarray([(x, y) for x, y, _ in texts])
    tree = shapely.STRtree(geoms)
    at, poly = tree.query(shapely.points(xy), predicate="intersects")
    areas = shapely.area(np.asarray(geoms, dtype=object))
    best: dict[int, int] = {}
    for t, g in zip(at.tolist(), poly.tolist(), strict=True):
        if t not in best or areas[g] < areas[best[t]]:  # the innermost polygon around it
            best[t] = g
    for t, g in best.items():
        out[g].append(texts[t])
    joined = [
        " ".join(s for _, _, s in sorted(ts, key=lambda v: (-v[1], v[0]))) or None for ts in out
    ]
    return joined, len(texts) - len(best)


def _closed_points(entity: Any, path: Path) -> tuple[npt.NDArray[np.float64], bool] | None:
    """A closed polyline's vertices and whether it has arcs; None if it is open."""
    kind, handle = entity.dxftype(), str(entity.dxf.handle)
    try:
        pts, arcs = _polyline_points(entity)
    except Exception as exc:  # ezdxf raises several types for broken entities
        msg = f"{path.name}: {kind} handle {handle} cannot be read: {exc}"
        raise InputError(msg) from exc
    closed = bool(getattr(entity, "is_closed", False)) or (
        len(pts) > 1 and np.allclose(pts[0], pts[-1], rtol=0.0, atol=_CLOSED_WITHIN)
    )
    if not closed:
        return None
    if len(np.unique(pts, axis=0)) < 3:
        msg = f"{path.name}: {kind} handle {handle} has fewer than 3 distinct points"
        raise GeometryError(msg)
    return pts, arcs


def _note_read(
    skipped: Counter[str], curved: list[str], outside: int, name: str, notes: Notices
) -> None:
    """Say the entities not read (text outside every polygon too), and the polylines whose
    arcs were flattened inside the circle: their areas come out a little small (as the
    curves of a GeoPackage are said)."""
    for kind, n in sorted(skipped.items()):
        notes.add(
            f"{name}: {n} {kind} entit{'y' if n == 1 else 'ies'} not read (only closed "
            "polylines become polygons)",
            source=name,
        )
    if outside:
        notes.add(
            f"{name}: {outside} TEXT/MTEXT entit{'y' if outside == 1 else 'ies'} outside "
            f"every closed polyline not read (a text inside one is its {TEXT_COLUMN})",
            source=name,
        )
    if not curved:
        return
    notes.add(
        f"{name}: {len(curved)} polyline(s) have arcs (bulges), read as straight segments "
        f"within {_FLATTEN} drawing units inside each arc (an area comes out up to 2/3 x "
        f"{_FLATTEN} x the arc's length small: 4 m² for a half circle of radius 200 m); "
        f"handle(s) {', '.join(curved[:10])}{', ...' if len(curved) > 10 else ''}",
        source=name,
    )


def _readfile(path: Path, encoding: str | None = None) -> Any:
    import ezdxf

    try:  # strict when a code page is given or chosen: a byte it lacks is not skipped
        return ezdxf.readfile(path, encoding, "strict" if encoding else "surrogateescape")
    except UnicodeDecodeError as exc:
        msg = (
            f"{path.name}: cannot read as {encoding} text ({exc}); set $DWGCODEPAGE to the "
            "drawing's code page in CAD (ANSI_936 for GBK) or pass the right --encoding"
        )
        raise InputError(msg) from exc
    except (OSError, LookupError, ezdxf.DXFError) as exc:
        msg = f"cannot read {path} as DXF: {exc}"
        raise InputError(msg) from exc


def _open(path: Path, encoding: str | None, notes: Notices) -> tuple[Any, str | None]:
    """The drawing read in ``encoding``, else in its code page, else (its names GBK under
    another code page: :func:`qzgeo.io.dxf_codepage.gbk_misread`) in GBK, said."""
    doc = _readfile(path)
    declared = f"$DWGCODEPAGE = {doc.header.get('$DWGCODEPAGE', 'ANSI_1252')}"
    if doc.dxfversion >= UNICODE_FROM:  # UTF-8 whatever the header or --encoding says
        if encoding is not None:
            notes.add(
                f"{path.name}: DXF {doc.acad_release} text is UTF-8; encoding {encoding!r} "
                "not applied",
                kind="note",
                source=path.name,
            )
        return doc, None
    if encoding is not None:
        return _readfile(path, encoding), encoding
    found = gbk_misread(names_and_text(doc), doc.encoding)
    if found is None:
        return doc, None
    gbk = found.encode(doc.encoding, "surrogateescape").decode("gbk")
    notes.add(
        f"{path.name}: its header says {declared} ({doc.encoding}), but its layer names and "
        f"text are GBK ({found!r} read as {doc.encoding} is {gbk!r} in GBK): read as GBK. Set "
        "$DWGCODEPAGE to ANSI_936 in CAD (or save as DXF 2007 or later), or pass --encoding "
        f"{doc.encoding} to read it as declared",
        source=path.name,
    )
    return _readfile(path, "gbk"), "gbk"


def _note_nested(
    geoms: list[shapely.Polygon], handles: list[str], name: str, notes: Notices
) -> None:
    """Say which polylines lie inside another: DXF has no holes, so a hole drawn as a second
    closed polyline is a polygon of its own and the outer one's area includes it. Both are
    read; whether it is a hole or a parcel within a parcel, the drawing does not say."""
    tree = shapely.STRtree(geoms)
    outer, inner = tree.query(geoms, predicate="contains_properly")
    held: dict[int, list[str]] = {}
    for i, j in zip(outer.tolist(), inner.tolist(), strict=True):
        held.setdefault(i, []).append(handles[j])
    for i, inside in held.items():  # one notice per outer polyline (a block of 500 parcels)
        shown = ", ".join(inside[:10]) + (
            f" and {len(inside) - 10} more" if len(inside) > 10 else ""
        )
        notes.add(
            f"{name}: polyline handle(s) {shown} lie inside polyline handle {handles[i]}; "
            "each is read as a polygon, the outer one's area including theirs. If they are "
            "holes, cut them out (in CAD, or QGIS Vector > Geoprocessing > Difference) and "
            "read that",
            source=name,
            feature=i,
        )


def _polyline_points(entity: Any) -> tuple[npt.NDArray[np.float64], bool]:
    """A polyline's vertices in world coordinates, its arcs (bulges) as points on the circle;
    whether it has arcs.

    ezdxf's paths turn arcs into Bezier curves, which run up to 2.7e-4 of the radius outside
    the circle (5 cm on a 200 m road curve: a half disc 0.025 % too large, beyond the 0.01
    units promised); the polyline's LINE and ARC pieces are exact, each ARC flattened inside
    its circle. ARC pieces always run counter-clockwise: each piece is chained to the last.
    """
    pieces: list[npt.NDArray[np.float64]] = []
    arcs = False
    for part in entity.virtual_entities():
        if part.dxftype() == "ARC":
            arcs = True
            xy = [(v.x, v.y) for v in part.flattening(_FLATTEN)]
        else:  # LINE
            xy = [(part.dxf.start.x, part.dxf.start.y), (part.dxf.end.x, part.dxf.end.y)]
        pieces.append(np.asarray(xy, dtype=np.float64))
    if not pieces:
        return np.empty((0, 2)), False
    if len(pieces) > 1 and _gap(pieces[0][0], pieces[1]) < _gap(pieces[0][-1], pieces[1]):
        pieces[0] = pieces[0][::-1]
    chain = [pieces[0]]
    for piece in pieces[1:]:
        end = chain[-1][-1]
        if np.hypot(*(piece[-1] - end)) < np.hypot(*(piece[0] - end)):
            piece = piece[::-1]
        chain.append(piece[1:])
    return np.concatenate(chain), arcs


def _gap(point: npt.NDArray[np.float64], piece: npt.NDArray[np.float64]) -> float:
    """Distance from ``point`` to the nearer end of ``piece``."""
    return float(min(np.hypot(*(piece[0] - point)), np.hypot(*(piece[-1] - point))))


def _is_2d_or_3d_polyline(entity: object) -> bool:
    # POLYLINE also encodes polyface and polygon meshes, which are not parcels.
    return bool(entity.is_2d_polyline or entity.is_3d_polyline)  # type: ignore[attr-defined]
