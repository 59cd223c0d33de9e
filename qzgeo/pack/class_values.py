"""Class values as text: the one spelling of a class that data, styles and every output share.

A class column read from an ArcGIS Double or a GeoPackage REAL holds 1.0, 2.0, 3.0 for the codes
1, 2, 3. A browser's JSON reads 1.0 as the number 1 and QGIS shows it as "1", so the class of such
a value is written like the integer: ``class_text(1.0) == class_text(1) == "1"``. Other numbers
are written by Python's shortest ``repr`` (``0.5`` is "0.5"), text is kept as it is, and a
missing value (None, NaN) has no class (``None``).

The keys of a pack's tables of classes (style ``classes``, ``constraint_classes``, suitability
``classes``) go through :func:`class_key`: a key spelling a decimal number ("1.0", "2.50") is the
class of that number ("1", "2.5"), so a pack written with "1.0" and one written with "1" style a
Double column alike. Everything that matches a feature with a class (validate, the overlay, the
legend, the web map, the PDF sheet, the gallery, the QGIS project) reads the feature's value
through :func:`class_text` or :func:`class_texts`.
"""

from __future__ import annotations

import decimal
import math
import numbers
import re
import sys
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["class_key", "class_table", "class_text", "class_texts"]

#: Whole floats beyond 2**53 are not exact integers any more: written by ``repr`` ("1e+16").
_EXACT = 2.0**53
#: A key written as a decimal number with a point: "1.0", "-3.0", "2.50", ".5" (not "01": a code).
_DECIMAL_RE = re.compile(r"[+-]?(\d+\.\d*|\.\d+)")


def _float_text(f: float) -> str | None:
    if math.isnan(f):
        return None
    if f.is_integer() and abs(f) < _EXACT:
        return str(int(f))
    return repr(f)


def class_text(value: object) -> str | None:
    """The class of one value as text; ``None`` for a missing value.

    >>> [class_text(v) for v in (1.0, 1, -3.0, 0.5, "1.0", "工业", None, float("nan"))]
    ['1', '1', '-3', '0.5', '1.0', '工业', None, None]
    """
    if value is None:
        return None
    # pandas and numpy only if loaded (values of theirs exist only then): choosing the pack
    # (the catalog's keys) must not import them (tests/cli/test_light_start.py)
    pd_ = sys.modules.get("pandas")
    if pd_ is not None and (value is pd_.NA or value is pd_.NaT):
        return None
    if isinstance(value, str):
        return value
    np_ = sys.modules.get("numpy")
    if isinstance(value, bool) or (np_ is not None and isinstance(value, np_.bool_)):
        return str(bool(value))
    if isinstance(value, numbers.Integral):
        return str(int(value))
    if isinstance(value, float) or (np_ is not None and isinstance(value, np_.floating)):
        return _float_text(float(value))
    if isinstance(value, decimal.Decimal):  # a PostgreSQL numeric read whole
        if value.is_nan():
            return None
        whole = value.is_finite() and value == value.to_integral_value()
        return str(int(value)) if whole else str(value)
    try:
        if value != value:  # pandas' NA kinds
            return None
    except (TypeError, ValueError):
        pass
    return str(value)


def class_texts(values: pd.Series) -> pd.Series:
    """:func:`class_text` of every value of a column (object dtype, ``None`` where missing)."""
    import numpy as np
    import pandas as pd

    if values.dtype.kind == "f":  # a whole layer of REAL codes at numpy speed
        floats = values.to_numpy(dtype=float, na_value=np.nan)
        whole = np.isfinite(floats) & (np.floor(floats) == floats) & (np.abs(floats) < _EXACT)
        texts = np.array([None] * len(floats), dtype=object)
        texts[whole] = floats[whole].astype(np.int64).astype(str)
        rest = ~whole & ~np.isnan(floats)
        texts[rest] = [repr(f) for f in floats[rest].tolist()]
        return pd.Series(texts, index=values.index, dtype=object)
    if isinstance(values.dtype, np.dtype) and values.dtype.kind in "iu":  # no missing values
        return pd.Series(values.astype(str).to_numpy(dtype=object), index=values.index)
    return pd.Series([class_text(v) for v in values.tolist()], index=values.index, dtype=object)


def class_key(key: object) -> str | None:
    """A class as a pack writes it (a TOML key or value) as :func:`class_text` spells it.

    >>> [class_key(k) for k in ("1.0", "-3.0", "2.50", "1", "01", "工业", 2.0, 7)]
    ['1', '-3', '2.5', '1', '01', '工业', '2', '7']
    """
    if isinstance(key, str):
        return _float_text(float(key)) if _DECIMAL_RE.fullmatch(key) else key
    return class_text(key)


def class_table(table: object, where: str, problems: list[str]) -> dict[str, Any]:
    """The entries of a pack's table of classes by :func:`class_key`; problems are appended.

    ``where`` names the table (file, section and key). Two keys of one class ("1" and "1.0")
    are a problem: which entry was meant cannot be told.
    """
    if table is None:
        return {}
    if not isinstance(table, dict):
        problems.append(f"{where} must be a table of class = value, got {table!r}")
        return {}
    out: dict[str, Any] = {}
    written: dict[str, str] = {}
    for raw, entry in table.items():
        key = class_key(str(raw)) or ""
        if key in out:
            problems.append(
                f"{where}: {written[key]!r} and {raw!r} are the same class {key!r} "
                "(a whole number is one class however it is written); keep one of them"
            )
            continue
        out[key] = entry
        written[key] = str(raw)
    return out
