"""The columns ``analyze`` writes for each parcel, and the parcels' own columns of those names.

A parcel file may already hold a column named like a result: a surveyed ``area_m2``, a
``conflict`` column of an earlier check, the results of an earlier run. The results used to
replace them without a word; they are kept under another name, and the report says so.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import geopandas as gpd

from qzgeo.analysis.parcel_extent import UNCHECKED
from qzgeo.geo.repair import RepairReport
from qzgeo.io.write import case_twins

#: The column of ``parcels.gpkg`` holding each parcel's feature id in the input.
SOURCE_FID = "source_fid"

#: The columns analyze writes besides the constraint classes' (``layer:class``).
RESULT_COLUMNS = (
    SOURCE_FID,
    "zone_layer",
    "zone_fid",
    "zone_name",
    "zone_m2",
    "area_m2",
    "area_ha",
    "area_mu",
    "inside_boundary",
    "constrained_m2",
    "available_m2",
    "available_ha",
    "available_mu",
    UNCHECKED,
    "conflict",
)

#: What joins a constraint layer and its class in a result column's name (``layer:class``).
CLASS_SEPARATOR = ":"
#: A column this module renamed (``area_m2_input``, ``area_m2_input2``...).
_KEPT = re.compile(r"_input\d*$")

#: The name of the results' geometry column, which a parcel table's other column may have.
GEOMETRY = "geometry"

#: The feature-id column of ``parcels.gpkg``: GDAL takes a column of that name, in any case,
#: as the feature ids, and stops at text or repeated values (the fid QGIS copies into a
#: Shapefile it exports, repeated after a merge).
GPKG_FID = "fid"


def keep_own_columns(parcels: gpd.GeoDataFrame, repairs: RepairReport) -> gpd.GeoDataFrame:
    """The parcels with their own columns named like a result renamed ``<name>_input``.

    Said once in ``repairs.warnings`` (each chunk of a big file renames alike).

    Examples
    --------
    >>> from shapely import box
    >>> from qzgeo.geo.repair import RepairReport
    >>> report = RepairReport()
    >>> p = gpd.GeoDataFrame({"area_m2": [12.5]}, geometry=[box(0, 0, 1, 1)])
    >>> list(keep_own_columns(p, report).columns), len(report.warnings)
    (['area_m2_input', 'geometry'], 1)
    """
    columns = [str(c) for c in parcels.columns if c != parcels.geometry.name]
    names = input_names(columns)
    twins = [c for _, c in case_twins(columns)]
    clash = [c for c in names if c not in twins]
    msgs = [
        f"the parcels' own columns {', '.join(clash)} are kept as "
        f"{', '.join(names[c] for c in clash)}: analyze writes its results under those names",
        f"the parcels' columns {', '.join(twins)} are kept as "
        f"{', '.join(names[c] for c in twins)}: a GeoPackage's column names ignore case, and "
        "another column has the same name in another case",
    ]
    for msg, some in zip(msgs, (clash, twins), strict=True):
        if some and msg not in repairs.warnings:
            repairs.warnings.append(msg)
    return parcels.rename(columns=names) if names else parcels


def kept_declared(declared: Sequence[tuple[str, str]]) -> tuple[tuple[str, str], ...]:
    """The parcel file's declared field types under the names :func:`keep_own_columns` gives.

    A declared integer ``area_m2`` would otherwise cast the results' ``area_m2`` to integers.

    Examples
    --------
    >>> kept_declared([("area_m2", "int64"), ("名称", "object")])
    (('area_m2_input', 'int64'), ('名称', 'object'))
    """
    names = input_names([c for c, _ in declared])
    return tuple((names.get(c, c), t) for c, t in declared)


def input_names(columns: Sequence[str]) -> dict[str, str]:
    """``{column: new name}`` for the ``columns`` named like a result (a constraint class's
    ``layer:class`` too) or like the GeoPackage's feature ids (``fid``, any case):
    ``<name>_input``, or
    ``<name>_input2``... where that is taken (a file analyze wrote, analyzed again, holds
    both ``area_m2`` and ``area_m2_input``). Depends on the names only, so that the frame
    and the file's declared fields are renamed alike.

    Examples
    --------
    >>> input_names(["area_m2", "area_m2_input", "名称", "FID", "红线:农田", "红线:农田_input"])
    {'area_m2': 'area_m2_input2', 'FID': 'FID_input', '红线:农田': '红线:农田_input2'}
    >>> input_names(["AREA_M2", "Conflict", "area_m2_INPUT"])  # a Shapefile's names, any case
    {'AREA_M2': 'AREA_M2_input2', 'Conflict': 'Conflict_input'}
    >>> input_names(["name", "NAME", "NAME_2"])  # a GeoJSON's: see case_twins
    {'NAME': 'NAME_3'}
    >>> input_names(["geometry", "名称"])  # a PostGIS table's text column; its geometry: geom
    {'geometry': 'geometry_input'}
    """
    # GeoPackage (SQLite) column names are case-insensitive: a Shapefile's AREA_M2 or
    # CONFLICT clashes with the results' area_m2, conflict as an exact one does
    taken = {c.casefold() for c in columns}
    order = [r.casefold() for r in (*RESULT_COLUMNS, GPKG_FID)]
    clash = sorted(
        (c for c in columns if c.casefold() in order), key=lambda c: order.index(c.casefold())
    )
    if GEOMETRY in columns:  # a column beside the geometry (``geom``): the results' geometry
        clash.append(GEOMETRY)
    # the constraint classes' columns, ``layer:class`` (overlay_plan.class_column): which
    # classes a pack has is not known here, and a ':' is rare in a field name otherwise
    classes = [c for c in columns if CLASS_SEPARATOR in c and not _KEPT.search(c)]
    out = {}
    for c in [*clash, *classes]:
        name, n = f"{c}_input", 2
        while name.casefold() in taken:
            name, n = f"{c}_input{n}", n + 1
        taken.add(name.casefold())
        out[c] = name
    for _, c in case_twins(columns):
        if c in out:
            continue
        name, n = f"{c}_2", 3
        while name.casefold() in taken:
            name, n = f"{c}_{n}", n + 1
        taken.add(name.casefold())
        out[c] = name
    return out
