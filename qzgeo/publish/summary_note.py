"""The note of ``parcels_summary`` (CSV and Excel) that overlapping parcels are counted twice.

``qzgeo analyze`` warns of overlapping parcels on its output and in ``parcels_report.json``,
but a planner handed ``parcels_summary.csv`` or ``.xlsx`` alone would add its rows up as if
no land were counted twice. The note goes in the 分区 cell of the 合计 row, empty otherwise:
no extra row (pandas, QGIS and Excel's filters would read it as a zone, and the ``.csvt``'s
Real columns would get text), no extra column (the same columns with or without overlaps).
"""

from __future__ import annotations

import pandas as pd

from qzgeo.analysis.parcel_overlaps import ParcelOverlaps
from qzgeo.geo.area import HA_DECIMALS, M2_DECIMALS, M2_PER_HA, M2_PER_MU, MU_DECIMALS

__all__ = ["overlap_note", "overlap_noted"]

#: The cell of the 合计 row that holds the note, and the row's mark.
NOTE_COLUMN, TOTAL_COLUMN, TOTAL = "分区", "分区图层", "合计"


def overlap_note(overlaps: ParcelOverlaps | None) -> str:
    """What the 合计 row says of overlapping parcels; ``""`` when none overlap.

    Examples
    --------
    >>> print(overlap_note(ParcelOverlaps("p.gpkg", pairs=1)).split("；")[0])
    注意：1 对地块相互重叠，共 0.00 m²（0.000000 公顷，0.00000 亩，逐对相加）
    >>> overlap_note(ParcelOverlaps("p.gpkg"))
    ''
    """
    if overlaps is None or not overlaps.pairs:
        return ""
    m2 = overlaps.m2
    ha, mu = m2 / M2_PER_HA, m2 / M2_PER_MU
    return (
        f"注意：{overlaps.pairs} 对地块相互重叠，共 {m2:,.{M2_DECIMALS}f} m²"
        f"（{ha:,.{HA_DECIMALS}f} 公顷，{mu:,.{MU_DECIMALS}f} 亩，逐对相加）；"
        "各行与合计的面积把重叠部分按覆盖它的每个地块各计一次。"
        "见 parcels_report.json 的 overlapping_parcels"
    )


def overlap_noted(summary: pd.DataFrame, overlaps: ParcelOverlaps | None) -> pd.DataFrame:
    """``summary`` with :func:`overlap_note` in the 分区 cell of its 合计 row; ``summary``
    itself (the same object) when no parcels overlap."""
    note = overlap_note(overlaps)
    if not note or not len(summary) or summary[TOTAL_COLUMN].iloc[-1] != TOTAL:
        return summary
    out = summary.copy()
    out.loc[out.index[-1], NOTE_COLUMN] = note
    return out
