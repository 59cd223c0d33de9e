"""MapInfo tables and interchange files, as Chinese land offices keep them, read by every
command: a MIF written as MapInfo Professional writes it, a TAB set with Windows' upper-case
extensions, GBK text under each kind of ``Charset``, MapInfo's own datums. Areas come from an
oracle sharing no code with qzgeo (pyproj: EPSG:4545 to CGCS2000 lon/lat on rings densified
to 1 m, geodesic area on GRS80), positions from EPSG's own definition of Xian 1980.

MapInfo was refused (off the driver allow-list) until round 24; views, seamless and linked
tables still are, since they name other files as a GDAL VRT does.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import sqlite3
import tempfile
from pathlib import Path

import geopandas as gpd
import numpy as np
import pyogrio
import pytest
import shapely
from pyproj import Geod, Transformer

from tests.cli._cli import assert_exit2, check_json, qzgeo

X0, Y0 = 564_148.0, 2_402_925.0  # CGCS2000 GK CM 108E (EPSG:4545), no prefix: 钦州港
OUTER = [(X0, Y0), (X0 + 100, Y0), (X0 + 100, Y0 + 150), (X0, Y0 + 150)]
HOLE = [(X0 + 20, Y0 + 20), (X0 + 20, Y0 + 50), (X0 + 60, Y0 + 50), (X0 + 60, Y0 + 20)]
TOWGS84 = "24,-123,-94,0.02,-0.25,-0.13,1.1"


def _oracle_m2(rings: list[list[tuple[float, float]]]) -> float:
    """Outer minus holes, each ring densified to 1 m in EPSG:4545 and measured on GRS80."""
    to_ll = Transformer.from_crs(4545, 4490, always_xy=True)
    geod = Geod(ellps="GRS80")
    total = 0.0
    for k, ring in enumerate(rings):
        pts = []
        for (xa, ya), (xb, yb) in zip(ring, ring[1:] + ring[:1], strict=True):
            n = max(1, int(np.hypot(xb - xa, yb - ya)))
            t = np.arange(n) / n
            pts += list(zip(xa + (xb - xa) * t, ya + (yb - ya) * t, strict=True))
        lon, lat = to_ll.transform(*zip(*pts, strict=True))
        area = abs(geod.polygon_area_perimeter(lon, lat)[0])
        total += area if k == 0 else -area
    return total


def _mif(path: Path, *, charset: str, coordsys: str, name: bytes) -> Path:
    """A MIF/MID pair as MapInfo Professional 15 writes one: a region of two rings (the second
    inside the first: a hole), a text and a decimal column, GBK bytes for ``name``."""
    ring = "\n".join(f"{x:.2f} {y:.2f}" for x, y in [*OUTER, OUTER[0]])
    hole = "\n".join(f"{x:.2f} {y:.2f}" for x, y in [*HOLE, HOLE[0]])
    head = (
        f'Version   450\nCharset "{charset}"\nDelimiter ","\n{coordsys}\nColumns 2\n'
        "  地块名称 Char(50)\n  用地面积 Decimal(12, 2)\nData\n\n"
    )
    body = (
        f"Region  2\n  5\n{ring}\n  5\n{hole}\n    Pen (1,2,0)\n    Brush (2,16777215,16777215)\n"
    )
    path.write_bytes(head.encode("gbk") + body.encode("ascii"))
    path.with_suffix(".mid").write_bytes(b'"' + name + b'",13800.00\r\n')
    return path


GK108 = 'CoordSys Earth Projection 8, 104, "m", 108, 0, 1, 500000, 0'
SITE = "港区一号地".encode("gbk")


def _digest(folder: Path) -> dict[str, str]:
    files = (p for p in folder.iterdir() if p.is_file())
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in files}


def test_a_mapinfo_pro_mif_is_checked_with_its_hole_subtracted(tmp_path: Path) -> None:
    mif = _mif(tmp_path / "选址.mif", charset="WindowsSimpChinese", coordsys=GK108, name=SITE)
    res, sites = check_json(mif)
    assert sites[0]["site"] == "港区一号地" and sites[0]["site_field"] == "地块名称"
    assert sites[0]["area_m2"] == pytest.approx(_oracle_m2([OUTER, HOLE]), abs=0.01)
    assert sites[0]["warnings"] == []
    assert "14998" not in res.stdout  # the hole's 1 200 m² is not counted
    _, again = check_json(mif, "--encoding", "GBK")  # what the Charset says: nothing to say
    assert again == sites


def test_a_tab_set_with_windows_upper_case_names_is_read_by_check_and_analyze(
    tmp_path: Path,
) -> None:
    gdf = gpd.GeoDataFrame(
        {"地块名称": ["港区一号地"], "用地面积": [13800.0]},
        geometry=[shapely.Polygon(OUTER, [HOLE])],
        crs=4545,
    )
    src = tmp_path / "w"
    src.mkdir()
    pyogrio.write_dataframe(
        gdf, src / "a.tab", driver="MapInfo File", layer_options={"ENCODING": "CP936"}
    )
    for p in list(src.iterdir()):  # as copied off a Windows share: DK.TAB, DK.DAT...
        p.rename(src / ("DK" + p.suffix.upper()))
    assert b"WindowsSimpChinese" in (src / "DK.TAB").read_bytes()
    before = _digest(src)
    stored = pyogrio.read_dataframe(src / "DK.TAB").geometry.iloc[0]  # TAB coordinates are
    rings = [list(stored.exterior.coords)[:-1], list(stored.interiors[0].coords)[:-1]]  # gridded
    _, sites = check_json(src / "DK.TAB")
    assert sites[0]["site"] == "港区一号地"
    assert sites[0]["area_m2"] == pytest.approx(_oracle_m2(rings), abs=0.01)
    out = tmp_path / "out"
    res = qzgeo("analyze", "--parcels", src / "DK.TAB", "--out", out, "--no-progress")
    assert res.exit_code in (0, 1), res.output
    parcels = gpd.read_file(out / "internal" / "parcels.gpkg")
    assert parcels["地块名称"].tolist() == ["港区一号地"]
    assert parcels["area_m2"].iloc[0] == pytest.approx(_oracle_m2(rings), abs=0.01)
    assert _digest(src) == before


def test_neutral_charset_gbk_text_is_read_as_gbk_and_said(tmp_path: Path) -> None:
    mif = _mif(tmp_path / "n.mif", charset="Neutral", coordsys=GK108, name=SITE)
    _, sites = check_json(mif)
    assert sites[0]["site"] == "港区一号地"
    assert any('Charset "Neutral"' in w and "GB18030" in w for w in sites[0]["warnings"])
    _, sites = check_json(mif, "--encoding", "GBK")  # the user said it: nothing to say
    assert sites[0]["site"] == "港区一号地" and sites[0]["warnings"] == []


def test_gbk_under_a_latin_charset_is_said_and_encoding_reads_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An English MapInfo on a Chinese Windows: ``Charset "WindowsLatin1"`` over GBK bytes.
    The name starts with 丂 (GBK 0x81 0x40): 0x81 has no cp1252 character, so GDAL's own
    decoding loses it and the text cannot be mended afterwards, only read again."""
    mif = _mif(
        tmp_path / "l.mif", charset="WindowsLatin1", coordsys=GK108, name="丂港区".encode("gbk")
    )
    before = _digest(tmp_path)
    _, sites = check_json(mif)
    said = " ".join(sites[0]["warnings"])
    assert "'地块名称' as GBK" in said and "--encoding GBK" in said
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "tmp"))
    (tmp_path / "tmp").mkdir()
    _, sites = check_json(mif, "--encoding", "GBK")
    assert sites[0]["site"] == "丂港区"
    assert sites[0]["area_m2"] == pytest.approx(_oracle_m2([OUTER, HOLE]), abs=0.01)
    assert any("not as its header's Charset" in w for w in sites[0]["warnings"])
    assert list((tmp_path / "tmp").iterdir()) == []  # the re-labelled copy is gone
    assert _digest(tmp_path) == before


def test_mapinfo_xian80_on_its_own_ellipsoid_and_old_datums_refused(tmp_path: Path) -> None:
    """MapInfo datum 1017 (Xian 1980): refused as every old datum is; with --towgs84, the same
    positions as the data declared EPSG:2381 (Xian 1980 / GK CM 108E) in a GeoPackage."""
    xian = GK108.replace("8, 104,", "8, 1017,")
    mif = _mif(tmp_path / "xa.mif", charset="WindowsSimpChinese", coordsys=xian, name=SITE)
    assert_exit2(qzgeo("check", mif), "xa.mif", "Xian 1980", "--towgs84")
    ref = pyogrio.read_dataframe(mif).set_crs(2381, allow_override=True)
    ref.to_file(tmp_path / "ref.gpkg")
    _, mine = check_json(mif, "--towgs84", TOWGS84)
    _, theirs = check_json(tmp_path / "ref.gpkg", "--towgs84", TOWGS84)
    assert mine[0]["centroid"] == theirs[0]["centroid"]
    assert mine[0]["area_m2"] == theirs[0]["area_m2"]
    assert any("IAG 1975" in w for w in mine[0]["warnings"])
    beijing = GK108.replace("8, 104,", "8, 154,")
    mif = _mif(tmp_path / "bj.mif", charset="WindowsSimpChinese", coordsys=beijing, name=SITE)
    assert_exit2(qzgeo("check", mif), "bj.mif", "Beijing 1954", "--towgs84")


def test_nonearth_mif_needs_crs(tmp_path: Path) -> None:
    nonearth = 'CoordSys NonEarth Units "m" Bounds (0, 0) (40000000, 10000000)'
    mif = _mif(tmp_path / "ne.mif", charset="WindowsSimpChinese", coordsys=nonearth, name=SITE)
    assert_exit2(qzgeo("check", mif), "ne.mif", "--crs")
    _, sites = check_json(mif, "--crs", "EPSG:4545")
    assert sites[0]["area_m2"] == pytest.approx(_oracle_m2([OUTER, HOLE]), abs=0.01)


def _tab_header(path: Path, text: str) -> Path:
    path.write_text("!table\n!version 300\n!charset WindowsLatin1\n\n" + text, encoding="ascii")
    return path


@pytest.mark.parametrize(
    ("text", "said"),
    [
        ('Open Table "/etc/a" Hide\nCreate View v As Select * From a\n', "type VIEW"),
        ('Definition Table\n  Type LINKED Charset "WindowsLatin1"\n', "type LINKED"),
        ("Definition Table\n  Type RASTER\n", "type RASTER"),
        (
            'Definition Table\n  Type NATIVE Charset "WindowsLatin1"\n  Fields 1\n'
            '    Table Char (254) ;\nbegin_metadata\n"\\IsSeamless" = "TRUE"\nend_metadata\n',
            "a seamless table",
        ),
        (  # 300 fields: the seamless flag lies past the first 4 kB
            'Definition Table\n  Type NATIVE Charset "WindowsLatin1"\n  Fields 300\n'
            + "".join(f"    F{i:03d} Char (254) ;\n" for i in range(300))
            + 'begin_metadata\n"\\IsSeamless" = "TRUE"\nend_metadata\n',
            "a seamless table",
        ),
    ],
)
def test_tables_that_name_other_files_are_refused(tmp_path: Path, text: str, said: str) -> None:
    tab = _tab_header(tmp_path / "v.tab", text)
    for args in (["check", tab], ["convert", tab, tmp_path / "o.gpkg"]):
        assert_exit2(qzgeo(*args), "v.tab", said, "Save Copy As")
    assert not (tmp_path / "o.gpkg").exists()


def test_incomplete_sets_and_impostors_are_refused(tmp_path: Path) -> None:
    tab = _tab_header(tmp_path / "a.tab", 'Definition Table\n  Type NATIVE Charset "Neutral"\n')
    assert_exit2(qzgeo("check", tab), "a.tab", ".dat and .map files are missing", "together")
    (tmp_path / "a.DAT").write_bytes(b"")
    assert_exit2(qzgeo("check", tab), "a.tab", ".map file is missing")
    mif = _mif(tmp_path / "b.mif", charset="WindowsSimpChinese", coordsys=GK108, name=SITE)
    mif.with_suffix(".mid").unlink()
    assert_exit2(qzgeo("check", mif), "b.mif", ".mid file is missing")
    (tmp_path / "c.mif").write_text("<OGRVRTDataSource/>", encoding="ascii")
    assert_exit2(qzgeo("check", tmp_path / "c.mif"), "c.mif", "virtual data source")
    (tmp_path / "e.mif").write_text("POLYGON ((0 0, 1 0, 1 1, 0 0))", encoding="ascii")
    assert_exit2(qzgeo("check", tmp_path / "e.mif"), "e.mif", "not a MapInfo interchange")
    (tmp_path / "d.tab").write_text("hello", encoding="ascii")
    assert_exit2(qzgeo("check", tmp_path / "d.tab"), "d.tab", "not a MapInfo table")


def test_convert_takes_a_mif_to_a_geopackage(tmp_path: Path) -> None:
    mif = _mif(tmp_path / "n.mif", charset="Neutral", coordsys=GK108, name=SITE)
    out = tmp_path / "n.gpkg"
    res = qzgeo("convert", mif, out)
    assert res.exit_code == 0, res.output
    back = gpd.read_file(out)
    assert back["地块名称"].tolist() == ["港区一号地"]
    with sqlite3.connect(out) as db:  # what QGIS shows as the layer's abstract
        (desc,) = db.execute("SELECT description FROM gpkg_contents").fetchone()
    assert 'n.mif: its header says Charset "Neutral"' in desc and "GB18030" in desc


def test_a_pack_layer_in_mapinfo_publishes_the_same_figures(tmp_path: Path) -> None:
    """A new city's zones kept in MapInfo (Charset "Neutral", GBK, as older tables are): the
    same zone figures as the GeoJSON they came from, and the note (with the fix a catalog
    layer takes: its Charset line) in report.json."""
    pack = tmp_path / "hp"
    assert qzgeo("new-pack", pack, "--center", "126.6,45.7").exit_code == 0
    outs = {}
    for kind in ("geojson", "mif"):
        if kind == "mif":
            zones = pyogrio.read_dataframe(pack / "layers" / "zones.geojson")
            mif = pack / "layers" / "zones.mif"
            pyogrio.write_dataframe(
                zones, mif, driver="MapInfo File", layer_options={"ENCODING": "CP936"}
            )
            mif.write_bytes(mif.read_bytes().replace(b"WindowsSimpChinese", b"Neutral"))
            catalog = pack / "layers" / "catalog.toml"
            text = catalog.read_text(encoding="utf-8")
            catalog.write_text(text.replace('"zones.geojson"', '"zones.mif"'), encoding="utf-8")
        res = qzgeo("publish", "--pack", pack, "--out", tmp_path / kind)
        assert res.exit_code == 0, res.output
        rows = (tmp_path / kind / "internal" / "zone_summary.csv").read_text("utf-8-sig")
        outs[kind] = [r for r in csv.DictReader(io.StringIO(rows))]
    for row in outs["mif"]:  # feature ids: MapInfo counts from 1, GeoJSON from 0
        row["要素编号"] = str(int(row["要素编号"]) - 1)
    assert outs["mif"] == outs["geojson"]
    report = json.loads((tmp_path / "mif" / "internal" / "report.json").read_text("utf-8"))
    said = " ".join(report["warnings"])
    assert 'zones.mif: its header says Charset "Neutral"' in said and "Charset line" in said


def test_a_tab_under_a_latin_charset_is_read_as_gbk_when_asked(tmp_path: Path) -> None:
    """A .tab says its charset twice (``!charset`` and in its ``Definition Table``): both are
    re-labelled in the copy read for ``--encoding``."""
    gdf = gpd.GeoDataFrame(
        {"地块名称": ["港区一号地"]}, geometry=[shapely.Polygon(OUTER, [HOLE])], crs=4545
    )
    tab = tmp_path / "dk.tab"
    pyogrio.write_dataframe(gdf, tab, driver="MapInfo File", layer_options={"ENCODING": "CP936"})
    header = tab.read_bytes()
    assert header.count(b"WindowsSimpChinese") == 2
    tab.write_bytes(header.replace(b"WindowsSimpChinese", b"WindowsLatin1"))
    _, sites = check_json(tab)
    assert "--encoding GBK" in " ".join(sites[0]["warnings"])
    _, sites = check_json(tab, "--encoding", "GBK")
    assert sites[0]["site"] == "港区一号地"
