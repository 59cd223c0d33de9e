"""Messages and help name no city: the no-CRS hint comes from the data, 名称 fills 地块名称,
and no help text says 钦州/Qinzhou/平陆 or suggests a 钦州 zone."""

from __future__ import annotations

import re
from pathlib import Path

import geopandas as gpd
import pytest
import shapely
from click.testing import CliRunner

from qzgeo.cli.main import COMMANDS, cli
from qzgeo.io.jzd_read import read_jzd
from qzgeo.io.jzd_write import write_jzd

CITY = re.compile(r"钦州|平陆|qinzhou|pinglu|canal|(?<![\d.])45(?:45|24)(?!\d)", re.IGNORECASE)


@pytest.mark.parametrize("command", [None, *sorted(COMMANDS)])
def test_help_names_no_city(command: str | None) -> None:
    args = ["--help"] if command is None else [command, "--help"]
    r = CliRunner().invoke(cli, args)
    assert r.exit_code == 0
    assert not CITY.search(r.stdout), CITY.search(r.stdout)


def _shapefile_without_prj(tmp_path: Path, geom: shapely.Geometry) -> Path:
    path = tmp_path / "noprj.shp"
    gpd.GeoDataFrame({"a": [1]}, geometry=[geom], crs="EPSG:4490").to_file(path)
    path.with_suffix(".prj").unlink()
    return path


@pytest.mark.parametrize(
    ("geom", "hint"),
    [
        (shapely.box(40_500_000, 4_600_000, 40_501_000, 4_601_000), "EPSG:4528"),  # zone 40
        (shapely.box(121.0, 41.0, 121.01, 41.01), "EPSG:4490"),
        (shapely.box(500_000, 4_600_000, 501_000, 4_601_000), "4509 + the zone"),
    ],
)
def test_no_crs_message_suggests_from_the_data(
    tmp_path: Path, geom: shapely.Geometry, hint: str
) -> None:
    src = _shapefile_without_prj(tmp_path, geom)
    r = CliRunner().invoke(cli, ["convert", str(src), str(tmp_path / "out.gpkg")])
    assert r.exit_code == 2
    assert "has no CRS" in r.stderr and hint in r.stderr
    assert not CITY.search(r.stderr)


def test_jzd_writer_fills_地块名称(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    gdf = gpd.GeoDataFrame(
        {"名称": ["港区一号"], "备注": ["x"]},
        geometry=[shapely.box(121.0, 41.0, 121.01, 41.01)],
        crs="EPSG:4490",
    )
    path = write_jzd(gdf, tmp_path / "a.txt")
    assert read_jzd(path)["地块名称"].tolist() == ["港区一号"]
    messages = " ".join(r.getMessage() for r in caplog.records)
    assert "column(s) 备注 are not written" in messages and "column(s) 名称" not in messages
