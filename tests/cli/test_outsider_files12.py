"""GIS staff of a 自然资源局 running qzgeo on their own files (round files12).

Each case is a file as another producer writes it (GDAL/ogr2ogr through pyogrio, or bytes
written by hand) and what ArcGIS or the user then sees. Expected numbers come from the DBF
bytes themselves or from pyproj.Geod on the rings, sharing no code with qzgeo.
"""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow as pa
import pyogrio
import pytest
import shapely
from _cli import assert_exit2, check_json, qzgeo, warnings_of
from pyproj import Geod, Transformer

_INT64 = {pa.int64(): pd.Int64Dtype()}.get
X0, Y0 = 570244.0, 2428420.0  # EPSG:4545 metres inside 钦州高新区 (108.68E, 21.95N)


def _dbf_fields(dbf: Path) -> dict[str, tuple[str, int, int]]:
    """Name → (type, width, decimals) of every field, read from the DBF header bytes."""
    data = dbf.read_bytes()
    header_len = int.from_bytes(data[8:10], "little")
    out = {}
    for k in range(32, header_len - 1, 32):
        desc = data[k : k + 32]
        if desc[:1] == b"\r":
            break
        name = desc[:11].split(b"\0", 1)[0].decode("ascii")
        out[name] = (desc[11:12].decode("ascii"), desc[16], desc[17])
    return out


def test_convert_to_shp_writes_gpkg_integers_that_fit_32_bits_as_long(tmp_path: Path) -> None:
    """A GeoPackage INTEGER is 64-bit, and GDAL wrote every such column to a DBF as N(18,0)
    or N(19,0), which ArcGIS opens as Double: 标识码 1, 2 became 1.0, 2.0. Integers that fit
    in 32 bits are written as a DBF long (N(≤11,0)); a 19-digit 宗地代码 keeps every digit."""
    boxes = [shapely.box(X0 + 1000 * i, Y0, X0 + 1000 * i + 300, Y0 + 300) for i in range(2)]
    codes = [4507020010010000001, 4507020010010000002]
    src = tmp_path / "宗地.gpkg"
    gdf = gpd.GeoDataFrame(
        {
            "BSM": np.array([1, 2], dtype="int64"),
            "NEG": np.array([-2_147_483_648, 2_147_483_647], dtype="int64"),
            "ZDDM": np.array(codes, dtype="int64"),
            "BIG": np.array([1, 2_147_483_648], dtype="int64"),
        },
        geometry=boxes,
        crs=4545,
    )
    gdf.to_file(src, layer="zd")
    out = tmp_path / "宗地.shp"
    res = qzgeo("convert", src, out)
    assert res.exit_code == 0, res.output
    fields = _dbf_fields(out.with_suffix(".dbf"))
    assert fields["BSM"] == ("N", 9, 0), fields
    assert fields["NEG"][0] == "N" and fields["NEG"][1] <= 11, fields
    assert pyogrio.read_info(out)["dtypes"][0] == "int32"
    back = pyogrio.read_dataframe(out, ADJUST_TYPE="YES")
    assert back["BSM"].tolist() == [1, 2]
    assert back["NEG"].tolist() == [-2_147_483_648, 2_147_483_647]
    assert back["ZDDM"].tolist() == codes
    assert back["BIG"].tolist() == [1, 2_147_483_648]


def _sqlite_column(gpkg: Path, table: str, column: str) -> list[object]:
    with closing(sqlite3.connect(gpkg)) as con:
        return [r[0] for r in con.execute(f'SELECT "{column}" FROM "{table}" ORDER BY fid')]


def test_19_digit_codes_with_a_null_keep_every_digit(tmp_path: Path) -> None:
    """One parcel without a 宗地代码 (NULL) made pandas read the whole column as floats:
    convert and analyze wrote 4507020010010000001 and …002 both as 4.50702001001e+18 (the
    shapefile, the GeoPackage as REAL), and no warning said so."""
    boxes = [shapely.box(X0 + 1000 * i, Y0, X0 + 1000 * i + 300, Y0 + 300) for i in range(3)]
    codes = [4507020010010000001, 4507020010010000002, None]
    src = tmp_path / "宗地.gpkg"
    gdf = gpd.GeoDataFrame(
        {"ZDDM": pd.array(codes, dtype="Int64"), "BSM": [1, 2, 3]}, geometry=boxes, crs=4545
    )
    pyogrio.write_dataframe(gdf, src, layer="zd", use_arrow=True)
    assert _sqlite_column(src, "zd", "ZDDM") == codes  # the file as GDAL wrote it
    for out, table in ((tmp_path / "o.gpkg", "o"), (tmp_path / "o.shp", None)):
        res = qzgeo("convert", src, out)
        assert res.exit_code == 0, res.output
        if table is not None:
            assert _sqlite_column(out, table, "ZDDM") == codes
        else:
            back = pyogrio.read_dataframe(
                out,
                ADJUST_TYPE="YES",
                use_arrow=True,
                arrow_to_pandas_kwargs={"types_mapper": _INT64},
            )
            assert back["ZDDM"].tolist() == [*codes[:2], pd.NA]
    for extra in ([], ["--chunk-rows", "1"]):
        res = qzgeo("analyze", "--parcels", src, "--out", tmp_path / "out", *extra)
        assert res.exit_code == 0, res.output
        parcels = tmp_path / "out" / "internal" / "parcels.gpkg"
        assert sorted(map(str, _sqlite_column(parcels, "parcels", "ZDDM"))) == sorted(
            map(str, codes)
        )


def test_latin1_csv_is_not_told_it_is_gbk(tmp_path: Path) -> None:
    """A CSV from a Western Windows (Latin-1/cp1252) was told "it decodes as GBK: pass
    --encoding GBK": bytes that are not UTF-8 nearly always decode as GBK, and 'Cafés' read so
    is 'Caf閟'. The message shows the line read both ways and names both fixes."""
    ring = f"{X0} {Y0},{X0 + 300} {Y0},{X0 + 300} {Y0 + 300},{X0} {Y0 + 300},{X0} {Y0}"
    src = tmp_path / "sites.csv"
    src.write_bytes(f'NAME,WKT\r\nCafés,"POLYGON(({ring}))"\r\n'.encode("cp1252"))
    out = tmp_path / "sites.gpkg"
    res = qzgeo("convert", src, out, "--crs", "EPSG:4545")
    assert_exit2(res, "sites.csv", "line 2", "'Cafés", "'Caf閟", "--encoding cp1252")
    assert "it decodes as GBK" not in res.output
    res = qzgeo("convert", src, out, "--crs", "EPSG:4545", "--encoding", "cp1252")
    assert res.exit_code == 0, res.output
    assert pyogrio.read_dataframe(out)["NAME"].tolist() == ["Cafés"]


def _two_layers(folder: Path, *, driver: str) -> Path:
    """宗地 (a parcel) and 选址 (a site) as two feature classes of a FileGDB, or two
    shapefiles of one folder: what a bureau hands out."""
    zd = shapely.box(X0, Y0, X0 + 300, Y0 + 300)
    xz = shapely.box(X0 + 1000, Y0, X0 + 1200, Y0 + 200)
    for i, (name, geom) in enumerate((("宗地", zd), ("选址", xz))):
        gdf = gpd.GeoDataFrame({"BSM": [i]}, geometry=[geom], crs=4545)
        if driver == "OpenFileGDB":
            options = {"FEATURE_DATASET": "规划"}
            pyogrio.write_dataframe(
                gdf, folder, layer=name, driver=driver, append=i > 0, layer_options=options
            )
        else:
            folder.mkdir(exist_ok=True)
            pyogrio.write_dataframe(gdf, folder / f"{name}.shp", driver=driver)
    return folder


@pytest.mark.parametrize(
    ("name", "driver"), [("宗地.gdb", "OpenFileGDB"), ("shp", "ESRI Shapefile")]
)
def test_a_folder_of_several_layers_is_not_read_as_its_first(
    tmp_path: Path, name: str, driver: str
) -> None:
    """A FileGDB (or a folder of shapefiles) of two feature classes: check, analyze and
    convert read the first and said nothing, while a GeoPackage of two layers is refused."""
    src = _two_layers(tmp_path / name, driver=driver)
    pick = f"{src}:选址" if driver == "OpenFileGDB" else f"{src / '选址'}.shp"
    out = tmp_path / "out"
    for args in (
        ["check", src],
        ["analyze", "--parcels", src, "--out", out],
        ["convert", src, out.with_suffix(".gpkg")],
    ):
        assert_exit2(qzgeo(*args), str(src), "宗地, 选址", pick)
    _, [site] = check_json(pick)
    assert site["area_m2"] == pytest.approx(40_000, rel=1e-3)


def test_a_filegdb_gdal_cannot_open_is_not_told_to_use_a_driver_prefix(tmp_path: Path) -> None:
    """A .gdb copied without its system catalog (``a00000001.gdbtable``, as an interrupted
    copy leaves it): the message passed on GDAL's "specify the driver by prefixing the path
    with '<DRIVER>:'", a path qzgeo itself refuses."""
    src = _two_layers(tmp_path / "宗地.gdb", driver="OpenFileGDB")
    (src / "a00000001.gdbtable").unlink()
    res = qzgeo("check", f"{src}:宗地")
    assert_exit2(res, str(src), "corrupt or truncated")
    assert "<DRIVER>:" not in res.output and "prefixing" not in res.output


def test_a_folder_of_mapinfo_tables_is_not_read_past_the_allow_list(tmp_path: Path) -> None:
    """A folder of MapInfo .tab files (GBK, as 国土 offices keep them): ``mi/地块.tab`` is
    refused (not on the driver allow-list), but the folder itself was read through GDAL's
    MapInfo driver. Only a FileGDB or a folder of shapefiles is read as a folder."""
    folder = tmp_path / "mi"
    folder.mkdir()
    gdf = gpd.GeoDataFrame(
        {"DLMC": ["工业用地"]}, geometry=[shapely.box(X0, Y0, X0 + 300, Y0 + 300)], crs=4545
    )
    pyogrio.write_dataframe(gdf, folder / "地块.tab", driver="MapInfo File", encoding="GBK")
    assert pyogrio.read_info(folder)["driver"] == "MapInfo File"  # what GDAL would use
    out = tmp_path / "out"
    for args in (["check", folder], ["analyze", "--parcels", folder, "--out", out]):
        assert_exit2(qzgeo(*args), str(folder), "this one holds no .shp")
    assert_exit2(qzgeo("convert", folder, tmp_path / "o.gpkg"), str(folder), "allow-list")


def _gbk_shapefile(path: Path, cpg: str | None) -> Path:
    """A shapefile as ArcGIS on Chinese Windows writes it: GBK text, a .cpg (or none), a
    spatial index (.sbn/.sbx) and metadata (.shp.xml) beside it."""
    boxes = [shapely.box(X0, Y0, X0 + 300, Y0 + 300)]
    gdf = gpd.GeoDataFrame({"DLMC": ["工业用地"]}, geometry=boxes, crs=4545)
    pyogrio.write_dataframe(gdf, path, encoding="GBK")
    for ext in (".sbn", ".sbx"):
        path.with_suffix(ext).write_bytes(b"\x00\x00\x27\x0a" + b"\0" * 96)
    path.with_name(path.name + ".xml").write_text("<metadata/>", encoding="utf-8")
    if cpg is None:
        path.with_suffix(".cpg").unlink()
    else:
        path.with_suffix(".cpg").write_text(cpg, encoding="ascii")
    return path


def test_gbk_values_under_a_utf8_cpg_are_not_blamed_on_a_cut_field_name(tmp_path: Path) -> None:
    """The values of DLMC are GBK, the .cpg says UTF-8: the message guessed "a DBF field name
    cut inside a character?" and told to rename the field, whose name is plain ASCII."""
    src = _gbk_shapefile(tmp_path / "地块.shp", "UTF-8")
    res = qzgeo("check", src)
    assert_exit2(res, str(src), "field 'DLMC'", "its .cpg says 'UTF-8'", "--encoding GBK")
    assert "field name cut" not in res.output and "Rename the field" not in res.output


def test_latin1_dbf_under_a_utf8_cpg_is_not_told_it_is_gbk(tmp_path: Path) -> None:
    """A DBF of cp1252 text beside a .cpg of UTF-8 was told "it decodes as GBK: pass
    --encoding GBK" ('Cafés' read so is 'Caf閟'): the value is shown read both ways."""
    src = tmp_path / "sites.shp"
    gdf = gpd.GeoDataFrame(
        {"NAME": ["Cafés"]}, geometry=[shapely.box(X0, Y0, X0 + 300, Y0 + 300)], crs=4545
    )
    pyogrio.write_dataframe(gdf, src, encoding="cp1252")
    src.with_suffix(".cpg").write_text("UTF-8", encoding="ascii")
    res = qzgeo("check", src)
    assert_exit2(res, str(src), "its .cpg says 'UTF-8'", "'Cafés'", "'Caf閟", "--encoding cp1252")
    assert "it decodes as GBK" not in res.output
    _, [site] = check_json(src, "--encoding", "cp1252", "--label-field", "NAME")
    assert site["site"] == "Cafés"


@pytest.mark.parametrize("crs", ["EPSG:4555", "+proj=longlat +ellps=krass +no_defs"])
def test_new_beijing_and_krassowsky_lonlat_are_not_taken_for_cgcs2000(
    tmp_path: Path, crs: str
) -> None:
    """New Beijing (新北京54, EPSG:4555) and a PROJ string on the Krassowsky ellipsoid without
    +towgs84 lie tens of metres from CGCS2000 like Beijing 1954, but only datums named Xian
    1980 or Beijing 1954 were refused: these were read as CGCS2000 with no word (PROJ's
    ballpark transformation moves nothing)."""
    ring = "108.68 21.95,108.683 21.95,108.683 21.953,108.68 21.953,108.68 21.95"
    src = tmp_path / "sites.csv"
    src.write_text(f'NAME,WKT\nA,"POLYGON(({ring}))"\n', encoding="utf-8")
    res = qzgeo("check", src, "--crs", crs, "--format", "json")
    assert_exit2(res, "sites.csv", "Krass", "Beijing 1954", "--towgs84", "--assume-datum")
    _, [site] = check_json(src, "--crs", crs, "--assume-datum-shift-negligible")
    assert "positions may be off by tens of metres" in "\n".join(site["warnings"])


def test_convert_into_a_path_under_a_file_names_it(tmp_path: Path) -> None:
    """OUT under a name that is a file (宗地.csv/宗地.gpkg, a typo for 宗地/宗地.gpkg): the
    message was a bare "[Errno 17] File exists: '宗地.csv'"."""
    src = tmp_path / "sites.gpkg"
    gdf = gpd.GeoDataFrame(geometry=[shapely.box(X0, Y0, X0 + 300, Y0 + 300)], crs=4545)
    gdf.to_file(src)
    (tmp_path / "宗地.csv").write_text("x\n", encoding="utf-8")
    res = qzgeo("convert", src, tmp_path / "宗地.csv" / "宗地.gpkg")
    assert_exit2(res, f"{tmp_path / '宗地.csv'} is a file, not a folder", "choose another OUT")


def test_a_wrong_prj_is_not_fixed_by_the_crs_option_it_names(tmp_path: Path) -> None:
    """A shapefile of zone-prefixed eastings (36 570 244) whose .prj says CGCS2000 CM 108E
    without the prefix (EPSG:4545; ArcGIS exports often pair them so): the message said "use
    EPSG:4524", but --crs EPSG:4524 is ignored for a file with a .prj, and gave it again."""
    src = tmp_path / "宗地.shp"
    box = shapely.box(36_000_000 + X0, Y0, 36_000_000 + X0 + 300, Y0 + 300)
    gpd.GeoDataFrame({"BSM": [1]}, geometry=[box], crs=4545).to_file(src)
    for extra in ([], ["--crs", "EPSG:4524"]):
        res = qzgeo("check", src, *extra)
        assert_exit2(res, str(src), "use EPSG:4524", "the .prj", "--crs does not replace")


def test_swap_xy_applies_to_a_shapefile_it_is_suggested_for(tmp_path: Path) -> None:
    """A shapefile from CAD with X the northing (测量坐标: X north, Y east): the message
    suggested --swap-xy, which was silently ignored for anything but a 界址点 .txt."""
    src = tmp_path / "宗地.shp"
    box = shapely.box(Y0, X0, Y0 + 300, X0 + 200)  # northing first
    gpd.GeoDataFrame({"BSM": [1]}, geometry=[box], crs=4545).to_file(src)
    assert_exit2(qzgeo("check", src), str(src), "swapped X/Y", "--swap-xy")
    _, [site] = check_json(src, "--swap-xy")
    ring = shapely.box(X0, Y0, X0 + 200, Y0 + 300)
    lon, lat = Transformer.from_crs(4545, 4490, always_xy=True).transform(
        *np.asarray(shapely.segmentize(ring, 5.0).exterior.coords).T
    )
    expected = abs(Geod(ellps="GRS80").polygon_area_perimeter(lon, lat)[0])
    assert site["area_m2"] == pytest.approx(expected, abs=0.02)
    assert "X and Y exchanged (--swap-xy)" in "\n".join(site["warnings"])


def test_a_latin1_dbf_without_cpg_read_as_gbk_shows_both_readings(tmp_path: Path) -> None:
    """No .cpg, text in cp1252: it decodes as GB18030 too, and is read so (the documented
    guess). The note only said "decodes as GB18030"; it now shows the text read both ways,
    so that 'Caf閟' beside 'Cafés' tells the user which --encoding to give."""
    src = tmp_path / "sites.shp"
    gdf = gpd.GeoDataFrame(
        {"NAME": ["Cafés"]}, geometry=[shapely.box(X0, Y0, X0 + 300, Y0 + 300)], crs=4545
    )
    pyogrio.write_dataframe(gdf, src, encoding="cp1252")
    src.with_suffix(".cpg").unlink()
    _, [site] = check_json(src)
    said = "\n".join(site["warnings"])
    assert "read as GB18030" in said and "'Caf閟'" in said and "'Cafés'" in said, said


def test_a_filegdb_boundary_feature_class_is_a_boundary(tmp_path: Path) -> None:
    """三线.gdb with feature classes 城镇开发边界 and 生态保护红线 and no class column (how a
    bureau exports them): each took the class "三线" from the file name, so the development
    boundary was an exclusion and a site wholly inside it was a conflict."""
    gdb = tmp_path / "三线.gdb"
    layers = {
        "城镇开发边界": shapely.box(X0 - 1000, Y0 - 1000, X0 + 1000, Y0 + 1000),
        "生态保护红线": shapely.box(X0 + 5000, Y0, X0 + 5100, Y0 + 100),
    }
    for i, (name, geom) in enumerate(layers.items()):
        gdf = gpd.GeoDataFrame({"BSM": [i]}, geometry=[geom], crs=4545)
        pyogrio.write_dataframe(gdf, gdb, layer=name, driver="OpenFileGDB", append=i > 0)
    site = tmp_path / "选址.geojson"
    box = shapely.box(X0, Y0, X0 + 300, Y0 + 300)
    gpd.GeoDataFrame({"名称": ["甲"]}, geometry=[box], crs=4545).to_file(site)
    args = [
        "--no-pack",
        "--constraint",
        f"{gdb}:城镇开发边界",
        "--constraint",
        f"{gdb}:生态保护红线",
    ]
    _, [got] = check_json(site, *args)
    assert got["verdict"] == "clear" and got["conflicts"] == []
    assert got["development_boundary"]["class"] == "城镇开发边界"
    assert got["development_boundary"]["inside_share"] == 1.0


def test_a_utf16_csv_is_told_it_is_utf16(tmp_path: Path) -> None:
    """A CSV saved as UTF-16 with a byte-order mark (Notepad's "Unicode"): the message showed
    its first line "read as GBK" and told to pass --encoding GBK or cp1252; with --encoding
    utf-16 GDAL still cannot read it. Only saving it as UTF-8 helps."""
    ring = "108.68 21.95,108.683 21.95,108.683 21.953,108.68 21.953,108.68 21.95"
    src = tmp_path / "选址.csv"
    src.write_bytes(b"\xff\xfe" + f'名称,WKT\r\n甲,"POLYGON(({ring}))"\r\n'.encode("utf-16-le"))
    for extra in ([], ["--encoding", "utf-16"]):
        res = qzgeo("check", src, "--crs", "EPSG:4490", *extra)
        assert_exit2(res, str(src), "UTF-16", "save it as UTF-8")
        assert "--encoding GBK" not in res.output


def test_utf8_text_under_a_gbk_cpg_is_said(tmp_path: Path) -> None:
    """A UTF-8 DBF beside a .cpg of GBK (copied from another export, or left by an older
    tool): the text was read as GB18030 without a word, 工业用地 became 宸ヤ笟鐢ㄥ湴 in every
    output. It is still read as the .cpg says, and a note shows the UTF-8 reading."""
    src = tmp_path / "地块.shp"
    gdf = gpd.GeoDataFrame(
        {"DLMC": ["工业用地"]}, geometry=[shapely.box(X0, Y0, X0 + 300, Y0 + 300)], crs=4545
    )
    pyogrio.write_dataframe(gdf, src, encoding="UTF-8")
    src.with_suffix(".cpg").write_text("GBK", encoding="ascii")
    _, [site] = check_json(src, "--label-field", "DLMC")
    said = "\n".join(site["warnings"])
    assert ".cpg says 'GBK'" in said and "'工业用地'" in said and "--encoding UTF-8" in said, said
    _, [site] = check_json(src, "--label-field", "DLMC", "--encoding", "UTF-8")
    assert site["site"] == "工业用地"


def test_codes_a_filegdb_kept_as_double_are_said_to_be_rounded(tmp_path: Path) -> None:
    """An ArcGIS 10.x FileGDB has no 64-bit integers: GDAL (like ArcGIS) writes a 19-digit
    宗地代码 as a Double, and 4507020010010000001 and …002 read back as one number. That is
    in the file before qzgeo reads it, but nothing said so: the report now does."""
    gdb = tmp_path / "宗地.gdb"
    boxes = [shapely.box(X0 + 1000 * i, Y0, X0 + 1000 * i + 300, Y0 + 300) for i in range(2)]
    codes = np.array([4507020010010000001, 4507020010010000002], dtype="int64")
    gdf = gpd.GeoDataFrame({"ZDDM": codes, "MJ": [1.5, 2.25]}, geometry=boxes, crs=4545)
    with pytest.warns(RuntimeWarning, match="Float64"):  # GDAL says so when writing
        pyogrio.write_dataframe(gdf, gdb, layer="zd", driver="OpenFileGDB")
    assert pyogrio.read_info(gdb)["dtypes"][0] == "float64"
    _, sites = check_json(f"{gdb}:zd")
    said = warnings_of(sites)
    assert "field 'ZDDM' holds whole numbers of 16 digits and more" in said, said
    assert "'MJ'" not in said
    out = tmp_path / "out"
    assert qzgeo("analyze", "--parcels", gdb, "--out", out).exit_code == 0
    report = (out / "internal" / "parcels_report.json").read_text(encoding="utf-8")
    assert "field 'ZDDM' holds whole numbers" in report
