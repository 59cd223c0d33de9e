"""What a killed run leaves in an output folder, and what a failed first run takes away.

A run killed by SIGKILL (``kill -9``, the OOM killer, a power cut) runs no cleanup: its
half-written file stays, hidden, beside the previous output (in ``public/`` it would be
posted with the maps). The next run into the folder removes it, under the lock. A first run
that fails removes what it wrote, never what someone else put in the folder meanwhile.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from support import ROOT

from qzgeo.io.outdir import output_build


def _killed_mid_write(target: Path) -> None:
    """A process writing ``target`` through qzgeo's atomic writer, killed half-way."""
    code = (
        "import os, sys\n"
        "from qzgeo.io.atomic import atomic_path\n"
        "with atomic_path(sys.argv[1]) as tmp:\n"
        "    tmp.write_bytes(b'half a file')\n"
        "    os.kill(os.getpid(), 9)\n"
    )
    res = subprocess.run(
        [sys.executable, "-c", code, str(target)], env={"PYTHONPATH": str(ROOT)}, check=False
    )
    assert res.returncode == -9


def _previous_run(out: Path) -> Path:
    with output_build(out, whole=False) as b:
        (b.internal / "parcels.gpkg").write_bytes(b"previous")
        (b.public / "parcels_summary.csv").write_bytes(b"previous")
    return out


def _hidden(out: Path) -> list[str]:
    return sorted(
        str(p.relative_to(out))
        for p in out.rglob(".*")
        if p.name not in (".qzgeo", ".qzgeo.lock", ".qzgeo.files")
    )


@pytest.mark.parametrize("part", ["internal", "public"])
def test_a_killed_writers_file_is_removed_by_the_next_run(tmp_path: Path, part: str) -> None:
    out = _previous_run(tmp_path / "out")
    name = "parcels.gpkg" if part == "internal" else "parcels_summary.csv"
    _killed_mid_write(out / part / name)
    assert len(_hidden(out)) == 1  # the half-written file, hidden beside the previous one
    with output_build(out, whole=False):
        assert _hidden(out) == []
    assert (out / part / name).read_bytes() == b"previous"


def test_a_killed_publish_build_folder_is_removed_by_any_run(tmp_path: Path) -> None:
    """A publish killed mid-build leaves ``.qzgeo-build-*`` (a copy of the internal analysis);
    an analyze or check into the folder removes it too, not only the next publish."""
    out = _previous_run(tmp_path / "out")
    killed = out / ".qzgeo-build-k1ll3d"  # as a SIGKILLed publish leaves it
    (killed / "internal").mkdir(parents=True)
    (killed / "internal" / "analysis.gpkg").write_bytes(b"internal data")
    with output_build(out, whole=False):
        pass
    assert not killed.exists() and _hidden(out) == []


def test_suitability_temporary_folders_of_a_killed_run_go_too(tmp_path: Path) -> None:
    out = _previous_run(tmp_path / "out")
    stale = out / "internal" / "suitability" / "urban" / ".qzgeo-abc123"
    stale.mkdir(parents=True)
    (stale / "result.tif").write_bytes(b"half")
    with output_build(out, whole=False):
        pass
    assert not stale.exists() and (out / "internal" / "suitability" / "urban").is_dir()


def test_hidden_files_that_are_not_qzgeos_stay(tmp_path: Path) -> None:
    out = _previous_run(tmp_path / "out")
    (out / "internal" / ".notes").write_text("mine", encoding="utf-8")
    (out / ".htaccess").write_text("mine", encoding="utf-8")
    with output_build(out, whole=False):
        pass
    assert (out / "internal" / ".notes").read_text(encoding="utf-8") == "mine"
    assert (out / ".htaccess").read_text(encoding="utf-8") == "mine"


@pytest.mark.parametrize("existed", [False, True])
def test_a_failed_first_run_keeps_what_others_put_there_meanwhile(
    tmp_path: Path, existed: bool
) -> None:
    """The folder was new (or empty): the failed run removes its own files, not a colleague's
    notes saved there while it ran; the folder stays since it is not empty."""
    out = tmp_path / "out"
    if existed:
        out.mkdir()
    with pytest.raises(RuntimeError), output_build(out, whole=False) as b:
        (b.internal / "parcels.gpkg").write_bytes(b"half")
        (out / "notes.txt").write_text("mine", encoding="utf-8")  # someone, meanwhile
        raise RuntimeError
    assert sorted(p.name for p in out.iterdir()) == ["notes.txt"]


def test_a_failed_first_run_into_a_new_folder_leaves_no_folder(tmp_path: Path) -> None:
    out = tmp_path / "out"
    with pytest.raises(RuntimeError), output_build(out, whole=False) as b:
        (b.internal / "parcels.gpkg").write_bytes(b"half")
        raise RuntimeError
    assert not out.exists()
