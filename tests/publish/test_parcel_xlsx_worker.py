"""The Excel summary of a streamed ``qzgeo analyze`` with worker processes is made by a worker.

Importing openpyxl and filling the workbook took ~0.3 s of the run's tail, after the last chunk,
while one core had nothing to do; an idle worker now makes it while this process writes the
output's index. What it makes must be the file made here, byte for byte, and the run must
still end with the right file (or the right note) when the worker has no openpyxl or died.

Oracle: the same run with no pool (the file made in this process, as before).
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).parents[1] / "analysis"))

from pool_support import quad_parcels, write_parcels

from qzgeo.analysis.chunk_pool import ChunkPool
from qzgeo.pack.catalog import load_pack
from qzgeo.pack.load import LoadedPack, analysis_layer_ids, load_pack_layers
from qzgeo.publish.parcel_stream import analyze_parcels_streamed
from qzgeo.publish.parcel_tables import summary_xlsx

ROWS = 400  # chunks of the 30 x 30 parcels below: three


class Pool(ThreadPoolExecutor):
    """A pool whose chunks run in threads, recording what else it was given; ``excel``
    replaces what the Excel task returns (an exception to raise instead)."""

    def __init__(self, excel: BaseException | None = None) -> None:
        super().__init__(2)
        self.given: list[Callable[..., Any]] = []
        self.excel = excel

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        self.given.append(fn)
        if fn is summary_xlsx and self.excel is not None:
            failed: Future[Any] = Future()
            failed.set_exception(self.excel)
            return failed
        return super().submit(fn, *args, **kwargs)


@pytest.fixture(scope="module")
def loaded() -> LoadedPack:
    pack = load_pack()
    return load_pack_layers(pack, only=analysis_layer_ids(pack))


@pytest.fixture(scope="module")
def parcels(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_parcels(quad_parcels(30), tmp_path_factory.mktemp("xlsx") / "parcels.gpkg")


def _run(parcels: Path, loaded: LoadedPack, out: Path, pool: Pool | None) -> Any:
    out.mkdir()
    chunks = None if pool is None else ChunkPool(pool, 2)
    try:
        return analyze_parcels_streamed(parcels, loaded, out, chunk_rows=ROWS, pool=chunks)
    finally:
        if pool is not None:
            pool.shutdown()


def test_the_workers_excel_summary_is_the_one_made_here(
    parcels: Path, loaded: LoadedPack, tmp_path: Path
) -> None:
    here = _run(parcels, loaded, tmp_path / "here", None)
    pool = Pool()
    there = _run(parcels, loaded, tmp_path / "there", pool)
    assert pool.given.count(summary_xlsx) == 1  # made by the pool, once
    assert there.chunks == 3 and here.outputs.xlsx is not None and there.outputs.xlsx is not None
    assert there.outputs.xlsx.read_bytes() == here.outputs.xlsx.read_bytes()
    assert there.outputs.csv.read_bytes() == here.outputs.csv.read_bytes()


def test_a_worker_without_openpyxl_gives_the_note_not_a_file(
    parcels: Path, loaded: LoadedPack, tmp_path: Path
) -> None:
    done = _run(parcels, loaded, tmp_path / "out", Pool(ImportError("No module named openpyxl")))
    assert done.outputs.xlsx is None and not (tmp_path / "out" / "parcels_summary.xlsx").exists()
    assert any("openpyxl is not installed" in n for n in done.notes), done.notes
    assert done.outputs.csv.exists()


def test_a_worker_that_died_after_the_last_chunk_still_gives_the_file(
    parcels: Path, loaded: LoadedPack, tmp_path: Path
) -> None:
    here = _run(parcels, loaded, tmp_path / "here", None)
    done = _run(parcels, loaded, tmp_path / "out", Pool(BrokenProcessPool("killed")))
    assert done.outputs.xlsx is not None and here.outputs.xlsx is not None
    assert done.outputs.xlsx.read_bytes() == here.outputs.xlsx.read_bytes()
