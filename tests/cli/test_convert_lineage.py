"""What `qzgeo convert` assumed travels with the GeoPackage it writes, not only to stderr.

A GBK Shapefile without a .cpg, converted to a GeoPackage, was read as GB18030 with a note on
the terminal; the GeoPackage itself held no trace of the guess, and whoever opened it in QGIS
later could not know. The notes (encoding guessed, repairs, invalid geometries copied) are now
the layer's ``gpkg_contents.description``, which QGIS shows as the layer's abstract. Read here
with sqlite3, not with qzgeo.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import geopandas as gpd
import shapely
from support import run_qgis

from tests.cli._cli import qzgeo


def _description(gpkg: Path) -> str:
    with sqlite3.connect(gpkg) as con:
        ((text,),) = con.execute("SELECT description FROM gpkg_contents").fetchall()
    return str(text or "")


def _gbk_shapefile_without_cpg(tmp_path: Path) -> Path:
    shp = tmp_path / "宗地.shp"
    gdf = gpd.GeoDataFrame(
        {"名称": ["王堃地块"]},
        geometry=[shapely.box(542_000, 2_427_000, 542_300, 2_427_300)],
        crs="EPSG:4545",
    )
    gdf.to_file(shp, encoding="GBK")
    shp.with_suffix(".cpg").unlink()
    return shp


def test_the_encoding_guess_is_in_the_layer_description(tmp_path: Path) -> None:
    shp = _gbk_shapefile_without_cpg(tmp_path)
    out = tmp_path / "out.gpkg"
    res = qzgeo("convert", shp, out)
    assert res.exit_code == 0, res.output
    told = _description(out)
    assert told.startswith("qzgeo convert of 宗地.shp"), told
    assert "no .cpg file" in told and "GB18030" in told, told
    assert str(tmp_path) not in told  # the file's name, not where it was on this machine
    assert gpd.read_file(out)["名称"].tolist() == ["王堃地块"]
    first = out.read_bytes()
    res = qzgeo("convert", shp, out, "--overwrite")
    assert res.exit_code == 0, res.output
    assert out.read_bytes() == first  # a re-run is byte-identical


def test_repairs_are_in_the_description_and_a_clean_copy_says_nothing(tmp_path: Path) -> None:
    src = tmp_path / "parcels.geojson"
    bowtie = shapely.Polygon([(108.60, 21.90), (108.61, 21.91), (108.61, 21.90), (108.60, 21.91)])
    gdf = gpd.GeoDataFrame(
        {"名称": ["甲", "乙"]},
        geometry=[bowtie, shapely.box(108.62, 21.90, 108.63, 21.91)],
        crs="EPSG:4490",
    )
    gdf.to_file(src)
    copied, repaired = tmp_path / "copied.gpkg", tmp_path / "repaired.gpkg"
    assert qzgeo("convert", src, copied).exit_code == 0
    assert "1 invalid geometry copied unchanged" in _description(copied)
    assert qzgeo("convert", src, repaired, "--repair").exit_code == 0
    told = _description(repaired)
    assert "Repair: feature" in told, told
    clean = tmp_path / "clean.gpkg"
    assert qzgeo("convert", repaired, clean).exit_code == 0
    assert _description(clean) == ""


_ABSTRACT = """
import json, sys
from qgis.core import QgsApplication, QgsVectorLayer
spec = json.load(open(sys.argv[1], encoding="utf-8"))
app = QgsApplication([], False)
app.initQgis()
layer = QgsVectorLayer(spec["gpkg"], "x", "ogr")
answer = {"valid": layer.isValid(), "abstract": layer.metadata().abstract()}
json.dump(answer, open(spec["out"], "w", encoding="utf-8"), ensure_ascii=False)
"""


def test_qgis_shows_the_notes_as_the_layer_abstract(tmp_path: Path) -> None:
    out = tmp_path / "out.gpkg"
    assert qzgeo("convert", _gbk_shapefile_without_cpg(tmp_path), out).exit_code == 0
    spec = {"gpkg": str(out), "out": str(tmp_path / "seen.json")}
    seen = run_qgis(_ABSTRACT, spec, tmp_path / "qgis")  # skips without QGIS, but in CI
    assert seen["valid"]
    assert seen["abstract"] == _description(out)
    assert "no .cpg file" in seen["abstract"]


def test_many_repairs_keep_their_count_and_say_how_many_more(tmp_path: Path) -> None:
    src = tmp_path / "bowties.geojson"
    corners = [(0.0, 0.0), (0.0009, 0.0009), (0.0009, 0.0), (0.0, 0.0009)]  # a bow-tie
    bowties = [
        shapely.Polygon([(108.6 + i / 1e3 + dx, 21.9 + dy) for dx, dy in corners])
        for i in range(120)
    ]
    gpd.GeoDataFrame({"n": range(120)}, geometry=bowties, crs="EPSG:4490").to_file(src)
    out = tmp_path / "out.gpkg"
    assert qzgeo("convert", src, out, "--repair").exit_code == 0
    lines = _description(out).splitlines()
    assert len(lines) == 52  # the heading, 49 repairs, the count of the rest, the total
    assert lines[-2] == "... and 71 more (run qzgeo convert again to see them)"
    assert lines[-1].startswith("120 feature(s) repaired"), lines[-1]
