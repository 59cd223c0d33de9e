"""Chunk results cross from the worker processes as Arrow files in shared memory: the table
comes back equal, the files go, and a folder that cannot take them leaves the pipe as before."""

from __future__ import annotations

import time
from pathlib import Path

import pyarrow as pa
import pytest

from qzgeo.analysis.chunk_pool import ChunkResult, _landed, _spill, chunk_pool
from qzgeo.analysis.overlay import OverlayReport
from qzgeo.geo.repair import RepairReport


def _result() -> ChunkResult:
    table = pa.table({"pid": [1, 2, 3], "名": ["a", None, "地块"], "geom": [b"\x01", b"", None]})
    return ChunkResult(0, 3, table, None, RepairReport(), OverlayReport(), parcels=3)


def test_a_spilled_table_lands_equal_and_its_file_is_removed(tmp_path: Path) -> None:
    result = _result()
    spilled = _spill(result, str(tmp_path))
    assert spilled.table is None and spilled.table_path is not None
    assert Path(spilled.table_path).parent == tmp_path
    landed = _landed(spilled)
    assert landed.table is not None and landed.table.equals(result.table, check_metadata=True)
    assert landed.table_path is None and not list(tmp_path.iterdir())
    assert landed.parcels == 3


def test_the_leaves_go_beside_the_table_not_through_the_pipe(tmp_path: Path) -> None:
    """The R-tree leaves (~30 bytes a parcel) are spilled with the table: a worker stopped in
    the middle of sending a big result left half a message in the pipe, and the pool's
    manager thread waited for the rest forever (a run stopped by SIGTERM never exited)."""
    import pickle

    import numpy as np

    from qzgeo.io.gpkg_rtree import pack_leaves

    leaves = pack_leaves(np.array([[0.0, 0, 1, 1], [2, 2, 3, 3], [np.nan] * 4]))
    result = ChunkResult(0, 3, _result().table, None, RepairReport(), OverlayReport(),
                         parcels=3, leaves=leaves)  # fmt: skip
    spilled = _spill(result, str(tmp_path))
    assert spilled.leaves is None and spilled.leaves_path is not None
    assert len(pickle.dumps(spilled)) < 4_096  # what the pipe carries
    landed = _landed(spilled)
    assert landed.leaves is not None and landed.leaves_path is None
    assert landed.leaves.cells.tobytes() == leaves.cells.tobytes()
    assert landed.leaves.leaf_of_row == leaves.leaf_of_row and landed.leaves.rows == 3
    assert not list(tmp_path.iterdir())


def test_without_a_folder_the_table_stays_in_the_result(tmp_path: Path) -> None:
    result = _result()
    assert _spill(result, None) is result
    gone = tmp_path / "missing"  # e.g. /dev/shm full or removed: OSError
    kept = _spill(result, str(gone))
    assert kept.table is result.table and kept.table_path is None
    assert _landed(kept) is kept


@pytest.mark.skipif(not Path("/dev/shm").is_dir(), reason="no /dev/shm")
def test_the_pool_removes_its_spill_folder() -> None:
    with chunk_pool(2) as pool:
        assert pool is not None and pool.spill is not None
        folder = Path(pool.spill)
        assert folder.is_dir()
        (folder / "left.arrow").write_bytes(b"x")  # a cancelled chunk's table
    assert not folder.exists()


def test_folders_of_killed_runs_are_removed(tmp_path: Path) -> None:
    """A run killed without cleaning up leaves its folder; the next run removes it, and
    leaves the folders of runs still going."""
    import os
    import subprocess
    import sys

    from qzgeo.analysis.chunk_pool import _spill_folder

    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()  # reaped: its pid names no process
    dead = tmp_path / f"qzgeo-chunks-{gone.pid}-x"
    dead.mkdir()
    (dead / "t.arrow").write_bytes(b"x")
    two_hours_ago = time.time() - 7200
    for p in (dead / "t.arrow", dead):
        os.utime(p, (two_hours_ago, two_hours_ago))
    # a pid that is dead here but written to a minute ago: a run in another PID namespace
    # sharing /dev/shm, never removed
    busy = tmp_path / f"qzgeo-chunks-{gone.pid}-z"
    busy.mkdir()
    (busy / "t.arrow").write_bytes(b"x")
    live = tmp_path / f"qzgeo-chunks-{os.getpid()}-y"
    live.mkdir()
    other = tmp_path / "not-ours"
    other.mkdir()
    new = _spill_folder(tmp_path)
    assert new is not None and Path(new).name.startswith(f"qzgeo-chunks-{os.getpid()}-")
    assert not dead.exists() and live.exists() and other.exists() and busy.exists()


def test_without_shared_memory_the_tables_go_to_the_temporary_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No /dev/shm (another OS, a container without it): the tables are spilled to the
    temporary folder, not sent through the pipe (where a worker stopped mid-send left the
    pool waiting forever), and the folder goes with the pool."""
    import qzgeo.analysis.chunk_pool as cp

    monkeypatch.setattr(cp, "spill_places", lambda: (tmp_path / "no-shm", tmp_path))
    with chunk_pool(2) as pool:
        assert pool is not None and pool.spill is not None
        folder = Path(pool.spill)
        assert folder.parent == tmp_path and folder.name.startswith("qzgeo-chunks-")
        spilled = _spill(_result(), pool.spill)
        assert spilled.table is None and Path(spilled.table_path or "").parent == folder
    assert not folder.exists()


def test_a_place_that_takes_no_folder_is_passed_over(tmp_path: Path) -> None:
    from qzgeo.analysis.chunk_pool import _spill_folder

    afile = tmp_path / "a-file"
    afile.write_bytes(b"")
    assert _spill_folder(tmp_path / "missing", afile) is None
    got = _spill_folder(tmp_path / "missing", afile, tmp_path)
    assert got is not None and Path(got).parent == tmp_path


def _refusing(monkeypatch: pytest.MonkeyPatch, folder: Path) -> None:
    """``folder`` takes no new folder (read-only, full, another user's), even for root."""
    import tempfile

    real = tempfile.mkdtemp

    def mkdtemp(*args: object, dir: str | Path | None = None, **kwargs: object) -> str:
        if dir is not None and Path(dir) == folder:
            raise PermissionError(13, "Permission denied", str(folder))
        return real(*args, dir=dir, **kwargs)  # type: ignore[call-overload]

    monkeypatch.setattr(tempfile, "mkdtemp", mkdtemp)


def test_a_place_that_refuses_a_folder_is_passed_over(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """/dev/shm there but full or read-only: the tables go to the next place, not the pipe."""
    from qzgeo.analysis.chunk_pool import _spill_folder

    refusing = tmp_path / "read-only"
    refusing.mkdir()
    _refusing(monkeypatch, refusing)
    got = _spill_folder(refusing, tmp_path)
    assert got is not None and Path(got).parent == tmp_path
    assert not list(refusing.iterdir())


def test_no_place_for_a_folder_leaves_the_pipe(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No /dev/shm and $TMPDIR read-only (or gone): the pool runs, its tables in the pipe."""
    import os

    import qzgeo.analysis.chunk_pool as cp

    refusing = tmp_path / "read-only"
    refusing.mkdir()
    _refusing(monkeypatch, refusing)
    monkeypatch.setattr(cp, "spill_places", lambda: (tmp_path / "no-shm", refusing))
    with chunk_pool(2) as pool:
        assert pool is not None and pool.spill is None
        assert pool.executor.submit(os.getpid).result(timeout=60) != os.getpid()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["read-only"]


def test_the_places_are_shared_memory_then_tmpdir(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """$TMPDIR as the user set it, after /dev/shm (memory first); a $TMPDIR that is gone is
    not tried (Python's temporary folder falls back to one that takes files)."""
    import tempfile

    from qzgeo.analysis.chunk_pool import spill_places

    for tmpdir, want in ((tmp_path, tmp_path), (tmp_path / "gone", None)):
        monkeypatch.setenv("TMPDIR", str(tmpdir))
        monkeypatch.setattr(tempfile, "tempdir", None)  # gettempdir() reads $TMPDIR again
        places = spill_places()
        assert places[0] == Path("/dev/shm") and len(places) == 2
        assert places[1] == want if want is not None else places[1] != tmpdir
        assert places[1].is_dir()
