"""An `extent` written lat-first ([minlat, minlon, maxlat, maxlon], the order of many web
tools) or in Gauss-Krüger metres is a problem of catalog.toml naming the key, the value and
the box meant. It used to pass, and `validate` then blamed every layer of a correct pack as
"wholly outside the pack extent ... the wrong CRS or the wrong GK zone"."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from packs import new_pack

from qzgeo.cli.main import cli

#: What `new-pack --center 87.6,43.8` writes (乌鲁木齐, hand-checked: centre ± 0.5°).
GOOD = "extent = [87.1, 43.3, 88.1, 44.3]"


@pytest.fixture
def pack(tmp_path: Path) -> Path:
    folder = new_pack(tmp_path / "urumqi", "87.6,43.8")
    assert GOOD in (folder / "layers" / "catalog.toml").read_text(encoding="utf-8")
    return folder


def _validate_with(pack: Path, extent: str) -> str:
    cat = pack / "layers" / "catalog.toml"
    cat.write_text(cat.read_text(encoding="utf-8").replace(GOOD, extent), encoding="utf-8")
    res = CliRunner().invoke(cli, ["validate", "--pack", str(pack)])
    assert res.exit_code == 2, res.output
    assert res.exception is None or isinstance(res.exception, SystemExit)
    return res.output


def test_lat_first_extent_names_the_lon_first_box(pack: Path) -> None:
    out = _validate_with(pack, "extent = [43.3, 87.1, 44.3, 88.1]")
    assert "1 problem(s)" in out, out
    assert "`extent`" in out and "[43.3, 87.1, 44.3, 88.1]" in out
    assert "[87.1, 43.3, 88.1, 44.3]" in out  # the box meant
    assert "wholly outside" not in out


def test_extent_in_metres_is_a_problem(pack: Path) -> None:
    out = _validate_with(pack, "extent = [541000, 4849000, 556000, 4857000]")
    assert "1 problem(s)" in out, out
    assert "`extent`" in out and "541000" in out and "lon/lat" in out
    assert "wholly outside" not in out


def test_extent_straddling_china_is_kept(pack: Path) -> None:
    # a box reaching past China's lon/lat box (sea, a neighbour) is fine as long as it meets it
    cat = pack / "layers" / "catalog.toml"
    cat.write_text(
        cat.read_text(encoding="utf-8").replace(GOOD, "extent = [70.0, 40.0, 90.0, 56.0]"),
        encoding="utf-8",
    )
    res = CliRunner().invoke(cli, ["validate", "--pack", str(pack)])
    assert res.exit_code == 0, res.output


def test_refused_extent_is_one_problem_with_a_coverage_layer(pack: Path) -> None:
    # the coverage layer needs an extent: with one given but refused, its problem alone
    cat = pack / "layers" / "catalog.toml"
    text = cat.read_text(encoding="utf-8").replace(
        '# coverage_layer = "districts"', 'coverage_layer = "zones"'
    )
    cat.write_text(text, encoding="utf-8")
    out = _validate_with(pack, "extent = [43.3, 87.1, 44.3, 88.1]")
    assert "1 problem(s)" in out and "`extent`" in out, out


@pytest.mark.parametrize(
    "extent",
    [
        "extent = [-1e308, -1e308, 1e308, 1e308]",
        "extent = [-inf, 43.3, inf, 44.3]",
        "extent = [87.1, -100.0, 88.1, 44.3]",
        "extent = [-400, 43.3, 400, 44.3]",
    ],
)
def test_an_extent_past_the_poles_or_the_antimeridian_is_a_problem(pack: Path, extent: str) -> None:
    # These met China and passed validate (OK), publish exit 0: a box that is no place on Earth.
    out = _validate_with(pack, extent)
    assert "`extent`" in out and "outside -180..180" in out, out
