"""Writing vector layers: atomic, deterministic, the format chosen by the file extension.

Writers never append to or patch an old output: they build a new file beside the target and
rename it into place, so a failed write leaves the previous file intact and a re-run gives
byte-identical files.
"""

from __future__ import annotations

import json
import os
import string
from collections.abc import Collection, Iterable, Mapping
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio

from qzgeo._errors import OutputError
from qzgeo.io.atomic import atomic_path, write_with
from qzgeo.io.jzd_write import refuse_missing_geometry, write_jzd
from qzgeo.io.shapefile_write import refuse_mixed_shapes, write_encoding, write_shapefile
from qzgeo.io.vector import PYOGRIO_ERRORS
from qzgeo.notices import Notices

#: The GeoPackage version qzgeo writes. GDAL 3.9+ writes 1.4 by default, which the GDAL of
#: QGIS 3.22 LTR (Debian 12: GDAL 3.6) warns "may only be partially supported" on every layer
#: it opens, as older ArcGIS and QGIS releases on office machines do; 1.2 is read by all of
#: them, and nothing qzgeo writes needs 1.3 or 1.4.
GPKG_VERSION = "1.2"
GPKG_DATASET_OPTIONS = {"VERSION": GPKG_VERSION}


def pin_gpkg_timestamps() -> None:
    """Make GDAL stamp every GeoPackage it writes with one fixed "last change" date.

    GeoPackages record when they were changed; a fixed date keeps rebuilds byte-identical.
    """
    pyogrio.set_gdal_config_options({"OGR_CURRENT_DATE": "2000-01-01T00:00:00.000Z"})


#: First characters GDAL refuses in a GeoPackage layer name ("may not contain special
#: characters or spaces"): every ASCII punctuation mark but "_" (GDAL 3.12).
_GPKG_BAD_FIRST = frozenset(string.punctuation) - {"_"}


def gpkg_layer_problem(name: str) -> str | None:
    """Why GDAL would refuse ``name`` as a GeoPackage layer name, or None.

    Examples
    --------
    >>> gpkg_layer_problem("-宗地")
    "layer name '-宗地' starts with '-', which GDAL refuses in a GeoPackage"
    >>> gpkg_layer_problem("gpkg_宗地")
    "layer name 'gpkg_宗地' starts with 'gpkg', which a GeoPackage reserves for its own tables"
    >>> gpkg_layer_problem("宗地-2024") is None
    True
    """
    if not name:
        return "the layer name is empty"
    if name[0] in _GPKG_BAD_FIRST:
        return f"layer name {name!r} starts with {name[0]!r}, which GDAL refuses in a GeoPackage"
    if (reserved := _gpkg_reserved(name)) is not None:
        return (
            f"layer name {name!r} starts with {name[: len(reserved)]!r}, which a "
            f"{'GeoPackage' if reserved == 'gpkg' else 'SQLite database'} reserves for its own "
            "tables"
        )
    return None


def _gpkg_reserved(name: str) -> str | None:
    """The reserved start of ``name``: ``gpkg`` (GDAL: lower case only) or ``sqlite_`` (SQLite:
    any case), as GDAL's and SQLite's refusals read them, or None."""
    if name.startswith("gpkg"):
        return "gpkg"
    return "sqlite_" if name.casefold().startswith("sqlite_") else None


def gpkg_layer_fixed(name: str) -> str:
    """``name`` without the start :func:`gpkg_layer_problem` refuses (an example of a name to
    give instead; empty when nothing is left).

    >>> gpkg_layer_fixed("-宗地"), gpkg_layer_fixed("gpkg_宗地"), gpkg_layer_fixed("SQLite_x")
    ('宗地', '宗地', 'x')
    """
    name = name.lstrip("".join(_GPKG_BAD_FIRST))
    if (reserved := _gpkg_reserved(name)) is not None:
        name = name[len(reserved) :].lstrip("_").lstrip("".join(_GPKG_BAD_FIRST))
    return name


def write_gpkg(
    path: str | os.PathLike[str],
    layers: Mapping[str, gpd.GeoDataFrame | pd.DataFrame],
    *,
    replace: bool = True,
    multipolygon: Collection[str] = (),
    descriptions: Mapping[str, str] | None = None,
) -> Path:
    """Write several layers into one new GeoPackage, atomically and reproducibly.

    The file is always rebuilt from scratch: re-runs replace the GeoPackage, they never append
    layers to an old one. A plain DataFrame becomes an attribute table. The layers named in
    ``multipolygon`` are MultiPolygon layers whatever their rows (polygons promoted): GDAL
    typed a layer by the rows it got, Polygon in one run, MultiPolygon in the next and
    Unknown when empty (check.gpkg's conflict_patches of a clear site), which QGIS and a
    script reading the layer by its type then met differently. ``descriptions``: a layer's
    ``gpkg_contents.description``, which QGIS shows as the layer's abstract (Properties >
    Metadata).
    """
    for name in layers:
        if (why := gpkg_layer_problem(name)) is not None:
            msg = f"cannot write {Path(path).name}: {why}; name the layer otherwise"
            raise OutputError(msg)
    pin_gpkg_timestamps()
    with atomic_path(path, replace=replace) as tmp:
        for name, gdf in layers.items():
            told = (descriptions or {}).get(name)
            _append_layer(tmp, name, gdf, multi=name in multipolygon, description=told)
    return Path(path)


def _append_layer(
    tmp: Path,
    layer: str,
    gdf: gpd.GeoDataFrame | pd.DataFrame,
    *,
    multi: bool = False,
    description: str | None = None,
) -> None:
    typed: dict[str, Any] = {"geometry_type": "MultiPolygon", "promote_to_multi": True}
    told = {"DESCRIPTION": description} if description else {}
    pyogrio.write_dataframe(
        gdf,
        tmp,
        layer=layer,
        driver="GPKG",
        append=tmp.exists(),
        dataset_options=None if tmp.exists() else GPKG_DATASET_OPTIONS,
        layer_options={"SPATIAL_INDEX": "YES", **_fid_name(gdf), **told},
        # Arrow: the columns go to GDAL as arrays in one transaction, not row by row
        # (~1.5x faster on 300k parcels, same schema).
        use_arrow=True,
        **(typed if multi else {}),
    )


def _fid_name(gdf: gpd.GeoDataFrame | pd.DataFrame) -> dict[str, str]:
    """The layer option naming the feature-id column when ``gdf`` has a ``fid`` of its own.

    GDAL takes a column named like the feature-id column (``fid``, any case) as the feature
    ids: fine for unique integers (a GeoPackage's fid kept through a Shapefile), but text or
    repeated values (a merge of two exports) stopped the write ("UNIQUE constraint failed").
    Such a column stays an attribute, and the ids get a free name.
    """
    own = [c for c in gdf.columns if str(c).casefold() == "fid"]
    if not own:
        return {}
    col = gdf[own[0]]
    if col.dtype.kind in "iu" and col.notna().all() and col.is_unique:
        return {}
    taken = {str(c).casefold() for c in gdf.columns}
    n = 1
    while f"fid_{n}" in taken:
        n += 1
    return {"FID": f"fid_{n}"}


def _dbf_integers(data: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """``data`` with its 64-bit integer columns whose values fit in 32 bits made 32-bit.

    A GeoPackage INTEGER is always 64-bit, and GDAL writes a 64-bit column to a DBF as
    ``N(18,0)`` or wider, which ArcGIS opens as Double (标识码 1 shown as 1.0); a 32-bit one
    becomes ``N(9,0)``, a Long. Wider values (a 19-digit 宗地代码) stay 64-bit, every digit kept.
    """
    narrow = {}
    for name in data.columns:
        kind = str(data[name].dtype)
        if kind in ("int64", "Int64") and data[name].dropna().between(-(2**31), 2**31 - 1).all():
            narrow[name] = kind.replace("64", "32")
    return data.astype(narrow) if narrow else data


#: Output formats by file extension.
WRITE_FORMATS = {
    ".gpkg": "GPKG",
    ".geojson": "GeoJSON",
    ".json": "GeoJSON",
    ".fgb": "FlatGeobuf",
    ".shp": "ESRI Shapefile",
    ".parquet": "GeoParquet",
    ".txt": "界址点",
}


def write_layer(
    gdf: gpd.GeoDataFrame,
    path: str | os.PathLike[str],
    *,
    layer: str | None = None,
    zone: int | None = None,
    prefix: bool = True,
    notices: Notices | None = None,
    encoding: str | None = None,
    replace: bool = True,
    description: str | None = None,
) -> Path:
    """Write one layer to ``path``, the format chosen by the extension (see :data:`WRITE_FORMATS`).

    Writes are atomic (a temporary file beside the target, then a rename; for Shapefiles each
    of the .shp/.shx/.dbf/.prj/.cpg files is replaced in turn) and reproducible. The index is
    not written. Shapefiles are written in UTF-8 (or ``encoding``: GBK, GB18030) with a
    ``.cpg``; field names over the 10-byte DBF limit and text over 254 bytes are refused
    instead of being cut. ``zone``, ``prefix`` and ``encoding`` (default GBK) apply to 界址点
    ``.txt`` output (see :func:`qzgeo.io.jzd_write.write_jzd`); ``encoding`` to no other
    format (GeoPackage, GeoJSON, FlatGeobuf and GeoParquet are always UTF-8).
    ``replace=False``: a file at ``path`` (or a Shapefile's file) when the write is done, made
    by another program meanwhile, is left as it is and the write is an :class:`OutputError`.
    ``description``: a GeoPackage layer's description (its abstract in QGIS); other formats
    have no place for it.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from shapely import box
    >>> from qzgeo.io.vector import read_layer
    >>> g = gpd.GeoDataFrame({"名称": ["甲"]}, geometry=[box(117.6, 31.7, 117.61, 31.71)],
    ...                      crs="EPSG:4490")
    >>> out = write_layer(g, pathlib.Path(tempfile.mkdtemp()) / "a.fgb")
    >>> read_layer(out)["名称"].tolist()
    ['甲']
    """
    target = Path(path)
    suffix = target.suffix.lower()
    if suffix not in WRITE_FORMATS:
        msg = (
            f"cannot write {target.name}: unknown extension; use one of {', '.join(WRITE_FORMATS)}"
        )
        raise OutputError(msg)
    if encoding is not None and suffix not in (".shp", ".txt"):
        msg = (
            f"cannot write {target.name} in {encoding}: only Shapefiles (.shp) and 界址点 files "
            "(.txt) take an encoding; this format is always UTF-8"
        )
        raise OutputError(msg)
    if suffix in (".gpkg", ".shp"):
        _refuse_case_twins(gdf, target)
    if suffix == ".shp":
        refuse_mixed_shapes(gdf, target)
    if suffix == ".txt":  # before the ids are reset: the features named as read
        refuse_missing_geometry(gdf, target.name)
    data = _source_fids(gdf) if suffix == ".gpkg" else gdf.reset_index(drop=True)
    if suffix not in (".parquet", ".txt"):  # GeoParquet holds lists and structs as they are
        data = json_cells(data)
    try:
        return _write_by_suffix(
            data, target, suffix, layer or target.stem, zone, prefix, notices, encoding, replace,
            description=description,
        )  # fmt: skip
    except PYOGRIO_ERRORS as exc:
        msg = f"could not write {target}: {exc}; the previous file is unchanged"
        raise OutputError(msg) from exc


def _source_fids(gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """``gdf`` with its feature ids (the index :func:`~qzgeo.io.vector.read_layer` gives: a
    GeoPackage's or FileGDB's fids, a table's integer key) as a ``fid`` column, which GDAL
    writes as the GeoPackage's fids, as ``ogr2ogr`` keeps them; renumbered 1, 2... they no
    longer named the features as the source and ``analyze``'s ``source_fid`` do (3, 7, 12
    became 1, 2, 3). Ids from 0 (a Shapefile's, a GeoJSON's: record numbers, not fids of
    their own) and ids that are not unique positive integers are numbered afresh, as a
    ``fid`` column of the data's own is left as it is (:func:`_fid_name`).
    """
    ids = gdf.index
    own = any(str(c).casefold() == "fid" for c in gdf.columns)
    if own or ids.dtype.kind not in "iu" or not ids.is_unique or not len(ids) or ids.min() < 1:
        return gdf.reset_index(drop=True)
    out = gdf.reset_index(drop=True)
    out.insert(0, "fid", ids.to_numpy(dtype="int64"))
    return out


def _json_text(value: object) -> object:
    if isinstance(value, np.ndarray):
        value = value.tolist()
    if isinstance(value, dict | list | tuple):
        return json.dumps(value, ensure_ascii=False, default=str)
    return value


def json_cells(gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """``gdf`` with its lists and JSON objects as JSON text.

    GDAL reads a GeoJSON array property (DataV's ``"center": [1.5, 2.5]``) as a list field,
    pyogrio as NumPy arrays, and a JSON object (``"parent": {"adcode": 100000}``) as dicts.
    Written as they were, the arrays became ``[1.5 2.5]`` (NumPy's text) and the dicts
    Python's text, or a struct column ``parent.adcode`` whose null cells came out as 0.
    GDAL's GeoJSON writer turns the JSON text back into arrays and objects.

    Examples
    --------
    >>> from shapely import Point
    >>> g = gpd.GeoDataFrame({"c": [np.array([1.5, 2.5]), None], "p": [{"a": 1}, None]},
    ...                      geometry=[Point(0, 0)] * 2)
    >>> json_cells(g)[["c", "p"]].to_numpy().tolist()
    [['[1.5, 2.5]', '{"a": 1}'], [None, None]]
    """
    out = gdf
    for name in gdf.columns:
        col = gdf[name]
        if name == gdf.geometry.name or col.dtype != object:
            continue
        if any(isinstance(v, dict | list | tuple | np.ndarray) for v in col):
            if out is gdf:
                out = gdf.copy()
            out[name] = pd.Series([_json_text(v) for v in col], index=col.index, dtype=object)
    return out


def case_twins(columns: Iterable[str]) -> list[tuple[str, str]]:
    """``(earlier, later)`` for each column named like an earlier one but for case (a
    GeoJSON's ``name`` and ``NAME``): one GeoPackage layer or DBF cannot hold both.

    Examples
    --------
    >>> case_twins(["name", "NAME", "名称", "Name", "area"])
    [('name', 'NAME'), ('name', 'Name')]
    """
    seen: dict[str, str] = {}
    out = []
    for c in columns:
        first = seen.setdefault(c.casefold(), c)
        if first != c:
            out.append((first, c))
    return out


def _refuse_case_twins(gdf: gpd.GeoDataFrame, target: Path) -> None:
    """Refuse columns named alike but for case: GeoPackage and DBF field names ignore case,
    and GDAL stops on the second or renames it NAME_1."""
    kind = "GeoPackage" if target.suffix.lower() == ".gpkg" else "Shapefile (DBF)"
    twins = case_twins(str(c) for c in gdf.columns if c != gdf.geometry.name)
    if twins:
        first, c = twins[0]
        msg = (
            f"cannot write {target.name}: columns {first!r} and {c!r} differ "
            f"only in case, which {kind} field names ignore;"
            " rename one of them in the input, or write GeoJSON (.geojson) or FlatGeobuf "
            "(.fgb), which keep both"
        )
        raise OutputError(msg)


def _write_by_suffix(
    data: gpd.GeoDataFrame,
    target: Path,
    suffix: str,
    name: str,
    zone: int | None,
    prefix: bool,
    notices: Notices | None,
    encoding: str | None,
    replace: bool,
    *,
    description: str | None = None,
) -> Path:
    if suffix == ".gpkg":
        told = {name: description} if description else None
        return write_gpkg(target, {name: data}, replace=replace, descriptions=told)
    if suffix == ".txt":
        text = "GBK" if encoding is None else write_encoding(encoding)
        return write_jzd(
            data, target, zone=zone, prefix=prefix, notices=notices, encoding=text, replace=replace
        )
    if suffix == ".shp":
        return write_shapefile(
            _dbf_integers(data),
            target,
            encoding=write_encoding(encoding),
            replace=replace,
            notices=notices,
        )
    if suffix == ".parquet":
        # pandas would store attrs in the file: the reader's notes about the input file
        # (its name, its text), which a later read would give as this file's own. A shallow
        # copy: the caller's frame keeps its notes.
        bare = data.copy(deep=False)
        bare.attrs = {}
        return write_with(target, lambda tmp: bare.to_parquet(tmp), replace=replace)
    driver = WRITE_FORMATS[suffix]
    return write_with(
        target,
        lambda tmp: pyogrio.write_dataframe(data, tmp, layer=name, driver=driver),
        replace=replace,
    )
