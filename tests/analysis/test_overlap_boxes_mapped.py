"""The boxes of a streamed run's rows, mapped from a file as a worker reads them, are the
boxes held in memory (:class:`qzgeo.analysis.overlap_chunks.MappedBoxes`)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import shapely

from qzgeo.analysis.overlap_chunks import ChunkBoxes
from qzgeo.io.gpkg_rtree import CELL


def _cells(ids: list[int], boxes: np.ndarray) -> np.ndarray:
    cells = np.empty(len(ids), dtype=CELL)
    cells["id"] = ids
    cells["box"] = boxes  # minx, maxx, miny, maxy, as SQLite's R-tree holds them
    return cells


@pytest.mark.parametrize("sizes", [[], [3], [4, 1, 5]])
def test_mapped_boxes_are_the_boxes_held(tmp_path: Path, sizes: list[int]) -> None:
    rng = np.random.default_rng(len(sizes))
    held = ChunkBoxes("EPSG:4524", slab_rows=7)
    for rows in sizes:
        ids = [i for i in range(rows) if i != 1]  # row 1 of each chunk has no box (NaN)
        lo = rng.uniform(0, 1e6, (len(ids), 2))
        box = np.column_stack([lo[:, 0], lo[:, 0] + 5, lo[:, 1], lo[:, 1] + 7])
        held.add(_cells(ids, box), rows)
    mapped = held.to_file(tmp_path / "boxes.f32")
    assert (tmp_path / "boxes.f32").stat().st_size == 16 * sum(sizes)
    (want, want_chunk), (got, got_chunk) = held.arrays(), mapped.arrays()
    assert got.dtype == want.dtype == np.float32 and got.shape == want.shape
    assert np.array_equal(got, want, equal_nan=True)
    assert np.array_equal(got_chunk, want_chunk) and got_chunk.dtype == want_chunk.dtype
    assert (mapped.chunks, mapped.crs, mapped.slab_rows) == (len(sizes), "EPSG:4524", 7)
    # the boxes as shapely reads them: minx, miny, maxx, maxy of the cells given
    if sizes:
        first = shapely.box(*got[0].astype(float))
        assert shapely.bounds(first)[2] - shapely.bounds(first)[0] == pytest.approx(5)
