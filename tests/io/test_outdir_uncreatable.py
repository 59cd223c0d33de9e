"""An output folder that cannot be made says how to write elsewhere (found by out14a: the
default ./qzgeo-out in a read-only folder said only 'Read-only file system')."""

from __future__ import annotations

import errno
import os
from pathlib import Path
from typing import Any

import pytest
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


def test_a_read_only_out_folder_is_said_not_writable(
    minipack: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # It was "cannot create the output folder": it exists, and the fix is its permissions.
    out = tmp_path / "out"
    out.mkdir()
    out.chmod(0o555)
    if os.access(out, os.W_OK):  # root writes anyway: fail the write as the kernel would
        real = Path.write_text

        def refused(self: Path, *args: Any, **kwargs: Any) -> int:
            if self.parent == out:
                raise PermissionError(errno.EACCES, "Permission denied", str(self))
            return real(self, *args, **kwargs)

        monkeypatch.setattr(Path, "write_text", refused)
    try:
        res = CliRunner().invoke(cli, ["publish", "--pack", str(minipack), "--out", str(out)])
    finally:
        out.chmod(0o755)
    assert res.exit_code == 2, res.output
    assert f"the output folder {out} exists but cannot be written to" in res.output, res.output
    assert "Permission denied" in res.output and f"chmod u+w {out}" in res.output
    assert "cannot create" not in res.output and "Traceback" not in res.output
