"""Reports: the analysis GeoPackage, the zone summary CSV/XLSX, and the run report.

CSV files are UTF-8 with a BOM so that Excel opens the Chinese headers; their text cells that a
spreadsheet would run as a formula start with a ``'`` (:func:`formula_safe`); every file is
written atomically and deterministically.
"""

from __future__ import annotations

import io
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from qzgeo.analysis.zones import AnalysisResult
from qzgeo.geo.area import HA_DECIMALS, M2_DECIMALS, M2_PER_HA, MU_DECIMALS
from qzgeo.io.atomic import write_bytes, write_text
from qzgeo.io.write import write_gpkg

# English column -> Chinese header for the zone summary table.
SUMMARY_HEADERS = {
    "zone_layer": "图层",
    "zone_fid": "要素编号",
    "名称": "名称",
    "zone_m2": "分区面积(m²)",
    "zone_ha": "分区面积(公顷)",
    "zone_mu": "分区面积(亩)",
    "available_m2": "可用面积(m²)",
    "available_ha": "可用面积(公顷)",
    "available_mu": "可用面积(亩)",
    "constrained_m2": "受限面积(m²)",
    "constrained_ha": "受限面积(公顷)",
    "constrained_mu": "受限面积(亩)",
    "conflict_patches": "冲突图斑数",
}


#: First characters that make Excel and LibreOffice read a CSV cell as a formula (OWASP "CSV
#: injection"): ``=HYPERLINK(...)`` becomes a link, ``=cmd|' /C calc'!A0`` runs a program.
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


def formula_safe(text: str) -> str:
    """``text`` as a spreadsheet shows it as text: a ``'`` before a leading formula character.

    Zone names, class names and attributes come from pack and user data; a CSV cell that
    starts with one of :data:`FORMULA_TRIGGERS` is run by Excel and LibreOffice when the file
    is opened. The ``'`` is OWASP's fix (the cell stays text, the name readable).

    Examples
    --------
    >>> print(formula_safe('=HYPERLINK("http://x","y")'))
    '=HYPERLINK("http://x","y")
    >>> formula_safe("-1+1"), formula_safe("甲区"), formula_safe("")
    ("'-1+1", '甲区', '')
    """
    return "'" + text if text.startswith(FORMULA_TRIGGERS) else text


def _text_cells_safe(col: pd.Series) -> pd.Series:
    """A column with its text cells through :func:`formula_safe`; numbers, and a column without
    such a cell, untouched (a negative number written as a number is no formula)."""
    if pd.api.types.is_numeric_dtype(col) or pd.api.types.is_datetime64_any_dtype(col):
        return col
    cells = list(col)
    safe = [formula_safe(v) if isinstance(v, str) else v for v in cells]
    if all(s is v for s, v in zip(safe, cells, strict=True)):
        return col  # as it was: the bytes of a table without such a cell do not change
    return pd.Series(safe, index=col.index, dtype=object)


def csv_bytes(
    df: pd.DataFrame, *, float_format: str = "%.4f", decimals: Mapping[str, int] | None = None
) -> bytes:
    """A DataFrame as UTF-8-with-BOM CSV bytes (``\\n`` line ends, fixed float format).

    Every CSV qzgeo writes comes from here: headers and text cells go through
    :func:`formula_safe`, numbers are written as numbers. ``decimals``: columns written to that
    many decimals in fixed notation, a -0.0 of rounding as 0 (the others by ``float_format``).

    Examples
    --------
    >>> t = pd.DataFrame({"@类": ["=1+1", "甲"], "编号": [-1, 2], "面积": [-0.25, -0.0]})
    >>> print(csv_bytes(t, decimals={"面积": 2}).decode("utf-8-sig"), end="")
    '@类,编号,面积
    '=1+1,-1,-0.25
    甲,2,0.00
    """
    places = decimals or {}
    cols: list[pd.Series] = []
    for name, col in df.items():
        d = places.get(name) if isinstance(name, str) else None
        if d is None:
            cols.append(_text_cells_safe(col))
        else:  # + 0.0: -0.0 is written 0
            cols.append(pd.Series([f"{v + 0.0:.{d}f}" for v in col.to_numpy(float).round(d)]))
    table = pd.DataFrame(dict(enumerate(c.set_axis(df.index) for c in cols)), index=df.index)
    table.columns = pd.Index([formula_safe(c) if isinstance(c, str) else c for c in df.columns])
    buf = io.StringIO()
    table.to_csv(buf, index=False, float_format=float_format, lineterminator="\n")
    return buf.getvalue().encode("utf-8-sig")


def csvt_bytes(df: pd.DataFrame, *, decimals: Mapping[str, int] | None = None) -> bytes:
    """The GDAL ``.csvt`` of :func:`csv_bytes` ``(df)``: one quoted type per column.

    QGIS opens a CSV dropped on it, or picked in its Browser, with GDAL's CSV driver, which
    reads every column as text (counts sorted 1, 10, 2; areas not summable) unless a ``.csvt``
    beside it names the types; its delimited-text reader takes them from there too instead of
    guessing (a zone named ``007`` stays text). Columns written with fixed ``decimals`` are
    Real; booleans, written ``True``/``False``, and anything not numeric are String.

    Examples
    --------
    >>> t = pd.DataFrame({"名称": ["007"], "数": [2], "大数": [2**40], "面积": [1.5], "是": [True]})
    >>> csvt_bytes(t, decimals={"面积": 2}).decode()
    '"String","Integer","Integer64","Real","String"\\n'
    """
    places = decimals or {}
    kinds = []
    for name, col in df.items():
        if name in places or pd.api.types.is_float_dtype(col):
            kinds.append("Real")
        elif pd.api.types.is_integer_dtype(col) and not pd.api.types.is_bool_dtype(col):
            small = col.dropna().abs().le(2**31 - 1).all()  # the range of a 32-bit Integer
            kinds.append("Integer" if small else "Integer64")
        else:
            kinds.append("String")
    return (",".join(f'"{k}"' for k in kinds) + "\n").encode("ascii")


def write_csv(
    path: Path,
    df: pd.DataFrame,
    *,
    float_format: str = "%.4f",
    decimals: Mapping[str, int] | None = None,
) -> list[Path]:
    """Write ``df`` as :func:`csv_bytes` to ``path`` and its :func:`csvt_bytes` beside it."""
    data = csv_bytes(df, float_format=float_format, decimals=decimals)
    types = csvt_bytes(df, decimals=decimals)
    return [write_bytes(path, data), write_bytes(path.with_suffix(".csvt"), types)]


#: The unit suffix of a class column of the zone summary -> that of its Chinese header.
_CLASS_UNITS = {"_m2": "(m²)", "_ha": "(公顷)", "_mu": "(亩)"}


def _class_header(column: str) -> str:
    """``<class>_m2`` / ``_ha`` / ``_mu`` as ``<class>(m²)`` / ``(公顷)`` / ``(亩)``."""
    for suffix, unit in _CLASS_UNITS.items():
        if column.endswith(suffix):
            return column.removesuffix(suffix) + unit
    return column


def summary_table(summary: pd.DataFrame) -> pd.DataFrame:
    """The zone summary with Chinese headers (class columns become ``<class>(m²)``,
    ``<class>(公顷)`` and ``<class>(亩)``)."""
    table = pd.DataFrame(summary.drop(columns="geometry", errors="ignore"))
    renamed = {c: SUMMARY_HEADERS.get(c, _class_header(c)) for c in table.columns}
    return table.rename(columns=renamed)


def write_analysis(result: AnalysisResult, out_dir: Path) -> list[Path]:
    """Write ``analysis.gpkg`` (available_land, conflicts, zone_summary) and a CSV summary."""
    out_dir.mkdir(parents=True, exist_ok=True)
    summary = result.zone_summary
    gpkg = write_gpkg(
        out_dir / "analysis.gpkg",
        {
            "available_land": result.available_land,
            "conflicts": result.conflicts,
            "zone_summary": summary,
        },
        multipolygon=("available_land", "conflicts", "zone_summary"),
    )
    table = summary_table(summary)
    return [gpkg, *write_csv(out_dir / "zone_summary.csv", table, decimals=area_places(table))]


#: Decimals of the zone summary's area columns, by header suffix (:data:`HA_DECIMALS`...).
AREA_HEADER_DECIMALS = {"(m²)": M2_DECIMALS, "(公顷)": HA_DECIMALS, "(亩)": MU_DECIMALS}


def area_places(table: pd.DataFrame) -> dict[str, int]:
    """The decimals of each area column of a table with Chinese headers (:func:`summary_table`).

    Examples
    --------
    >>> area_places(pd.DataFrame(columns=["名称", "分区面积(m²)", "农田(公顷)", "可用面积(亩)"]))
    {'分区面积(m²)': 2, '农田(公顷)': 6, '可用面积(亩)': 5}
    """
    return {
        str(c): d
        for c in table.columns
        for s, d in AREA_HEADER_DECIMALS.items()
        if str(c).endswith(s)
    }


ANALYSIS_TABLES = ("available_land", "conflicts", "zone_summary")


def analysis_postgis_targets(uri: str) -> dict[str, str]:
    """Output name -> table URI, every name checked (<= 63 bytes) before anything connects."""
    from qzgeo.io.postgis_uri import parse_postgis_uri, with_table

    src = parse_postgis_uri(uri)
    return {name: with_table(uri, f"{src.schema}.{src.table}_{name}") for name in ANALYSIS_TABLES}


def write_analysis_postgis(result: AnalysisResult, uri: str) -> list[str]:
    """Write the three analysis layers as tables next to the table named in ``uri``.

    ``postgresql://user@host/db?table=schema.qz`` writes ``schema.qz_available_land``,
    ``schema.qz_conflicts`` and ``schema.qz_zone_summary`` in one transaction: all three
    replace their old tables, or none does.
    """
    from qzgeo.io.postgis import write_postgis_layers
    from qzgeo.io.postgis_uri import parse_postgis_uri

    targets = analysis_postgis_targets(uri)
    frames = {
        "available_land": result.available_land,
        "conflicts": result.conflicts,
        "zone_summary": result.zone_summary,
    }
    items = [(_numbered(frames[name]), target) for name, target in targets.items()]
    # Polygons, even when a table has none (a run without conflicts).
    write_postgis_layers(items, geometry_type="MULTIPOLYGON", keep_ids=True)
    return [parse_postgis_uri(t).qualified for t in targets.values()]


def _numbered(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with a first column ``ogc_fid`` 1..n, its index: the table's primary key.

    QGIS opens a PostGIS table without a key read-only, by its ctid, and asks which column is
    unique; ``id`` is text (``port_zones-3``). An integer key numbered as a GeoPackage's fids,
    under the name ``ogr2ogr`` gives them, is one QGIS takes as it is."""
    from qzgeo.io.postgis_ids import ID_COLUMN

    ids = pd.RangeIndex(1, len(frame) + 1)
    out = frame.set_axis(ids)
    out.insert(0, ID_COLUMN, ids.to_numpy(dtype="int64"))
    return out


def write_run_report(out_dir: Path, report: dict[str, Any]) -> Path:
    """Write ``report.json`` (repairs, drops, warnings, summary) with sorted keys."""
    text = json.dumps(report, ensure_ascii=False, indent=2, sort_keys=True) + "\n"
    return write_text(out_dir / "report.json", text)


#: What ``available_ha`` of ``report.json`` is, said beside it.
AVAILABLE_IS = (
    "the union of every zone layer's available land: land in zones of several layers (nested "
    "plans) counts once, so where layers overlap their zone_summary rows add up to more"
)


def available_by_layer(result: AnalysisResult) -> dict[str, float]:
    """Available 公顷 per zone layer: the sum of its zones' rows in ``zone_summary``."""
    rows = result.zone_summary
    if rows.empty:
        return {}
    sums = rows.groupby("zone_layer", sort=True)["available_m2"].sum()
    return {str(k): round(float(v) / M2_PER_HA, HA_DECIMALS) for k, v in sums.items()}


def run_summary(result: AnalysisResult) -> dict[str, object]:
    """The ``summary`` of ``report.json``: the headline figures and the planar CRS used."""
    return {
        "zones": len(result.zone_summary),
        "available_ha": round(result.total_available_ha, HA_DECIMALS),
        "available_ha_by_layer": available_by_layer(result),
        "available_ha_is": AVAILABLE_IS,
        "conflict_patches": len(result.conflicts),
        "planar_crs": result.planar_crs,
        "max_conservation_residual_m2": result.max_residual_m2,
    }
