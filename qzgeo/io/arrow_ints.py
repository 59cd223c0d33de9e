"""Integer columns read through Arrow without a detour through floats.

pandas holds a numpy integer column without nulls only: Arrow's ``to_pandas`` turns an integer
column with one null into floats, which round a 19-digit 宗地代码 to 16 significant digits
(4507020010010000001 and …002 both become 4.50702001001e+18, and a writer casting them back
to integers writes digits no parcel has). Such columns are read as pandas' nullable integers
instead; columns without a null stay numpy integers, as the rest of qzgeo expects.

The row-by-row reader (curves, which Arrow cannot carry; a GeoJSON whose features have an
"id" property) has no nullable integers at all: its integer fields with a null are read
again through Arrow, without their geometry (:func:`exact_integers`).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyogrio

if TYPE_CHECKING:
    from qzgeo.notices import Notices

__all__ = [
    "ARROW_TO_PANDAS",
    "exact_integers",
    "note_rounded_codes",
    "plain_integers",
    "read_dataframe",
]

_NULLABLE = {
    pa.int8(): pd.Int8Dtype(),
    pa.int16(): pd.Int16Dtype(),
    pa.int32(): pd.Int32Dtype(),
    pa.int64(): pd.Int64Dtype(),
}

#: Keyword arguments of ``pyarrow.Table.to_pandas``: integers as nullable integers.
ARROW_TO_PANDAS: dict[str, Any] = {"types_mapper": _NULLABLE.get}


def plain_integers(df: pd.DataFrame) -> pd.DataFrame:
    """``df`` with its nullable integer columns (and index: the FIDs) that hold no null made
    numpy integers.

    Examples
    --------
    >>> df = plain_integers(pd.DataFrame({"a": pd.array([1, None]), "b": pd.array([1, 2])}))
    >>> [str(t) for t in df.dtypes]
    ['Int64', 'int64']
    """
    for name in df.columns:
        dtype = df[name].dtype
        if dtype in _NULLABLE.values() and not df[name].hasnans:
            df[name] = df[name].to_numpy(dtype=str(dtype).lower())  # Int64 -> int64
    if df.index.dtype in _NULLABLE.values() and not df.index.hasnans:
        # set_index, as pyogrio sets the FIDs: a RangeIndex where they run in steps of one
        df = df.set_index(df.index.astype(str(df.index.dtype).lower()))
    return df


def read_dataframe(path: Path, *, use_arrow: bool, **kwargs: Any) -> Any:
    """``pyogrio.read_dataframe``; through Arrow, integer columns with nulls stay integers."""
    if not use_arrow:
        return exact_integers(pyogrio.read_dataframe(path, use_arrow=False, **kwargs), path, kwargs)
    kwargs = {"arrow_to_pandas_kwargs": ARROW_TO_PANDAS, **kwargs}
    return plain_integers(pyogrio.read_dataframe(path, use_arrow=True, **kwargs))


#: Keywords of ``pyogrio.read_dataframe`` that ``pyogrio.read_arrow`` does not take.
_NOT_ARROW = {"fid_as_index", "on_invalid", "columns", "read_geometry", "force_2d",
              "arrow_to_pandas_kwargs", "mixed_offsets_as_utc", "use_arrow"}  # fmt: skip


def exact_integers(df: Any, path: Path, kwargs: dict[str, Any]) -> Any:
    """``df`` as read row by row (``pyogrio.read_dataframe(path, use_arrow=False, **kwargs)``,
    FIDs as its index), its integer fields with a null read again as nullable integers.

    The row-by-row reader gives such a field as floats, which hold 16 digits: a 19-digit
    宗地代码 came out of qzgeo with other digits than it went in. Read again through Arrow
    without the geometry (which is what sent the read row by row: Arrow cannot carry curves),
    the same rows by the same filters, they are exact. If Arrow cannot read them either, or
    its rows are not the same FIDs in the same order, ``df`` is returned as it was.
    """
    if not kwargs.get("fid_as_index") or kwargs.get("sql") or not len(df):
        return df
    floats = [c for c in df.columns if c != "geometry" and df[c].dtype.kind == "f"]
    if not floats:
        return df
    info = pyogrio.read_info(path, layer=kwargs.get("layer"), encoding=kwargs.get("encoding"))
    kinds = dict(zip(info["fields"], info["dtypes"], strict=True))
    ints = [c for c in floats if str(kinds.get(c, "")).startswith("int")]
    if not ints:
        return df
    keep = {k: v for k, v in kwargs.items() if k not in _NOT_ARROW}
    try:
        meta, table = pyogrio.read_arrow(
            path, columns=ints, read_geometry=False, return_fids=True, **keep
        )
    except (pyogrio.errors.DataSourceError, ValueError, NotImplementedError, OSError):
        return df
    fid = meta.get("fid_column") or "OGC_FID"
    if fid not in table.column_names or table.num_rows != len(df):
        return df
    fids = table.column(fid).to_numpy(zero_copy_only=False)
    if not np.array_equal(fids, df.index.to_numpy()):
        return df
    df = df.copy()
    for c in ints:
        df[c] = table.column(c).to_pandas(**ARROW_TO_PANDAS).array
    return df


#: The first whole number a float64 cannot hold exactly next to its neighbours (2**53).
_EXACT_FLOAT_INTEGERS = 2.0**53


def note_rounded_codes(df: pd.DataFrame, path: Path, notes: Notices) -> None:
    """Say which float columns of ``df`` hold whole numbers past 2**53 (16 digits and more).

    A 19-digit 宗地代码 stored as a Double (an ArcGIS 10.x FileGDB has no 64-bit integers) or
    a GeoPackage REAL lost its last digits in the file itself: two parcels' codes may read
    as one number. qzgeo cannot restore them; it says so. (A shapefile's ``N(20,0)`` field
    has its own notice, :func:`qzgeo.io.shapefile.note_shapefile_read`.)
    """
    if path.suffix.lower() == ".shp":
        return
    for name in df.columns:
        if df[name].dtype.kind != "f":
            continue
        v = df[name].to_numpy(dtype=float, na_value=np.nan)
        big = np.isfinite(v) & (np.abs(v) >= _EXACT_FLOAT_INTEGERS) & (v == np.round(v))
        if big.any():
            notes.add(
                f"{path.name}: field {str(name)!r} holds whole numbers of 16 digits and more "
                f"as floating point (e.g. {v[big][0]:.0f}): digits past the 16th are lost in "
                "the file itself (an ArcGIS 10.x FileGDB keeps 64-bit integers as Double); "
                "store such codes as text at the source",
                source=path.name,
            )
