"""A GeoPackage whose stored feature count is stale: each feature read once, and said.

GDAL keeps a layer's feature count in ``gpkg_ogr_contents``, up to date through triggers. A
tool that deletes rows with those triggers dropped (GDAL itself drops them around bulk loads
and restores them after; a crash in between, or another program, leaves them dropped) leaves
the count higher than the rows. When that count equals the highest FID, GDAL's Arrow reader
(3.12) takes the FIDs to be 1..count without gaps and returns the last rows a second time,
so that the read holds ``count`` rows: a parcel counted twice in every total. Filtered reads
(``where``, ``skip_features``) are not affected. pyogrio's row-by-row reader
(``use_arrow=False``) reads as many rows as the count says, so a count too low dropped the
last rows without a word; :func:`read_rows` gives it a filter, with which GDAL counts them.

:func:`one_row_per_fid` keeps one row per FID, after checking that the repeated rows are the
same as the first ones, and records a warning with the stale count, the real one and the fix
(:func:`stale_count`, also said by a streamed ``analyze``, whose chunks count the rows).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import pandas as pd
import pyogrio
import shapely

from qzgeo._errors import InputError
from qzgeo.io.arrow_ints import read_dataframe
from qzgeo.io.sqlite_names import sql_ident
from qzgeo.notices import Notices

__all__ = [
    "count_fix", "distinct_fids", "one_row_per_fid", "read_rows", "stale_count", "table_rows",
]  # fmt: skip

_PLAIN_NAME = re.compile(r"[^\W\d]\w*")


def one_row_per_fid(
    gdf: Any, path: Path, layer: str | None, notes: Notices, *, whole: bool = False
) -> Any:
    """``gdf`` (a GeoPackage layer read with its FIDs as index) with each FID once.

    A FID read more than once is GDAL's artifact of a stale feature count (see the module):
    the repeats are dropped, and a warning naming the file, the stored count, the real one
    and the fix (:func:`stale_count`) is added to ``notes``. Repeats that differ from the
    first read of their FID are no such artifact: :class:`~qzgeo._errors.InputError`. A
    ``whole`` layer read (no filter) without repeats gets the same warning when its stored
    count is stale all the same (too low, or too high but not the highest FID: harmless to
    this read, not to other tools that trust the count). Other formats pass unchanged.

    Examples
    --------
    >>> df = pd.DataFrame({"a": [1, 2, 2]}, index=pd.Index([1, 2, 2], name="fid"))
    >>> notes = Notices()
    >>> one_row_per_fid(df, Path("x.shp"), None, notes).index.tolist()
    [1, 2, 2]
    >>> len(notes)
    0
    """
    if path.suffix.lower() != ".gpkg":
        return gdf
    if gdf.index.is_unique:  # one pass: the FIDs ascend
        if whole and (said := stale_count(path, layer, len(gdf))) is not None:
            notes.add(said, source=path.name)
        return gdf
    again = gdf.index.duplicated(keep="first")
    out = gdf[~again]
    repeated = gdf[again]
    first = out.loc[repeated.index]
    if not _same_rows(repeated, first):
        fid = repeated.index[~_row_equal(repeated, first)][0]
        msg = (
            f"cannot read {path}: GDAL returned feature {fid} twice with different contents "
            f"(the layer's stored feature count may be stale). {count_fix(path, layer)}"
        )
        raise InputError(msg)
    if (said := stale_count(path, layer, len(out), twice=int(again.sum()))) is not None:
        notes.add(said, source=path.name)
    return out


def stale_count(path: Path, layer: str | None, rows: int, *, twice: int = 0) -> str | None:
    """The warning of a GeoPackage layer of ``rows`` features whose stored count is stale,
    else ``None`` (a count right, or unknown to GDAL).

    The one wording of every path that finds it (a whole read in memory, a streamed run's
    chunks): the file, the layer, the stored count, the real one, the cause and the fix;
    ``twice``: the features GDAL's reader returned twice (read once).
    """
    info = pyogrio.read_info(path, layer=layer)
    stored, name = info["features"], str(info["layer_name"])
    if not twice and (stored is None or stored < 0 or stored == rows):
        return None
    said = (
        f"{path.name}: layer {name!r}: gpkg_ogr_contents says {stored} features, the table "
        f"holds {rows} (a stale count: a tool or a crash bypassed GDAL's count triggers)"
    )
    if twice:
        said += f"; GDAL's reader returned {twice} feature(s) twice, read once here"
    return f"{said}. {count_fix(path, name)}"


def read_rows(path: Path, **kwargs: Any) -> Any:
    """``pyogrio.read_dataframe(path, use_arrow=False, **kwargs)``, every row of a GeoPackage
    whatever its stored count.

    The row-by-row reader reads as many rows as GDAL counts, and GDAL counts a GeoPackage
    layer with no filter from ``gpkg_ogr_contents``: a count too low dropped the last rows
    (30 parcels with curves, read this way, came out 20 with a stored count of 20). A filter
    that keeps every row makes GDAL count the table itself.
    """
    if path.suffix.lower() == ".gpkg" and not kwargs.get("where"):
        kwargs = {**kwargs, "where": "1 = 1"}  # GDAL's own count, not the stored one
    return read_dataframe(path, use_arrow=False, **kwargs)  # integers with a null exact


def table_rows(path: Path, layer: str | None) -> int | None:
    """The rows of a GeoPackage layer's table as SQLite counts them, else ``None`` (another
    format).

    For a cap checked against GDAL's count, which is the stored one (see the module): a
    stale count over the cap is no reason to refuse a layer whose rows are under it.
    """
    if path.suffix.lower() != ".gpkg":
        return None
    name = str(pyogrio.read_info(path, layer=layer)["layer_name"])
    sql = f"SELECT count(*) AS n FROM {sql_ident(name)}"
    table = pyogrio.read_arrow(path, sql=sql, sql_dialect="SQLITE")[1]
    return int(table.column("n")[0].as_py())


def count_fix(path: Path, layer: str | None) -> str:
    """How to set a GeoPackage layer's stored feature count right (GDAL's ``ogrinfo``).

    Examples
    --------
    >>> print(count_fix(Path("a.gpkg"), "宗地"))  # doctest: +NORMALIZE_WHITESPACE
    Fix the count with: ogrinfo a.gpkg -sql "UPDATE gpkg_ogr_contents SET feature_count =
    (SELECT count(*) FROM 宗地) WHERE table_name = '宗地'", or save the layer again (ogr2ogr
    -f GPKG fixed.gpkg a.gpkg), which also restores the count triggers
    """
    name = layer or "LAYER"
    table = name if _PLAIN_NAME.fullmatch(name) else f"[{name}]"
    literal = name.replace("'", "''")
    return (
        f'Fix the count with: ogrinfo {path} -sql "UPDATE gpkg_ogr_contents SET '
        f"feature_count = (SELECT count(*) FROM {table}) WHERE table_name = '{literal}'\", "
        f"or save the layer again (ogr2ogr -f GPKG fixed.gpkg {path}), which also restores "
        "the count triggers"
    )


def distinct_fids(fids: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
    """The FIDs of an unfiltered GeoPackage read, each once (they ascend as read).

    Examples
    --------
    >>> distinct_fids(np.array([1, 2, 4, 4])).tolist()
    [1, 2, 4]
    """
    if len(fids) < 2 or bool((fids[1:] > fids[:-1]).all()):
        return fids
    return np.unique(fids)


def _same_rows(a: pd.DataFrame, b: pd.DataFrame) -> bool:
    return bool(_row_equal(a, b).all())


def _row_equal(a: pd.DataFrame, b: pd.DataFrame) -> npt.NDArray[np.bool_]:
    """Row by row, whether ``a`` and ``b`` (same index, same columns) hold the same values
    (a missing value equals a missing value)."""
    geom = a.geometry.name if isinstance(a, gpd.GeoDataFrame) else None
    same = np.ones(len(a), dtype=bool)
    for col in a.columns:
        x, y = a[col].reset_index(drop=True), b[col].reset_index(drop=True)
        if col == geom:
            x, y = pd.Series(shapely.to_wkb(x.to_numpy())), pd.Series(shapely.to_wkb(y.to_numpy()))
        eq = (x == y).fillna(False).to_numpy(dtype=bool)
        same &= eq | (x.isna() & y.isna()).to_numpy(dtype=bool)
    return same
