"""A new city's pack runs 双评价 from the start (issue 9).

``qzgeo suitability`` on a ``qzgeo new-pack`` skeleton stopped with "suitability/ has no model":
a city had to write a model from the README before its first run. The skeleton now carries a
commented placeholder model (slope from the city's DEM, distance to the corridor, the 生态保护红线
as a hard limit). Its class areas add up to the zone's area measured by pyproj's geodesic on
the zone's own polygon (no qzgeo code), with a DEM and without one.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pyproj
import rasterio
import shapely
from rasterio.transform import from_origin
from shapely.geometry import shape
from shapely.geometry.polygon import orient

from tests.cli._cli import qzgeo

CENTER = (126.6, 45.8)  # 哈尔滨: 3° Gauss-Krüger zone 42 (EPSG:4551 unprefixed)


def _zone_m2(pack: Path) -> float:
    data = json.loads((pack / "layers" / "zones.geojson").read_text(encoding="utf-8"))
    polygon = orient(shape(data["features"][0]["geometry"]))
    return float(pyproj.Geod(ellps="GRS80").geometry_area_perimeter(polygon)[0])


def _classes_m2(out: Path) -> dict[str, float]:
    table = out / "internal" / "suitability" / "urban" / "zones.csv"
    with table.open(encoding="utf-8-sig", newline="") as fh:
        rows = [r for r in csv.DictReader(fh) if r["图层"] == "zones"]  # not the study area's
    got = {r["类别"]: float(r["面积(m²)"]) for r in rows}
    total = got.pop("合计")
    assert abs(sum(got.values()) - total) <= 0.01 * len(got), (got, total)
    return got


def _dem(path: Path) -> Path:
    """A plane rising 0.2 m a metre eastwards (11.3°, slope grade 3) around the skeleton."""
    to_gk = pyproj.Transformer.from_crs("EPSG:4490", "EPSG:4551", always_xy=True)
    x, y = to_gk.transform(*CENTER)
    cols = np.arange(240, dtype="float32")
    heights = np.tile(150.0 + cols * 25 * 0.2, (240, 1)).astype("float32")
    with rasterio.open(
        path, "w", driver="GTiff", width=240, height=240, count=1, dtype="float32",
        crs="EPSG:4551", transform=from_origin(x - 3000, y + 3000, 25, 25), nodata=-9999,
    ) as dst:  # fmt: skip
        dst.write(heights, 1)
    return path


def test_the_skeleton_model_runs_with_and_without_a_dem(tmp_path: Path) -> None:
    pack = tmp_path / "harbin"
    center = f"{CENTER[0]},{CENTER[1]}"
    assert qzgeo("new-pack", pack, "--center", center).exit_code == 0
    res = qzgeo("validate", "--pack", pack)
    assert res.exit_code == 0, res.output
    assert "1 suitability model" in res.stdout
    zone = _zone_m2(pack)

    bare = tmp_path / "bare"
    res = qzgeo("suitability", "--pack", pack, "--out", bare, "--no-progress")
    assert res.exit_code == 0, res.output
    assert "factor missing: slope" in res.output  # said, not silently dropped
    got = _classes_m2(bare)
    assert abs(sum(got.values()) - zone) <= 0.01 * 4, (got, zone)  # 0.01 m² a printed cell

    dem = tmp_path / "dem"
    res = qzgeo(
        "suitability", "--pack", pack, "--out", dem, "--dem", _dem(tmp_path / "dem.tif"),
        "--no-progress",
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    assert "factors used: slope, corridor_distance" in res.output
    got = _classes_m2(dem)
    assert abs(sum(got.values()) - zone) <= 0.01 * 4, (got, zone)
    # the red line is a hard limit: at least its part inside the zone is 不适宜
    lines = json.loads((pack / "layers" / "control_lines.geojson").read_text(encoding="utf-8"))
    red = next(f for f in lines["features"] if f["properties"]["类别"] == "生态保护红线")
    zone_shape = shape(
        json.loads((pack / "layers" / "zones.geojson").read_text(encoding="utf-8"))["features"][0][
            "geometry"
        ]
    )
    red_in_zone = orient(shapely.intersection(shape(red["geometry"]), zone_shape))
    red_m2 = float(pyproj.Geod(ellps="GRS80").geometry_area_perimeter(red_in_zone)[0])
    assert got["不适宜"] >= 0.9 * red_m2, (got, red_m2)  # cells along its edge count by centre
