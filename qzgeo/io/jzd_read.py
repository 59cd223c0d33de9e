"""Reading 界址点坐标 text files: the parcel boundaries of 建设用地报批 (land approval).

A file has an ``[属性描述]`` section (``key=value`` lines: 坐标系, 几度分带, 带号, ...) and a
``[地块坐标]`` section with one header line per parcel, ending in ``@``::

    点数,面积(公顷),地块编号,地块名称,图形属性,图幅号,地块用途,地类编码,@

followed by vertex rows ``点号,圈号,X,Y``: X is the northing, Y the easting (with the zone
prefix when present), 圈号 1 the outer ring, higher numbers holes. Each ring repeats its first
point to close it. The description follows community parsers, not the official specification.

The reader never guesses silently: everything it assumes (encoding, swapped columns, a closed
ring, a declared area that does not match) becomes a :class:`~qzgeo.notices.Notice` in
``gdf.attrs["notices"]`` (see :func:`qzgeo.notices.notices_of`), tagged with the parcel's row
when it is about one parcel, so that it reaches that parcel's report.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import shapely
from pyproj import CRS

from qzgeo._errors import InputError
from qzgeo.io.jzd_area import AREA_UNITS, area_notices, half_unit_ha
from qzgeo.io.jzd_crs import FULLWIDTH, decide_swap, file_crs
from qzgeo.io.jzd_text import decode_jzd
from qzgeo.notices import Kind, Notices, attach_notices

#: Attribute columns of a parcel header, in file order (after 点数 and 面积).
PARCEL_FIELDS = ("地块编号", "地块名称", "图形属性", "图幅号", "地块用途", "地类编码")
#: Column holding the area declared in the file, in 公顷 (ha). Every column of a parcel fits
#: the 10-byte field names of a GBK Shapefile (申报面积_公顷 did not: a 界址点 file could not be
#: converted to a Shapefile at all).
DECLARED_AREA = "申报面积ha"
#: Column holding the point count declared in the file.
DECLARED_POINTS = "申报点数"
#: Column holding the line number of the parcel's header.
LINE = "行号"


@dataclass
class _Ring:
    number: int
    line: int
    coords: list[tuple[float, float]] = field(default_factory=list)


@dataclass
class _Parcel:
    line: int
    points: int | None
    area_ha: float | None
    #: Half a unit of the last digit the 面积 was written with, in 公顷.
    area_step_ha: float
    attrs: dict[str, str]
    rings: dict[int, _Ring] = field(default_factory=dict)
    n_rows: int = 0


#: The file's syntax typed with a Chinese input method (，＝＠［］): read as ASCII.
_SYNTAX = str.maketrans("，＝＠［］", ",=@[]")
#: [属性描述] keys whose values are read as numbers (坐标系 is kept as written: messages
#: quote it).
_CRS_KEYS = ("几度分带", "带号", "中央子午线")


def _number(text: str, what: str, where: str, expected: str = "'点号,圈号,X,Y'") -> float:
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value):
        msg = f"{where}: {what} {text!r} is not a finite number; expected {expected}"
        raise InputError(msg)
    return value


def _area_ha(text: str, where: str) -> float:
    """A header's 面积 in 公顷: a number, or a number followed by 公顷, 平方米 (m²) or 亩."""
    for unit, factor in AREA_UNITS.items():
        if text.endswith(unit):
            head = text[: -len(unit)].strip()
            return (
                _number(head, "面积", where, f"a number in 公顷, or one ending in {unit}") * factor
            )
    return _number(text, "面积", where, "a number in 公顷 (or ending in 公顷, 平方米 or 亩)")


def _parse_header(fields: list[str], lineno: int, where: str) -> _Parcel:
    """A parcel header line ``点数,面积,地块编号,地块名称,图形属性,图幅号,地块用途,地类编码,@``."""
    values = fields[:-1] + [""] * max(0, 8 - len(fields) + 1)
    points = None
    if values[0]:
        try:
            points = int(values[0])
        except ValueError:
            msg = f"{where}: 点数 {values[0]!r} is not an integer"
            raise InputError(msg) from None
    area = _area_ha(values[1], where) if values[1] else None
    attrs = dict(zip(PARCEL_FIELDS, values[2:8], strict=True))
    if attrs["图形属性"] not in ("", "面"):
        msg = (
            f"{where}: 图形属性 {attrs['图形属性']!r} is not supported; only 面 "
            "(polygon) parcels can be read"
        )
        raise InputError(msg)
    step = half_unit_ha(values[1]) if values[1] else 0.0
    return _Parcel(line=lineno, points=points, area_ha=area, area_step_ha=step, attrs=attrs)


def _add_vertex(parcels: list[_Parcel], fields: list[str], lineno: int, where: str) -> None:
    """A vertex row ``点号,圈号,X,Y`` of the last parcel (fields after Y: see :func:`_extras`)."""
    if not parcels:
        msg = f"{where}: vertex row before any parcel header line (ending in ',@')"
        raise InputError(msg)
    if len(fields) < 4:
        msg = f"{where}: expected '点号,圈号,X,Y', got {','.join(fields)[:60]!r}"
        raise InputError(msg)
    if len(fields) == 6 and all(f.isascii() and f.isdigit() for f in fields[2:]):
        # X and Y were read as the northing's whole metres and its decimals
        msg = (
            f"{where}: {','.join(fields)!r} looks like coordinates written with decimal commas "
            f"(X {fields[2]},{fields[3]}, Y {fields[4]},{fields[5]}); write them with a decimal "
            f"point ({fields[2]}.{fields[3]}) and read the file again"
        )
        raise InputError(msg)
    try:
        ring_no = int(fields[1])
    except ValueError:
        msg = f"{where}: 圈号 {fields[1]!r} is not an integer"
        raise InputError(msg) from None
    x = _number(fields[2], "X", where)
    y = _number(fields[3], "Y", where)
    parcel = parcels[-1]
    parcel.n_rows += 1
    parcel.rings.setdefault(ring_no, _Ring(ring_no, lineno)).coords.append((x, y))


def _parse(
    text: str, name: str, notes: Notices
) -> tuple[dict[str, tuple[int, str]], list[_Parcel]]:
    meta: dict[str, tuple[int, str]] = {}
    parcels: list[_Parcel] = []
    section: str | None = None
    extras: list[tuple[int, str, list[str]]] = []
    for lineno, raw in enumerate(text.splitlines(), start=1):
        where = f"{name} line {lineno}"
        line = raw.strip().translate(_SYNTAX)
        if not line:
            continue
        if line.startswith("[") and line.endswith("]"):
            section = line[1:-1].strip()
            if section not in ("属性描述", "地块坐标"):
                notes.add(f"{where}: unknown section [{section}] ignored", source=name, line=lineno)
            continue
        if section is None:
            msg = f"{where}: expected a [属性描述] or [地块坐标] section header, got {line[:40]!r}"
            raise InputError(msg)
        if section == "属性描述":
            _add_meta(meta, line, (name, lineno), notes)
        elif section == "地块坐标":
            fields = [f.strip() for f in line.split(",")]
            # Some producers end a header with ',@,': the empty fields after the '@' are no
            # values (read as a vertex row, its 面积 was taken for a 圈号).
            while len(fields) > 1 and not fields[-1] and "@" in fields:
                fields.pop()
            if fields[-1] == "@":
                fields[:2] = [f.translate(FULLWIDTH) for f in fields[:2]]
                parcels.append(_parse_header(fields, lineno, where))
                extras.append((lineno, "header", fields[8:-1]))
            else:
                fields[1:4] = [f.translate(FULLWIDTH) for f in fields[1:4]]
                _add_vertex(parcels, fields, lineno, where)
                extras.append((lineno, "vertex", fields[4:]))
    _extras(extras, name, notes)
    if not parcels:
        msg = f"{name}: no parcels found (no [地块坐标] header line ending in ',@')"
        raise InputError(msg)
    for p in parcels:
        if not p.rings:
            msg = (
                f"{name} line {p.line}: parcel {p.attrs['地块编号']!r} has no vertex rows "
                "('点号,圈号,X,Y') under it; add its boundary points"
            )
            raise InputError(msg)
    return meta, parcels


def _extras(rows: list[tuple[int, str, list[str]]], name: str, notes: Notices) -> None:
    """Say the fields after ``点号,圈号,X,Y`` or after a header's 地类编码, once per file and
    form: they are read past, not dropped unseen (empty ones, a trailing comma, hold nothing)."""
    forms = {"vertex": "点号,圈号,X,Y", "header": "点数,面积,地块编号,...,地类编码,@"}
    for what, form in forms.items():
        said = [(line, full) for line, w, fields in rows if w == what and (full := _filled(fields))]
        if not said:
            continue
        line, fields = said[0]
        notes.add(
            f"{name}: {len(said)} line(s) have more fields than {form} (first: line {line}, "
            f"extra {','.join(fields)[:60]!r}); read without the extra fields. If they are not "
            "extra but a column is missing or added in front, fix the file and read it again",
            source=name,
            line=line,
        )


def _filled(fields: list[str]) -> list[str]:
    return [f for f in fields if f]


def _add_meta(
    meta: dict[str, tuple[int, str]], line: str, at: tuple[str, int], notes: Notices
) -> None:
    """A ``key=value`` line of [属性描述]; one without ``=`` is said, not dropped unseen (a
    坐标系 line lost so was taken for CGCS2000)."""
    name, lineno = at
    key, sep, value = line.partition("=")
    if not sep:
        notes.add(
            f"{name} line {lineno}: [属性描述] line {line[:40]!r} has no '='; ignored (write "
            "it key=value)",
            source=name,
            line=lineno,
        )
        return
    key = key.strip().translate(FULLWIDTH)
    value = value.strip()
    meta[key] = (lineno, value.translate(FULLWIDTH) if key in _CRS_KEYS else value)


def _polygon(
    parcel: _Parcel, index: int, swap: bool, name: str, notes: Notices
) -> shapely.Geometry:
    rings: list[tuple[_Ring, list[tuple[float, float]]]] = []
    for ring in sorted(parcel.rings.values(), key=lambda r: r.number):
        # File X is the northing: put the easting first.
        xy = [(y, x) for x, y in ring.coords] if not swap else list(ring.coords)
        loops = _closed_loops(xy)
        if len(loops) > 1:
            said = f"closes and goes on {len(loops) - 1} time(s); read as {len(loops)} rings"
            _ring_note(notes, (name, parcel, ring, index), said, kind="note")
        for coords in loops:
            if len(set(coords)) < 3:
                msg = (
                    f"{name} line {ring.line}: ring {ring.number} of parcel "
                    f"{parcel.attrs['地块编号']!r} has {len(set(coords))} distinct point(s); a "
                    "ring needs at least 3"
                )
                raise InputError(msg)
            if coords[0] != coords[-1]:
                coords.append(coords[0])
                said = "does not repeat its first point; closed it"
                _ring_note(notes, (name, parcel, ring, index), said)
            rings.append((ring, coords))
    depth, hosts = _nesting([coords for _, coords in rings])
    parts: dict[int, list[list[tuple[float, float]]]] = {}
    for i, (ring, coords) in enumerate(rings):
        host = hosts[i]
        if host is None:
            if parts:  # not the first part
                said = (
                    "lies inside a hole; read as a new part (an island)"
                    if depth[i]
                    else "lies outside the outer ring; read as a new part"
                )
                _ring_note(notes, (name, parcel, ring, index), said, kind="note")
            parts[i] = [coords]
        elif host > i:
            said = f"lies inside ring {rings[host][0].number}; read as its hole"
            _ring_note(notes, (name, parcel, ring, index), said, kind="note")
    for i, host in enumerate(hosts):
        if host is not None:
            parts[host].append(rings[i][1])
    polys = [shapely.Polygon(shell, holes) for shell, *holes in parts.values()]
    return polys[0] if len(polys) == 1 else shapely.MultiPolygon(polys)


def _closed_loops(coords: list[tuple[float, float]]) -> list[list[tuple[float, float]]]:
    """The rings of one 圈号: a new ring begins after each return to the ring's first point.

    Some exports number every ring of a parcel alike (its holes, its other parts): each still
    repeats its own first point. Read as one ring, they made a ring that crosses itself, and
    its repair kept the hole as land.
    """
    loops, start = [], 0
    for k in range(len(coords)):
        if k - start >= 3 and coords[k] == coords[start]:
            loops.append(coords[start : k + 1])
            start = k + 1
    rest = coords[start:]
    if rest and (not loops or len(set(rest)) > 1):
        loops.append(rest)  # an open last ring, or the whole of an open one
    return loops


def _nesting(rings: list[list[tuple[float, float]]]) -> tuple[list[int], list[int | None]]:
    """Each ring's depth (how many other rings hold it) and host (the ring whose hole it is).

    A ring is held by another when that one covers most of its vertices (a ring drawn along its
    shell's edge stays held). Depth decides, as in the even-odd rule, whatever the 圈号 order:
    an even depth is a part (an island drawn inside a hole is a part too, not a hole of the
    shell around it), an odd depth a hole of the ring one level up that holds it.
    """
    polys = [shapely.Polygon(c) for c in rings]
    pts = [shapely.points(np.asarray(c[:-1])) for c in rings]
    held = [
        [j for j in range(len(rings)) if j != i and shapely.covers(polys[j], pts[i]).mean() >= 0.5]
        for i in range(len(rings))
    ]
    depth = [len(h) for h in held]
    hosts: list[int | None] = []
    for i, h in enumerate(held):
        up = [j for j in h if depth[j] == depth[i] - 1] if depth[i] % 2 else []
        hosts.append(up[0] if up else None)
    return depth, hosts


def _ring_note(
    notes: Notices, at: tuple[str, _Parcel, _Ring, int], text: str, kind: Kind = "repair"
) -> None:
    name, parcel, ring, index = at
    notes.add(
        f"{name} line {ring.line}: ring {ring.number} of parcel "
        f"{parcel.attrs['地块编号']!r} {text}",
        kind=kind,
        source=name,
        feature=index,
        line=ring.line,
    )


def read_jzd(
    path: str | os.PathLike[str],
    *,
    encoding: str | None = None,
    swap_xy: bool | None = None,
    crs: str | CRS | None = None,
) -> gpd.GeoDataFrame:
    """Read a 界址点坐标 text file into one polygon per parcel.

    Parameters
    ----------
    path
        The ``.txt`` file.
    encoding
        Text encoding; default: UTF-8 if the bytes are valid UTF-8 (with or without BOM),
        else GBK (read as its superset GB18030).
    swap_xy
        ``True`` if the X column holds eastings; default: decided from the magnitudes
        (a northing is 0.3–6.1 million m in China, an easting 0.1–0.9 million m, or that plus
        zone × 10⁶ with the zone prefix), with a warning when the columns look swapped.
    crs
        CRS to use when the file does not tell: the file's own comes from 坐标系 and ``带号``
        or the zone prefix (EPSG:4513–4533 codes for prefixed eastings, EPSG:4534–4554
        otherwise; Xian 1980 and Beijing 1954 files get their own EPSG codes).

    Returns
    -------
    GeoDataFrame with columns 地块编号, 地块名称, 图形属性, 图幅号, 地块用途, 地类编码,
    申报面积ha (declared, 公顷), 申报点数 (declared), 行号 (line of the parcel header). ``attrs``
    holds ``notices`` (:class:`~qzgeo.notices.Notices`), ``encoding`` and ``metadata`` (the
    [属性描述] pairs).

    Raises
    ------
    InputError
        Unreadable lines, with the file name and line number.
    CRSError
        Zone unknown (no 带号, no prefix and no ``crs``) or inconsistent.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "a.txt"
    >>> _ = p.write_text("[属性描述]\\n带号=40\\n[地块坐标]\\n5,1.0,A,,面,,,,@\\n"
    ...     "J1,1,3343600,40564100\\nJ2,1,3343600,40564200\\nJ3,1,3343700,40564200\\n"
    ...     "J4,1,3343700,40564100\\nJ1,1,3343600,40564100\\n", encoding="gbk")
    >>> gdf = read_jzd(p)
    >>> gdf.crs.to_epsg(), round(gdf.geometry.area.iloc[0])
    (4528, 10000)
    """
    path = Path(path)
    name = path.name
    try:
        data = path.read_bytes()
    except OSError as exc:
        msg = f"cannot read {path}: {exc.strerror or exc}"
        raise InputError(msg) from exc
    notes = Notices()
    text, used = decode_jzd(data, encoding, name, notes)
    meta, parcels = _parse(text, name, notes)
    _point_count_notices(parcels, name, notes)
    all_xy = np.asarray(
        [c for p in parcels for r in p.rings.values() for c in r.coords], dtype=float
    )
    swap = decide_swap(all_xy, swap_xy, crs, name, notes)
    easting = all_xy[:, 0] if swap else all_xy[:, 1]
    out_crs = file_crs(meta, easting, name, notes, crs)
    geoms = [_polygon(p, i, swap, name, notes) for i, p in enumerate(parcels)]
    gdf = _parcels_frame(parcels, geoms, out_crs)
    declared = [(p.area_ha, p.area_step_ha, p.line, p.attrs["地块编号"]) for p in parcels]
    area_notices(gdf, declared, name, notes)
    attach_notices(gdf, notes)
    gdf.attrs["encoding"] = used
    gdf.attrs["metadata"] = {k: v for k, (_, v) in meta.items()}
    return gdf


def _point_count_notices(parcels: list[_Parcel], name: str, notes: Notices) -> None:
    for i, p in enumerate(parcels):
        if p.points is not None and p.points != p.n_rows:
            notes.add(
                f"{name} line {p.line}: parcel {p.attrs['地块编号']!r} declares {p.points} "
                f"points but has {p.n_rows} vertex rows",
                source=name,
                feature=i,
                line=p.line,
            )


def _parcels_frame(
    parcels: list[_Parcel], geoms: list[shapely.Geometry], crs: CRS
) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {
            **{f: [p.attrs[f] for p in parcels] for f in PARCEL_FIELDS},
            DECLARED_AREA: [p.area_ha for p in parcels],
            DECLARED_POINTS: [p.points for p in parcels],
            LINE: [p.line for p in parcels],
        },
        geometry=geoms,
        crs=crs,
    )
