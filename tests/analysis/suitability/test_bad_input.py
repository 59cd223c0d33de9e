"""Bad input ends in exit 2 with the file, the value and the fix — never a traceback."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from qzgeo.cli.main import cli

GOOD = """
title = "t"
resolution_m = 100
area = ["study"]
basemap = "none"
[[factors]]
id = "near"
kind = "distance"
layers = ["road"]
breaks = [100, 200]
grades = [5, 3, 1]
weight = 1
[[factors]]
id = "slope"
kind = "slope"
weight = 1
optional = true
"""


def run(pack: Path, out: Path, *args: str) -> tuple[int, str]:
    res = CliRunner().invoke(
        cli, ["suitability", "--pack", str(pack), "--out", str(out), "--no-progress", *args]
    )
    assert "Traceback" not in res.output
    return res.exit_code, res.output


@pytest.mark.parametrize(
    ("edit", "needles"),
    [
        (
            lambda s: s.replace('layers = ["road"]', 'layers = ["raod"]'),
            ["suitability/m.toml", "raod", "use one of"],
        ),
        (
            lambda s: s.replace("breaks = [100, 200]", "breaks = [200, 100]"),
            ["factors[0] (id='near').breaks", "strictly ascending", "[200, 100]"],
        ),
        (
            lambda s: s.replace("grades = [5, 3, 1]", "grades = [5, 3]"),
            ["factors[0] (id='near').grades", "needs 3 grades"],
        ),
        (lambda s: s.replace('area = ["study"]', 'area = ["nowhere"]'), ["`area`", "'nowhere'"]),
        (
            lambda s: s + '[[hard_limits]]\nlayer = "redline"\nclasses = ["红綫"]\n',
            ["hard_limits", "'红綫'", "生态保护红线"],
        ),
        # a line as a hard limit was burnt one cell wide, as wide as the --resolution
        (
            lambda s: s + '[[hard_limits]]\nlayer = "road"\n',
            ["hard_limits", "'road'", "LineString", "polygon", "distance factor"],
        ),
        (lambda s: s.replace('area = ["study"]', 'area = ["hubs"]'), ["`area`", "Point"]),
        # a line zone had an area table: 25 670 公顷 of a 3 600 公顷 study area
        (
            lambda s: s.replace('area = ["study"]', 'area = ["study"]\nzones = ["road"]'),
            ["zones", "'road'", "LineString", "polygon layers"],
        ),
        # true is a TOML boolean, not grade 1: it was taken for 1
        (
            lambda s: s.replace("grades = [5, 3, 1]", "grades = [5, 3, true]"),
            ["factors[0] (id='near').grades", "[5, 3, True]"],
        ),
        (
            lambda s: s + '[combine]\nshort_board = ["near"]\nshort_board_grade = true\n',
            ["combine.short_board_grade", "True"],
        ),
        # a key the factor's kind does not read was ignored without a word
        (
            lambda s: s.replace('layers = ["road"]', 'layers = ["road"]\nraster = "dem"'),
            ["factors[0] (id='near').raster", "not used by a 'distance' factor"],
        ),
        # weights each finite but summing to infinity: a ZeroDivisionError traceback
        (lambda s: s.replace("weight = 1", "weight = 1e308"), ["weights", "sum", "1e+308"]),
        # a bidi control reordered the title and the class names on the public map.html,
        # report.json and zones.csv, though the pack's own titles may hold none (outsider a21)
        (
            lambda s: s.replace('title = "t"', 'title = "适宜\u202e性"'),
            ["suitability/m.toml", "`title`", "U+202E"],
        ),
        (
            lambda s: s.replace('id = "near"', 'id = "near"\ntitle = "距\u2066道路"'),
            ["`factors[0].title`", "U+2066"],
        ),
        # a title that is not text was shown as Python writes it (5, ['a']) on the map, in
        # report.json and on stdout; the catalog's titles are refused so
        (
            lambda s: s.replace('title = "t"', 'title = "t"\ntitle_en = 5'),
            ["suitability/m.toml", "`title_en`", "got 5", 'title_en = "..."'],
        ),
        (
            lambda s: s.replace('title = "t"', 'title = ["t"]\ndescription = 7'),
            ["`title`", "got ['t']", "`description`", "got 7", "2 problem(s)"],
        ),
        (
            lambda s: s.replace('id = "near"', 'id = "near"\ntitle = 3'),
            ["`factors[0] (id='near').title`", "got 3", 'title = "..."'],
        ),
        (
            lambda s: s + '[[hard_limits]]\nlayer = "redline"\ntitle = 1.5\n',
            ["`hard_limits[0].title`", "got 1.5"],
        ),
    ],
)
def test_bad_model(make_pack, h, tmp_path, edit, needles):
    pack = make_pack({"m": edit(GOOD) + h.FIVE_CLASSES})
    code, out = run(pack, tmp_path / "out")
    assert code == 2, out
    for n in needles:
        assert n in out, out


def test_bad_result_breaks_all_reported_at_once(make_pack, h, tmp_path):
    bad = GOOD.replace(
        "weight = 1\n[[factors]]", "weight = -1\n[[factors]]"
    ) + h.FIVE_CLASSES.replace("[1.5, 2.5, 3.5, 4.5]", "[1.5, 2.5, 3.5, 7]")
    code, out = run(make_pack({"m": bad}), tmp_path / "out")
    assert code == 2
    assert "2 problem(s)" in out and "weight" in out and "score breaks must lie in (1, 5]" in out


def test_raster_without_crs(make_pack, h, tmp_path):
    dem = h.gk_plane(tmp_path / "nocrs.tif", 5.0, crs=None)
    code, out = run(make_pack({"m": GOOD + h.FIVE_CLASSES}), tmp_path / "out", "--dem", str(dem))
    assert code == 2
    assert "nocrs.tif" in out and "has no CRS" in out and "gdal_edit.py -a_srs" in out


def test_raster_not_overlapping(make_pack, h, tmp_path):
    import numpy as np
    from rasterio.transform import Affine

    far = h.write_dem(
        tmp_path / "far.tif", np.zeros((10, 10)), Affine(0.01, 0, 120, 0, -0.01, 40), "EPSG:4490"
    )
    code, out = run(make_pack({"m": GOOD + h.FIVE_CLASSES}), tmp_path / "out", "--dem", str(far))
    assert code == 2
    assert "far.tif" in out and "does not overlap the study area" in out


def test_unknown_raster_name_and_missing_file(make_pack, h, tmp_path):
    pack = make_pack({"m": GOOD + h.FIVE_CLASSES})
    code, out = run(pack, tmp_path / "out", "--raster", "landcover=x.tif")
    assert code == 2 and "--raster landcover=FILE" in out and "uses no raster 'landcover'" in out
    code, out = run(pack, tmp_path / "out", "--dem", str(tmp_path / "missing.tif"))
    assert code == 2 and "missing.tif" in out and "does not exist" in out
    code, out = run(pack, tmp_path / "out", "--raster", "noequals")
    assert code == 2 and "NAME=FILE" in out
    code, out = run(pack, tmp_path / "out", "--model", "nope")
    assert code == 2 and "suitability/nope.toml does not exist" in out and "m" in out


def test_missing_optional_factor_is_reported(make_pack, h, tmp_path):
    code, out = run(make_pack({"m": GOOD + h.FIVE_CLASSES}), tmp_path / "out")
    assert code == 0, out
    assert "factor missing: slope" in out and "renormalised" in out


def test_short_board_on_a_missing_factor_is_said_not_claimed(make_pack, h, tmp_path):
    # The report listed short_board ["slope"] for a run without slope: a rule not applied.
    model = GOOD.replace("[[factors]]", '[combine]\nshort_board = ["slope"]\n[[factors]]', 1)
    code, out = run(make_pack({"m": model + h.FIVE_CLASSES}), tmp_path / "out")
    assert code == 0, out
    report = json.loads(
        (tmp_path / "out/public/suitability/m/report.json").read_text(encoding="utf-8")
    )
    assert report["short_board"] == []
    (action,) = [d["action"] for d in report["factors_missing"]]
    assert "short-board" in action and "not applied" in action
    assert any("short-board" in w for w in report["warnings"])


def test_foreign_output_folder_is_not_overwritten(make_pack, h, tmp_path):
    folder = tmp_path / "out" / "public" / "suitability" / "m"
    folder.mkdir(parents=True)
    (folder / "notes.txt").write_text("mine", encoding="utf-8")
    code, out = run(make_pack({"m": GOOD + h.FIVE_CLASSES}), tmp_path / "out")
    assert code == 2 and "was not written by qzgeo" in out
    assert (folder / "notes.txt").read_text(encoding="utf-8") == "mine"


@pytest.mark.parametrize("where", ["option", "model"])
def test_a_resolution_coarser_than_the_study_area_names_the_finest_that_works(
    make_pack, h, tmp_path, where
):
    """The study area is 6 km square (conftest SIZE): at 5 km it was a 2 x 2 grid, and the run
    said the DEM had no value in the study area, or graded two cells as the evaluation."""
    model = GOOD if where == "option" else GOOD.replace("resolution_m = 100", "resolution_m = 5000")
    dem = h.gk_plane(tmp_path / "dem.tif", 5.0)
    args = ["--dem", str(dem)] + (["--resolution", "5000"] if where == "option" else [])
    code, out = run(make_pack({"m": model + h.FIVE_CLASSES}), tmp_path / "out", *args)
    assert code == 2, out
    assert "at 5000 m" in out and "6.0 x 6.0 km" in out and "at most 2000 m" in out, out
