"""A map id (its file name in maps/) names its page, so it must be a file name every system
holds. maps/CON.toml published public/CON.html (exit 0), which Windows cannot create: the
folder posted from or copied to a Windows server lost the page; a 250-character id passed
validate and publish stopped on a bare '[Errno 36] File name too long' naming its temporary
file; maps/地图 <b>.toml published a page a Windows share cannot hold."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from support import minipack_with_map as _with_map

from qzgeo.cli.main import cli
from qzgeo.pack.catalog import load_pack


@pytest.mark.parametrize(
    ("stem", "why"),
    [
        ("CON", "device name"),
        ("aux", "device name"),
        ("com1", "device name"),
        ("a" * 200, "over the cap"),
        ("地" * 50, "over the cap"),
        ("地图 <b>", "may not"),
        ("a:b", "may not"),
        ("a.", "ends in a space or dot"),
    ],
)
def test_an_id_that_is_not_a_portable_file_name_is_a_problem(
    tmp_path: Path, stem: str, why: str
) -> None:
    problems = load_pack(_with_map(tmp_path, stem)).problems
    assert [p for p in problems if f"maps/{stem}.toml" in p and why in p], problems


@pytest.mark.parametrize("stem", ["overview", "规划_总图", "zones-2035", "console", "auxiliary"])
def test_portable_ids_pass(tmp_path: Path, stem: str) -> None:
    problems = load_pack(_with_map(tmp_path, stem)).problems
    assert not [p for p in problems if "map id" in p], problems


def test_publish_refuses_a_long_id_before_writing(tmp_path: Path) -> None:
    stem = "a" * 250
    pack = _with_map(tmp_path, stem)
    res = CliRunner().invoke(cli, ["publish", "--pack", str(pack), "--out", str(tmp_path / "o")])
    assert res.exit_code == 2, res.output
    assert f"maps/{stem}.toml" in res.output
    assert "Errno" not in res.output
