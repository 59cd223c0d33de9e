"""A --constraint feature that cannot be read is named in every site's report.

Found by out13: a red-line layer whose feature over the site had a NaN vertex was dropped
(right: its outline is unknown), and the site came out "clear" with no warning in the JSON;
only a count went to stderr ("constraint and pack layers: ... 1 dropped"), naming neither the
feature nor the reason.
"""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import shapely
from click.testing import CliRunner
from pyproj import Geod, Transformer

from qzgeo.cli.main import cli

E0, N0 = 36_564_000.0, 2_399_000.0  # GK zone 36 with the prefix


def _box(x: float) -> shapely.Polygon:
    return shapely.box(E0 + x, N0 + 100, E0 + x + 300, N0 + 400)


def test_a_dropped_red_line_feature_is_in_every_site_report(tmp_path: Path) -> None:
    corner = list(_box(0).exterior.coords)
    corner[1] = (float("nan"), corner[1][1])
    red = tmp_path / "红线.gpkg"
    gpd.GeoDataFrame(
        {"类别": ["生态保护红线", "生态保护红线"]},
        geometry=[shapely.Polygon(corner), _box(2000)],
        crs="EPSG:4524",
    ).to_file(red)
    sites = tmp_path / "sites.gpkg"
    gpd.GeoDataFrame(
        {"名称": ["甲", "乙"]}, geometry=[_box(50), _box(800)], crs="EPSG:4524"
    ).to_file(sites)
    res = CliRunner().invoke(
        cli, ["check", str(sites), "--no-pack", "--constraint", str(red), "--format", "json"]
    )
    assert res.exit_code == 0, res.output
    reports = json.loads(res.stdout)
    assert [r["site"] for r in reports] == ["甲", "乙"]
    for r in reports:
        [w] = [w for w in r["warnings"] if "dropped" in w]
        assert "feature 1" in w and "NaN" in w, w
    assert "feature 1 dropped" in res.stderr


def test_a_repaired_red_line_feature_is_in_every_site_report(tmp_path: Path) -> None:
    """A bowtie red line is made valid and checked against; the JSON says so with both areas.

    Found in round 13's audit: the repair was only counted on stderr ("1 feature(s)
    repaired"), so a verdict resting on the repaired outline said nothing about it.
    """
    x0, y0 = E0, N0 + 100
    # two triangles of 300 x 150 m meeting at a point: 45 000 m² in all once made valid
    bowtie = shapely.Polygon(
        [(x0, y0), (x0 + 300, y0 + 300), (x0 + 300, y0), (x0, y0 + 300), (x0, y0)]
    )
    red = tmp_path / "红线.gpkg"
    gpd.GeoDataFrame(
        {"类别": ["生态保护红线", "生态保护红线"]},
        geometry=[_box(2000), bowtie],
        crs="EPSG:4524",
    ).to_file(red)
    sites = tmp_path / "sites.gpkg"
    gpd.GeoDataFrame(
        {"名称": ["甲", "乙"]}, geometry=[_box(0), _box(800)], crs="EPSG:4524"
    ).to_file(sites)
    res = CliRunner().invoke(
        cli, ["check", str(sites), "--no-pack", "--constraint", str(red), "--format", "json"]
    )
    assert res.exit_code == 1, res.output  # 甲 is under the repaired red line
    reports = json.loads(res.stdout)
    assert [r["verdict"] for r in reports] == ["conflict", "clear"]
    for r in reports:
        [w] = [w for w in r["warnings"] if "repaired" in w]
        assert "1 feature(s) repaired, invalid (Self-intersection): feature 2;" in w, w
        # the repaired bowtie is two triangles: their area on GRS80 (oracle: pyproj.Geod)
        as_checked = float(w.split(" m² as checked")[0].rsplit(" ", 1)[1])
        assert abs(as_checked - _geod_area(bowtie)) < 0.01, w


def _geod_area(bowtie: shapely.Polygon) -> float:
    """The two triangles of ``bowtie`` (meeting at its centre), measured on the ellipsoid."""
    to_lonlat = Transformer.from_crs("EPSG:4524", "EPSG:4490", always_xy=True)
    geod = Geod(ellps="GRS80")
    (a, b, c, d, _), (cx, cy) = list(bowtie.exterior.coords), bowtie.centroid.coords[0]
    total = 0.0
    for tri in ([a, (cx, cy), d], [b, c, (cx, cy)]):
        lon, lat = to_lonlat.transform(*zip(*tri, strict=True))
        total += abs(geod.polygon_area_perimeter(lon, lat)[0])
    return total
