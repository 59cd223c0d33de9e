"""Readers and writers: formats, encodings, size caps, read-only inputs, atomic outputs."""

from __future__ import annotations

import errno
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import geopandas as gpd
import numpy as np
import pyogrio
import pytest
from click.testing import CliRunner
from shapely import box
from support import BADINPUTS

from qzgeo._errors import CRSError, InputError, OutputError
from qzgeo.cli.main import cli
from qzgeo.geo.crs import check_coordinates, resolve_crs
from qzgeo.geo.gcj02 import gcj02_to_wgs84, wgs84_to_gcj02
from qzgeo.io.digest import sha256_file
from qzgeo.io.vector import list_layers, read_layer
from qzgeo.io.write import write_layer
from qzgeo.notices import notices_of

DATA = BADINPUTS
FORMATS = (".gpkg", ".geojson", ".shp", ".fgb", ".parquet")


@pytest.fixture
def parcels() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"名称": ["钦州港", "保税区", "中马园"], "面积": [1.5, 2.0, 3.25], "k": [1, 2, 3]},
        geometry=[box(108.60 + 0.01 * i, 21.70, 108.605 + 0.01 * i, 21.705) for i in range(3)],
        crs="EPSG:4490",
    )


def convert(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, ["convert", *args])
    return result.exit_code, result.output


@pytest.mark.parametrize("ext", FORMATS)
def test_round_trip_every_format(tmp_path: Path, parcels: gpd.GeoDataFrame, ext: str) -> None:
    out = write_layer(parcels, tmp_path / f"p{ext}")
    back = read_layer(out).sort_values("k")
    assert back.crs.to_epsg() == 4490
    assert list(back["名称"]) == list(parcels["名称"])
    assert list(back["面积"]) == list(parcels["面积"])
    assert np.allclose(back.total_bounds, parcels.total_bounds)
    # Re-runs are byte-identical.
    first = {p.name: sha256_file(p) for p in tmp_path.iterdir()}
    write_layer(parcels, tmp_path / f"p{ext}")
    assert {p.name: sha256_file(p) for p in tmp_path.iterdir()} == first


def test_convert_txt_to_gpkg_and_back_with_reprojection(tmp_path: Path) -> None:
    src = DATA / "18_jzd_prefix_holes.txt"
    code, msg = convert(str(src), str(tmp_path / "a.gpkg"), "--to-crs", "EPSG:4490")
    assert code == 0, msg
    gpkg = read_layer(tmp_path / "a.gpkg")
    assert gpkg.crs.to_epsg() == 4490 and list_layers(tmp_path / "a.gpkg") == ["a"]
    code, msg = convert(str(tmp_path / "a.gpkg"), str(tmp_path / "b.txt"), "--zone", "36")
    assert code == 0, msg
    back = read_layer(tmp_path / "b.txt")
    assert back.crs.to_epsg() == 4524
    orig = read_layer(src)
    # GK -> lon/lat -> GK keeps every vertex to the millimetre.
    assert back.geometry.iloc[0].equals_exact(orig.geometry.iloc[0], tolerance=1e-3)


def test_convert_rejects_bad_options(tmp_path: Path) -> None:
    src = str(DATA / "18_jzd_no_prefix.txt")
    code, msg = convert(src, str(tmp_path / "a.xyz"))
    assert code == 2 and "unknown output extension" in msg
    code, msg = convert(src, str(tmp_path / "a.gpkg"), "--to-crs", "EPSG:99999999")
    assert code == 2 and "--to-crs" in msg
    code, msg = convert(src, src)
    assert code == 2 and "OUT is the input file" in msg


def test_convert_repair_lists_repairs(tmp_path: Path) -> None:
    code, msg = convert(str(DATA / "06_empty_null.geojson"), str(tmp_path / "o.gpkg"), "--repair")
    assert code == 0
    assert "feature 1: null or empty geometry -> dropped" in msg
    assert len(read_layer(tmp_path / "o.gpkg")) == 1


# --- Shapefile encodings ---------------------------------------------------------------------


def test_cpg_is_honoured(tmp_path: Path, parcels: gpd.GeoDataFrame) -> None:
    pyogrio.write_dataframe(parcels, tmp_path / "g.shp", encoding="GBK")
    assert (tmp_path / "g.cpg").read_text() == "GBK"
    gdf = read_layer(tmp_path / "g.shp")
    assert list(gdf["名称"]) == list(parcels["名称"]) and notices_of(gdf).messages() == []


def test_utf8_without_cpg_is_detected(tmp_path: Path, parcels: gpd.GeoDataFrame) -> None:
    write_layer(parcels, tmp_path / "u.shp")
    assert (tmp_path / "u.cpg").read_text().strip() == "UTF-8"
    (tmp_path / "u.cpg").unlink()
    gdf = read_layer(tmp_path / "u.shp")
    assert gdf.attrs["encoding"] == "UTF-8" and list(gdf["名称"]) == list(parcels["名称"])


def test_explicit_encoding_and_undecodable(tmp_path: Path, parcels: gpd.GeoDataFrame) -> None:
    pyogrio.write_dataframe(parcels, tmp_path / "g.shp", encoding="GBK")
    (tmp_path / "g.cpg").unlink()
    gdf = read_layer(tmp_path / "g.shp", encoding="GBK")
    assert list(gdf["名称"]) == list(parcels["名称"]) and notices_of(gdf).messages() == []
    code, msg = convert(str(tmp_path / "g.shp"), str(tmp_path / "o.gpkg"), "--encoding", "gbk")
    assert code == 0, msg
    odd = gpd.GeoDataFrame(
        {"name": ["€ÿ", "a", "b"]}, geometry=parcels.geometry.values, crs=parcels.crs
    )
    pyogrio.write_dataframe(odd, tmp_path / "w.shp", encoding="cp1252")
    (tmp_path / "w.cpg").unlink()
    with pytest.raises(InputError, match=r"neither UTF-8 nor GBK.*--encoding"):
        read_layer(tmp_path / "w.shp")
    assert read_layer(tmp_path / "w.shp", encoding="cp1252")["name"].iloc[0] == "€ÿ"


def test_shapefile_rewrite_replaces_sidecars(tmp_path: Path, parcels: gpd.GeoDataFrame) -> None:
    (tmp_path / "p.qix").write_bytes(b"stale index")
    write_layer(parcels, tmp_path / "p.shp")
    assert not (tmp_path / "p.qix").exists()
    assert sorted(p.suffix for p in tmp_path.iterdir()) == [".cpg", ".dbf", ".prj", ".shp", ".shx"]


# --- size cap --------------------------------------------------------------------------------


def test_size_cap_env_and_option(
    tmp_path: Path, parcels: gpd.GeoDataFrame, monkeypatch: pytest.MonkeyPatch
) -> None:
    src = write_layer(parcels, tmp_path / "p.geojson")
    size = src.stat().st_size
    monkeypatch.setenv("QZGEO_MAX_BYTES", str(size - 1))
    with pytest.raises(InputError, match=r"over the .* cap"):
        read_layer(src)
    assert len(read_layer(src, max_bytes=size)) == 3
    code, msg = convert(str(src), str(tmp_path / "o.gpkg"), "--max-bytes", str(size))
    assert code == 0, msg
    monkeypatch.setenv("QZGEO_MAX_BYTES", "lots")
    with pytest.raises(InputError, match="QZGEO_MAX_BYTES must be a number"):
        read_layer(src)
    # Binary formats are not capped.
    monkeypatch.setenv("QZGEO_MAX_BYTES", "10")
    assert len(read_layer(write_layer(parcels, tmp_path / "p.gpkg"))) == 3


# --- inputs are never modified -------------------------------------------------------------


def test_wal_geopackage_is_read_without_changes(tmp_path: Path) -> None:
    src = tmp_path / "wal.gpkg"
    src.write_bytes((DATA / "wal_mode.gpkg").read_bytes())
    con = sqlite3.connect(src)
    assert con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    con.close()
    before = sha256_file(src)
    assert len(read_layer(src)) == 1
    code, msg = convert(str(src), str(tmp_path / "out.geojson"))
    assert code == 0, msg
    assert sha256_file(src) == before
    assert not (tmp_path / "wal.gpkg-wal").exists() and not (tmp_path / "wal.gpkg-shm").exists()


def test_every_catalog_input_unchanged_by_convert(tmp_path: Path) -> None:
    before = {p.name: sha256_file(p) for p in DATA.iterdir()}
    for src in sorted(DATA.iterdir()):
        if src.suffix in (".shx", ".dbf", ".prj", ".cpg"):
            continue
        convert(str(src), str(tmp_path / f"{src.stem}.gpkg"), "--crs", "EPSG:4524")
    assert {p.name: sha256_file(p) for p in DATA.iterdir()} == before


# --- outputs are atomic --------------------------------------------------------------------

_KILLED_WRITER = textwrap.dedent(
    """
    import sys, time
    import geopandas as gpd, pyogrio
    from shapely import box
    from qzgeo.io.write import write_layer

    real = pyogrio.write_dataframe

    def slow(df, path, **kw):
        real(df, path, **kw)  # the whole new file exists, not yet moved into place
        print("WRITTEN", flush=True)
        time.sleep(120)

    pyogrio.write_dataframe = slow
    n = 20000
    gdf = gpd.GeoDataFrame({"k": range(n)},
                           geometry=[box(108.6, 21.7, 108.6001, 21.7001)] * n, crs="EPSG:4490")
    write_layer(gdf, sys.argv[1])
    """
)


@pytest.mark.parametrize("ext", [".gpkg", ".geojson", ".shp"])
def test_sigkill_mid_write_keeps_old_output(
    tmp_path: Path, parcels: gpd.GeoDataFrame, ext: str
) -> None:
    target = write_layer(parcels, tmp_path / f"out{ext}")
    before = {p.name: sha256_file(p) for p in tmp_path.iterdir()}
    proc = subprocess.Popen(
        [sys.executable, "-c", _KILLED_WRITER, str(target)],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "WRITTEN"
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.wait(timeout=60)
    assert proc.returncode == -signal.SIGKILL
    after = {p.name: sha256_file(p) for p in tmp_path.iterdir() if not p.name.startswith(".")}
    assert after == before
    assert len(read_layer(target)) == 3


@pytest.mark.parametrize("ext", [".gpkg", ".geojson", ".shp", ".fgb"])
def test_full_disk_gives_output_error_and_keeps_old(
    tmp_path: Path, parcels: gpd.GeoDataFrame, monkeypatch: pytest.MonkeyPatch, ext: str
) -> None:
    target = write_layer(parcels, tmp_path / f"out{ext}")
    before = {p.name: sha256_file(p) for p in tmp_path.iterdir()}
    real = pyogrio.write_dataframe

    def full_disk(df: gpd.GeoDataFrame, path: object, **kw: object) -> None:
        real(df.iloc[:1], path, **kw)  # a partial file, then the disk fills up
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(pyogrio, "write_dataframe", full_disk)
    with pytest.raises(OutputError, match=r"No space left on device.*previous file is unchanged"):
        write_layer(parcels.iloc[:2], target)
    assert {p.name: sha256_file(p) for p in tmp_path.iterdir()} == before  # no temp files left
    monkeypatch.undo()
    code, msg = convert(str(target), str(tmp_path / "x.gpkg"))
    assert code == 0, msg


def test_rerun_replaces_geopackage(tmp_path: Path, parcels: gpd.GeoDataFrame) -> None:
    target = tmp_path / "o.gpkg"
    write_layer(parcels, target, layer="old")
    write_layer(parcels.iloc[:1], target, layer="new")
    assert list_layers(target) == ["new"]
    assert len(read_layer(target)) == 1


# --- CRS helpers ---------------------------------------------------------------------------


def test_gcj02_round_trip_within_half_a_metre() -> None:
    rng = np.random.default_rng(1)
    lon = rng.uniform(107.5, 109.8, 500)
    lat = rng.uniform(21.4, 22.9, 500)
    back_lon, back_lat = gcj02_to_wgs84(*wgs84_to_gcj02(lon, lat))
    from pyproj import Geod

    _, _, dist = Geod(ellps="GRS80").inv(lon, lat, back_lon, back_lat)
    assert np.max(dist) < 0.5
    glon, glat = wgs84_to_gcj02(lon, lat)
    _, _, shift = Geod(ellps="GRS80").inv(lon, lat, glon, glat)
    assert 400 < np.median(shift) < 700  # the ~500 m offset is really applied


def test_gcj02_declared_on_load(tmp_path: Path) -> None:
    wgs = read_layer(DATA / "15_district_wgs84.geojson")
    conv = read_layer(DATA / "15_district_gcj02.geojson", datum="gcj02")
    assert conv.crs.to_epsg() == 4490
    assert np.allclose(conv.total_bounds, wgs.total_bounds, atol=1e-7)
    code, msg = convert(
        str(DATA / "15_district_gcj02.geojson"), str(tmp_path / "o.gpkg"), "--from-gcj02"
    )
    assert code == 0, msg
    with pytest.raises(CRSError, match="applies to lon/lat data"):
        read_layer(DATA / "12_esri_gk.shp", datum="gcj02")


ESRI_CM = (
    'PROJCS["CGCS2000_3_Degree_GK_CM_108E",GEOGCS["GCS_China_Geodetic_Coordinate_System_2000",'
    'DATUM["D_China_2000",SPHEROID["CGCS2000",6378137.0,298.257222101]],PRIMEM["Greenwich",0.0],'
    'UNIT["Degree",0.0174532925199433]],PROJECTION["Gauss_Kruger"],PARAMETER["False_Easting",'
    '500000.0],PARAMETER["False_Northing",0.0],PARAMETER["Central_Meridian",108.0],PARAMETER['
    '"Scale_Factor",1.0],PARAMETER["Latitude_Of_Origin",0.0],UNIT["Meter",1.0]]'
)


def test_esri_names_resolve() -> None:
    assert resolve_crs(ESRI_CM).to_epsg() == 4545
    zone = ESRI_CM.replace("CM_108E", "Zone_36").replace("500000.0]", "36500000.0]")
    assert resolve_crs(zone).to_epsg() == 4524
    # A foreign datum name defeats PROJ's matcher; the name and parameters still identify it.
    odd = ESRI_CM.replace("D_China_2000", "D_Custom").replace("GCS_China_Geodetic", "GCS_X")
    assert resolve_crs(odd).to_epsg() == 4545
    # A name that contradicts the parameters is not trusted.
    liar = ESRI_CM.replace("CM_108E", "Zone_36").replace("D_China_2000", "D_Custom")
    assert resolve_crs(liar).to_epsg() is None


@pytest.mark.parametrize(
    ("crs", "xy", "message"),
    [
        ("EPSG:4545", (36_564_161.0, 2_399_603.0), "use EPSG:4524, not EPSG:4545"),
        ("EPSG:4524", (564_161.0, 2_399_603.0), "use EPSG:4545, not EPSG:4524"),
        ("EPSG:4525", (36_564_161.0, 2_399_603.0), "use EPSG:4524, not EPSG:4525"),
        ("EPSG:4545", (2_399_603.0, 564_161.0), "swapped X/Y"),
        ("EPSG:4490", (21.7, 108.6), "swapped X/Y"),
        ("EPSG:4490", (2.0, 48.0), "outside China"),
        ("EPSG:4524", (36_564_161.0, 9e9), "outside China"),
        # The prefix names the width: 13..23 are 6-degree zones over China, 25..45 3-degree
        # ones (喀什 at 76E: 6-degree zone 13 or 3-degree zone 25, both CM 75E). The fix was
        # missing when the CRS was of the other width.
        ("EPSG:4513", (13_586_051.0, 4_371_161.0), "use EPSG:4491, not EPSG:4513"),
        ("EPSG:4534", (13_586_051.0, 4_371_161.0), "use EPSG:4491, not EPSG:4534"),
        ("EPSG:4491", (25_586_051.0, 4_371_161.0), "use EPSG:4513, not EPSG:4491"),
        # Degrees in a catalog `crs` of metres: say so, not only "outside China".
        ("EPSG:4534", (76.0, 39.47), "numbers look like lon/lat degrees"),
    ],
)
def test_check_coordinates_catches(crs: str, xy: tuple[float, float], message: str) -> None:
    with pytest.raises(CRSError, match=message):
        check_coordinates([xy], crs, source="t")


def test_check_coordinates_accepts_pack_extent_and_good_data() -> None:
    check_coordinates([(108.6, 21.7)], "EPSG:4490")
    check_coordinates([(564_161.0, 2_399_603.0)], "EPSG:4545")
    check_coordinates([(2.0, 48.0)], "EPSG:4490", extent=(0.0, 45.0, 5.0, 50.0))
    check_coordinates([(np.nan, np.inf)], "EPSG:4490")  # nothing finite: left to repair


def test_never_lets_inf_through() -> None:
    from pyproj import Transformer

    t = Transformer.from_crs("EPSG:4545", "EPSG:4490", always_xy=True)
    assert not np.isfinite(t.transform(36_564_161.0, 2_399_603.0)).all()  # the silent trap
    with pytest.raises(CRSError):
        check_coordinates([(36_564_161.0, 2_399_603.0)], "EPSG:4545")


def test_table_without_geometry_is_refused_by_every_command(tmp_path: Path) -> None:
    """A CSV of attributes only (no WKT, no coordinates): exit 2 naming the file and the fix,
    not a traceback, whether read in memory, in chunks, or checked as sites."""
    from click.testing import CliRunner

    from qzgeo._errors import InputError
    from qzgeo.cli.main import cli
    from qzgeo.io.vector import read_layer

    table = tmp_path / "地块表.csv"
    table.write_text("地块编号,面积\nA1,100\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"has no geometry column.*地块编号"):
        read_layer(table)
    for args in (
        ["analyze", "--parcels", str(table), "--out", str(tmp_path / "o1")],
        ["analyze", "--parcels", str(table), "--out", str(tmp_path / "o2"), "--chunk-rows", "5"],
        ["check", str(table)],
        ["convert", str(table), str(tmp_path / "x.gpkg")],
    ):
        res = CliRunner().invoke(cli, args)
        assert res.exit_code == 2, (args, res.output, res.exception)
        assert "has no geometry column" in res.output and "Traceback" not in res.output
