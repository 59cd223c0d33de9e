"""The pack extent, a lon/lat box: written as catalog.toml writes it, what lies outside it,
and why data wholly outside it are refused."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import shapely


def format_extent(extent: tuple[float, float, float, float]) -> str:
    """``[minlon, minlat, maxlon, maxlat]`` as written in catalog.toml.

    Examples
    --------
    >>> format_extent((107.9, 21.3, 109.9, 23.0))
    '[107.9, 21.3, 109.9, 23.0]'
    """
    return (
        "["
        + ", ".join(f"{float(v):g}" if float(v) % 1 else f"{float(v):.1f}" for v in extent)
        + "]"
    )


def extent_status(
    geoms_lonlat: npt.ArrayLike, extent: tuple[float, float, float, float]
) -> tuple[npt.NDArray[np.bool_], npt.NDArray[np.bool_]]:
    """Per geometry (lon/lat): ``(wholly_outside, partly_outside)`` of the ``extent`` box.

    Bounding boxes settle most geometries; only those straddling the box's edge are tested
    exactly. Missing and empty geometries are neither.
    """
    geoms = np.asarray(geoms_lonlat, dtype=object)
    minx, miny, maxx, maxy = extent
    with np.errstate(invalid="ignore"):
        b = shapely.bounds(geoms)
        present = np.isfinite(b).all(axis=1)
        inside = (
            present & (b[:, 0] >= minx) & (b[:, 1] >= miny) & (b[:, 2] <= maxx) & (b[:, 3] <= maxy)
        )
        apart = present & (
            (b[:, 2] < minx) | (b[:, 0] > maxx) | (b[:, 3] < miny) | (b[:, 1] > maxy)
        )
    out = apart.copy()
    part = np.zeros(len(geoms), dtype=bool)
    edge = np.flatnonzero(present & ~inside & ~apart)
    if edge.size:
        box = shapely.box(*extent)
        meets = shapely.intersects(geoms[edge], box)
        out[edge] = ~meets
        part[edge] = meets & ~shapely.covered_by(geoms[edge], box)
    return out, part


#: The likely causes of user data (parcels, sites) wholly outside the pack extent, with the
#: command line's fixes. A pack's own layer gets its catalog's (``causes``).
INPUT_CAUSES = (
    "Likely the wrong pack (pass --pack for this city), the wrong CRS "
    "(check --crs / the .prj) or the wrong GK zone (check 带号 / the zone prefix)"
)


def outside_extent_message(
    source: str,
    what: str,
    extent: tuple[float, float, float, float],
    bounds: tuple[float, float, float, float],
    causes: str = INPUT_CAUSES,
) -> str:
    """Why data wholly outside the pack extent are refused, and the likely ``causes``."""
    minx, miny, maxx, maxy = bounds
    return (
        f"{source}: {what} at lon {minx:.4f}..{maxx:.4f}, lat {miny:.4f}..{maxy:.4f} lies wholly "
        f"outside the pack extent {format_extent(extent)} (lon/lat); the answer would be "
        f"meaningless. {causes}"
    )
