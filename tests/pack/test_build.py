"""`python layers/build_pack.py` is deterministic and produced the committed GeoPackage."""

from __future__ import annotations

import hashlib
import subprocess
import sys

from support import ROOT

LAYERS = ROOT / "layers"
GPKG = LAYERS / "qinzhou.gpkg"


MAX_BYTES = 2_000_000


def _sha256(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_build_is_byte_reproducible_and_matches_the_committed_gpkg(tmp_path, build_pack):
    first, second = tmp_path / "a.gpkg", tmp_path / "b.gpkg"
    assert build_pack.main(["--out", str(first)]) == 0
    assert build_pack.main(["--out", str(second)]) == 0
    assert _sha256(first) == _sha256(second)
    assert _sha256(first) == _sha256(GPKG), "layers/qinzhou.gpkg is stale: rerun build_pack.py"


def test_build_script_runs_as_a_script(tmp_path):
    out = tmp_path / "pack.gpkg"
    proc = subprocess.run(
        [sys.executable, str(LAYERS / "build_pack.py"), "--out", str(out)],
        capture_output=True,
        text=True,
        check=False,
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr
    assert _sha256(out) == _sha256(GPKG)


def test_gpkg_is_small():
    assert GPKG.stat().st_size < MAX_BYTES


def test_build_reads_nothing_outside_the_repository(build_pack):
    source = (LAYERS / "build_pack.py").read_text(encoding="utf-8")
    assert "/work/shared" not in source and "../shared" not in source
    assert build_pack.SOURCES == LAYERS / "sources"
