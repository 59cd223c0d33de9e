"""Integer columns read through Arrow without a detour through floats.

pandas holds a numpy integer column without nulls only: Arrow's ``to_pandas`` turns an integer
column with one null into floats, which round a 19-digit 宗地代码 to 16 significant digits
(4507020010010000001 and …002 both become 4.50702001001e+18, and a writer casting them back
to integers writes digits no parcel has). Such columns are read as pandas' nullable integers
instead; columns without a null stay numpy integers, as the rest of qzgeo expects.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyogrio

__all__ = ["ARROW_TO_PANDAS", "plain_integers", "read_dataframe"]

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
        return pyogrio.read_dataframe(path, use_arrow=False, **kwargs)
    kwargs = {"arrow_to_pandas_kwargs": ARROW_TO_PANDAS, **kwargs}
    return plain_integers(pyogrio.read_dataframe(path, use_arrow=True, **kwargs))
