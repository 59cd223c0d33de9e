"""A GeoPackage with changes not yet written into it is refused, not modified.

A GeoPackage in WAL mode keeps its latest changes in ``NAME.gpkg-wal`` until the program
editing it (QGIS, QField...) closes it; after a crash they stay there. GDAL, when it closes
such a file opened read-only, opens it once more read-write to tidy the ``-wal`` and
``-shm`` files away, and that writes the changes into the ``.gpkg``: `qzgeo analyze`
changed its input's bytes and time stamp. qzgeo never modifies an input: such a file is
refused (exit 2) with the file, what is pending and the fix, and nothing beside it changes.
A WAL-mode file with nothing pending is read as any other, and left as it was.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import geopandas as gpd
import pytest
import shapely
from packs import all_output, assert_no_traceback, run_cli

X0, Y0 = 36_564_000.0, 2_399_000.0
OLD = 1_577_836_800  # 2020-01-01: a time stamp no run may change


def _parcels(path: Path) -> Path:
    boxes = [shapely.box(X0 + 500 * i, Y0, X0 + 500 * i + 300, Y0 + 300) for i in range(4)]
    gdf = gpd.GeoDataFrame(
        {"地块编号": [f"P{i}" for i in range(4)]}, geometry=boxes, crs="EPSG:4524"
    )
    gdf.to_file(path, driver="GPKG", layer="parcels")
    return path


def _sqlite(path: Path, *statements: str, crash: bool) -> None:
    """Run ``statements`` on ``path`` in a separate process; ``crash``: exit without closing
    the database (as an editor that was killed), leaving its -wal file."""
    lines = [
        "import os, sqlite3, sys",
        "c = sqlite3.connect(sys.argv[1])",
        "c.execute('pragma wal_autocheckpoint=0')",
        *(f"c.execute({s!r})" for s in statements),
        "c.commit()",
        "os._exit(0)" if crash else "c.close()",
    ]
    subprocess.run([sys.executable, "-c", "\n".join(lines), str(path)], check=True)


def _state(folder: Path) -> dict[str, tuple[str, int]]:
    """Every file of ``folder``: its hash and modification time."""
    return {
        p.name: (hashlib.sha256(p.read_bytes()).hexdigest(), p.stat().st_mtime_ns)
        for p in sorted(folder.iterdir())
    }


@pytest.fixture
def edited(tmp_path: Path) -> Path:
    """parcels.gpkg whose editor stopped with one change still in parcels.gpkg-wal."""
    folder = tmp_path / "data"
    folder.mkdir()
    gpkg = _parcels(folder / "parcels.gpkg")
    _sqlite(gpkg, "pragma journal_mode=wal", crash=False)
    _sqlite(gpkg, "update gpkg_contents set description = 'edited'", crash=True)
    assert (folder / "parcels.gpkg-wal").stat().st_size > 0
    for p in folder.iterdir():
        os.utime(p, (OLD, OLD))
    return gpkg


@pytest.mark.parametrize(
    "command",
    [
        ["analyze", "--parcels", "{gpkg}", "--out", "{out}"],
        ["check", "{gpkg}", "--format", "json"],
        ["convert", "{gpkg}", "{out}/copy.gpkg"],
    ],
    ids=["analyze", "check", "convert"],
)
def test_a_gpkg_with_pending_changes_is_refused_and_left_as_it_was(
    edited: Path, tmp_path: Path, command: list[str]
) -> None:
    before = _state(edited.parent)
    args = [a.format(gpkg=edited, out=tmp_path / "out") for a in command]
    result = run_cli(*args)
    assert_no_traceback(result)
    assert result.exit_code == 2, result.output
    text = all_output(result)
    assert "parcels.gpkg-wal" in text and "QGIS" in text and "copy" in text, text
    assert _state(edited.parent) == before


def test_a_pack_layer_with_pending_changes_is_refused(mini: Path) -> None:
    (gpkg,) = sorted((mini / "layers").glob("*.gpkg"))[:1]
    _sqlite(gpkg, "pragma journal_mode=wal", crash=False)
    _sqlite(gpkg, "update gpkg_contents set description = 'edited'", crash=True)
    before = _state(gpkg.parent)
    result = run_cli("validate", "--pack", mini)
    assert_no_traceback(result)
    assert result.exit_code == 2 and f"{gpkg.name}-wal" in all_output(result)
    assert _state(gpkg.parent) == before


def test_a_wal_mode_gpkg_with_nothing_pending_is_read_and_left_as_it_was(
    tmp_path: Path,
) -> None:
    folder = tmp_path / "data"
    folder.mkdir()
    gpkg = _parcels(folder / "parcels.gpkg")
    _sqlite(gpkg, "pragma journal_mode=wal", crash=False)
    os.utime(gpkg, (OLD, OLD))
    before = _state(folder)
    result = run_cli("analyze", "--parcels", gpkg, "--out", tmp_path / "out")
    assert result.exit_code == 0, all_output(result)
    assert _state(folder) == before


def test_a_gpkg_with_an_unfinished_write_is_refused_with_the_reason(tmp_path: Path) -> None:
    """A rollback journal left by a writer that stopped mid-transaction: GDAL alone failed
    with "attempt to write a readonly database; the file may be corrupt or truncated"."""
    folder = tmp_path / "data"
    folder.mkdir()
    gpkg = _parcels(folder / "parcels.gpkg")
    code = (
        "import os, sqlite3, sys\n"
        "c = sqlite3.connect(sys.argv[1], isolation_level=None)\n"
        "c.execute('pragma cache_size=1')\n"  # spill the change to the file mid-transaction
        "c.execute('begin')\n"
        "c.execute(\"update gpkg_contents set description = 'half'\")\n"
        "c.execute('delete from parcels')\n"
        "os._exit(0)\n"
    )
    subprocess.run([sys.executable, "-c", code, str(gpkg)], check=True)
    assert (folder / "parcels.gpkg-journal").stat().st_size > 0
    before = _state(folder)
    result = run_cli("analyze", "--parcels", gpkg, "--out", tmp_path / "out")
    assert_no_traceback(result)
    assert result.exit_code == 2 and "parcels.gpkg-journal" in all_output(result)
    assert _state(folder) == before
