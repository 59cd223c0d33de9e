"""``[pack] coverage_layer``: checked like every catalog key, exit 2 naming the file, the value
and the fix; a coverage reaching past the extent is a warning. Both bundled packs declare
their districts, and their coverage is the districts' union (oracle: geopandas in an
equal-area projection)."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pytest
import shapely
from click.testing import CliRunner, Result
from support import ROOT, geod_ring_area

from qzgeo.cli.main import cli
from qzgeo.pack.catalog import load_pack
from qzgeo.pack.load import load_pack_layers
from qzgeo.pack.validate import check_pack

EXTENT = "extent = [108.5, 21.6, 108.8, 21.8]"
#: Albers equal-area for southern China: areas of the oracle, no qzgeo code.
ALBERS = "+proj=aea +lat_1=20 +lat_2=45 +lat_0=0 +lon_0=110 +ellps=GRS80 +units=m +no_defs"


def _validate(pack: Path) -> Result:
    return CliRunner().invoke(cli, ["validate", "--pack", str(pack)])


def _declare(pack: Path, geoms: list[shapely.Geometry], *, lines: str) -> None:
    """A districts layer of ``geoms`` (lon/lat) and ``lines`` added to [pack]."""
    gpd.GeoDataFrame(
        {"名称": [f"区{i}" for i in range(len(geoms))]}, geometry=geoms, crs=4490
    ).to_file(pack / "layers" / "districts.geojson")
    cat = pack / "layers" / "catalog.toml"
    text = cat.read_text(encoding="utf-8").replace("[pack]\n", f"[pack]\n{lines}\n", 1)
    text += (
        '\n[[layers]]\nid = "districts"\ntitle = "行政区"\nrole = "base"\n'
        'path = "districts.geojson"\nsensitivity = "public"\nsource = "test"\n'
        'licence = "CC0"\nprecision = "schematic"\n'
    )
    cat.write_text(text, encoding="utf-8")


def test_a_declared_coverage_validates_and_loads(minipack: Path) -> None:
    # edges of ≤ 200 m, as the pack guide asks of lon/lat layers (no long-edge warning)
    land = shapely.segmentize(shapely.box(108.55, 21.62, 108.75, 21.78), 0.0018)
    _declare(minipack, [land], lines=f'{EXTENT}\ncoverage_layer = "districts"')
    r = _validate(minipack)
    assert r.exit_code == 0, r.output
    # the minipack's own 2 km control lines are warned of (long lon/lat edges); nothing else
    warned = [ln for ln in r.output.splitlines() if ln.startswith("warning")]
    assert all("'control_lines'" in ln for ln in warned), r.output
    cov = load_pack_layers(load_pack(minipack)).coverage
    assert cov is not None and cov.layer == "districts" and not cov.is_box
    assert cov.lonlat().equals(land)


@pytest.mark.parametrize(
    ("lines", "needles"),
    [
        (
            f'{EXTENT}\ncoverage_layer = "nowhere"',
            ["catalog.toml [pack]", "`coverage_layer` 'nowhere' is not a layer id", "districts"],
        ),
        ('coverage_layer = "districts"', ["`coverage_layer` 'districts' needs an `extent`"]),
        (f"{EXTENT}\ncoverage_layer = 3", ["`coverage_layer` must be a string", "got 3"]),
    ],
)
def test_a_wrong_coverage_layer_key_is_exit_2(
    minipack: Path, lines: str, needles: list[str]
) -> None:
    _declare(minipack, [shapely.box(108.55, 21.62, 108.75, 21.78)], lines=lines)
    r = _validate(minipack)
    assert r.exit_code == 2, r.output
    for needle in needles:
        assert needle in r.output, r.output
    assert "Traceback" not in r.output


def test_a_coverage_layer_of_points_or_nothing_is_exit_2(minipack: Path) -> None:
    _declare(
        minipack,
        [shapely.Point(108.6, 21.7), shapely.box(108.55, 21.62, 108.75, 21.78)],
        lines=f'{EXTENT}\ncoverage_layer = "districts"',
    )
    r = _validate(minipack)
    assert r.exit_code == 2, r.output
    assert "`coverage_layer` 'districts' holds Point (1 of 2 features)" in r.output
    assert "name a polygon layer" in r.output


def test_a_coverage_reaching_past_the_extent_is_a_warning(minipack: Path) -> None:
    _declare(
        minipack,
        [shapely.box(108.55, 21.62, 108.95, 21.78)],  # 0.15° past the east edge
        lines=f'{EXTENT}\ncoverage_layer = "districts"',
    )
    r = _validate(minipack)
    assert r.exit_code == 0, r.output
    assert "`coverage_layer` 'districts' reaches outside the extent [108.5, 21.6, 108.8, 21.8]" in (
        r.output
    )
    cov = load_pack_layers(load_pack(minipack)).coverage
    assert cov is not None and cov.lonlat().bounds == (108.55, 21.62, 108.8, 21.78)


@pytest.mark.parametrize("pack_dir", [ROOT, ROOT / "examples" / "jinzhou"])
def test_the_bundled_packs_cover_their_districts(pack_dir: Path) -> None:
    """The coverage is the districts' union within the extent: no area lost to the snap that
    closes the hairline gaps between districts, none added (equal-area projection)."""
    pack = load_pack(pack_dir)
    assert pack.coverage_layer == "districts"
    assert check_pack(pack, check_data=False) == []
    cov = load_pack_layers(pack, only=[]).coverage
    assert cov is not None and cov.layer == "districts"
    districts = gpd.read_file(pack.layer_path(pack.layers["districts"]), layer="districts")
    # edges straight in lon/lat (some run 50 km): densified before projecting
    dense = districts.set_geometry(shapely.segmentize(districts.geometry.values, 1e-3))
    union = dense.dissolve().to_crs(ALBERS).area.iloc[0]
    assert geod_ring_area(cov.lonlat(), densify_deg=1e-3) == pytest.approx(union, rel=1e-6)
    # one piece per island, no hole: the gaps between districts are closed
    polys = shapely.get_parts(cov.lonlat())
    assert sum(len(p.interiors) for p in polys) == 0
