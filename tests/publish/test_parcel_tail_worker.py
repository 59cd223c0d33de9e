"""The tail of a streamed ``qzgeo analyze`` with worker processes runs in the idle workers.

After the last chunk, this process writes the output's index; meanwhile the Excel summary
(openpyxl's import alone was ~0.2 s) and the search for overlapping parcels of different chunks
ran here too, in a thread, the two threads holding each other up on the GIL. They now run in
the idle workers. What they give must be what this process gives, byte for byte; the run must
still end with the right file (or the right note) when the worker has no openpyxl or died.

Oracles: the same run with no pool (made in this process, as before); for the pairs, the
in-memory run (one search over every parcel, no chunks) and shapely's relate pair by pair.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import Any

import pytest
import shapely

sys.path.insert(0, str(Path(__file__).parents[1] / "analysis"))

from pool_support import CELL, GRID_X0, GRID_Y0, quad_parcels, qzgeo, result_rows, write_parcels

from qzgeo.analysis.chunk_pool import ChunkPool
from qzgeo.analysis.overlap_chunks import cross_chunk_overlaps
from qzgeo.analysis.parcel_overlaps import OVERLAP_MIN_M2
from qzgeo.pack.catalog import load_pack
from qzgeo.pack.load import LoadedPack, analysis_layer_ids, load_pack_layers
from qzgeo.publish.parcel_stream import analyze_parcels_streamed
from qzgeo.publish.parcel_tables import summary_xlsx

ROWS = 400  # chunks of the 30 x 30 parcels below: three


class Pool(ThreadPoolExecutor):
    """A pool whose chunks run in threads, recording what else it was given; ``fail`` maps a
    function to the exception its task raises instead of running."""

    def __init__(self, fail: dict[Callable[..., Any], BaseException] | None = None) -> None:
        super().__init__(2)
        self.given: list[Callable[..., Any]] = []
        self.fail = fail or {}

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        self.given.append(fn)
        if fn in self.fail:
            failed: Future[Any] = Future()
            failed.set_exception(self.fail[fn])
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
    assert pool.given.count(cross_chunk_overlaps) == 1  # the pairs across chunks too
    assert there.chunks == 3 and here.outputs.xlsx is not None and there.outputs.xlsx is not None
    assert there.outputs.xlsx.read_bytes() == here.outputs.xlsx.read_bytes()
    assert there.outputs.csv.read_bytes() == here.outputs.csv.read_bytes()


def test_a_worker_without_openpyxl_gives_the_note_not_a_file(
    parcels: Path, loaded: LoadedPack, tmp_path: Path
) -> None:
    pool = Pool({summary_xlsx: ImportError("No module named openpyxl")})
    done = _run(parcels, loaded, tmp_path / "out", pool)
    assert done.outputs.xlsx is None and not (tmp_path / "out" / "parcels_summary.xlsx").exists()
    assert any("openpyxl is not installed" in n for n in done.notes), done.notes
    assert done.outputs.csv.exists()


def test_a_worker_that_died_after_the_last_chunk_still_gives_the_file(
    parcels: Path, loaded: LoadedPack, tmp_path: Path
) -> None:
    here = _run(parcels, loaded, tmp_path / "here", None)
    killed = BrokenProcessPool("killed")
    pool = Pool({summary_xlsx: killed, cross_chunk_overlaps: killed})
    done = _run(parcels, loaded, tmp_path / "out", pool)
    assert done.outputs.xlsx is not None and here.outputs.xlsx is not None
    assert done.outputs.xlsx.read_bytes() == here.outputs.xlsx.read_bytes()
    assert cross_chunk_overlaps in pool.given  # asked, failed, then found here
    assert done.outputs.report.read_bytes() == here.outputs.report.read_bytes()


@pytest.mark.slow
def test_pairs_across_chunks_found_by_a_worker_are_those_found_in_memory(tmp_path: Path) -> None:
    """A parcel drawn over the grid across the tiles the file is cut into (60 025 parcels: 3
    chunks of 25 000 to 2 worker processes) overlaps parcels of other chunks."""
    gdf = quad_parcels()
    x, y = GRID_X0 + 118 * CELL, GRID_Y0 + 118 * CELL  # the middle: where the tiles meet
    over = shapely.box(x, y - 30 * CELL, x + 4 * CELL, y + 30 * CELL)
    gdf.loc[len(gdf)] = {"pid": len(gdf), "code": 0, "名称": "跨块地块", "w": 0.5, "geometry": over}
    src = write_parcels(gdf, tmp_path / "parcels.gpkg")
    runs = {}
    for name, extra in (("workers", []), ("memory", ["--workers", "1"])):
        res = qzgeo("analyze", "--parcels", src, "--out", tmp_path / name, *extra)
        assert res.returncode == 0, res.stderr
        runs[name] = json.loads((tmp_path / name / "internal" / "parcels_report.json").read_text())
        runs[name + ":out"] = res.stdout
    assert "2 processes, 3 chunks" in runs["workers:out"], runs["workers:out"]
    got, want = runs["workers"]["overlapping_parcels"], runs["memory"]["overlapping_parcels"]
    assert got == want
    rows = result_rows(tmp_path / "memory")
    others = rows.geometry.values[rows.index != len(gdf) - 1]
    shared = shapely.area(shapely.intersection(over, others))  # planar m², ~1e-4 off
    clear = (shared > 1.01 * OVERLAP_MIN_M2) | (shared < 0.99 * OVERLAP_MIN_M2)
    assert clear.all()  # no pair within 1 % of the threshold: the count cannot depend on it
    assert got["pairs"] == int((shared >= OVERLAP_MIN_M2).sum()) > 60


def test_the_workers_excel_summary_says_the_overlaps_found_after_it(
    loaded: LoadedPack, tmp_path: Path
) -> None:
    """The worker makes the Excel summary before the pairs across chunks are known: with
    overlapping parcels, the file must still say them in its 合计 row, as the CSV does."""
    import openpyxl

    gdf = quad_parcels(30)
    gdf.loc[len(gdf)] = {**gdf.iloc[0].to_dict(), "pid": len(gdf)}  # fid 1 twice: chunks 1, 3
    src = write_parcels(gdf, tmp_path / "parcels.gpkg")
    here = _run(src, loaded, tmp_path / "here", None)
    pool = Pool()
    there = _run(src, loaded, tmp_path / "there", pool)
    assert there.outputs.xlsx is not None and here.outputs.xlsx is not None
    assert there.outputs.xlsx.read_bytes() == here.outputs.xlsx.read_bytes()
    sheet = openpyxl.load_workbook(there.outputs.xlsx).active
    assert str(sheet.cell(sheet.max_row, 2).value).startswith("注意：1 对地块相互重叠")


def test_the_worker_maps_the_boxes_from_the_spill_folder(
    loaded: LoadedPack, tmp_path: Path
) -> None:
    """The boxes of every row go to the worker as a file in the pool's spill folder, mapped
    there, not pickled (10M rows: the worker was ~400 MB larger than the other); the pairs
    are those found here, and the file is gone when the search has ended."""
    from qzgeo.analysis.overlap_chunks import MappedBoxes

    gdf = quad_parcels(30)
    gdf.loc[len(gdf)] = {**gdf.iloc[0].to_dict(), "pid": len(gdf)}  # fid 1 twice: chunks 1, 3
    src = write_parcels(gdf, tmp_path / "parcels.gpkg")
    here = _run(src, loaded, tmp_path / "here", None)
    spill = tmp_path / "spill"
    spill.mkdir()
    sent: list[tuple[Any, ...]] = []

    class Recording(Pool):
        def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
            if fn is cross_chunk_overlaps:
                sent.append(args)
                assert list(spill.iterdir()) == [args[1].path]  # the file while it runs
            return super().submit(fn, *args, **kwargs)

    pool = Recording()
    (tmp_path / "there").mkdir()
    try:
        there = analyze_parcels_streamed(
            src, loaded, tmp_path / "there", chunk_rows=ROWS, pool=ChunkPool(pool, 2, str(spill))
        )
    finally:
        pool.shutdown()
    assert len(sent) == 1 and isinstance(sent[0][1], MappedBoxes)
    assert sent[0][1].sizes == [ROWS, ROWS, 901 - 2 * ROWS]
    assert not list(spill.iterdir())
    assert there.overlaps.to_dict() == here.overlaps.to_dict()
    assert there.overlaps.pairs == 1
