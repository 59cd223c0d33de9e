"""A progress bar leaves no thread behind, so the next run in the process forks its workers.

Found by CI: tqdm 4.70 keeps its monitor thread (``tqdm_monitor``) for the life of the
process once a bar was made. After one ``analyze --progress`` in the test session (as in a
notebook), :func:`qzgeo.analysis.processes.fork_safe` was false for every later run: their
workers came from a forkserver, and a test of the forked route failed.
"""

from __future__ import annotations

import threading
from pathlib import Path

import geopandas as gpd
import shapely
from click.testing import CliRunner
from support import get_path

from qzgeo.cli.main import cli

X0, Y0 = 36_564_000.0, 2_399_000.0  # inside the minipack (tests/data/make_minipack.py)


def test_analyze_with_progress_leaves_no_monitor_thread(tmp_path: Path) -> None:
    boxes = [shapely.box(X0 + 30 * i, Y0, X0 + 30 * i + 20, Y0 + 20) for i in range(50)]
    src = tmp_path / "parcels.gpkg"
    gpd.GeoDataFrame(geometry=boxes, crs="EPSG:4524").to_file(src)
    args = ["analyze", "--parcels", str(src), "--pack", str(get_path("minipack"))]
    res = CliRunner().invoke(cli, [*args, "--out", str(tmp_path / "o"), "--progress"])
    assert res.exit_code == 0, res.output
    assert "100%" in res.stderr  # the bar was drawn
    assert [t.name for t in threading.enumerate() if t.name == "tqdm_monitor"] == []
