"""Rebuild tests/data/minipack/layers/mini.gpkg: hand-made squares with known areas.

Zones are 1 km squares in EPSG:4524 (CGCS2000 GK zone 36 with prefix) near 大榄坪; the
constraints are stored in EPSG:4490. Planar areas (GK zone 36):

- zone 甲: 100 ha; 生态保护红线 covers its western 25 ha -> 75 ha available.
- zone 乙: 100 ha; 永久基本农田 covers 25 ha (SE quarter), 20 ha lie outside the
  城镇开发边界 (eastern strip), 10 ha of which are also farmland -> 65 ha available.
"""

from pathlib import Path

import geopandas as gpd
from shapely import box

from qzgeo.io.write import write_gpkg

X0, Y0 = 36_564_000.0, 2_399_000.0  # zone-prefixed easting, northing
HERE = Path(__file__).parent / "minipack" / "layers"


def main() -> None:
    zones = gpd.GeoDataFrame(
        {
            "名称": ["甲区", "乙区"],
            "主导产业": ["电子信息", "装备制造"],
            "来源": ["test", "test"],
            "精度": ["schematic", "schematic"],
            "secret": ["内部备注", "内部备注"],
        },
        geometry=[box(X0, Y0, X0 + 1000, Y0 + 1000), box(X0 + 1000, Y0, X0 + 2000, Y0 + 1000)],
        crs="EPSG:4524",
    )
    cons = gpd.GeoDataFrame(
        {
            "类别": ["生态保护红线", "永久基本农田", "城镇开发边界"],
            "来源": ["test"] * 3,
            "精度": ["schematic"] * 3,
        },
        geometry=[
            box(X0 - 500, Y0 - 500, X0 + 250, Y0 + 1500),
            box(X0 + 1500, Y0, X0 + 2000, Y0 + 500),
            box(X0 - 100, Y0 - 100, X0 + 1800, Y0 + 1100),
        ],
        crs="EPSG:4524",
    ).to_crs("EPSG:4490")
    write_gpkg(HERE / "mini.gpkg", {"zones": zones, "control_lines": cons})


if __name__ == "__main__":
    main()
