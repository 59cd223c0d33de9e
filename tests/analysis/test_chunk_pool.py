"""`qzgeo analyze` on a 60 000-parcel file: worker processes, threads and chunks agree, and agree
with independent oracles (pyproj.Geod areas; geopandas.overlay with the pack's classes).

The file is a tessellation of jittered ~120 m quads in EPSG:4524 over the bundled Qinzhou
pack's zones and control lines; every run goes through the real command in a subprocess.
"""

from __future__ import annotations

import json
import sys
import tomllib
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from pyproj import Geod
from support import ROOT

sys.path.insert(0, str(Path(__file__).parent))

from pool_support import CRS, quad_parcels, qzgeo, result_rows, write_parcels

pytestmark = pytest.mark.slow

RUNS = {
    "processes": ([], "2 processes, 3 chunks of 25000 parcels"),
    "threads": (["--workers", "1"], "threads (1)"),
    "chunks": (["--chunk-rows", "7000"], "2 processes, 9 chunks of 7000 parcels"),
    "inline_chunks": (["--workers", "1", "--chunk-rows", "7000"], "threads (1), 9 chunks"),
}
PACK = ROOT / "layers"


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    tmp = tmp_path_factory.mktemp("pool")
    src = write_parcels(quad_parcels(), tmp / "parcels.gpkg")
    out = {}
    for name, (extra, engine) in RUNS.items():
        res = qzgeo("analyze", "--parcels", src, "--out", tmp / name, *extra)
        assert res.returncode == 0, res.stderr
        assert engine in res.stdout and "60025 parcels" in res.stdout, res.stdout
        assert "Traceback" not in res.stderr
        out[name] = tmp / name
    out["src"] = src
    return out


def _normalised(geoms: gpd.GeoSeries) -> np.ndarray:
    """Polygons as MultiPolygons of one part (the stream writes every row as MultiPolygon)."""
    g = np.asarray(geoms.values, dtype=object)
    poly = shapely.get_type_id(g) == shapely.GeometryType.POLYGON
    g[poly] = [shapely.MultiPolygon([p]) for p in g[poly]]
    return g


def test_every_way_writes_the_same_rows(runs: dict[str, Path]) -> None:
    base = result_rows(runs["threads"])
    assert len(base) == 60025 and 0 < base["conflict"].sum() < len(base)
    source = gpd.read_file(runs["src"]).set_index("pid").sort_index()
    assert base.crs == source.crs  # parcels keep their CRS and vertices
    assert shapely.equals_exact(_normalised(base.geometry), _normalised(source.geometry), 0).all()
    for name in ("processes", "chunks", "inline_chunks"):
        rows = result_rows(runs[name])
        assert rows.crs == base.crs and list(rows.columns) == list(base.columns), name
        pd.testing.assert_frame_equal(
            pd.DataFrame(rows.drop(columns="geometry")),
            pd.DataFrame(base.drop(columns="geometry")),
            check_exact=True,
        )
        same = shapely.equals_exact(_normalised(rows.geometry), _normalised(base.geometry), 0)
        assert same.all(), f"{name}: {(~same).sum()} geometries differ"


def test_summaries_and_reports_agree(runs: dict[str, Path]) -> None:
    def summary(name: str) -> pd.DataFrame:
        return pd.read_csv(runs[name] / "internal" / "parcels_summary.csv", encoding="utf-8-sig")

    def report(name: str) -> dict[str, object]:
        text = (runs[name] / "internal" / "parcels_report.json").read_text(encoding="utf-8")
        return dict(json.loads(text))

    base = summary("threads")
    assert base["分区"].iloc[-1] != base["分区"].iloc[0] and len(base) > 3
    for name in ("processes", "chunks", "inline_chunks"):
        pd.testing.assert_frame_equal(summary(name), base, check_exact=False, rtol=1e-9, atol=0)
        # parcels_report.json holds no engine or timing text: the whole of it must agree
        assert report(name) == report("threads"), name


def _geod_area(geoms: np.ndarray) -> np.ndarray:
    """Ellipsoidal (GRS80) area of lon/lat (multi)polygons, holes subtracted."""
    geod = Geod(ellps="GRS80")
    out = np.zeros(len(geoms))
    for k, g in enumerate(geoms):
        for p in shapely.get_parts(g):
            if p.is_empty or p.geom_type != "Polygon":
                continue
            out[k] += abs(geod.polygon_area_perimeter(*p.exterior.xy)[0])
            out[k] -= sum(abs(geod.polygon_area_perimeter(*r.xy)[0]) for r in p.interiors)
    return out


def test_areas_are_the_geodesic_areas(runs: dict[str, Path]) -> None:
    rows = result_rows(runs["processes"])
    pick = rows.iloc[np.random.default_rng(5).choice(len(rows), 3000, replace=False)]
    want = _geod_area(np.asarray(pick.geometry.to_crs("EPSG:4490").values, dtype=object))
    rel = np.abs(pick["area_m2"].to_numpy() - want) / want
    assert rel.max() < 1e-6, rel.max()


def _constraint_classes(crs: str) -> tuple[gpd.GeoDataFrame, dict[str, str]]:
    """The pack's constraint classes, one merged geometry each, read from its catalog as in
    benchmarks/baseline_geopandas_analyze.py (without qzgeo); and each class's mode."""
    catalog = tomllib.loads((PACK / "catalog.toml").read_text(encoding="utf-8"))
    frames, modes = [], {}
    for spec in catalog["layers"]:
        classes, default = spec.get("constraint_classes", {}), spec.get("constraint")
        if not classes and not default:
            continue
        gdf = gpd.read_file(PACK / spec["path"], layer=spec.get("layer"))
        field = spec.get("class_field")
        names = gdf[field].astype(str) if field else pd.Series(spec["title"], index=gdf.index)
        mode = names.map(lambda c, cl=classes, d=default: cl.get(c, d))
        keep = mode.notna()
        gdf = gdf[keep].assign(cls=spec["id"] + ":" + names[keep])
        modes.update(dict(zip(gdf["cls"], mode[keep], strict=True)))
        frames.append(gdf[["cls", "geometry"]].to_crs(crs))
    merged = pd.concat(frames, ignore_index=True)
    merged["geometry"] = merged.geometry.make_valid()
    return merged.dissolve(by="cls", as_index=False), modes


def _coverage(crs: str) -> shapely.Geometry:
    """The pack's coverage read from its catalog without qzgeo: the union of its
    `coverage_layer` cut to its `extent` in lon/lat, where its edges are straight (densified
    to ~10 m before projecting), in ``crs``."""
    catalog = tomllib.loads((PACK / "catalog.toml").read_text(encoding="utf-8"))
    head = catalog["pack"]
    spec = next(s for s in catalog["layers"] if s["id"] == head["coverage_layer"])
    gdf = gpd.read_file(PACK / spec["path"], layer=spec.get("layer")).to_crs("EPSG:4490")
    land = shapely.union_all(gdf.geometry.values).intersection(shapely.box(*head["extent"]))
    return gpd.GeoSeries([shapely.segmentize(land, 1e-4)], crs="EPSG:4490").to_crs(crs).iloc[0]


def test_constraint_areas_against_geopandas_overlay(runs: dict[str, Path]) -> None:
    """Per class overlap, available, constrained and unchecked m² of 450 parcels (300 cut by a
    class edge, 50 by the edge of the pack's coverage, its districts) from geopandas.overlay
    in EPSG:4524, the pieces measured with pyproj.Geod."""
    rows = result_rows(runs["processes"])
    classes, modes = _constraint_classes(CRS)
    assert sorted(set(modes.values())) == ["boundary", "exclusion"]
    edges = shapely.union_all(classes.geometry.boundary.to_numpy())
    cut = np.flatnonzero(shapely.intersects(np.asarray(rows.geometry.values), edges))
    land = _coverage(CRS)
    shore = np.flatnonzero(shapely.intersects(np.asarray(rows.geometry.values), land.boundary))
    rng = np.random.default_rng(7)
    pos = np.union1d(rng.choice(cut, 300, replace=False), rng.choice(len(rows), 100))
    pos = np.union1d(pos, rng.choice(shore, 50, replace=False))
    parcels = gpd.GeoDataFrame(
        {"pid": rows.index[pos]}, geometry=rows.geometry.to_numpy()[pos], crs=CRS
    )
    area = pd.Series(_geod_area(np.asarray(parcels.to_crs("EPSG:4490").geometry)), parcels["pid"])

    def measured(pieces: gpd.GeoDataFrame, by: list[str]) -> pd.Series:
        m2 = _geod_area(np.asarray(pieces.to_crs("EPSG:4490").geometry.values, dtype=object))
        return pd.Series(m2).groupby([pieces[b].to_numpy() for b in by]).sum()

    per_class = measured(gpd.overlay(parcels, classes, how="intersection"), ["pid", "cls"])
    exclusion = shapely.union_all(classes[classes["cls"].map(modes) == "exclusion"].geometry)
    boundary = shapely.intersection_all(classes[classes["cls"].map(modes) == "boundary"].geometry)
    kept = shapely.intersection(shapely.difference(boundary, exclusion), land)
    kept = gpd.GeoDataFrame(geometry=[kept], crs=CRS)
    available = measured(gpd.overlay(parcels, kept, how="intersection"), ["pid"])
    available = available.reindex(area.index, fill_value=0.0)
    # outside the districts: unchecked, but for the red lines the pack holds there too
    land_gdf = gpd.GeoDataFrame(geometry=[land], crs=CRS)
    # polygons only: where a parcel touches the districts' line, a line piece is dropped
    outside = gpd.overlay(parcels, land_gdf, how="difference", keep_geom_type=True)
    held = gpd.GeoDataFrame(geometry=[exclusion], crs=CRS)
    unchecked = measured(outside, ["pid"]).reindex(area.index, fill_value=0.0)
    held_m2 = measured(gpd.overlay(outside, held, how="intersection", keep_geom_type=True), ["pid"])
    unchecked -= held_m2.reindex(area.index, fill_value=0.0)
    assert (unchecked > 1.0).sum() >= 50 and (available > 1.0).sum() >= 50
    got = rows.loc[area.index]
    tol = 1e-6 * area.to_numpy() + 1e-6
    for cls in classes["cls"]:
        want = per_class.xs(cls, level=1).reindex(area.index, fill_value=0.0)
        assert (want > 0).sum() >= 10, cls  # the sample meets every class
        assert np.abs(got[cls].to_numpy() - want.to_numpy()).max() <= tol.max(), cls
        assert (np.abs(got[cls].to_numpy() - want.to_numpy()) <= tol).all(), cls
    assert (np.abs(got["available_m2"].to_numpy() - available.to_numpy()) <= tol).all()
    assert (np.abs(got["unchecked_m2"].to_numpy() - unchecked.to_numpy()) <= tol).all()
    constrained = area - available - unchecked
    assert (np.abs(got["constrained_m2"].to_numpy() - constrained.to_numpy()) <= tol).all()
    total = got["available_m2"].sum()
    assert 0 < total < area.sum() and abs(total - available.sum()) <= 1e-6 * area.sum()
    assert abs(got["constrained_m2"].sum() - constrained.sum()) <= 1e-6 * area.sum()


def test_a_worker_that_dies_gives_a_clear_error(tmp_path: Path) -> None:
    """A worker process killed mid-run (the OOM killer, say): a QzgeoError naming the file
    and the fix, not a BrokenProcessPool traceback; no output written."""
    from support import die_in_worker

    from qzgeo._errors import QzgeoError
    from qzgeo.analysis.chunk_pool import ChunkContext, ChunkSource, chunk_pool, run_chunks
    from qzgeo.analysis.parcels import build_parcel_plan
    from qzgeo.io.guard import current_caps
    from qzgeo.pack.catalog import load_pack
    from qzgeo.pack.load import analysis_layer_ids, load_pack_layers

    src = tmp_path / "p.gpkg"
    gpd.GeoDataFrame(
        {"pid": range(40)},
        geometry=[
            shapely.box(36561000 + 50 * i, 2400000, 36561040 + 50 * i, 2400040) for i in range(40)
        ],
        crs="EPSG:4524",
    ).to_file(src, layer="parcels")
    pack = load_pack()
    loaded = load_pack_layers(pack, only=analysis_layer_ids(pack))
    ctx = ChunkContext(
        ChunkSource(str(src), fid="fid"), build_parcel_plan(loaded), pack.extent,
        current_caps(), die_in_worker,
    )  # fmt: skip
    starts = [(0, '"fid" >= 1 AND "fid" < 21', 20, None), (20, '"fid" >= 21', 20, None)]
    with (
        chunk_pool(2) as pool,
        pytest.raises(QzgeoError, match=r"worker process .* died.*--workers 1"),
    ):
        list(run_chunks(ctx, starts, pool=pool))


def test_pool_without_forkserver_uses_spawn(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Windows has no forkserver: the workers are spawned, and the chunks come back the same
    as when analyzed in this process."""
    import multiprocessing

    from qzgeo.analysis.chunk_pool import ChunkContext, ChunkSource, chunk_pool, run_chunks
    from qzgeo.analysis.parcels import build_parcel_plan
    from qzgeo.io.guard import current_caps
    from qzgeo.pack.catalog import load_pack
    from qzgeo.pack.load import analysis_layer_ids, load_pack_layers

    src = tmp_path / "p.gpkg"
    boxes = [shapely.box(36561000 + 50 * i, 2400000, 36561040 + 50 * i, 2400040) for i in range(40)]
    gpd.GeoDataFrame({"pid": range(40)}, geometry=boxes, crs="EPSG:4524").to_file(src)
    pack = load_pack()
    loaded = load_pack_layers(pack, only=analysis_layer_ids(pack))
    ctx = ChunkContext(
        ChunkSource(str(src), fid="fid"), build_parcel_plan(loaded), pack.extent, current_caps()
    )
    starts = [(0, '"fid" >= 1 AND "fid" < 21', 20, None), (20, '"fid" >= 21', 20, None)]
    inline = [r.table for r in run_chunks(ctx, starts)]
    monkeypatch.setattr(multiprocessing, "get_all_start_methods", lambda: ["spawn"])
    with chunk_pool(2) as pool:
        spawned = [r.table for r in run_chunks(ctx, starts, pool=pool)]
    assert all(a.equals(b) for a, b in zip(inline, spawned, strict=True))


def test_chunks_in_flight_stay_bounded_and_results_come_in_file_order() -> None:
    """Memory is bounded by the chunks in flight: at most ``processes + AHEAD`` handed out
    and not yet taken back, however many chunks the file has; results in file order."""
    from concurrent.futures import Future

    from qzgeo.analysis.chunk_pool import AHEAD, ChunkPool, ChunkResult, run_chunks
    from qzgeo.analysis.overlay_report import OverlayReport
    from qzgeo.geo.repair import RepairReport

    class Recording:
        def __init__(self) -> None:
            self.out = 0
            self.most = 0

        def submit(self, fn: object, ctx: object, spec: tuple, spill: object) -> Future:
            self.out += 1
            self.most = max(self.most, self.out)
            done: Future = Future()
            done.set_result(ChunkResult(spec[0], 0, None, None, RepairReport(), OverlayReport()))
            return done

    executor = Recording()
    starts = [(k, k, 1, None) for k in range(40)]
    got = []
    for result in run_chunks(None, starts, pool=ChunkPool(executor, 2)):  # type: ignore[arg-type]
        executor.out -= 1
        got.append(result.start)
    assert got == list(range(40))
    assert executor.most == 2 + AHEAD
