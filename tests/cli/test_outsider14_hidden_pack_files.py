"""Round 14, outsider: hidden files in a pack's styles/ and maps/ are not the author's.

Emacs keeps a lock ``.#overview.toml`` (a dangling symlink) beside a file being edited; a copy
from a Mac to a USB stick or a share leaves ``._overview.toml`` resource forks (binary). Before
the fix either made ``qzgeo validate`` and ``publish`` refuse the whole pack (exit 2, "not valid
TOML ... fix the syntax", "cannot be read"). The oracle is the list of map files a person sees
(``ls`` without ``-a``) and the pages written.
"""

from __future__ import annotations

import os
from pathlib import Path

from packs import all_output, assert_no_traceback, run_cli

APPLEDOUBLE = b"\x00\x05\x16\x07\x00\x02\x00\x00Mac OS X        \x00\x02\x00\x09"


def _litter(mini: Path) -> None:
    for sub in ("maps", "styles"):
        for path in sorted((mini / sub).iterdir()):
            (mini / sub / f"._{path.name}").write_bytes(APPLEDOUBLE)
            os.symlink(f"planner@pc.4242:{1_700_000_000}", mini / sub / f".#{path.name}")


def test_hidden_editor_and_macos_files_are_not_pack_files(mini: Path, tmp_path: Path) -> None:
    shown = sorted(p.stem for p in (mini / "maps").iterdir())
    _litter(mini)
    result = run_cli("validate", "--pack", mini)
    assert_no_traceback(result)
    assert result.exit_code == 0, all_output(result)
    out = tmp_path / "out"
    result = run_cli("publish", "--pack", mini, "--out", out)
    assert result.exit_code == 0, all_output(result)
    pages = sorted(p.stem for p in out.glob("*/*.html") if p.stem != "index")
    assert pages == shown
