"""CSV inputs: a WKT cell GDAL cannot parse becomes "no geometry" without a word; say why.

Excel keeps at most 32 767 characters in a cell and cuts a longer WKT there without warning
(a parcel of ~1 500 vertices); a hand-edited cell may lose a bracket. GDAL then reads the row
with no geometry, and the user, who sees the WKT in the cell, was told it had none.
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd

from qzgeo.notices import Notices

#: Characters Excel keeps in one cell.
EXCEL_CELL_CHARS = 32_767
#: The words of the notice (a caller refusing a file of such rows repeats the notices).
UNPARSED = "its WKT does not parse"


def note_unparsed_wkt(gdf: gpd.GeoDataFrame, path: Path, notes: Notices) -> None:
    """A notice per CSV row whose WKT cell holds text but gave no geometry."""
    if path.suffix.lower() != ".csv":
        return
    cols = [c for c in gdf.columns if str(c).upper() == "WKT"]
    if not cols:
        return
    text = gdf[cols[0]].astype("string").str.strip()
    bad = gdf.geometry.isna().to_numpy() & text.fillna("").ne("").to_numpy()
    for fid, cell in zip(gdf.index[bad], text[bad], strict=True):
        excel = (
            ": Excel's limit for a cell, which cuts longer text"
            if len(cell) >= EXCEL_CELL_CHARS
            else ""
        )
        notes.add(
            f"{path.name}: feature {fid}: {UNPARSED} ({len(cell)} characters"
            f"{excel}; it ends {cell[-24:]!r}), so it has no geometry",
            source=path.name,  # no feature: the feature is skipped, its own notices unseen
        )
