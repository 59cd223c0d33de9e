"""Test support in one place: paths of the repository, its test data and the small packs.

Importable from every test (``pythonpath = ["tests"]`` in pyproject.toml), like momepy's
``get_path()``: ``from support import get_path; get_path("minipack")``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
TESTS = ROOT / "tests"
DATA = TESTS / "data"
MINIPACK = DATA / "minipack"
BADINPUTS = TESTS / "badinputs" / "data"


def get_path(name: str) -> Path:
    """Path of a named test dataset under ``tests/data`` (e.g. ``"minipack"``).

    >>> get_path("minipack").name
    'minipack'
    """
    path = DATA / name
    if not path.exists():
        known = sorted(p.name for p in DATA.iterdir() if not p.name.startswith((".", "_")))
        msg = f"no test dataset {name!r} under {DATA}; known: {', '.join(known)}"
        raise FileNotFoundError(msg)
    return path


def minipack_with_map(tmp_path: Path, stem: str) -> Path:
    """A copy of the minipack at ``tmp_path/pack`` whose map ``zones`` is ``maps/{stem}.toml``
    (a map id is its file's name)."""
    import shutil

    pack = tmp_path / "pack"
    shutil.copytree(get_path("minipack"), pack)
    (pack / "maps" / "zones.toml").rename(pack / "maps" / f"{stem}.toml")
    return pack


def die_in_worker(result):  # type: ignore[no-untyped-def]
    """A ``rename`` for chunk_pool tests: kills the worker process that calls it (as the
    kernel's OOM killer would)."""
    import os

    os._exit(3)


def geod_ring_area(geom: object, *, densify_deg: float | None = None) -> float:
    """The oracle of ellipsoidal areas: ``pyproj.Geod`` (GRS80) on oriented rings (exteriors
    counter-clockwise, holes clockwise) of a lon/lat geometry; lines and points count 0.

    ``densify_deg``: segmentize first, for edges meant straight in lon/lat (a cut along a
    parallel 1 km long bows ~8 mm from the geodesic between its ends).
    """
    import shapely
    from pyproj import Geod

    geod = Geod(ellps="GRS80")
    if densify_deg is not None:
        geom = shapely.segmentize(geom, densify_deg)
    total = 0.0
    for part in shapely.get_parts(geom):
        if part.geom_type != "Polygon":
            continue
        p = shapely.geometry.polygon.orient(part, sign=1.0)
        total += geod.polygon_area_perimeter(*p.exterior.coords.xy)[0]
        for hole in p.interiors:
            total += geod.polygon_area_perimeter(*hole.coords.xy)[0]
    return total


def uncached_pack(pack_dir: Path, monkeypatch: Any, **kw: Any) -> Any:
    """The oracle of the prepared-pack cache tests: ``prepare_pack`` of the pack read from its
    files, with the cache off and no layer remembered by this process."""
    from qzgeo.pack import load
    from qzgeo.pack.catalog import load_pack
    from qzgeo.pack.prepared import prepare_pack

    with monkeypatch.context() as m:
        m.setenv("QZGEO_NO_CACHE", "1")
        m.setattr(load, "_READS", type(load._READS)())
        got = prepare_pack(load_pack(pack_dir), **kw)
    assert got.cache == "off"
    return got


def assert_same_loaded(a: Any, b: Any) -> None:
    """Two ``LoadedPack`` alike in every layer (dtypes, index, geometry bytes), CRS, report,
    input hashes and coverage."""
    from qzgeo.io.frame_codec import same_frame

    assert list(a.layers) == list(b.layers)
    for lid in a.layers:
        assert same_frame(a.layers[lid], b.layers[lid]), lid
    assert a.planar_crs.srs == b.planar_crs.srs
    assert a.planar_crs.to_wkt() == b.planar_crs.to_wkt()
    assert a.report == b.report and a.report.to_json() == b.report.to_json()
    assert a.input_hashes == b.input_hashes
    assert a.coverage == b.coverage


def copy_bundled_pack(dst: Path) -> Path:
    """A private copy of the bundled pack at ``dst`` (catalog, GeoPackage, styles, maps), for
    tests that edit it."""
    import shutil

    (dst / "layers").mkdir(parents=True)
    for name in ("catalog.toml", "qinzhou.gpkg"):
        shutil.copy2(ROOT / "layers" / name, dst / "layers" / name)
    for sub in ("styles", "maps"):
        shutil.copytree(ROOT / sub, dst / sub)
    return dst


def geod_planar_m2(geom: object, crs: Any, *, step_m: float = 100.0) -> float:
    """The oracle of ellipsoidal areas of planar (Gauss-Krüger) polygons: every ring's edges
    densified to ``step_m`` in the projected plane (straight GK edges are what is measured),
    moved to lon/lat and measured by ``pyproj.Geod`` (GRS80), holes subtracted unsigned."""
    import numpy as np
    import shapely
    from pyproj import CRS, Geod, Transformer

    c = CRS.from_user_input(crs)
    to_geo = Transformer.from_crs(c, c.geodetic_crs, always_xy=True)
    geod = Geod(ellps="GRS80")
    total = 0.0
    for poly in shapely.get_parts(geom):
        if poly.geom_type != "Polygon":
            continue
        for k, ring in enumerate([poly.exterior, *poly.interiors]):
            xy = np.asarray(ring.coords, dtype=float)
            steps = np.maximum(np.ceil(np.hypot(*np.diff(xy, axis=0).T) / step_m), 1).astype(int)
            dense = [xy[:1]]
            for a, b, n in zip(xy[:-1], xy[1:], steps, strict=True):
                dense.append(a + (b - a) * (np.arange(1, n + 1)[:, None] / n))
            d = np.vstack(dense)
            lon, lat = to_geo.transform(d[:-1, 0], d[:-1, 1])
            m2 = abs(geod.polygon_area_perimeter(lon, lat)[0])
            total += m2 if k == 0 else -m2
    return total


def spike_lonlat() -> Any:
    """A valid lon/lat polygon (300 m x 1.7 km) with a near-degenerate spike: one vertex within
    rounding of the edge back from a tip. GEOS 3.14.1's segmentize (1e-4°) kept 1.5e-14 of it.
    It is the GK zone of tests/geo/test_edges.py moved exactly (x·2⁻¹⁵, y·2⁻¹³ about exact
    origins: no rounding, so the same near-degeneracy)."""
    import numpy as np
    import shapely

    gk = shapely.from_wkt(
        "POLYGON ((36565178.45732146 2399227.38621385, 36565200.006 2399240.333966177, "
        "36565200.006 2399333.664637957, 36565231.54267854 2399352.61378615, "
        "36565137.25427546 2399295.959597908, 36565178.45732146 2399227.38621385))"
    )
    xy = shapely.get_coordinates(gk)
    lon = (xy[:, 0] - 36_565_000) * 2.0**-15 + 108
    lat = (xy[:, 1] - 2_399_000) * 2.0**-13 + 21
    assert ((lon - 108) * 2**15 + 36_565_000 == xy[:, 0]).all()  # no rounding
    return shapely.Polygon(np.column_stack([lon, lat]))


def circle_wkb(x: float, y: float, diameter: float) -> bytes:
    """A CURVEPOLYGON (a circle: one closed CIRCULARSTRING from ``(x, y)`` across
    ``diameter`` and back) as ISO WKB written by hand, which shapely cannot hold and GDAL
    reads row by row only.

    >>> len(circle_wkb(0.0, 0.0, 1.0))  # 9 bytes of polygon, 9 of arc, 3 points of 16
    66
    """
    import struct

    pts = [(x, y), (x + diameter, y), (x, y)]
    arc = struct.pack("<BII", 1, 8, len(pts)) + b"".join(struct.pack("<dd", *p) for p in pts)
    return struct.pack("<BII", 1, 10, 1) + arc


QGIS_PYTHON = "/usr/bin/python3"


def run_qgis(script: str, spec: dict[str, Any], folder: Path) -> Any:
    """Run ``script`` with Debian's python3-qgis (argv[1]: a JSON file holding ``spec``, which
    names in ``out`` where the script writes its JSON answer) and return that answer.

    Skips without QGIS, unless ``QZGEO_REQUIRE_QGIS=1`` (CI), as tests/publish/
    test_qgis_project.py does."""
    import json
    import os
    import subprocess

    import pytest

    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "PYTHONPATH": ""}
    try:
        check = [QGIS_PYTHON, "-c", "import qgis.core"]
        ok = subprocess.run(check, env=env, capture_output=True, timeout=120).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        ok = False
    if not ok:
        msg = f"{QGIS_PYTHON} cannot import qgis: apt-get install python3-qgis qgis-providers"
        if os.environ.get("QZGEO_REQUIRE_QGIS") == "1":
            pytest.fail(msg)
        pytest.skip(msg)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "probe.py").write_text(script, encoding="utf-8")
    (folder / "spec.json").write_text(json.dumps(spec), encoding="utf-8")
    done = subprocess.run(
        [QGIS_PYTHON, str(folder / "probe.py"), str(folder / "spec.json")],
        env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(Path(spec["out"]).read_text(encoding="utf-8"))
