"""Ellipsoidal m² of planar polygons: ``1/k²`` integrated over the polygon, not sampled.

A planar Gauss-Krüger area ``A`` is ``∫ 1/k² dA`` on the ellipsoid (``k²`` the areal scale
factor, :class:`~qzgeo.geo.area.AreaScale`). ``A / k²(c)`` at the centroid ``c`` leaves out
``½ tr(H S)``, with ``H`` the Hessian of ``1/k²`` and ``S`` the central second moments of
area: ~5e-6 relative on a 50 km parcel (k² grows with the squared distance from the central
meridian), and pieces scaled each at their own centroid did not add up to their parcel. With
the term the model is quadratic in position, so it is additive: pieces sum to their parcel.

The term is bounded by ``CURVATURE_BOUND · w² / 8`` relative for a polygon within a ``w`` × ``w``
box (each central variance is at most ``w²/4``), so it is computed only for polygons wider
than :data:`CURVED_EXTENT_M`, where it can reach 1e-9: nearly no parcel, and pieces follow
their parcel's rule (each piece left out is itself below 1e-9, so sums stay consistent).

The terms of the third and fourth moments, left out, reach 1e-8 on a 100 km polygon at a
6-degree zone's edge: polygons :data:`~qzgeo.geo.area_lattice.LATTICE_M` wide or more are cut
by a fixed lattice and measured cell by cell (:func:`lattice_m2`), which keeps the model
additive (a parcel and its pieces are cut at the same lines).
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np
import numpy.typing as npt
import shapely

from qzgeo.geo.area import AreaScale, centroids_xy
from qzgeo.geo.area_lattice import cut_by_lattice, lattice_wide

__all__ = [
    "CURVATURE_BOUND",
    "CURVED_EXTENT_M",
    "Measured",
    "area_moments",
    "ellipsoidal_m2",
    "lattice_m2",
    "measure",
    "remainder_m2",
    "wide",
]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

#: Bound (1/m²) on (|∂²f/∂x²| + 2|∂²f/∂x∂y| + |∂²f/∂y²|) / f, f = 1/k², for Gauss-Krüger
#: zones: ≈ 2/(ρν) at the central meridian (4.95e-14 at the equator, 4.94e-14 at 22°N),
#: less off it; the mixed and northing terms are ~1e-17 (measured on 3- and 6-degree zones,
#: 18-53°N, in tests/geo/test_area_moments.py).
CURVATURE_BOUND = 5.0e-14
#: Polygons at least this wide (m, the larger bounding-box side) get the curvature term:
#: below it the term is < CURVATURE_BOUND · w² / 8 = 1e-9 relative.
CURVED_EXTENT_M = float(np.sqrt(8 * 1e-9 / CURVATURE_BOUND))  # 400 m


@dataclass
class Measured:
    """Planar areas, centroids (NaN where not needed), m² (ellipsoidal or planar) and the
    central second moments of area (0 where the curvature term is not computed)."""

    planar: FloatArray
    x: FloatArray
    y: FloatArray
    m2: FloatArray
    sxx: FloatArray
    sxy: FloatArray
    syy: FloatArray

    @classmethod
    def zeros(cls, n: int) -> Measured:
        return cls(*(np.zeros(n) for _ in fields(cls)))

    def put(self, where: npt.ArrayLike, other: Measured) -> None:
        """Set the rows ``where`` of every column from ``other``."""
        for f in fields(self):
            getattr(self, f.name)[where] = getattr(other, f.name)

    def take(self, where: npt.ArrayLike) -> Measured:
        return Measured(*(getattr(self, f.name)[where] for f in fields(self)))


def wide(bounds: FloatArray) -> BoolArray:
    """Polygons (rows of ``shapely.bounds``) wide enough for the curvature term."""
    w = np.maximum(bounds[:, 2] - bounds[:, 0], bounds[:, 3] - bounds[:, 1])
    return np.asarray(w >= CURVED_EXTENT_M)


def _rings(geoms: npt.NDArray[np.object_]) -> tuple[FloatArray, IntArray, BoolArray, IntArray]:
    """The rings of polygonal ``geoms``: their vertices, the ring of each, and per ring
    whether it is a shell and its geometry. A polygon without holes (nearly every parcel and
    piece) is its one ring, taken without GEOS's parts and rings (3x cheaper)."""
    simple = shapely.get_type_id(geoms) == shapely.GeometryType.POLYGON
    simple[simple] = shapely.get_num_interior_rings(geoms[simple]) == 0
    one = np.flatnonzero(simple)
    xy, ring_of = shapely.get_coordinates(geoms[one], return_index=True)
    rest = np.flatnonzero(~simple)
    if not len(rest):
        return xy, ring_of, np.ones(len(one), dtype=bool), one
    polys, owner = shapely.get_parts(geoms[rest], return_index=True)
    while (coll := shapely.get_type_id(polys) == shapely.GeometryType.GEOMETRYCOLLECTION).any():
        sub, at = shapely.get_parts(polys[coll], return_index=True)
        polys = np.concatenate([polys[~coll], sub])
        owner = np.concatenate([owner[~coll], owner[coll][at]])
    keep = shapely.get_type_id(polys) == shapely.GeometryType.POLYGON
    polys, owner = polys[keep], rest[owner[keep]]
    order = np.argsort(owner, kind="stable")  # a collection's parts came last
    polys, owner = polys[order], owner[order]
    rings, poly_of = shapely.get_rings(polys, return_index=True)
    shell = np.r_[True, poly_of[1:] != poly_of[:-1]] if len(rings) else np.zeros(0, bool)
    rxy, rring = shapely.get_coordinates(rings, return_index=True)
    return (
        np.concatenate([xy, rxy]),
        np.concatenate([ring_of, rring + len(one)]),
        np.concatenate([np.ones(len(one), dtype=bool), shell]),
        np.concatenate([one, owner[poly_of]]),
    )


def area_moments(
    geoms: npt.NDArray[np.object_],
) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray, FloatArray, FloatArray]:
    """Area, centroid and central second moments (∫(x−cx)² dA, ∫(x−cx)(y−cy) dA,
    ∫(y−cy)² dA) of polygonal geometries, by Green's theorem over their ring edges.

    Shells count positive and holes negative whatever their winding. Sums are taken relative
    to each geometry's first vertex (GK eastings of 36 500 000 m would cancel in the
    products). Empty geometries and lines give 0 and a NaN centroid.

    Examples
    --------
    >>> a, x, y, sxx, sxy, syy = area_moments(np.array([shapely.box(500_000, 0, 500_012, 6)]))
    >>> float(a[0]), float(x[0]), float(sxx[0]), float(sxy[0]), float(syy[0])
    (72.0, 500006.0, 864.0, 0.0, 216.0)
    """
    n = len(geoms)
    xy, ring_of, shell, geom_of_ring = _rings(geoms)
    # Each geometry's origin: the first vertex of its first ring (any vertex of it would do).
    origin = np.zeros((n, 2))
    first = np.r_[True, ring_of[1:] != ring_of[:-1]] if len(xy) else np.zeros(0, bool)
    origin[geom_of_ring[ring_of[first][::-1]]] = xy[first][::-1]
    d = xy - origin[geom_of_ring[ring_of]]
    x0, y0, x1, y1 = d[:-1, 0], d[:-1, 1], d[1:, 0], d[1:, 1]
    c = x0 * y1 - x1 * y0
    c[ring_of[:-1] != ring_of[1:]] = 0.0  # the pair joins two rings
    sx, sy = x0 + x1, y0 + y1
    # 2A, 6 ∫x, 6 ∫y, 12 ∫x², 24 ∫xy, 12 ∫y² per ring (x0² + x0x1 + x1² = sx² − x0x1, ...).
    r, nr = ring_of[:-1], len(shell)
    terms = np.array(
        [
            np.bincount(r, weights=w, minlength=nr)
            for w in (
                c,
                c * sx,
                c * sy,
                c * (sx * sx - x0 * x1),
                c * (sx * sy + x0 * y0 + x1 * y1),
                c * (sy * sy - y0 * y1),
            )
        ]
    ).reshape(6, nr)
    terms *= np.array([1 / 2, 1 / 6, 1 / 6, 1 / 12, 1 / 24, 1 / 12])[:, None]
    terms *= np.where(shell, 1.0, -1.0) * np.sign(terms[0])
    if nr == n and (geom_of_ring == np.arange(n)).all():
        a, mx, my, ixx, ixy, iyy = terms  # one ring a geometry, in order
    else:
        a, mx, my, ixx, ixy, iyy = (
            np.bincount(geom_of_ring, weights=t, minlength=n) for t in terms
        )
    with np.errstate(invalid="ignore", divide="ignore"):
        dx, dy = mx / a, my / a
    ok = a != 0
    sxx = np.where(ok, ixx - a * dx * dx, 0.0)
    sxy = np.where(ok, ixy - a * dx * dy, 0.0)
    syy = np.where(ok, iyy - a * dy * dy, 0.0)
    return a, origin[:, 0] + dx, origin[:, 1] + dy, sxx, sxy, syy


def measure(
    geoms: npt.NDArray[np.object_],
    scale: AreaScale | None,
    curved: BoolArray | None = None,
    cut: BoolArray | None = None,
) -> Measured:
    """Areas of planar ``geoms``; with a scale, ellipsoidal: ``A/k²`` at each centroid, plus
    the curvature term for the geometries ``curved`` (see the module docstring), and those of
    them at least :data:`~qzgeo.geo.area_lattice.LATTICE_M` wide summed over the lattice's
    cells (:func:`lattice_m2`). ``cut``: the only ones that may be that wide, if the caller
    knows (the pieces of the parcels that are): the others' bounds are not looked at.

    Examples
    --------
    >>> m = measure(np.array([shapely.box(0, 0, 10, 20)]), None)
    >>> float(m.m2[0]), float(m.sxx[0])
    (200.0, 0.0)
    """
    planar = shapely.area(geoms)
    n = len(planar)
    out = Measured(planar, np.full(n, np.nan), np.full(n, np.nan), planar, *np.zeros((3, n)))
    if scale is None or n == 0:
        return out
    out.m2 = np.zeros(n)
    nz = planar > 0
    big = nz & curved if curved is not None else np.zeros(n, dtype=bool)
    if big.any():
        _, out.x[big], out.y[big], out.sxx[big], out.sxy[big], out.syy[big] = area_moments(
            geoms[big]
        )
    plain = nz & ~np.isfinite(out.x)  # the others, and a curved one of no moment area
    if plain.any():
        out.x[plain], out.y[plain] = centroids_xy(geoms[plain])
    if nz.any():
        moments = (out.sxx[nz], out.sxy[nz], out.syy[nz])
        out.m2[nz] = ellipsoidal_m2(scale, planar[nz], out.x[nz], out.y[nz], moments, big[nz])
    cand = np.flatnonzero(big if cut is None else big & cut)
    cand = cand[lattice_wide(shapely.bounds(geoms[cand]))]
    if len(cand):
        out.m2[cand] = lattice_m2(scale, geoms[cand])
    return out


def lattice_m2(scale: AreaScale, geoms: npt.NDArray[np.object_]) -> FloatArray:
    """m² of wide ``geoms`` as the sum of their pieces in the cells of the fixed lattice
    (:mod:`qzgeo.geo.area_lattice`), each by :meth:`~qzgeo.geo.area.AreaScale.integral_m2`."""
    pieces, owner = cut_by_lattice(geoms)
    a, x, y, sxx, sxy, syy = area_moments(pieces)
    ok = a > 0
    m2 = scale.integral_m2(a[ok], x[ok], y[ok], (sxx[ok], sxy[ok], syy[ok]))
    return np.asarray(np.bincount(owner[ok], m2, len(geoms)), dtype=np.float64)


def ellipsoidal_m2(
    scale: AreaScale,
    planar: FloatArray,
    x: FloatArray,
    y: FloatArray,
    moments: tuple[FloatArray, FloatArray, FloatArray],
    curved: BoolArray,
) -> FloatArray:
    """m² of regions of ``planar`` area and centroid (``x``, ``y``): ``A / k²(c)``, and for the
    ``curved`` ones ∫ 1/k² dA from their central second ``moments``
    (:meth:`~qzgeo.geo.area.AreaScale.integral_m2`)."""
    out = planar / scale(x, y)
    k = np.flatnonzero(curved)
    if len(k):
        out[k] = scale.integral_m2(
            planar[k], x[k], y[k], (moments[0][k], moments[1][k], moments[2][k])
        )
    return out


def remainder_m2(
    scale: AreaScale,
    rest: FloatArray,
    parcels: Measured,
    uniq: IntArray,
    pieces: Measured,
    owner: IntArray,
    slot: IntArray,
    keep: BoolArray,
) -> FloatArray:
    """m² of the planar remainders ``rest`` of the parcels ``uniq`` (``keep`` only, others 0)
    less their ``pieces`` (each of the parcel ``owner`` and remainder ``slot``).

    The remainder's centroid and central second moments come from the parcel's less the
    pieces' (moments add), taken about the parcel's centroid.
    """
    out = np.zeros(len(rest))
    n = len(rest)
    w = np.where(pieces.planar > 0, pieces.planar, 0.0)
    dx = np.nan_to_num(pieces.x - parcels.x[owner])
    dy = np.nan_to_num(pieces.y - parcels.y[owner])
    mx = np.bincount(slot, w * dx, n)
    my = np.bincount(slot, w * dy, n)
    rx, ry = -mx[keep] / rest[keep], -my[keep] / rest[keep]
    x, y = parcels.x[uniq[keep]] + rx, parcels.y[uniq[keep]] + ry
    out[keep] = rest[keep] / scale(x, y)
    p = parcels.take(uniq[keep])
    big = (p.sxx != 0) | (p.syy != 0)
    if big.any():
        r = rest[keep][big]
        s = [
            (getattr(p, name) - np.bincount(slot, getattr(pieces, name) + w * u * v, n)[keep])[big]
            for name, u, v in (("sxx", dx, dx), ("sxy", dx, dy), ("syy", dy, dy))
        ]
        bx, by = rx[big], ry[big]
        sxx, sxy, syy = s[0] - r * bx * bx, s[1] - r * bx * by, s[2] - r * by * by
        k = np.flatnonzero(keep)[big]
        out[k] = scale.integral_m2(r, x[big], y[big], (sxx, sxy, syy))
    return out
