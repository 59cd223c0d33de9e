"""Transformers built once per pair of CRSs, and a ``to_crs`` identical to geopandas'."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import geopandas.array
import pytest
import shapely
from geopandas.testing import assert_geodataframe_equal
from pyproj import CRS, Transformer

from qzgeo.analysis.sites import read_sites
from qzgeo.geo.reproject import cached_transformer, to_crs


def _frame(crs: str) -> gpd.GeoDataFrame:
    geoms = [
        shapely.box(108.60, 21.70, 108.61, 21.71),
        shapely.Point(108.6, 21.7, 12.5),  # Z is transformed too
        None,
        shapely.Polygon(),
        shapely.MultiLineString([[(108.0, 22.0), (108.1, 22.05)], [(108.2, 22.1), (108.3, 22.2)]]),
    ]
    g = gpd.GeoDataFrame(
        {"名称": ["a", "b", "c", "d", "e"], "n": [1, 2, 3, 4, 5]},
        geometry=geoms,
        crs="EPSG:4326",
        index=[10, 11, 12, 13, 14],
    )
    assert (~shapely.is_missing(g.geometry.values)).sum() == 4
    return g.rename_geometry("geom").to_crs(crs)


@pytest.mark.parametrize(
    ("src", "dst"),
    [
        ("EPSG:4326", "EPSG:4490"),
        ("EPSG:4490", "EPSG:4545"),
        ("EPSG:4545", "EPSG:4490"),
        ("EPSG:4326", "EPSG:32649"),
        ("EPSG:4490", "EPSG:4490"),
        ("EPSG:4326", "EPSG:4978"),  # geocentric: Z changes too
    ],
)
def test_to_crs_is_geopandas_to_crs_bit_for_bit(src: str, dst: str) -> None:
    g = _frame(src)
    ours, theirs = to_crs(g, dst), g.to_crs(dst)
    assert_geodataframe_equal(ours, theirs, check_less_precise=False)
    assert ours.geometry.name == "geom"
    assert ours.crs.srs == theirs.crs.srs
    assert list(shapely.to_wkb(ours.geometry.values, output_dimension=3)) == list(
        shapely.to_wkb(theirs.geometry.values, output_dimension=3)
    )
    assert ours is not g and g.crs == CRS.from_user_input(src)  # the input is left as it was


def test_one_transformer_per_pair_whatever_the_spelling() -> None:
    wkt = CRS.from_epsg(4541).to_wkt()
    a = cached_transformer("EPSG:4541", "EPSG:4490")
    assert cached_transformer(CRS.from_epsg(4541), CRS.from_user_input("EPSG:4490")) is a
    assert cached_transformer(wkt, "EPSG:4490") is a
    assert cached_transformer("EPSG:4490", "EPSG:4541") is not a


def test_a_site_file_builds_its_transformer_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The CRS checks of the read and the move to storage share one transformer (~40 ms from a
    datum to another); geopandas' own cache would have built it a second time."""
    site = tmp_path / "site.gpkg"
    gpd.GeoDataFrame(
        {"名称": ["甲"]}, geometry=[shapely.box(108.60, 21.70, 108.61, 21.71)], crs="EPSG:4326"
    ).to_crs("EPSG:32649").to_file(site)  # UTM 49N: no other test builds this pair
    built: list[tuple[CRS, CRS]] = []
    real = Transformer.from_crs

    def counting(src, dst, **kw):  # type: ignore[no-untyped-def]
        built.append((CRS.from_user_input(src), CRS.from_user_input(dst)))
        return real(src, dst, **kw)

    monkeypatch.setattr(Transformer, "from_crs", staticmethod(counting))
    # geopandas bound the original at import, behind its own cache: count its builds too
    monkeypatch.setattr(geopandas.array, "TransformerFromCRS", counting)
    sites, _ = read_sites([str(site)])
    pair = (CRS.from_epsg(32649), CRS.from_epsg(4490))
    assert sum(1 for b in built if b == pair) == 1
    assert sites.crs == CRS.from_epsg(4490)
