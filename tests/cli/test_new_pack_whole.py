"""new-pack writes the whole skeleton or nothing.

Its files were written one by one into FOLDER: a full disk (or Ctrl-C) part-way through left a
half pack (a catalog naming layer files that were not there) that `new-pack FOLDER` then
refused to complete ('FOLDER is not empty') and `validate` refused as a pack. A run killed
outright (SIGKILL) leaves only its hidden folder, which the next new-pack removes.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from qzgeo.cli.main import cli
from qzgeo.io.atomic import TEMP_PREFIX

#: The skeleton's files, found by listing a pack new-pack wrote (the oracle: a complete run).
_FILES = 8


def _disk_full_after(monkeypatch: pytest.MonkeyPatch, n: int) -> None:
    real = Path.write_text
    written: list[Path] = []

    def write_text(self: Path, *args: object, **kwargs: object) -> int:
        if len(written) == n:
            raise OSError(28, "No space left on device", str(self))
        written.append(self)
        return real(self, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(Path, "write_text", write_text)


@pytest.mark.parametrize("existed", [False, True])
def test_a_full_disk_part_way_leaves_no_half_pack(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, existed: bool
) -> None:
    folder = tmp_path / "城市"
    if existed:
        folder.mkdir()
    with monkeypatch.context() as m:
        _disk_full_after(m, 3)
        res = CliRunner().invoke(cli, ["new-pack", str(folder), "--name", "city"])
    assert res.exit_code == 2, res.output
    assert "No space left on device" in res.output and "(None)" not in res.output
    if existed:
        assert list(folder.iterdir()) == []
    else:
        assert not folder.exists()
    again = CliRunner().invoke(cli, ["new-pack", str(folder), "--name", "city"])
    assert again.exit_code == 0, again.output
    files = sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())
    assert len(files) == _FILES, files
    assert all(p.parts[0] in ("layers", "maps", "styles", "suitability") for p in map(Path, files))


def test_the_hidden_folder_of_a_killed_run_is_removed(tmp_path: Path) -> None:
    folder = tmp_path / "city"
    folder.mkdir()
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    left = folder / f"{TEMP_PREFIX}tmp-pack.{dead.pid}-abc123"
    (left / "layers").mkdir(parents=True)
    (left / "layers" / "catalog.toml").write_text("half", encoding="utf-8")
    res = CliRunner().invoke(cli, ["new-pack", str(folder)])
    assert res.exit_code == 0, res.output
    assert sorted(p.name for p in folder.iterdir()) == ["layers", "maps", "styles", "suitability"]
