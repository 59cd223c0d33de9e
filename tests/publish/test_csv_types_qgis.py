"""The summary CSVs opened in the real QGIS (python3-qgis): numbers are numbers, names text.

QGIS opens a CSV dragged in or picked in the Browser with GDAL's CSV driver, which reads every
column as text unless a ``.csvt`` beside it gives the types: a 地块数 column then sorted 1, 10,
2 and could not be summed. The Data Source Manager's delimited-text reader guesses types
instead, and took a zone named ``007`` for the number 7. The oracle is the CSV read back with
Python's ``csv``: a column whose every cell is a number must come out of QGIS as that number,
and the name columns as their text.
"""

from __future__ import annotations

import csv
import io
import textwrap
from pathlib import Path

import geopandas as gpd
import shapely
from click.testing import CliRunner
from support import run_qgis

from qzgeo.cli.main import cli

X0, Y0 = 36_564_000.0, 2_399_000.0  # the minipack's zones 甲, 乙 (EPSG:4524)
NAMES = ["007", "12.50"]  # zone names a type guess would take for numbers
TEXT = {"图层", "名称", "分区图层", "分区", "类别"}  # the documented name columns

PROBE = textwrap.dedent(
    """
    import json, sys
    from qgis.core import NULL, QgsApplication, QgsVectorLayer
    app = QgsApplication([], False)
    app.initQgis()
    spec = json.load(open(sys.argv[1]))
    out = {}
    for path in spec["csv"]:
        uri = "file://" + path + "?type=csv&detectTypes=yes&geomType=none"
        for provider, source in (("ogr", path), ("delimitedtext", uri)):
            layer = QgsVectorLayer(source, "t", provider)
            rows = [[None if v == NULL else v for v in f.attributes()]
                    for f in layer.getFeatures()]
            out[path + " " + provider] = {
                "valid": layer.isValid(),
                "names": [f.name() for f in layer.fields()],
                "numeric": [f.isNumeric() for f in layer.fields()],
                "rows": rows,
            }
            del layer
    json.dump(out, open(spec["out"], "w"), ensure_ascii=False)
    app.exitQgis()
    """
)


def _number(cell: str) -> float | None:
    try:
        return float(cell)
    except ValueError:
        return None


def _run(args: list[str]) -> None:
    res = CliRunner().invoke(cli, args)
    assert res.exit_code == 0, res.output + repr(res.exception)


def test_qgis_reads_the_numbers_of_the_summary_csvs_as_numbers(
    minipack: Path, tmp_path: Path
) -> None:
    gpkg = minipack / "layers" / "mini.gpkg"
    zones = gpd.read_file(gpkg, layer="zones")
    zones["名称"] = NAMES
    zones.to_file(gpkg, layer="zones", driver="GPKG")
    parcels = tmp_path / "parcels.gpkg"
    boxes = [shapely.box(X0 + 100 * k, Y0 + 300, X0 + 100 * k + 90, Y0 + 400) for k in range(12)]
    gpd.GeoDataFrame({"n": range(12)}, geometry=boxes, crs="EPSG:4524").to_file(parcels)
    out = tmp_path / "out"
    _run(["publish", "--pack", str(minipack), "--out", str(out), "--no-maps"])
    _run(["analyze", "--pack", str(minipack), "--parcels", str(parcels), "--out", str(out)])
    paths = [str(out / "internal" / n) for n in ("zone_summary.csv", "parcels_summary.csv")]
    got = run_qgis(PROBE, {"csv": paths, "out": str(tmp_path / "q.json")}, tmp_path / "q")
    for path in paths:
        text = Path(path).read_bytes().decode("utf-8-sig")
        header, *body = csv.reader(io.StringIO(text, newline=""))
        assert len(body) >= 2
        for provider in ("ogr", "delimitedtext"):
            seen = got[f"{path} {provider}"]
            assert seen["valid"] and seen["names"] == header, (path, provider)
            assert len(seen["rows"]) == len(body)
            for k, name in enumerate(header):
                cells = [r[k] for r in body]
                values = [r[k] for r in seen["rows"]]
                if name in TEXT:
                    assert not seen["numeric"][k], (path, provider, name)
                    assert [v or "" for v in values] == cells, (path, provider, name)  # "" or NULL
                    continue
                numbers = [_number(c) for c in cells]
                assert None not in numbers, (path, name, cells)  # the oracle: all numbers
                assert seen["numeric"][k], (path, provider, name, values[:3])
                assert values == numbers, (path, provider, name)
