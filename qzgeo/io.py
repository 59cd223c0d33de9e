"""Reading and writing vector layers.

Everything goes through pyogrio (Arrow where available). Readers never guess a CRS: a layer
without one needs ``crs=`` (the catalog's ``crs`` or ``--crs``). Writers are atomic and
deterministic, so a re-run gives byte-identical files.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Mapping
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyogrio
from pyproj import CRS

from qzgeo._atomic import atomic_path
from qzgeo._errors import CRSError, InputError
from qzgeo.crs import STORAGE_CRS, geoms_gcj02_to_wgs84

# GeoPackages record a "last change" timestamp; pinning it keeps rebuilds byte-identical.
_FIXED_DATE = "2000-01-01T00:00:00.000Z"


def sha256_file(path: str | os.PathLike[str]) -> str:
    """SHA-256 of a file's bytes (for manifests and the never-modify-inputs check)."""
    h = hashlib.sha256()
    with Path(path).open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def list_layers(path: str | os.PathLike[str]) -> list[str]:
    """Names of the layers in a vector data source."""
    try:
        return [str(name) for name, _ in pyogrio.list_layers(path)]
    except pyogrio.errors.DataSourceError as exc:
        msg = f"cannot open {path}: {exc}"
        raise InputError(msg) from exc


def read_layer(
    source: str | os.PathLike[str],
    *,
    layer: str | None = None,
    crs: str | CRS | None = None,
    datum: str | None = None,
) -> gpd.GeoDataFrame:
    """Read one vector layer; the index holds the source feature ids (FIDs).

    Parameters
    ----------
    source
        A file path (GeoPackage, GeoJSON, Shapefile, FlatGeobuf...) or a ``postgresql://`` URI.
    layer
        Layer name inside a multi-layer source.
    crs
        CRS to assume when the source has none. A source with a CRS keeps its own.
    datum
        ``"gcj02"`` converts AMap-style GCJ-02 lon/lat to WGS84/CGCS2000 on load.

    Returns
    -------
    GeoDataFrame in the source's CRS (or EPSG:4490 after a GCJ-02 conversion).
    """
    src = str(source)
    if src.startswith(("postgresql://", "postgres://", "postgresql+")):
        from qzgeo.postgis import read_postgis_layer

        gdf = read_postgis_layer(src, crs=str(crs) if crs is not None else None)
    else:
        path = Path(src)
        if not path.exists():
            msg = f"{path} does not exist; check the path (relative paths are from layers/)"
            raise InputError(msg)
        if layer is not None:
            names = list_layers(path)
            if layer not in names:
                msg = f"{path} has no layer {layer!r}; it has: {', '.join(names) or '(none)'}"
                raise InputError(msg)
        try:
            gdf = pyogrio.read_dataframe(path, layer=layer, use_arrow=True, fid_as_index=True)
        except pyogrio.errors.DataSourceError as exc:
            msg = f"cannot read {path}: {exc}"
            raise InputError(msg) from exc
        if gdf.crs is None:
            if crs is None:
                msg = (
                    f'{path} has no CRS; declare it with `crs = "EPSG:4524"` (for example) '
                    "in the catalog or pass --crs. qzgeo never guesses a CRS."
                )
                raise CRSError(msg)
            gdf = gdf.set_crs(crs)
    if datum == "gcj02":
        if not gdf.crs.is_geographic:
            msg = f"{src}: datum 'gcj02' applies to lon/lat data, but its CRS is {gdf.crs.name}"
            raise CRSError(msg)
        gdf = gdf.set_geometry(geoms_gcj02_to_wgs84(gdf.geometry.values), crs=STORAGE_CRS)
    return gdf


def to_storage(gdf: gpd.GeoDataFrame, *, crs: str = STORAGE_CRS) -> gpd.GeoDataFrame:
    """Reproject to the storage CRS (EPSG:4490 unless the pack says otherwise)."""
    if gdf.crs is None:
        msg = "the layer has no CRS; use set_crs() or declare `crs` in the catalog"
        raise CRSError(msg)
    return gdf.to_crs(crs)


def write_gpkg(
    path: str | os.PathLike[str], layers: Mapping[str, gpd.GeoDataFrame | pd.DataFrame]
) -> Path:
    """Write several layers into one new GeoPackage, atomically and reproducibly.

    The file is always rebuilt from scratch: re-runs replace the GeoPackage, they never append
    layers to an old one. A plain DataFrame becomes an attribute table.
    """
    pyogrio.set_gdal_config_options({"OGR_CURRENT_DATE": _FIXED_DATE})
    with atomic_path(path) as tmp:
        for name, gdf in layers.items():
            pyogrio.write_dataframe(
                gdf,
                tmp,
                layer=name,
                driver="GPKG",
                append=tmp.exists(),
                layer_options={"SPATIAL_INDEX": "YES"},
            )
    return Path(path)
