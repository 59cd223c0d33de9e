"""KML ExtendedData field names as written, not as GDAL's LIBKML driver turns them.

LIBKML replaces every byte of a field name that is not an ASCII letter, digit or ``_`` by
``_``: ``用地性质`` arrives as ``____________`` and ``面积(m2)`` as ``_______m2_``. The values
are intact, so the names are put back from the file's own ``<Data name>`` /
``<SimpleField name>`` / ``<SimpleData name>``. Names that become the same column (``a-b``
and ``a.b``, or two Chinese names of equal byte length) cannot be told apart: GDAL kept one
value per feature, and that is said, never passed on silently.
"""

from __future__ import annotations

import zipfile
from pathlib import Path
from typing import IO
from xml.etree import ElementTree as ET

import geopandas as gpd

from qzgeo.notices import Notices

__all__ = ["libkml_name", "restore_kml_names"]

KML_SUFFIXES = frozenset({".kml", ".kmz"})
_NAME_TAGS = frozenset({"Data", "SimpleField", "SimpleData"})


def libkml_name(name: str) -> str:
    """The column name GDAL's LIBKML driver gives ExtendedData field ``name``.

    Examples
    --------
    >>> libkml_name("用地性质"), libkml_name("面积(m2)"), libkml_name("Ab9_")
    ('____________', '_______m2_', 'Ab9_')
    """
    return "".join(
        c if (c.isascii() and (c.isalnum() or c == "_")) else "_" * len(c.encode("utf-8"))
        for c in name
    )


def _field_names(path: Path) -> list[str]:
    """ExtendedData field names of a .kml (or the first .kml in a .kmz), in document order."""
    if path.suffix.lower() == ".kmz":
        with zipfile.ZipFile(path) as z:
            inner = next((n for n in z.namelist() if n.lower().endswith(".kml")), None)
            if inner is None:
                return []
            with z.open(inner) as fh:
                return _names_in(fh)
    with path.open("rb") as fh:
        return _names_in(fh)


def _names_in(fh: IO[bytes]) -> list[str]:
    seen: dict[str, None] = {}
    for _, el in ET.iterparse(fh, events=("end",)):
        if el.tag.rsplit("}", 1)[-1] in _NAME_TAGS and el.get("name"):
            seen.setdefault(str(el.get("name")), None)
        el.clear()  # a big KML is streamed, not held
    return list(seen)


def restore_kml_names(gdf: gpd.GeoDataFrame, path: Path, notes: Notices) -> gpd.GeoDataFrame:
    """``gdf`` (read by GDAL from ``path``) with its ExtendedData columns named as in the file."""
    if path.suffix.lower() not in KML_SUFFIXES:
        return gdf
    try:
        names = _field_names(path)
    except (ET.ParseError, OSError, zipfile.BadZipFile):
        return gdf  # GDAL read it; names stay as GDAL gave them
    by_column: dict[str, list[str]] = {}
    for n in names:
        by_column.setdefault(libkml_name(n), []).append(n)
    rename: dict[str, str] = {}
    for col, originals in by_column.items():
        if col not in gdf.columns or originals == [col]:
            continue
        if len(originals) > 1:
            notes.add(
                f"{path.name}: the KML fields {', '.join(repr(n) for n in originals)} all reach "
                f"GDAL as one column {col!r}, which keeps one value per feature; the others are "
                "lost. Give them distinct names of ASCII letters and digits, or export the data "
                "as GeoPackage or GeoJSON",
                source=path.name,
            )
        elif originals[0] not in gdf.columns:
            rename[col] = originals[0]
    return gdf.rename(columns=rename) if rename else gdf
