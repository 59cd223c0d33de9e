"""A file whose name starts with a dash (``-宗地.txt``, ``-site.geojson``: exported by a tool
that numbered its outputs with a sign, or a careless rename) given as an argument: click read
it as options and said only "No such option '-s'", not that the file is there and how to
give it."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.cli._cli import assert_exit2, qzgeo

RING = "[[108.62,21.96],[108.622,21.96],[108.622,21.962],[108.62,21.96]]"
GEOJSON = (
    '{"type":"FeatureCollection","features":[{"type":"Feature","properties":{},'
    f'"geometry":{{"type":"Polygon","coordinates":[{RING}]}}}}]}}'
)


@pytest.mark.parametrize("name", ["-site.geojson", "--site.geojson", "-宗地.geojson"])
def test_dash_file_is_named_with_the_two_ways_to_give_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    monkeypatch.chdir(tmp_path)
    Path(name).write_text(GEOJSON, encoding="utf-8")
    res = qzgeo("check", name)
    assert_exit2(res, f"./{name}", "--")
    res = qzgeo("convert", name, "out.gpkg")
    assert_exit2(res, f"./{name}")
    assert qzgeo("check", f"./{name}", "--format", "json").exit_code == 0


def test_a_mistyped_option_gets_no_file_hint(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    Path("site.geojson").write_text(GEOJSON, encoding="utf-8")
    res = qzgeo("check", "site.geojson", "--formt", "json")
    assert res.exit_code == 2 and "No such option" in res.output
    assert "is a file" not in res.output
