"""The siting context from qzgeo's cache: the same reports as building it, never stale.

The oracle is the context built from the pack's files with the cache off (``QZGEO_NO_CACHE=1``,
no layer remembered by the process): every site report (JSON) and every geometry of the
context, byte for byte. Sites are drawn where verdicts differ: inside each constraint class,
across the coverage's edge, outside the coverage (the sea), far from everything.
"""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import numpy as np
import pyogrio
import pytest
import shapely
from pyproj import Transformer
from support import copy_bundled_pack

from qzgeo.analysis import siting
from qzgeo.analysis.siting import SitingContext
from qzgeo.geo.coverage import coverage_in
from qzgeo.pack import load
from qzgeo.pack.catalog import load_pack
from qzgeo.pipeline import run_check


@pytest.fixture
def pack_dir(tmp_path: Path) -> Path:
    return copy_bundled_pack(tmp_path / "pack")


def _uncached(pack_dir: Path, monkeypatch: pytest.MonkeyPatch) -> SitingContext:
    with monkeypatch.context() as m:
        m.setenv("QZGEO_NO_CACHE", "1")
        m.setattr(load, "_READS", type(load._READS)())
        return SitingContext.from_pack(load_pack(pack_dir))


def _no_build(monkeypatch: pytest.MonkeyPatch) -> None:
    """From here on, building the context from the pack is an error."""

    def refuse(*args: object, **kw: object) -> None:
        raise AssertionError("the siting context was built, not taken from the cache")

    for name in ("prepare_pack", "merge_constraints", "build_targets", "planar_zones"):
        monkeypatch.setattr(siting, name, refuse)


def _sites(ctx: SitingContext, path: Path) -> Path:
    """Boxes (lon/lat GeoJSON) in every class, across the coverage edge, in the sea."""
    boxes = [
        shapely.buffer(shapely.point_on_surface(c.geometry), 300, cap_style="square")
        for c in ctx.classes
    ]
    assert ctx.extent is not None and not isinstance(ctx.extent, tuple)
    land = coverage_in(ctx.planar_crs.to_wkt(), ctx.extent)
    edge = shapely.get_coordinates(shapely.boundary(land))[0]
    boxes.append(shapely.box(edge[0] - 400, edge[1] - 400, edge[0] + 400, edge[1] + 400))
    sea = shapely.difference(shapely.box(*land.bounds), land)
    boxes.append(shapely.buffer(shapely.point_on_surface(sea), 200, cap_style="square"))
    t = Transformer.from_crs(ctx.planar_crs, "EPSG:4490", always_xy=True)
    lonlat = [shapely.transform(b, lambda xy: np.column_stack(t.transform(*xy.T))) for b in boxes]
    gdf = gpd.GeoDataFrame(
        {"名称": [f"site{k}" for k in range(len(lonlat))]}, geometry=lonlat, crs="EPSG:4490"
    )
    gdf.to_file(path, driver="GeoJSON")
    return path


def _report(pack_dir: Path, sites: Path) -> list[object]:
    summary = run_check([str(sites)], pack_dir=pack_dir)
    return json.loads(summary.render("json"))  # type: ignore[no-any-return]


def _wkb(geoms: object) -> list[bytes]:
    return list(shapely.to_wkb(np.asarray(geoms, dtype=object).reshape(-1)))


def _assert_same_context(a: SitingContext, b: SitingContext) -> None:
    assert a.planar_crs.to_wkt() == b.planar_crs.to_wkt()
    assert [(c.layer_id, c.cls, c.mode, c.sensitivity) for c in a.classes] == [
        (c.layer_id, c.cls, c.mode, c.sensitivity) for c in b.classes
    ]
    assert _wkb([c.geometry for c in a.classes]) == _wkb([c.geometry for c in b.classes])
    for ta, tb in ((a.plan.classes, b.plan.classes), (a.plan.balance, b.plan.balance)):
        assert (ta is None) == (tb is None)
        if ta is not None and tb is not None:
            assert _wkb(ta.parts) == _wkb(tb.parts)
            assert ta.group.tolist() == tb.group.tolist()
            assert (ta.name, ta.labels, ta.remainder) == (tb.name, tb.labels, tb.remainder)
    assert (a.plan.columns, a.plan.modes, a.plan.balance_kind, a.plan.inside_group) == (
        b.plan.columns,
        b.plan.modes,
        b.plan.balance_kind,
        b.plan.inside_group,
    )
    assert a.zone_names == b.zone_names and _wkb(a.zone_geoms) == _wkb(b.zone_geoms)
    assert len(a.distances) == len(b.distances)
    for da, db in zip(a.distances, b.distances, strict=True):
        assert (da.layer, da.label, da.label_en) == (db.layer, db.label, db.label_en)
        for part in ("pieces", "polygons"):
            pa, pb = getattr(da, part), getattr(db, part)
            assert (pa is None) == (pb is None)
            if pa is not None:
                assert _wkb(pa) == _wkb(pb)
    assert a.warnings == b.warnings and a.report == b.report and a.extent == b.extent


def test_a_cached_context_gives_the_reports_of_a_built_one(
    pack_dir: Path, cache: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    oracle = _uncached(pack_dir, monkeypatch)
    sites = _sites(oracle, tmp_path / "sites.geojson")
    with monkeypatch.context() as m:
        m.setenv("QZGEO_NO_CACHE", "1")
        expected = _report(pack_dir, sites)
    verdicts = {r["verdict"] for r in expected}  # type: ignore[index]
    assert len(verdicts) >= 3, verdicts  # the sites reach different verdicts
    assert _report(pack_dir, sites) == expected  # built, then saved
    assert len(list((cache / "siting").glob("*.qzc"))) == 1
    _no_build(monkeypatch)
    assert _report(pack_dir, sites) == expected  # from the cache
    _assert_same_context(oracle, SitingContext.from_pack(load_pack(pack_dir)))


def test_the_planar_coverage_comes_from_the_cache_as_it_was_projected(
    pack_dir: Path, cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    oracle = _uncached(pack_dir, monkeypatch)
    SitingContext.from_pack(load_pack(pack_dir))  # saved
    entry = next((cache / "siting").glob("*.qzc")).read_bytes()
    assert oracle.extent is not None and not isinstance(oracle.extent, tuple)
    projected = shapely.to_wkb(coverage_in(oracle.planar_crs.to_wkt(), oracle.extent))
    assert projected in entry


def test_an_edited_layer_is_never_answered_from_the_cache(
    pack_dir: Path, cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = SitingContext.from_pack(load_pack(pack_dir))  # saved
    gpkg = pack_dir / "layers" / "qinzhou.gpkg"
    pack = load_pack(pack_dir)
    layer = next(s for s in pack.constraint_layers()).layer
    assert layer is not None
    gdf = pyogrio.read_dataframe(gpkg, layer=layer)
    pyogrio.write_dataframe(gdf.iloc[1:], gpkg, layer=layer)  # one red-line feature less
    got = SitingContext.from_pack(load_pack(pack_dir))
    oracle = _uncached(pack_dir, monkeypatch)
    _assert_same_context(oracle, got)
    assert _wkb([c.geometry for c in got.classes]) != _wkb([c.geometry for c in before.classes])


def test_a_damaged_entry_is_a_miss(
    pack_dir: Path, cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    SitingContext.from_pack(load_pack(pack_dir))  # saved
    entry = next((cache / "siting").glob("*.qzc"))
    data = bytearray(entry.read_bytes())
    data[len(data) // 2] ^= 0xFF
    entry.write_bytes(bytes(data))
    _assert_same_context(
        _uncached(pack_dir, monkeypatch), SitingContext.from_pack(load_pack(pack_dir))
    )


def test_constraint_files_of_the_user_are_read_each_time(
    pack_dir: Path, cache: Path, tmp_path: Path
) -> None:
    red = gpd.GeoDataFrame(
        {"类别": ["生态保护红线"]}, geometry=[shapely.box(108.6, 21.7, 108.62, 21.72)], crs=4490
    )
    red.to_file(tmp_path / "red.geojson", driver="GeoJSON")
    SitingContext.from_pack(load_pack(pack_dir), constraint_sources=[str(tmp_path / "red.geojson")])
    assert not list((cache / "siting").glob("*.qzc"))
