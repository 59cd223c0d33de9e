"""What a vector file declares before it is read: which layer to read, its field types.

A GeoPackage (or GML, KML) may hold several layers with geometry: GDAL would read the first,
so :func:`default_layer` refuses to guess. :func:`declared_fields` gives writers the types of
the source's fields, which pandas loses for a column holding nulls.
"""

from __future__ import annotations

import os
from pathlib import Path

import pyogrio

from qzgeo._errors import InputError
from qzgeo.io.guard import admit_path, ogr_layers, open_options
from qzgeo.io.postgis_read import postgis_fields
from qzgeo.io.postgis_uri import is_postgis_uri

__all__ = ["declared_fields", "default_layer", "layer_form_hint", "layer_ways"]

#: Formats that may hold several layers with geometry.
_MULTI_LAYER_SUFFIXES = frozenset({".gpkg", ".gml", ".kml"})


def default_layer(path: str | os.PathLike[str], layer: str | None) -> str | None:
    """``layer``, else the only layer with geometry of a file or folder that has several layers.

    A GeoPackage often holds a table besides its features (QGIS's ``layer_styles``): its one
    layer with geometry is meant. With several layers with geometry (a FileGDB's feature
    classes, a folder of shapefiles too) the choice is refused, not guessed (GDAL would take
    the first).
    """
    folder = Path(path).is_dir()
    if layer is not None or not (folder or Path(path).suffix.lower() in _MULTI_LAYER_SUFFIXES):
        return layer
    if not (folder or Path(path).is_file()):
        return None  # the reader says what is missing
    admit_path(path)  # GDAL opens nothing the allow-list refuses, not even to list layers
    try:
        layers = ogr_layers(path)
    except (pyogrio.errors.DataSourceError, OSError):
        return None  # the reader says what is wrong with the file
    if not layers:  # a KML without a Placemark, an empty GML: GDAL's default layer crashed
        msg = f"{path} holds no layer (no feature to read); export the features again"
        raise InputError(msg)
    spatial = [str(name) for name, geometry_type in layers if geometry_type is not None]
    if len(layers) <= 1 or not spatial:
        return None
    if len(spatial) == 1:
        return spatial[0]
    pick = layer_ways(path, spatial[-1])
    if folder and Path(path).suffix.lower() != ".gdb":  # a folder of shapefiles (io.guard)
        pick = f"{Path(path) / spatial[-1]}.shp (check, analyze, convert)"
    listed = ", ".join(spatial)
    msg = f"{path} has {len(spatial)} layers with geometry ({listed}); name the one to read: {pick}"
    raise InputError(msg)


def layer_ways(path: str | os.PathLike[str], layer: str) -> str:
    """How each command is told to read ``layer`` of the multi-layer file ``path``."""
    return (
        f"--layer {layer} (analyze, convert), {path}:{layer} (check), "
        f'layer = "{layer}" (a pack\'s catalog)'
    )


def layer_form_hint(arg: str) -> str:
    """The supported way, when a missing input ``arg`` is an existing file with a layer
    written GDAL's way (``FILE.gpkg:LAYER``, which only check reads) or QGIS's way
    (``FILE.gpkg|layername=LAYER``, which none does); "" for any other missing path.

    Examples
    --------
    >>> layer_form_hint("no/such.gpkg")
    ''
    """
    base, bar, rest = arg.partition("|")
    if bar:
        key, eq, layer = rest.partition("=")
        layer = layer if eq and key.strip().lower() == "layername" else "LAYER"
    else:
        base, _, layer = arg.rpartition(":")
    if not base or not layer or not Path(base).is_file():
        return ""
    qgis = ", and QGIS's `|layername=` is read nowhere" if bar else ""
    return f"{base} is a file{qgis}: name its layer with {layer_ways(base, layer)}"


def declared_fields(
    path: str | os.PathLike[str], layer: str | None = None
) -> tuple[tuple[str, str], ...]:
    """``(field, numpy dtype name)`` of each field a GDAL file declares (empty: cannot tell);
    of a PostGIS table (a URI), its integer, boolean, float and date columns.

    Read into pandas, an integer column holding a null becomes floats, and a boolean or date
    column holding only nulls has no type at all; writers use this to give such columns back
    their declared type, whichever chunk holds the nulls.
    """
    if is_postgis_uri(str(path)):  # never handed to GDAL: it would try to open a database
        return postgis_fields(str(path))
    try:
        info = pyogrio.read_info(path, layer=layer, **open_options(path))
    except Exception:
        return ()
    return tuple(
        (str(name), str(dtype)) for name, dtype in zip(info["fields"], info["dtypes"], strict=False)
    )
