"""A Shapefile without its .cpg is read by the code page its DBF header names (Chinese ones).

ArcGIS (and qzgeo, for GBK) set the DBF's language driver id to 0x4D: code page 936. Mailed
without the .cpg, GBK text that is valid UTF-8 too (茅 is C3 A9: é in UTF-8) was read as é
without a word, while GDAL and ArcGIS read 茅. The expectations are the names the test
writes; GDAL (pyogrio with no encoding given) reads the same file as the oracle.
"""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import pyogrio
import pytest
import shapely
from packs import all_output, run_cli

SITE = shapely.box(108.62, 21.69, 108.621, 21.691)  # on the bundled pack


def _shapefile(tmp_path: Path, name: str, *, encoding: str, ldid: int | None) -> Path:
    shp = tmp_path / "site.shp"
    gdf = gpd.GeoDataFrame({"NAME": [name]}, geometry=[SITE], crs=4490)
    pyogrio.write_dataframe(gdf, shp, encoding=encoding)
    shp.with_suffix(".cpg").unlink(missing_ok=True)  # mailed without it
    if ldid is not None:
        with shp.with_suffix(".dbf").open("r+b") as f:
            f.seek(29)
            f.write(bytes([ldid]))
    return shp


def _checked(shp: Path) -> dict:
    r = run_cli("check", shp, "--format", "json")
    assert r.exit_code in (0, 1), all_output(r)
    (one,) = json.loads(r.stdout)
    return one


@pytest.mark.parametrize("ldid", [0x4D, 0x7A])
def test_gbk_that_is_valid_utf8_is_read_by_the_header(tmp_path: Path, ldid: int) -> None:
    shp = _shapefile(tmp_path, "茅", encoding="GBK", ldid=ldid)
    assert "茅".encode("gbk").decode("utf-8") == "é"  # the trap
    assert pyogrio.read_dataframe(shp)["NAME"].tolist() == ["茅"]  # GDAL reads the header
    one = _checked(shp)
    assert one["site"] == "茅"
    (said,) = [w for w in one["warnings"] if "language driver" in w]
    assert f"0x{ldid:02X}" in said and "'茅'" in said and "'é'" in said, said
    assert "--encoding UTF-8" in said


def test_gbk_that_is_not_utf8_is_read_quietly(tmp_path: Path) -> None:
    one = _checked(_shapefile(tmp_path, "钦州港", encoding="GBK", ldid=0x4D))
    assert one["site"] == "钦州港"
    assert not [w for w in one["warnings"] if ".cpg" in w], one["warnings"]


@pytest.mark.parametrize("ldid", [0x00, 0x57])  # none, and Western ANSI (often over GBK)
def test_other_ids_keep_the_utf8_then_gbk_reading(tmp_path: Path, ldid: int) -> None:
    assert _checked(_shapefile(tmp_path, "茅岭", encoding="UTF-8", ldid=ldid))["site"] == "茅岭"
    gbk = _checked(_shapefile(tmp_path, "茅岭", encoding="GBK", ldid=ldid))
    assert gbk["site"] == "茅岭"  # 岭 (C1 EB) is not UTF-8: read as GBK, with the note
