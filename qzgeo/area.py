"""Areas on the CGCS2000 ellipsoid, and the Chinese land units.

CGCS2000's ellipsoid and GRS80 differ in the flattening by about 1e-11, a fraction of a
millimetre on a county, so pyproj's ``Geod(ellps="GRS80")`` gives 国土调查-style ellipsoidal
areas. 1 公顷 = 15 亩 = 10 000 m².
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import numpy.typing as npt
from pyproj import CRS, Geod
from shapely.geometry.base import BaseGeometry

M2_PER_HA = 10_000.0
MU_PER_HA = 15.0
M2_PER_MU = M2_PER_HA / MU_PER_HA

GEOD = Geod(ellps="GRS80")


def m2_to_ha(m2: npt.ArrayLike) -> npt.NDArray[np.float64]:
    """Square metres to 公顷 (hectares).

    Examples
    --------
    >>> float(m2_to_ha(1_000_000))
    100.0
    """
    return np.asarray(m2, dtype=float) / M2_PER_HA


def m2_to_mu(m2: npt.ArrayLike) -> npt.NDArray[np.float64]:
    """Square metres to 亩 (1 亩 = 666.67 m²).

    Examples
    --------
    >>> float(m2_to_mu(1_000_000))
    1500.0
    """
    return np.asarray(m2, dtype=float) / M2_PER_MU


def ellipsoidal_area(geoms: Iterable[BaseGeometry | None]) -> npt.NDArray[np.float64]:
    """Ellipsoidal area in m² of lon/lat geometries (EPSG:4490 or 4326), one value per geometry.

    Non-polygonal and empty geometries have area 0. Orientation does not matter.

    Examples
    --------
    >>> from shapely import box
    >>> a = ellipsoidal_area([box(108.0, 22.0, 108.01, 22.01)])
    >>> bool(1_140_000 < a[0] < 1_145_000)
    True
    """
    out = []
    for geom in geoms:
        if geom is None or geom.is_empty:
            out.append(0.0)
            continue
        area, _ = GEOD.geometry_area_perimeter(geom)
        out.append(abs(area))
    return np.asarray(out, dtype=float)


def require_geographic(crs: CRS | str | None, *, what: str = "data") -> CRS:
    """Check that ``crs`` is geographic lon/lat, as :func:`ellipsoidal_area` needs."""
    from qzgeo._errors import CRSError

    if crs is None:
        msg = f"{what} has no CRS; set one with `crs = ...` in the catalog or --crs"
        raise CRSError(msg)
    c = CRS.from_user_input(crs)
    if not c.is_geographic:
        msg = f"{what} is in {c.name}; areas need lon/lat: use to_crs('EPSG:4490') first"
        raise CRSError(msg)
    return c
