"""`qzgeo convert IN OUT`: convert one layer between formats, optionally reprojecting."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

import click
import shapely

from qzgeo.cli.options import (
    CRS,
    caps_options,
    crs_opt,
    from_gcj02_opt,
    overwrite_opt,
    reading_options,
)

if TYPE_CHECKING:
    import geopandas as gpd

    from qzgeo.io.vector import ReadOptions
    from qzgeo.notices import Notices


@click.command(name="convert")
@click.argument("source")
@click.argument("out_arg", metavar="OUT")
@crs_opt
@click.option(
    "--to-crs", type=CRS, default=None, help="Reproject the output, e.g. EPSG:4490 or a GK zone."
)
@from_gcj02_opt
@click.option("--layer", default=None, help="Layer to read from a multi-layer source.")
@click.option(
    "--out-layer",
    default=None,
    help="Layer name of a .gpkg, .geojson or .fgb OUT (default: OUT's stem).",
)
@reading_options
@caps_options
@click.option(
    "--zone",
    type=click.IntRange(25, 45),
    default=None,
    help="CGCS2000 3° GK zone (25..45, round(longitude / 3)) of a 界址点 .txt output. "
    "Default: the input's zone when it is in a CGCS2000 3° GK CRS, else the zone of the "
    "data's centre.",
)
@click.option(
    "--no-prefix",
    is_flag=True,
    default=False,
    help="界址点 .txt output: eastings without zone prefix.",
)
@click.option(
    "--out-encoding",
    default=None,
    metavar="UTF-8|GBK|GB18030",
    callback=lambda ctx, param, value: _out_encoding(value),
    help="Text encoding of a .shp output (default UTF-8) or a 界址点 .txt output (default GBK).",
)
@click.option(
    "--repair", is_flag=True, default=False, help="Repair invalid geometries and list each repair."
)
@overwrite_opt
def command(
    source: str,
    out_arg: str,
    crs: str | None,
    to_crs: str | None,
    from_gcj02: bool,
    layer: str | None,
    out_layer: str | None,
    read_options: ReadOptions,
    zone: int | None,
    no_prefix: bool,
    out_encoding: str | None,
    repair: bool,
    overwrite: bool,
) -> None:
    """Convert SOURCE (file or postgresql:// URI) to OUT; the format follows OUT's extension.

    Formats: .gpkg .geojson .shp .fgb .parquet and 界址点 .txt (read also: DXF, KML, GML, CSV,
    MapInfo .tab/.mif and FileGDB; convert others with ogr2ogr -f GPKG first), or a PostGIS table
    postgresql://user@host/db?table=schema.name (a table qzgeo wrote is replaced, any other is
    never touched). The input is never modified; an existing OUT is refused unless --overwrite
    is given, and then replaced atomically.

    \b
    Examples:
      qzgeo convert 界址点.txt parcels.gpkg
      qzgeo convert zones.shp zones.geojson --to-crs EPSG:4490
      qzgeo convert parcels.gpkg parcels.txt --zone 39
      qzgeo convert zones.gpkg zones.shp --out-encoding GBK   # for ArcGIS 10.x
      qzgeo convert zones.gpkg zones.geojson --overwrite      # replace an old one
      qzgeo convert zones.gpkg 'postgresql://gis@db/plan?table=规划.zones'
    """
    from qzgeo._errors import InputError
    from qzgeo.io.postgis_uri import is_postgis_uri
    from qzgeo.io.vector import read_layer
    from qzgeo.io.write import write_layer
    from qzgeo.notices import Notices, notices_of

    file_only = {"--out-layer": out_layer, "--zone": zone, "--no-prefix": no_prefix}
    out = _check_out(source, out_arg, out_encoding, file_only)
    _check_out_layer(out, out_layer)
    if not is_postgis_uri(out_arg):
        _refuse_replacing(out, out_layer or out.stem, overwrite=overwrite)
    gdf = read_layer(
        source,
        layer=layer,
        crs=crs,
        datum="gcj02" if from_gcj02 else None,
        **read_options.kwargs(),
    )
    if gdf.empty:
        what = f"layer {layer!r} of {source}" if layer else source
        msg = (
            f"{what} has no features; nothing to convert (the wrong layer or an empty export?"
            " name another layer with --layer, or export the data again)"
        )
        raise InputError(msg)
    said = [f"{n.kind}: {n}" for n in notices_of(gdf)]
    for line in said:
        click.echo(line, err=True)
    if "encoding" in gdf.attrs:
        click.echo(f"Read {source} as {gdf.attrs['encoding']} text", err=True)
    gdf, repaired = _repair_or_warn(gdf, repair=repair, layer_id=out_layer or out.stem)
    said += repaired
    if to_crs is not None:
        gdf = gdf.to_crs(to_crs)
    if is_postgis_uri(out_arg):
        _write_postgis(gdf, out_arg)
        return
    written = Notices()
    _warn_unused_zone(out, zone, no_prefix, written)
    write_layer(
        gdf, out, layer=out_layer, zone=zone, prefix=not no_prefix, notices=written,
        encoding=out_encoding, replace=overwrite,  # a file made during the write is not lost
        description=_lineage(source, said),
    )  # fmt: skip
    for n in written:
        click.echo(f"{n.kind}: {n}", err=True)
    click.echo(f"Wrote {len(gdf)} feature(s) to {out}")


def _check_out(
    source: str, out_arg: str, out_encoding: str | None, file_only: Mapping[str, object]
) -> Path:
    """OUT checked before anything is read: its format, its options, not the input."""
    from qzgeo._errors import InputError
    from qzgeo.io.paths import refuse_undecodable
    from qzgeo.io.postgis_uri import is_postgis_uri
    from qzgeo.io.write import WRITE_FORMATS

    out = Path(out_arg)
    if is_postgis_uri(out_arg):
        _check_postgis_out(source, out_arg, {**file_only, "--out-encoding": out_encoding})
        return out
    if out.suffix.lower() not in WRITE_FORMATS:
        msg = (
            f"unknown output extension {out.suffix!r}; use one of {', '.join(WRITE_FORMATS)} "
            "or a PostGIS table postgresql://user@host/db?table=schema.name"
        )
        raise click.BadParameter(msg, param_hint="OUT")
    if out.suffix.lower() != ".txt":  # GDAL and Arrow take UTF-8 paths only; qzgeo writes .txt
        try:  # made absolute: GDAL is given OUT so, under the working folder's bytes too
            refuse_undecodable(out.absolute(), what="OUT")
        except InputError as exc:
            raise click.BadParameter(str(exc), param_hint="OUT") from None
    if out_encoding is not None and out.suffix.lower() not in (".shp", ".txt"):
        msg = (
            f"--out-encoding applies to .shp and 界址点 .txt outputs; {out.suffix} is always UTF-8"
        )
        raise click.BadParameter(msg, param_hint="--out-encoding")
    blocking = next((p for p in out.absolute().parents if p.exists() and not p.is_dir()), None)
    if blocking is not None:  # mkdir would fail with a bare "[Errno 17] File exists"
        msg = f"{blocking} is a file, not a folder: OUT cannot be written in it; choose another OUT"
        raise click.BadParameter(msg, param_hint="OUT")
    if not is_postgis_uri(source) and Path(source).resolve() == out.resolve():
        msg = "OUT is the input file; write to another file (inputs are never modified)"
        raise click.BadParameter(msg, param_hint="OUT")
    folder = None if is_postgis_uri(source) else Path(source)
    if folder is not None and folder.is_dir() and out.resolve().is_relative_to(folder.resolve()):
        msg = (
            f"OUT lies inside the input folder {source} (a .gdb or a folder of shapefiles is "
            "read whole): writing there would change that input. Write outside it (inputs "
            "are never modified)"
        )
        raise click.BadParameter(msg, param_hint="OUT")
    return out


#: Outputs with no layer name of their own: a Shapefile's layer is its file name, GeoParquet
#: and 界址点 files have none.
_NO_LAYER_NAME = {".shp": "a Shapefile's layer is its file name", ".parquet": "", ".txt": ""}


def _check_out_layer(out: Path, out_layer: str | None) -> None:
    """``--out-layer`` checked before the input is read: a name OUT's format can hold (GDAL
    named a GeoJSON or FlatGeobuf layer given as '' after the file, and a Shapefile, GeoParquet
    or 界址点 OUT took no layer name at all, without a word); a GeoPackage OUT's layer name
    GDAL takes: the default, OUT's stem, may not be one (``-宗地.gpkg``)."""
    from qzgeo.io.write import gpkg_layer_fixed, gpkg_layer_problem

    suffix = out.suffix.lower()
    if out_layer is not None and suffix in _NO_LAYER_NAME:
        reason = _NO_LAYER_NAME[suffix] or f"a {suffix} file holds no layer name"
        named = out.with_name(f"{out_layer}{out.suffix}")
        rename = f" (name OUT {named} instead)" if suffix == ".shp" else ""
        msg = (
            f"--out-layer {out_layer!r} names a layer of a .gpkg, .geojson or .fgb OUT; {reason}, "
            f"so it would be ignored: leave --out-layer out{rename}"
        )
        raise click.BadParameter(msg, param_hint="--out-layer")
    if out_layer == "" and suffix != ".gpkg":
        msg = (
            f"the layer name is empty; give a name, or leave --out-layer out for the default, "
            f"{out.stem!r} (OUT's stem)"
        )
        raise click.BadParameter(msg, param_hint="--out-layer")
    if suffix != ".gpkg":
        return
    why = gpkg_layer_problem(out_layer if out_layer is not None else out.stem)
    if why is None:
        return
    given = "--out-layer" if out_layer is not None else "OUT"
    fix = "another --out-layer" if out_layer is not None else "a layer name with --out-layer"
    suggestion = gpkg_layer_fixed(out_layer or out.stem)
    example = f" (e.g. --out-layer {suggestion})" if suggestion else ""
    msg = (
        f"{why}"
        + ("" if out_layer is not None else f" (the default, {out.name}'s stem)")
        + f"; give {fix}{example}"
    )
    raise click.BadParameter(msg, param_hint=given)


def _refuse_replacing(out: Path, layer: str, *, overwrite: bool) -> None:
    """Refuse an OUT that is not qzgeo's to replace: a file there unless ``--overwrite`` (as
    ogr2ogr; a user's notes.txt became a 界址点 file), and even so a symbolic link (replaced by
    a regular file, its target left with the old data) or a folder. A shapefile OUT is all
    the files it is written as (a lone zones.dbf of another shapefile was replaced)."""
    from qzgeo.io.shapefile_write import shapefile_files

    files = shapefile_files(out) if out.suffix.lower() == ".shp" else [out]
    for path in files:
        if path.is_symlink():
            target = path.resolve()
            msg = (
                f"{path} is a symbolic link to {target}: writing it would replace the link with "
                f"a new file and leave {target} as it was. Give the target path itself as OUT "
                "(with --overwrite if it exists)"
            )
            raise click.BadParameter(msg, param_hint="OUT")
        if path.is_dir():
            msg = f"{path} is a folder, not a file: it is never replaced; name a file as OUT"
            raise click.BadParameter(msg, param_hint="OUT")
    _refuse_dropping_layers(out, layer)
    found = [p for p in files if p.exists()]
    if found and not overwrite:
        what = "" if found == [out] else f" (found: {', '.join(p.name for p in found)})"
        msg = (
            f"{out} already exists{what}, and convert does not write over a file unless told: "
            "add --overwrite to replace it, or choose another OUT"
        )
        raise click.BadParameter(msg, param_hint="OUT")


def _refuse_dropping_layers(out: Path, layer: str) -> None:
    """Refuse a GeoPackage OUT that holds other layers than the one written: OUT is replaced
    whole, and a user's 规划.gpkg with 道路 and 水系 lost both without a word (ogr2ogr and
    QGIS add a layer to such a file)."""
    import pyogrio

    from qzgeo.io.guard import ogr_layers

    if out.suffix.lower() != ".gpkg" or not out.is_file():
        return
    try:
        others = [name for name, _ in ogr_layers(out) if name != layer]
    except pyogrio.errors.DataSourceError:  # not a GeoPackage: no layer of it to keep
        return
    if others:
        msg = (
            f"{out} already holds layer(s) {', '.join(others[:10])}"
            f"{', ...' if len(others) > 10 else ''} besides {layer!r}; OUT is replaced as a "
            "whole, so they would be lost. Write to a new .gpkg (and add its layer in QGIS, or "
            f"with ogr2ogr -update), or delete {out.name} first if you mean to replace it"
        )
        raise click.BadParameter(msg, param_hint="OUT")


def _check_postgis_out(source: str, out: str, file_only: Mapping[str, object]) -> None:
    """A PostGIS OUT: a valid URI, not the input table, no file-only options."""
    from qzgeo.io.postgis_uri import is_postgis_uri, parse_postgis_uri

    target = parse_postgis_uri(out)
    given = [name for name, value in file_only.items() if value]
    if given:
        msg = (
            f"{', '.join(given)} shape file outputs; a PostGIS OUT is named by table=schema.name "
            "(leave them out)"
        )
        raise click.BadParameter(msg, param_hint="OUT")
    if is_postgis_uri(source):
        src = parse_postgis_uri(source)
        if (src.server, src.qualified) == (target.server, target.qualified):
            msg = (
                f"OUT is the input table {src.qualified}; name another table (inputs are "
                "never modified)"
            )
            raise click.BadParameter(msg, param_hint="OUT")


def _write_postgis(gdf: gpd.GeoDataFrame, uri: str) -> None:
    """Write ``gdf`` to the PostGIS table ``uri`` (replacing only a table qzgeo wrote), keyed
    by the source's feature ids, so that analyze names its rows as the source does."""
    from qzgeo.io.postgis import write_postgis_layer
    from qzgeo.io.postgis_uri import parse_postgis_uri

    key = write_postgis_layer(gdf, uri, keep_ids=True)
    target = parse_postgis_uri(uri)
    click.echo(
        f"Wrote {len(gdf)} feature(s) to PostGIS table {target.qualified} on {target.server} "
        f"(primary key {key}: the source's feature ids)"
    )


def _out_encoding(value: str | None) -> str | None:
    """``--out-encoding`` checked once: UTF-8, GBK or GB18030 (cp936, gb2312 are GBK)."""
    if value is None:
        return None
    from qzgeo._errors import OutputError
    from qzgeo.io.shapefile_write import write_encoding

    try:
        return write_encoding(value)
    except OutputError as exc:
        raise click.BadParameter(str(exc), param_hint="--out-encoding") from exc


def _repair_or_warn(
    gdf: gpd.GeoDataFrame, *, repair: bool, layer_id: str
) -> tuple[gpd.GeoDataFrame, list[str]]:
    """``--repair``: repair and list each repair; else warn about invalid geometries copied.
    The lines said are returned too (they go into a GeoPackage's description)."""
    from qzgeo.geo.repair import RepairReport, repair_layer

    said: list[str] = []
    if repair:
        report = RepairReport()
        gdf = repair_layer(gdf, layer_id=layer_id, report=report)
        said += [
            f"Repair: feature {r.feature_id}: {r.reason} -> {r.action}" for r in report.records
        ]
        said += [f"Repair: {f.features} feature(s): {f.reason}" for f in report.flattened]
        if report.records or report.flattened:
            said.append(report.summary(see=None))
        else:
            click.echo(report.summary(see=None), err=True)
    else:
        geoms = gdf.geometry.values
        invalid = int((~shapely.is_valid(geoms) & ~shapely.is_missing(geoms)).sum())
        if invalid:
            noun = "geometry" if invalid == 1 else "geometries"
            said.append(
                f"warning: {invalid} invalid {noun} copied unchanged; add --repair to repair "
                "them (each repair is listed)"
            )
    for line in said:
        click.echo(line, err=True)
    return gdf, said


#: Lines of a conversion's notes kept in a GeoPackage's description; the count says the rest.
LINEAGE_LINES = 50


def _lineage(source: str, said: list[str]) -> str | None:
    """What a conversion said, for the layer's description: the file it came from and the
    notes (an encoding or a datum assumed, repairs), so that they travel with the data into
    QGIS (Layer Properties > Metadata), not only to this terminal. ``None`` without notes."""
    if not said:
        return None
    from qzgeo.io.postgis_uri import is_postgis_uri, redact_uri

    name = redact_uri(source) if is_postgis_uri(source) else Path(source).resolve().name
    # the notes name the file as given (a home folder's path): the data keep its name only;
    # a bare name ("a.shp", ".") hides nothing and is not replaced inside other words
    given = [source] if is_postgis_uri(source) else [str(Path(source).resolve()), source]
    given = [p for p in given if "/" in p or os.sep in p or is_postgis_uri(p)]
    lines = []
    # the first lines and the last (the repairs' count), the rest counted
    kept = said if len(said) <= LINEAGE_LINES else [*said[: LINEAGE_LINES - 1], said[-1]]
    for line in kept:
        for path in given:
            line = line.replace(path, name)
        lines.append(line)
    if len(said) > LINEAGE_LINES:
        left = len(said) - LINEAGE_LINES
        lines.insert(-1, f"... and {left} more (run qzgeo convert again to see them)")
    return "\n".join([f"qzgeo convert of {name}; what the conversion said:", *lines])


def _warn_unused_zone(out: Path, zone: int | None, no_prefix: bool, notes: Notices) -> None:
    """``--zone``/``--no-prefix`` shape a 界址点 .txt only: say so rather than ignore them."""
    if (zone is not None or no_prefix) and out.suffix.lower() != ".txt":
        given = "--zone" if zone is not None else "--no-prefix"
        notes.add(
            f"{out.name}: {given} applies to a 界址点 .txt output only and is ignored for "
            f"{out.suffix}; use --to-crs EPSG:... to reproject",
            source=str(out),
        )
