"""Areal scale factors ``k²`` of a planar CRS, with PROJ's bias taken out.

PROJ's ``get_factors`` differentiates the projection numerically; its areal scale of
Gauss-Krüger zones is too small by a smooth ~1e-11 (20°N) to 7e-11 (53°N), which is 1.4 m² on
a 200 km polygon at 53°N, and every polygon of a region shares the sign. Differences of the
forward projection 0.04° and 0.02° apart, extrapolated (Richardson: the h² terms cancel),
give the Jacobian to ~1e-12; divided by the ellipsoid's area element ``M N cos φ``, ``k²``.
Measured against ``pyproj.Geod`` on 10 m-densified rings: a 200 km triangle 230 km off a
6-degree zone's meridian at 45°N, 5.6e-11 with PROJ's factors, 3e-13 with these.

These differences cost ~3 µs a point, so they are taken on a fixed lattice of
:data:`FACTOR_CELL` and the ratio to PROJ's factors (the bias, smooth: it varies by ~3e-11
across 200 km) is interpolated to the finer lattice of :class:`~qzgeo.geo.area.AreaScale`:
1 % of the points. The nodes are multiples of :data:`FACTOR_CELL`, so any subset of parcels
sees the same values.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt
from pyproj import CRS, Proj

from qzgeo.geo.reproject import cached_transformer

__all__ = ["FACTOR_CELL", "areal_scale_grid"]

FloatArray = npt.NDArray[np.float64]

#: Side (m) of the lattice on which PROJ's areal scale is checked and corrected.
FACTOR_CELL = 10_000.0
#: Step (degrees) of the differences; the half step is the second of the extrapolation.
#: Larger steps round less (a metre's ulp at 36 500 000 m is 7e-9 m, 3e-12 of 2 × 4.4 km).
_STEP_DEG = 0.04
#: Largest correction taken (the measured bias is < 1e-10).
_MAX_BIAS = 1e-8


def accurate_k2(crs: CRS, lon: FloatArray, lat: FloatArray) -> FloatArray:
    """``k²`` at (``lon``, ``lat``) of the geodetic CRS of ``crs``, by extrapolated central
    differences of the forward projection (degrees, metres)."""
    fwd = cached_transformer(crs.geodetic_crs, crs)  # type: ignore[arg-type]

    def jacobian(h: float) -> FloatArray:
        x, y = fwd.transform(
            np.concatenate([lon + h, lon - h, lon, lon]),
            np.concatenate([lat, lat, lat + h, lat - h]),
        )
        x, y = np.asarray(x).reshape(4, -1), np.asarray(y).reshape(4, -1)
        det = (x[0] - x[1]) * (y[2] - y[3]) - (x[2] - x[3]) * (y[0] - y[1])
        return np.asarray(np.abs(det) / (2 * h) ** 2, dtype=np.float64)

    j = (4.0 * jacobian(_STEP_DEG / 2) - jacobian(_STEP_DEG)) / 3.0
    ell = crs.ellipsoid
    a = ell.semi_major_metre  # type: ignore[union-attr]
    e2 = 1.0 - (ell.semi_minor_metre / a) ** 2  # type: ignore[union-attr]
    # math's sin and cos, not numpy's: numpy's vector loops may round an element otherwise
    # than its scalar loop does the array's tail, and a node must get one value in any chunk
    phi = np.radians(lat)
    sin = np.fromiter((math.sin(p) for p in phi.tolist()), dtype=np.float64, count=len(phi))
    cos = np.fromiter((math.cos(p) for p in phi.tolist()), dtype=np.float64, count=len(phi))
    w = 1.0 - e2 * sin**2
    element = a * a * (1.0 - e2) / w**2 * cos * (math.pi / 180.0) ** 2  # M N cos φ
    return np.asarray(j / element, dtype=np.float64)


def _weights(v: FloatArray, nodes: FloatArray) -> tuple[npt.NDArray[np.int64], FloatArray]:
    """Left node and linear weight of each ``v`` between the equally spaced ``nodes``.

    The weight is taken from ``v`` alone (``v / FACTOR_CELL`` less its floor), not from ``v``
    less the first node: that difference, divided, rounded otherwise for another first node,
    and a parcel's area changed in its last bit with the chunk it came in."""
    t = v / FACTOR_CELL
    k = np.floor(t)
    i = np.clip(k.astype(np.int64) - round(float(nodes[0]) / FACTOR_CELL), 0, len(nodes) - 2)
    return i, t - k


def areal_scale_grid(crs: CRS, xs: npt.ArrayLike, ys: npt.ArrayLike) -> FloatArray:
    """``k²`` at the nodes ``xs`` × ``ys`` (increasing planar coordinates): PROJ's factors
    times the ratio of :func:`accurate_k2` to them, bilinear from the fixed coarse lattice.
    Non-finite where PROJ has no factor; PROJ's own where the differences fail."""
    xs, ys = np.asarray(xs, dtype=np.float64), np.asarray(ys, dtype=np.float64)
    to_geo = cached_transformer(crs, crs.geodetic_crs)  # type: ignore[arg-type]
    proj = Proj(crs)

    def factors(gx: FloatArray, gy: FloatArray) -> tuple[FloatArray, FloatArray, FloatArray]:
        lon, lat = to_geo.transform(gx.ravel(), gy.ravel())
        lon, lat = np.asarray(lon, dtype=float), np.asarray(lat, dtype=float)
        k2 = np.asarray(proj.get_factors(lon, lat).areal_scale, dtype=float)
        return k2.reshape(gx.shape), lon, lat

    fine, _, _ = factors(*np.meshgrid(xs, ys, indexing="ij"))
    cx = np.arange(math.floor(xs[0] / FACTOR_CELL), math.ceil(xs[-1] / FACTOR_CELL) + 2)
    cy = np.arange(math.floor(ys[0] / FACTOR_CELL), math.ceil(ys[-1] / FACTOR_CELL) + 2)
    cx, cy = cx * FACTOR_CELL, cy * FACTOR_CELL
    coarse, lon, lat = factors(*np.meshgrid(cx, cy, indexing="ij"))
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = accurate_k2(crs, lon, lat).reshape(coarse.shape) / coarse
    # The bias is ~1e-10; a larger ratio means the differences failed (a step across the
    # projection's domain edge): PROJ's factor is kept there.
    ratio[~(np.abs(ratio - 1.0) < _MAX_BIAS)] = 1.0
    i, tx = _weights(xs, cx)
    j, ty = _weights(ys, cy)
    tx, ty = tx[:, None], ty[None, :]
    r = (
        ratio[i][:, j] * (1 - tx) * (1 - ty)
        + ratio[i + 1][:, j] * tx * (1 - ty)
        + ratio[i][:, j + 1] * (1 - tx) * ty
        + ratio[i + 1][:, j + 1] * tx * ty
    )
    return np.asarray(fine * r, dtype=np.float64)
