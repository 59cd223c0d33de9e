"""Writing shapefiles safely: what a DBF would cut is refused, the files replaced atomically.

The writer refuses what a DBF would silently cut (long field names, long text) and replaces
the sidecar files of an old shapefile atomically, one by one, the ``.shp`` last.
"""

from __future__ import annotations

import contextlib
import os
import shutil
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyogrio

from qzgeo._errors import OutputError
from qzgeo.io.atomic import appeared_error, link_new, signals_held, temp_beside
from qzgeo.io.dbf_ldid import mark_code_page
from qzgeo.notices import Notices

__all__ = [
    "WRITE_ENCODINGS",
    "refuse_mixed_shapes",
    "shapefile_files",
    "write_encoding",
    "write_shapefile",
]

_DBF_NAME_BYTES = 10
_DBF_TEXT_BYTES = 254
_SHP_SIDECARS = (".shp", ".shx", ".dbf", ".prj", ".cpg", ".qix", ".sbn", ".sbx", ".fix")


def shapefile_files(target: Path) -> list[Path]:
    """Every file that writing the shapefile ``target`` replaces or removes: its ``.shp``,
    ``.shx``, ``.dbf``, ``.prj``, ``.cpg`` and the spatial indexes of an old one."""
    return [target.with_suffix(ext) for ext in _SHP_SIDECARS]


def _check_dbf_limits(gdf: gpd.GeoDataFrame, target: Path, encoding: str) -> None:
    """Refuse field names and text that a DBF would cut, or that ``encoding`` cannot hold."""
    columns = [str(c) for c in gdf.columns if c != gdf.geometry.name]
    _check_encodable(gdf, columns, target, encoding)
    long_names = [c for c in columns if len(c.encode(encoding)) > _DBF_NAME_BYTES]
    if long_names:
        listed = ", ".join(f"{c!r} ({len(c.encode(encoding))} bytes)" for c in long_names)
        fits_gbk = all(len(c.encode("gb18030")) <= _DBF_NAME_BYTES for c in long_names)
        hint = (
            " (they fit in GBK: add --out-encoding GBK)" if encoding == "UTF-8" and fits_gbk else ""
        )
        msg = (
            f"cannot write {target.name}: field names longer than the 10-byte DBF limit in "
            f"{encoding}: {listed}{hint}. Shapefiles would cut them; rename the columns or "
            "write a GeoPackage (.gpkg) instead"
        )
        raise OutputError(msg)
    for c in columns:
        col = gdf[c]
        if col.dtype == object or pd.api.types.is_string_dtype(col):
            sizes = col.dropna().map(lambda v: len(str(v).encode(encoding)))
            if len(sizes) and sizes.max() > _DBF_TEXT_BYTES:
                msg = (
                    f"cannot write {target.name}: column {c!r} holds text of {sizes.max()} bytes, "
                    "over the 254-byte DBF limit; write a GeoPackage (.gpkg) instead"
                )
                raise OutputError(msg)


#: The kind of shape a Shapefile holds, by geometry type: one kind per file.
_SHAPE_KINDS = {
    "Point": "points",
    "MultiPoint": "points",
    "LineString": "lines",
    "MultiLineString": "lines",
    "Polygon": "polygons",
    "MultiPolygon": "polygons",
}


def refuse_mixed_shapes(gdf: gpd.GeoDataFrame, target: Path) -> None:
    """Refuse a layer of several kinds of shape (polygons and lines of a GeoJSON or a DXF):
    a Shapefile holds one, and GDAL stopped at the first other one with "Attempt to write
    non-polygon (LINESTRING) geometry to POLYGON type shapefile", no feature, no fix.
    ``gdf``'s index names the features (the ids its reader gave them)."""
    types = gdf.geometry.geom_type
    kinds = types.map(lambda t: _SHAPE_KINDS.get(t, t)).where(types.notna())
    found = kinds.dropna().unique().tolist()
    if len(found) < 2:
        return
    first = kinds.dropna().iloc[0]
    other = kinds[kinds.notna() & (kinds != first)]
    ids = ", ".join(map(str, other.index[:10])) + (", ..." if len(other) > 10 else "")
    counts = ", ".join(f"{n} {k}" for k, n in kinds.value_counts(sort=False).items())
    msg = (
        f"cannot write {target.name}: a Shapefile holds one kind of shape, and this layer "
        f"holds {counts} (not {first}: feature(s) {ids}); write a GeoPackage (.gpkg), which "
        "holds them all, or split the layer by geometry type first"
    )
    raise OutputError(msg)


def _check_encodable(
    gdf: gpd.GeoDataFrame, columns: list[str], target: Path, encoding: str
) -> None:
    """Refuse a name or text that ``encoding`` has no code for (GDAL would write '?')."""
    if encoding == "UTF-8":  # every str has a UTF-8 code
        return
    for c in columns:
        texts = [c]
        col = gdf[c]
        if col.dtype == object or pd.api.types.is_string_dtype(col):
            texts += [str(v) for v in col.dropna()]
        for t in texts:
            try:
                t.encode(encoding)
            except UnicodeEncodeError as exc:
                bad = t[exc.start : exc.end]
                where = "field name" if t is texts[0] else f"a value of column {c!r}"
                msg = (
                    f"cannot write {target.name} in {encoding}: {where} ({t!r}) holds {bad!r}, "
                    f"which {encoding} has no code for; use --out-encoding GB18030 or UTF-8"
                )
                raise OutputError(msg) from exc


def _replace_shapefile(tmpdir: Path, target: Path, *, replace: bool = True) -> None:
    """Move the files written in ``tmpdir`` over ``target``'s, the ``.shp`` last.

    Ctrl-C or SIGTERM is held back meanwhile: between two renames it would leave the new
    ``.dbf`` beside the old ``.shp`` (a shapefile whose records do not match).
    """
    written = {p.suffix.lower(): p for p in tmpdir.iterdir()}
    for p in written.values():
        with p.open("rb") as fh:
            os.fsync(fh.fileno())
    with signals_held():
        if not replace:
            _link_all_new(written, target)
            return
        # Stale indexes of an old file would describe the wrong geometries: remove them.
        for ext in _SHP_SIDECARS:
            if ext not in written:
                with contextlib.suppress(FileNotFoundError):
                    target.with_suffix(ext).unlink()
        for ext in sorted(written, key=lambda e: e == ".shp"):  # the .shp last
            os.replace(written[ext], target.with_suffix(ext))


def _link_all_new(written: dict[str, Path], target: Path) -> None:
    """Give the written files ``target``'s names, all or none: a file of the shapefile that
    exists (an index too: it would describe other geometries) leaves every name as it was."""
    found = [p for p in shapefile_files(target) if os.path.lexists(p)]
    if found:
        raise appeared_error(found[0])
    done: list[Path] = []
    for ext in sorted(written, key=lambda e: e == ".shp"):  # the .shp last, as when replacing
        dst = target.with_suffix(ext)
        try:
            link_new(written[ext], dst)
        except FileExistsError:
            for p in done:  # our own links, made a moment ago
                p.unlink(missing_ok=True)
            raise appeared_error(dst) from None
        done.append(dst)


#: Encodings a Shapefile (or a 界址点 file) can be written in: UTF-8, or GBK for tools that
#: read only the national code pages (ArcGIS 10.x, older CAD exports). GB18030 is GBK's
#: superset (every Chinese character); GDAL and ArcGIS read its .cpg like GBK's.
WRITE_ENCODINGS = ("UTF-8", "GBK", "GB18030")


def _mark_code_page(tmpdir: Path, encoding: str) -> None:
    """The code page's id in the header of the DBF written in ``tmpdir`` (GDAL writes 0)."""
    mark_code_page(next(p for p in tmpdir.iterdir() if p.suffix.lower() == ".dbf"), encoding)


def write_encoding(value: str | None) -> str:
    """One of :data:`WRITE_ENCODINGS` from a user's spelling (``utf8``, ``gbk``, ``cp936``...)."""
    if value is None:
        return "UTF-8"
    key = value.strip().upper().replace("_", "-")
    aliases = {"UTF8": "UTF-8", "CP936": "GBK", "936": "GBK", "GB2312": "GBK"}
    key = aliases.get(key, key)
    if key not in WRITE_ENCODINGS:
        msg = f"cannot write text as {value!r}; use one of {', '.join(WRITE_ENCODINGS)}"
        raise OutputError(msg)
    return key


def _say_times_as_text(gdf: gpd.GeoDataFrame, target: Path, notices: Notices | None) -> None:
    """Name the date-and-time columns: a DBF has dates only (D), and GDAL writes such a
    column as text (``2024-01-02T13:45:00``), which ArcGIS and Excel take for no date."""
    stamped = [str(c) for c in gdf.columns if pd.api.types.is_datetime64_any_dtype(gdf[c])]
    if stamped and notices is not None:
        msg = (
            f"{target.name}: column(s) {', '.join(map(repr, stamped))} hold dates with times, "
            "which a DBF cannot: written as text (e.g. 2024-01-02T13:45:00); write a "
            "GeoPackage (.gpkg) to keep them as dates and times"
        )
        notices.add(msg, source=target.name)


def write_shapefile(
    gdf: gpd.GeoDataFrame,
    target: Path,
    *,
    encoding: str = "UTF-8",
    replace: bool = True,
    notices: Notices | None = None,
) -> Path:
    """Write ``gdf`` as a shapefile with a ``.cpg``, replacing each file atomically.

    ``encoding``: the DBF's text encoding (:data:`WRITE_ENCODINGS`), written to the ``.cpg``
    (and for GBK to the DBF header's language driver id too, 0x4D: code page 936).
    ``replace=False``: if any of :func:`shapefile_files` exists when the files are put in
    place (made by another program meanwhile), none is written (an :class:`OutputError`).
    Date-and-time columns, written as text, are named in ``notices``.
    """
    encoding = write_encoding(encoding)
    _check_dbf_limits(gdf, target, encoding)
    _say_times_as_text(gdf, target, notices)
    # Named for OUT and this process: the next write removes it if this one is killed.
    tmpdir = temp_beside(target, folder=True)
    try:
        pyogrio.write_dataframe(
            gdf,
            tmpdir / target.name,
            driver="ESRI Shapefile",
            encoding=encoding,
            layer_options={"DBF_DATE_LAST_UPDATE": "2000-01-01"},
            # Arrow: a date column (datetime.date cells, as a GeoPackage DATE is read) goes to
            # GDAL as a date and becomes a DBF date, D(8); row by row it became text, C(80)
            use_arrow=True,
            # points beside multipoints: a MultiPoint shapefile (GDAL refused the multipoint
            # in a Point one); polygons and lines are the same shapes single or multi
            promote_to_multi=bool({"Point", "MultiPoint"} <= set(gdf.geometry.geom_type)),
        )
        _mark_code_page(tmpdir, encoding)
        _replace_shapefile(tmpdir, target, replace=replace)
    except OutputError:
        raise
    except OSError as exc:
        msg = f"could not write {target}: {exc.strerror or exc}; the previous file is unchanged"
        raise OutputError(msg) from exc
    finally:
        shutil.rmtree(tmpdir, ignore_errors=True)
    return target
