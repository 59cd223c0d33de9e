"""Parcels that overlap one another are found, measured and said, in memory and in chunks.

A duplicated parcel, or two parcels sharing land, used to be counted in full in every zone
total of ``qzgeo analyze`` without a word. Now every pair is named in a warning that goes
into parcels_report.json (``repairs.warnings`` and ``overlapping_parcels``), with the land
the pairs share; the per-parcel numbers and the sums stay as they were.

Oracles share no code with qzgeo: hand-made squares, ``geopandas.overlay`` for the shared
land, ``pyproj.Geod`` for areas on the ellipsoid, ``shapely.relate`` pair by pair.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pyogrio
import pytest
import shapely
from pyproj import Geod
from shapely.geometry import Polygon, box

sys.path.insert(0, str(Path(__file__).parent))

from support import ROOT

from qzgeo.analysis.overlap_chunks import near_other_chunks
from qzgeo.analysis.parcel_overlaps import overlapping_pairs
from qzgeo.pipeline import run_analyze
from qzgeo.publish import parcel_totals

CRS = "EPSG:4524"
#: Inside the bundled pack's 港口核心区 (port_core), within its coverage.
X0, Y0 = 36_569_300.0, 2_410_600.0
SIDE = 40.0
GEOD = Geod(ellps="GRS80")


def grid(n: int) -> list[Polygon]:
    """n x n squares of 40 m sharing their edges (the same vertices on both sides)."""
    return [
        box(X0 + SIDE * i, Y0 + SIDE * j, X0 + SIDE * (i + 1), Y0 + SIDE * (j + 1))
        for j in range(n)
        for i in range(n)
    ]


def write(tmp: Path, geoms: list[Polygon], name: str = "p.gpkg") -> Path:
    gdf = gpd.GeoDataFrame({"pid": np.arange(len(geoms))}, geometry=geoms, crs=CRS)
    path = tmp / name
    pyogrio.write_dataframe(gdf, path, layer="parcels")
    return path


def m2(geom: Any) -> float:
    """Area on the GRS80 ellipsoid (pyproj.Geod), of a geometry in EPSG:4524."""
    ll = gpd.GeoSeries([geom], crs=CRS).to_crs("EPSG:4490").iloc[0]
    return abs(GEOD.geometry_area_perimeter(ll)[0])


def report(out: Path) -> dict[str, Any]:
    return json.loads((out / "internal" / "parcels_report.json").read_text(encoding="utf-8"))


def analyze(path: Path, out: Path, **kw: Any) -> tuple[Any, dict[str, Any]]:
    s = run_analyze(path, out, pack_dir=ROOT, workers=1, **kw)
    return s, report(out)


def fid_pairs(rep: dict[str, Any]) -> list[list[Any]]:
    return [p["fids"] for p in rep["overlapping_parcels"]["first_pairs"]]


def test_a_duplicated_parcel_is_one_pair_sharing_its_whole_area(tmp_path: Path) -> None:
    cells = grid(4)
    path = write(tmp_path, [*cells, cells[5]])  # fid 6 again, as fid 17
    s, rep = analyze(path, tmp_path / "o")
    o = rep["overlapping_parcels"]
    assert o["pairs"] == 1 and fid_pairs(rep) == [[6, 17]]
    assert o["overlap_m2"] == pytest.approx(m2(cells[5]), rel=1e-7)
    assert o["overlap_ha"] == pytest.approx(o["overlap_m2"] / 10_000)
    assert o["overlap_mu"] == pytest.approx(o["overlap_m2"] * 15 / 10_000)
    said = [w for w in rep["repairs"]["warnings"] if "overlap" in w]
    assert len(said) == 1 and "fid 6 and 17" in said[0] and "1 pair(s)" in said[0]
    assert "qzgeo analyze again" in said[0]
    assert "counted twice" in s.one_line()
    # each parcel keeps its own area; the total counts the duplicate, minus the shared land
    # it is the union's
    rows = pyogrio.read_dataframe(next((tmp_path / "o").rglob("parcels.gpkg")))
    area = rows["area_m2"].to_numpy()  # to 0.01 m², as written
    assert area[[5, 16]] == pytest.approx([m2(cells[5])] * 2, abs=0.01)
    union = m2(shapely.union_all(cells))
    assert area.sum() - o["overlap_m2"] == pytest.approx(union, abs=0.01 * len(area))


def test_a_partial_overlap_is_measured_as_geopandas_cuts_it(tmp_path: Path) -> None:
    cells = grid(4)
    # cell 6 (fid 7) pushed 7.5 m east into cell 7 (fid 8): 300 m² shared, planar
    moved = shapely.affinity.translate(cells[6], 7.5, 0.0)
    path = write(tmp_path, [*cells[:6], moved, *cells[7:]])
    _, rep = analyze(path, tmp_path / "o")
    a = gpd.GeoDataFrame(geometry=[moved], crs=CRS)
    b = gpd.GeoDataFrame(geometry=[cells[7]], crs=CRS)
    shared = gpd.overlay(a, b, how="intersection").geometry.iloc[0]
    assert shared.area == pytest.approx(300.0)
    o = rep["overlapping_parcels"]
    assert o["pairs"] == 1 and fid_pairs(rep) == [[7, 8]]
    assert o["overlap_m2"] == pytest.approx(m2(shared), rel=1e-7)


def test_a_parcel_inside_another(tmp_path: Path) -> None:
    cells = grid(3)
    inner = box(X0 + 50, Y0 + 50, X0 + 60, Y0 + 70)  # in cell 4 (fid 5), no edge shared
    path = write(tmp_path, [*cells, inner])
    _, rep = analyze(path, tmp_path / "o")
    assert fid_pairs(rep) == [[5, 10]]
    assert rep["overlapping_parcels"]["overlap_m2"] == pytest.approx(m2(inner), rel=1e-7)


def test_touching_parcels_and_edges_with_vertices_on_one_side_only_do_not_overlap(
    tmp_path: Path,
) -> None:
    cells = grid(5)
    # every other parcel's edges get vertices its neighbours lack (a cadastre's usual
    # shared edges), one of them a hair into the neighbour (a rounding sliver, ~1e-7 m²)
    cells[::2] = [shapely.segmentize(c, 7.0) for c in cells[::2]]
    x, y = X0 + SIDE, Y0 + 15.0
    bent = Polygon([(X0, Y0), (x, Y0), (x + 1e-8, y), (x, Y0 + SIDE), (X0, Y0 + SIDE)])
    cells[0] = bent
    assert shapely.relate_pattern(bent, cells[1], "2********")  # interiors do meet
    path = write(tmp_path, cells)
    s, rep = analyze(path, tmp_path / "o")
    assert rep["overlapping_parcels"]["pairs"] == 0
    assert not [w for w in rep["repairs"]["warnings"] if "overlap" in w]
    assert "counted twice" not in s.one_line()


def shuffled_with_overlaps() -> list[Polygon]:
    """A 12 x 12 grid in random row order, plus a copy of one parcel and a shifted one put
    last: each overlaps a parcel read in another chunk."""
    cells = grid(12)
    order = np.random.default_rng(3).permutation(len(cells))
    rows = [cells[k] for k in order]
    return [*rows, cells[0], shapely.affinity.translate(cells[77], 10.0, 5.0)]


@pytest.mark.parametrize("suffix", [".gpkg", ".shp"])
def test_chunks_find_the_pairs_in_memory_finds(
    tmp_path: Path, suffix: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    geoms = shuffled_with_overlaps()
    path = write(tmp_path, geoms, name=f"p{suffix}")
    whole, rep_whole = analyze(path, tmp_path / "whole")
    across: list[int] = []  # the pairs found across chunks (not within one)
    real = parcel_totals.cross_chunk_overlaps

    def spy(*args: Any, **kwargs: Any) -> Any:
        found = real(*args, **kwargs)
        across.append(found.pairs)
        return found

    monkeypatch.setattr(parcel_totals, "cross_chunk_overlaps", spy)
    chunked, rep_chunked = analyze(path, tmp_path / "chunks", chunk_rows=20)
    assert across and across[0] > 0
    assert whole.result is not None and chunked.result is None  # in memory, and streamed
    o = rep_whole["overlapping_parcels"]
    assert o == rep_chunked["overlapping_parcels"]
    # the oracle: every pair of rows whose interiors meet by more than a sliver
    g = np.asarray(geoms, dtype=object)
    i, j = np.triu_indices(len(g), 1)
    meet = shapely.relate_pattern(g[i], g[j], "2********")
    base = 1 if suffix == ".gpkg" else 0  # a GeoPackage's FIDs start at 1
    want = sorted([int(a) + base, int(b) + base] for a, b in zip(i[meet], j[meet], strict=True))
    assert len(want) == 5 and o["pairs"] == 5  # the copy: 1 pair; the shifted one: 4
    assert fid_pairs(rep_whole) == want
    assert o["overlap_m2"] == pytest.approx(
        sum(m2(shapely.intersection(g[a - base], g[b - base])) for a, b in want), rel=1e-7
    )
    warn = [w for w in rep_chunked["repairs"]["warnings"] if "overlap" in w]
    assert warn == [w for w in rep_whole["repairs"]["warnings"] if "overlap" in w]
    assert len(warn) == 1


def test_the_search_finds_what_relate_finds_pair_by_pair() -> None:
    """Voronoi coverages (shared vertices), some edges given extra vertices, with copies,
    shifted and shrunk parcels and two neighbours merged added: the pairs are those
    ``relate`` finds over all pairs."""
    rng = np.random.default_rng(7)
    for _ in range(12):
        pts = shapely.multipoints(rng.uniform(0, 1000, (300, 2)))
        frame = shapely.box(0, 0, 1000, 1000)
        cells = shapely.get_parts(shapely.voronoi_polygons(pts, extend_to=frame))
        cells = shapely.clip_by_rect(cells, 0, 0, 1000, 1000)
        some = rng.integers(0, len(cells), 15)
        cells[some] = shapely.segmentize(cells[some], 5.0)
        extra = []
        for k in rng.integers(0, len(cells), 4):
            c = cells[k]
            extra += [c, shapely.affinity.translate(c, 3, -2), shapely.affinity.scale(c, 0.4, 0.4)]
            # two neighbours as one parcel (not convex, as often): it shares their outer
            # edges with their neighbours, and overlaps both
            (near,) = np.flatnonzero(shapely.touches(cells, c) & (shapely.area(cells) > 0))[:1]
            extra.append(shapely.union(c, cells[near]))
        g = np.concatenate([cells, np.asarray(extra, dtype=object)])
        g = g[rng.permutation(len(g))]
        a, b = overlapping_pairs(g)
        i, j = np.triu_indices(len(g), 1)
        near = shapely.intersects(shapely.envelope(g[i]), shapely.envelope(g[j]))
        i, j = i[near], j[near]
        meet = shapely.relate_pattern(g[i], g[j], "2********")
        want = zip(i[meet].tolist(), j[meet].tolist(), strict=True)
        assert sorted(zip(a.tolist(), b.tolist(), strict=True)) == sorted(want)


@pytest.mark.parametrize("layout", ["bands", "random", "blocks"])
def test_the_rows_read_back_hold_every_pair_of_boxes_across_chunks(layout: str) -> None:
    """Boxes of ten chunks (bands, random rows, blocks of a grid; a few boxes 100 times the
    others): every box meeting a box of another chunk (the oracle: an STRtree of them all)
    is among the rows read back."""
    rng = np.random.default_rng({"bands": 0, "random": 1, "blocks": 2}[layout])
    n = 3000
    x, y = rng.uniform(0, 1000, n), rng.uniform(0, 1000, n)
    w, h = rng.lognormal(1.5, 0.6, n), rng.lognormal(1.5, 0.6, n)
    w[rng.integers(0, n, 3)] *= 100
    boxes = np.column_stack([x, y, x + w, y + h]).astype(np.float32)
    order = {
        "bands": np.argsort(y),
        "random": np.arange(n),
        "blocks": np.lexsort((x // 100, y // 100)),
    }[layout]
    boxes = boxes[order]
    chunk = np.repeat(np.arange(10), n // 10).astype(np.uint16)
    near = set(near_other_chunks(boxes, chunk).tolist())
    g = shapely.box(*boxes.T.astype(float))
    a, b = shapely.STRtree(g).query(g)
    across = chunk[a] != chunk[b]
    assert set(a[across].tolist()) | set(b[across].tolist()) <= near
    if layout == "bands":  # the rows along the chunks' edges, not all
        assert len(near) < n / 2


def test_a_hook_over_the_neighbour_it_shares_an_edge_with() -> None:
    """Q and a hook-shaped P share the segment (10, 0)-(10, 8), matched both ways, and P's
    hook reaches over Q's top: two parcels with a matched segment overlap when one is not
    convex."""
    q = Polygon([(0, 0), (10, 0), (10, 8), (10, 10), (0, 10)])
    p = Polygon([(10, 0), (20, 0), (20, 20), (5, 20), (5, 9), (9, 9), (10, 8)])
    assert p.is_valid and shapely.relate_pattern(p, q, "2********")
    ring = [box(-10 + 10 * i, -10 + 10 * j, 10 * i, 10 * j) for i in range(4) for j in range(4)]
    others = [c for c in ring if not c.intersects(shapely.union(p, q))]  # neighbours around
    a, b = overlapping_pairs(np.asarray([q, p, *others], dtype=object))
    assert (a.tolist(), b.tolist()) == ([0], [1])
