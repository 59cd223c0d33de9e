"""new-pack into a folder it cannot make says so, with the fix: a path through a file
(`notes.txt/pack`) and a name over 255 bytes ended in bare '[Errno 20] Not a directory' and
'[Errno 36] File name too long' lines."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from qzgeo.cli.main import cli


@pytest.mark.parametrize("where", ["through_a_file", "name_too_long"])
def test_new_pack_where_it_cannot_write(tmp_path: Path, where: str) -> None:
    (tmp_path / "notes.txt").write_text("mine", encoding="utf-8")
    folder = (
        tmp_path / "notes.txt" / "pack" if where == "through_a_file" else tmp_path / ("x" * 300)
    )
    res = CliRunner().invoke(cli, ["new-pack", str(folder)])
    assert res.exit_code == 2, res.output
    assert "cannot write the pack into" in res.output, res.output
    assert "choose a new folder" in res.output
    assert "Errno" not in res.output
    assert (tmp_path / "notes.txt").read_text(encoding="utf-8") == "mine"
