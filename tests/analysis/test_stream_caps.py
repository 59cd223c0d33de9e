"""The feature cap of a parcel file read in chunks, the extent refusal of one chunk, and the
input's hash stopped by a failed run.

The default feature cap (5M) bounds what one read holds; a file analyzed in chunks holds one
chunk, so only a cap the user asks for (``--max-features``) applies to the whole file. The
defaults are lowered here through the Python API (``ReadCaps``) to keep the files small.
"""

from __future__ import annotations

import hashlib
import sys
import threading
from pathlib import Path

import numpy as np
import pyogrio
import pytest
import shapely
from pyproj import Transformer

sys.path.insert(0, str(Path(__file__).parent))

from pool_support import CRS, quad_parcels, qzgeo, result_rows, write_parcels

from qzgeo._errors import CRSError, InputError
from qzgeo.io.digest import sha256_file
from qzgeo.io.guard import ReadCaps
from qzgeo.pipeline import run_analyze

N_SIDE = 30  # 900 parcels
CAP = 400  # under the file's 900 features, over a chunk's 300


@pytest.fixture(scope="module")
def parcels(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_parcels(quad_parcels(N_SIDE), tmp_path_factory.mktemp("caps") / "p.gpkg")


def test_the_default_cap_bounds_a_chunk_not_a_chunked_file(parcels: Path, tmp_path: Path) -> None:
    caps = ReadCaps(max_features=CAP)  # a default cap: not asked for
    s = run_analyze(parcels, tmp_path / "o", caps=caps, chunk_rows=300, workers=1)
    assert s.result is None and s.counts[0] == N_SIDE**2  # streamed
    rows = result_rows(tmp_path / "o")
    assert rows.index.tolist() == list(range(N_SIDE**2))  # every parcel, none dropped


def test_the_default_cap_still_refuses_a_file_read_whole(parcels: Path, tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"900 features, over the cap of 400.*--max-features"):
        run_analyze(parcels, tmp_path / "o", caps=ReadCaps(max_features=CAP), workers=1)
    assert not (tmp_path / "o").exists()


def test_a_cap_asked_for_refuses_a_chunked_file(parcels: Path, tmp_path: Path) -> None:
    caps = ReadCaps(max_features=CAP, features_given=True)
    with pytest.raises(InputError, match=r"900 features, over the cap of 400.*--max-features"):
        run_analyze(parcels, tmp_path / "o", caps=caps, chunk_rows=300, workers=1)
    assert not (tmp_path / "o").exists()


def test_max_features_on_the_command_line_refuses_a_chunked_file(
    parcels: Path, tmp_path: Path
) -> None:
    out = tmp_path / "o"
    res = qzgeo(
        "analyze", "--parcels", parcels, "--out", out, "--chunk-rows", "300",
        "--max-features", str(CAP),
    )  # fmt: skip
    assert res.returncode == 2, (res.stdout, res.stderr)
    assert "Traceback" not in res.stderr
    assert str(parcels) in res.stderr and "--max-features" in res.stderr, res.stderr
    assert not out.exists()


def test_parcels_outside_in_one_chunk_are_counted_in_that_chunk(tmp_path: Path) -> None:
    """Three parcels of the second chunk moved 1 000 km north: the message names the first
    one's FID and says that the count is the chunk's, not the file's."""
    gdf = quad_parcels(N_SIDE)
    x, y = Transformer.from_crs(4490, CRS, always_xy=True).transform([108.6] * 3, [30.7] * 3)
    moved = [400, 401, 402]  # FIDs 401..403, in the chunk of rows 300..599
    gdf.loc[moved, "geometry"] = shapely.box(
        np.array(x) + np.arange(3) * 100, np.array(y), np.array(x) + np.arange(3) * 100 + 50,
        np.array(y) + 50,
    )  # fmt: skip
    src = write_parcels(gdf, tmp_path / "far.gpkg")
    with pytest.raises(CRSError) as err:
        run_analyze(src, tmp_path / "o", chunk_rows=300, workers=1)
    text = str(err.value)
    assert "feature 401 (and 2 more among its chunk of 300 features" in text, text
    assert "other chunks were not counted" in text, text


def test_the_hash_of_an_input_stops_when_asked(tmp_path: Path) -> None:
    data = np.random.default_rng(3).bytes(3 << 20)
    f = tmp_path / "blob.bin"
    f.write_bytes(data)
    assert sha256_file(f) == hashlib.sha256(data).hexdigest()  # hashlib on the bytes: oracle
    stop = threading.Event()
    assert sha256_file(f, stop=stop) == hashlib.sha256(data).hexdigest()
    stop.set()
    assert sha256_file(f, stop=stop) == ""


def test_a_streamed_run_keeps_the_input_hash(parcels: Path, tmp_path: Path) -> None:
    import json

    run_analyze(parcels, tmp_path / "o", chunk_rows=300, workers=1)
    report = json.loads((tmp_path / "o" / "internal" / "parcels_report.json").read_text("utf-8"))
    want = hashlib.sha256(parcels.read_bytes()).hexdigest()
    assert report["inputs"] == {parcels.name: want}
    assert pyogrio.read_info(parcels)["features"] == N_SIDE**2  # the input is untouched
