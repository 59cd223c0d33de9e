"""A writer killed by SIGKILL (or a power cut) leaves its temporary file beside the target, in
a folder that may be the user's own (``qzgeo convert IN OUT``), where no lock covers it. The
next write of the same target removes such files whose writer is gone, and nothing else."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import geopandas as gpd
from click.testing import CliRunner
from shapely.geometry import box

from qzgeo.cli.main import cli
from qzgeo.io.atomic import TEMP_PREFIX, write_bytes


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_a_killed_writers_temporary_is_removed_by_the_next_write(tmp_path: Path) -> None:
    target = tmp_path / "out.gpkg"
    dead = tmp_path / f"{TEMP_PREFIX}tmp-out.gpkg.{_dead_pid()}-abc123.gpkg"
    journal = tmp_path / f"{dead.name}-journal"
    live = tmp_path / f"{TEMP_PREFIX}tmp-out.gpkg.{os.getpid()}-def456.gpkg"  # a writer at work
    older = tmp_path / f"{TEMP_PREFIX}tmp-out.gpkg.x1y2z3.gpkg"  # no pid: not provably stale
    other = tmp_path / f"{TEMP_PREFIX}tmp-other.gpkg.{_dead_pid()}-abc.gpkg"  # another target
    mine = tmp_path / "out.gpkg.bak"
    for p in (dead, journal, live, older, other, mine):
        p.write_bytes(b"x")
    write_bytes(target, b"new")
    assert target.read_bytes() == b"new"
    assert not dead.exists() and not journal.exists()
    assert live.exists() and older.exists() and other.exists() and mine.exists()


def test_convert_after_a_killed_convert_leaves_only_its_output(tmp_path: Path) -> None:
    src = tmp_path / "in.geojson"
    gpd.GeoDataFrame(
        {"名称": ["a"]}, geometry=[box(108.6, 21.7, 108.61, 21.71)], crs="EPSG:4490"
    ).to_file(src, driver="GeoJSON")
    out = tmp_path / "user" / "out.gpkg"
    out.parent.mkdir()
    left = out.parent / f"{TEMP_PREFIX}tmp-out.gpkg.{_dead_pid()}-q9w8e7.gpkg"
    left.write_bytes(b"SQLite format 3\x00 half written")
    result = CliRunner().invoke(cli, ["convert", str(src), str(out)])
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in out.parent.iterdir()) == ["out.gpkg"]
