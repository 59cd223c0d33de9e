"""A siting check as a GeoPackage to open in QGIS: the sites with their verdicts, and the
conflict patches (冲突图斑) cut from them, in CGCS2000 lon/lat.

The JSON report says how much of a site each red line takes; GIS staff also need to see
where. Both layers carry the report's figures (m², 公顷, 亩, rounded as in the JSON), so a
layer's attribute table and the JSON never disagree.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from qzgeo.analysis.site_results import area_units
from qzgeo.geo.crs import STORAGE_CRS
from qzgeo.io.write import write_gpkg

if TYPE_CHECKING:
    from qzgeo.analysis.site_results import SiteReport

__all__ = ["reports_to_layers", "write_site_layers"]


_SITE_COLUMNS = [
    "site", "site_field", "source", "feature", "verdict", "area_m2", "area_ha", "area_mu",
    "conflicts", "conflict_classes", "inside_boundary_share", "unchecked_share", "zones",
    "warnings", "repairs",
]  # fmt: skip
_PATCH_COLUMNS = [
    "site", "feature", "layer", "class", "mode", "area_m2", "area_ha", "area_mu", "share"
]  # fmt: skip


def _site_row(r: SiteReport) -> dict[str, Any]:
    b = r.development_boundary
    return {
        "site": r.site,
        "site_field": r.site_field,
        "source": r.source,
        "feature": str(r.index),
        "verdict": r.verdict,
        **area_units(r.area_m2),
        "conflicts": len(r.conflicts),
        "conflict_classes": "、".join(c.cls for c in r.conflicts),
        "inside_boundary_share": None if b is None else round(b.inside_share, 6),
        "unchecked_share": None if b is None else round(b.unchecked_share, 6),
        "zones": "、".join(r.zones),
        "warnings": "\n".join(r.warnings),
        "repairs": "\n".join(r.repairs),
    }


def reports_to_layers(reports: Sequence[SiteReport]) -> dict[str, gpd.GeoDataFrame]:
    """``{"sites": ..., "conflict_patches": ...}``: one row per site, one per conflict.

    A patch row is one conflict of the JSON report (a site and a constraint class: the
    overlap, or for a boundary the part outside it), with its geometry, area and share of the
    site. The reports must have been made with ``with_patches=True``.
    """
    sites = gpd.GeoDataFrame(
        pd.DataFrame([_site_row(r) for r in reports], columns=_SITE_COLUMNS),
        geometry=_multi([r.geometry for r in reports]),
    )
    rows, geoms = [], []
    for r in reports:
        for c, patch in r.patches:
            rows.append(
                {
                    "site": r.site,
                    "feature": str(r.index),
                    "layer": c.layer,
                    "class": c.cls,
                    "mode": c.mode,
                    **area_units(c.area_m2),
                    "share": round(c.share, 6),
                }
            )
            geoms.append(patch)
    patches = gpd.GeoDataFrame(pd.DataFrame(rows, columns=_PATCH_COLUMNS), geometry=_multi(geoms))
    return {"sites": sites, "conflict_patches": patches}


def write_site_layers(reports: Sequence[SiteReport], path: Path) -> Path:
    """Write :func:`reports_to_layers` to the GeoPackage ``path`` (atomic, reproducible)."""
    layers = reports_to_layers(reports)
    return write_gpkg(path, layers, multipolygon=list(layers))


def _multi(geoms: list[Any]) -> gpd.GeoSeries:
    """MultiPolygons in lon/lat: one geometry type per layer, as QGIS and GDAL like it."""
    arr = np.asarray(geoms, dtype=object).reshape(-1)
    single = shapely.get_type_id(arr) == 3  # Polygon
    arr[single] = [shapely.MultiPolygon([g]) for g in arr[single]]
    return gpd.GeoSeries(arr, crs=STORAGE_CRS)
