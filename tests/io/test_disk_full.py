"""A full disk while writing: a message naming the file and the fix, never a writer's own
exception (pyogrio's DataLayerError or rasterio's "Write failed. See previous exception" came
out as a traceback or a bare line); the previous file stays, no temporary file is left.

The disk is made "full" by the file system's answer (``os.statvfs``), the writer's failure by
raising what GDAL raised on a full 5 MB tmpfs.
"""

from __future__ import annotations

import os
from pathlib import Path
from types import SimpleNamespace

import pyogrio
import pytest
import rasterio.errors

from qzgeo._errors import OutputError
from qzgeo.io.atomic import atomic_path, write_errors_explained

GDAL_FULL = (
    "Error while writing batch to OGR layer: sqlite3_exec(COMMIT) failed: database or disk is full"
)


@pytest.fixture
def full_disk(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(os, "statvfs", lambda _: SimpleNamespace(f_bavail=12, f_frsize=4096))


def test_a_gdal_error_on_a_full_disk_is_an_output_error(tmp_path: Path, full_disk: None) -> None:
    target = tmp_path / "analysis.gpkg"
    target.write_bytes(b"previous")
    with pytest.raises(OutputError) as got, atomic_path(target) as tmp:
        tmp.write_bytes(b"half")
        raise pyogrio.errors.DataLayerError(GDAL_FULL)
    text = str(got.value)
    assert "analysis.gpkg" in text and "disk is full" in text and "0.0 MB" in text, text
    assert "Free some space" in text and "database or disk is full" in text
    assert target.read_bytes() == b"previous" and sorted(tmp_path.iterdir()) == [target]


def test_other_writer_errors_are_not_blamed_on_the_disk(tmp_path: Path) -> None:
    with pytest.raises(pyogrio.errors.DataLayerError), atomic_path(tmp_path / "a.gpkg"):
        raise pyogrio.errors.DataLayerError("no such column")  # a disk with room: a bug
    assert list(tmp_path.iterdir()) == []


def test_a_rasterio_write_failure_names_the_folder(tmp_path: Path, full_disk: None) -> None:
    with pytest.raises(OutputError) as got, write_errors_explained(tmp_path):
        raise rasterio.errors.RasterioIOError("Write failed. See previous exception for details.")
    text = str(got.value)
    assert str(tmp_path) in text and "disk is full" in text and "Free some space" in text, text
