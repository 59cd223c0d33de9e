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


# The bundled pack's place, written as the engine's code would: its names, its CRS codes
# (3-degree zone 36 / CM 108E, 6-degree zone 19, Xian 1980 CM 108E) and its longitude as a
# meridian (108°, 108E, E108度, N21E108) or a lon/lat pair near it. Docstring examples are
# what users copy, so they too must take another zone.
PACK_PLACE = re.compile(
    r"钦州|平陆|qinzhou|pinglu|canal|guangxi|广西"
    r"|(?<![\d.])45(?:45|24)(?!\d)|EPSG:?\s*(?:4497|2381)(?!\d)|zone[ -]36(?!\d)"
    r"|(?<![\d.])108(?:\.\d+)?\s*(?:°|E(?![a-z\d])|度)|E108(?!\d)"
    r"|(?<![\d.])108\.\d+,\s*2[12]\.\d|\(108(?:\.\d+)?[,)]",
    re.IGNORECASE,
)
ENGINE = Path(__import__("qzgeo").__file__).parent
#: Where ``pip install .`` puts the bundled pack, inside the installed package (pyproject's
#: data-files): the city's data, not the engine's code.
BUNDLED_PACK = ENGINE / "_pack"


def _engine_files() -> list[Path]:
    return sorted(
        p
        for p in ENGINE.rglob("*")
        if p.is_file()
        and p.suffix in {".py", ".js", ".css", ".html", ".toml", ".txt"}
        and not p.is_relative_to(BUNDLED_PACK)
    )


def test_engine_source_names_no_city() -> None:
    hits = [
        f"{p.relative_to(ENGINE.parent)}:{n}: {line.strip()}"
        for p in _engine_files()
        for n, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1)
        if PACK_PLACE.search(line)
    ]
    assert len(_engine_files()) > 100  # the scan reads the package, not an empty folder
    assert not hits, "\n".join(hits)


@pytest.mark.parametrize(
    "line",
    [
        'crs="EPSG:4545"',
        "gk_zone(108.6)",
        "on 108E)",
        "(``108°``, ``E108度``)",
        "N21E108.hgt",
        "box(108.6, 21.7, 108.61, 21.71)",
        "钦州,",
        "108 for zone 36",
        'old_datum("EPSG:2381")',
    ],
)
def test_the_source_scan_catches_the_pack_place(line: str) -> None:
    assert PACK_PLACE.search(line)


@pytest.mark.parametrize(
    "line", ["1e-108", "EPSG:4548", "45450 m", "box(117.0, 32.0, 117.01, 32.01)", "1108E"]
)
def test_the_source_scan_lets_other_numbers_pass(line: str) -> None:
    assert not PACK_PLACE.search(line)
