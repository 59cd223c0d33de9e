"""An output folder that cannot be made says how to write elsewhere (found by out14a: the
default ./qzgeo-out in a read-only folder said only 'Read-only file system')."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from qzgeo.cli.main import cli


def test_an_uncreatable_out_folder_names_it_and_the_fix(minipack: Path, tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder", encoding="utf-8")
    out = blocker / "qzgeo-out"
    res = CliRunner().invoke(cli, ["publish", "--pack", str(minipack), "--out", str(out)])
    assert res.exit_code == 2, res.output
    assert f"cannot create the output folder {out}" in res.output
    assert "--out DIR" in res.output
    assert blocker.read_text(encoding="utf-8") == "not a folder"
