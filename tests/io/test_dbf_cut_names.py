"""A DBF field name cut inside a character by the 10-byte limit, in a shapefile with no .cpg.

Found in round 16's audit: GBK ``A用地性质分类`` is 13 bytes; cut to 10 it ends in half a
character. Without a .cpg the file was refused as "neither UTF-8 nor GBK; pass the encoding,
e.g. big5", though its text is GBK and GDAL reads it so (the cut character dropped). It reads
now, with a note naming the cut field; a UTF-8 one is told its field name was cut.
"""

from __future__ import annotations

import struct
from pathlib import Path

import geopandas as gpd
import pytest
import shapely

from qzgeo._errors import InputError
from qzgeo.io.vector import read_layer
from qzgeo.notices import notices_of

E0, N0 = 36_566_227.0, 2_400_719.0


def _shapefile(path: Path, encoding: str, name: str) -> Path:
    """Fields 名称 and PLACEHOLDR in ``encoding``; PLACEHOLDR renamed to ``name`` cut to 10
    bytes, as a tool that cuts names by bytes writes it. No .cpg."""
    boxes = [shapely.box(E0 + 300 * i, N0, E0 + 300 * i + 200, N0 + 200) for i in range(2)]
    data = {"名称": ["地块甲", "地块乙"], "PLACEHOLDR": ["工业", "商业"]}
    gpd.GeoDataFrame(data, geometry=boxes, crs=4524).to_file(
        path, engine="pyogrio", encoding=encoding
    )
    path.with_suffix(".cpg").unlink(missing_ok=True)
    dbf = path.with_suffix(".dbf")
    raw = bytearray(dbf.read_bytes())
    (header_len,) = struct.unpack("<H", raw[8:10])
    for k in range(32, header_len - 1, 32):
        if raw[k : k + 10] == b"PLACEHOLDR":
            raw[k : k + 11] = name.encode(encoding)[:10] + b"\0"
    dbf.write_bytes(bytes(raw))
    return path


def test_a_gbk_name_cut_inside_a_character_reads(tmp_path: Path) -> None:
    gdf = read_layer(_shapefile(tmp_path / "宗地.shp", "GBK", "A用地性质分类"))
    assert gdf["名称"].tolist() == ["地块甲", "地块乙"]
    assert gdf["A用地性质"].tolist() == ["工业", "商业"]
    said = " ".join(str(n) for n in notices_of(gdf))
    assert "'A用地性质' were cut inside a character" in said, said
    assert "big5" not in said


def test_a_utf8_name_cut_inside_a_character_is_told_so(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="field name cut inside a character") as err:
        read_layer(_shapefile(tmp_path / "宗地.shp", "UTF-8", "AB用地性质"))  # AB + 2⅔ chars
    assert "big5" not in str(err.value)
