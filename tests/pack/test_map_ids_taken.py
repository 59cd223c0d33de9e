"""A map's id (its file name in maps/) names its page: ids whose page another command writes
into the same folder are refused. maps/parcels.toml made public/parcels.html, which the next
`qzgeo analyze` (without --map) deleted as its own earlier parcels map, leaving the gallery
and manifest pointing at nothing."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from support import minipack_with_map as _with_map

from qzgeo.cli.main import cli
from qzgeo.pack.catalog import load_pack


@pytest.mark.parametrize(
    ("stem", "page"),
    [("index", "index.html"), ("parcels", "parcels.html"), ("check", "check.html")],
)
def test_an_id_another_page_takes_is_a_problem(tmp_path: Path, stem: str, page: str) -> None:
    problems = load_pack(_with_map(tmp_path, stem)).problems
    assert [p for p in problems if f"maps/{stem}.toml" in p and page in p], problems


def test_publish_refuses_a_map_named_parcels(tmp_path: Path) -> None:
    pack = _with_map(tmp_path, "parcels")
    res = CliRunner().invoke(cli, ["publish", "--pack", str(pack), "--out", str(tmp_path / "o")])
    assert res.exit_code == 2, res.output
    assert "maps/parcels.toml" in res.output
