"""qzgeo's one "1 mm retry" of a GEOS overlay that fails on near-coincident boundaries.

Split out of :mod:`qzgeo.geo.repair` (which reports what a retry did) to keep both short.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import shapely
from shapely.geometry.base import BaseGeometry

from qzgeo._errors import GeometryError
from qzgeo.geo.repair import RepairReport

__all__ = ["RETRY_GRID_SIZE", "overlay_op", "retry_on_grid"]

#: Snapping grid of the retry when a GEOS overlay fails: 1 mm in a metric CRS.
RETRY_GRID_SIZE = 0.001


def retry_on_grid(
    func: Callable[..., Any],
    *geoms: Any,
    grid_size: float = RETRY_GRID_SIZE,
    context: str = "",
) -> tuple[Any, str | None]:
    """``func(*geoms)``, retried with ``grid_size=`` if GEOS raises a TopologyException.

    The one implementation of qzgeo's "1 mm retry": near-coincident boundaries (vertices a few
    nanometres apart) can make GEOS overlays fail, and snapping both inputs to a 1 mm grid
    (in a metric CRS) makes them robust. ``func`` is any shapely function taking
    ``grid_size`` (``intersection``, ``difference``, ``union_all``...).

    Returns
    -------
    The result and, if a retry was needed, the first GEOS error message (else ``None``).

    Raises
    ------
    GeometryError
        The retry failed too; the message names ``context``.

    Examples
    --------
    >>> from shapely import box
    >>> result, error = retry_on_grid(shapely.intersection, box(0, 0, 2, 2), box(1, 1, 3, 3))
    >>> result.area, error
    (1.0, None)
    """
    try:
        return func(*geoms), None
    except shapely.errors.GEOSException as exc:
        try:
            return func(*geoms, grid_size=grid_size), str(exc)
        except shapely.errors.GEOSException as exc2:
            name = getattr(func, "__name__", "overlay")
            where = f" ({context})" if context else ""
            msg = f"{name}{where} failed even on a {grid_size:g} grid: {exc2}; repair the inputs"
            raise GeometryError(msg) from exc2


def overlay_op(
    a: BaseGeometry,
    b: BaseGeometry,
    *,
    op: str = "intersection",
    grid_size: float = RETRY_GRID_SIZE,
    report: RepairReport | None = None,
    context: str = "",
) -> BaseGeometry:
    """``shapely.<op>(a, b)``, retried on a snapping grid if GEOS raises a TopologyException.

    See :func:`retry_on_grid`; a retry is noted in ``report.warnings``.

    Examples
    --------
    >>> from shapely import box
    >>> overlay_op(box(0, 0, 2, 2), box(1, 1, 3, 3)).area
    1.0
    """
    result, error = retry_on_grid(getattr(shapely, op), a, b, grid_size=grid_size, context=context)
    if error is not None and report is not None:
        report.warnings.append(
            f"{op}{f' ({context})' if context else ''}: GEOS failed ({error}); retried on a "
            f"{grid_size} grid"
        )
    return result
