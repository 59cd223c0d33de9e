"""How fast can a GeoPackage of analyze's parcels be written at all? (issue 13, the grid target)

``qzgeo analyze`` writes ``parcels.gpkg`` with one GDAL call (``pyogrio.write_arrow``, one
transaction, the R-tree built once at the end on GDAL's own thread). On the 1M grid that write
is most of the main process's CPU. This bench takes an ``internal/parcels.gpkg`` that analyze
wrote and writes its rows again several ways, to say where the floor of that step is:

  gdal_index      what qzgeo does: write_arrow, SPATIAL_INDEX=YES
  gdal_noindex    the same without the R-tree
  gdal_geom_only  the parcel number and the geometry only, without the R-tree
  adbc_ingest     GDAL makes the empty layer; the rows go in through the ADBC SQLite driver's
                  Arrow bulk ingest, geometry as GeoPackage blobs built in Arrow (needs
                  ``pip install adbc-driver-sqlite``; skipped without it)
  sqlite_rtree    SQLite's own R*Tree filled from a table of the boxes (INSERT ... SELECT)
  sqlite_copy     INSERT INTO a copy SELECT * FROM the table: SQLite's transfer of whole
                  records, the least any SQLite writer can do

    qzgeo analyze --parcels benchmarks/_work/e2e/grid_1000000.gpkg --out /tmp/g1
    python benchmarks/bench_gpkg_write.py /tmp/g1/internal/parcels.gpkg --repeat 3

Prints CPU-s and wall s (median of ``--repeat``) per method. Every output goes to a temporary
folder (``/dev/shm`` where it exists), removed after each run.
"""

from __future__ import annotations

import argparse
import sqlite3
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyogrio
import shapely

METHODS = [
    "gdal_index",
    "gdal_noindex",
    "gdal_geom_only",
    "adbc_ingest",
    "sqlite_rtree",
    "sqlite_copy",
]


def _write(table: pa.Table, path: Path, crs: str, index: bool) -> None:
    pyogrio.write_arrow(
        table, path, layer="parcels", driver="GPKG", geometry_name="geom",
        geometry_type="MultiPolygon", crs=crs,
        layer_options={"SPATIAL_INDEX": "YES" if index else "NO"},
    )  # fmt: skip


def _gpkg_blobs(wkb: pa.Array, srs_id: int) -> pa.Array:
    """GeoPackage geometry blobs: the 40-byte header with the XY envelope, then the WKB."""
    bounds = shapely.bounds(shapely.from_wkb(wkb.to_numpy(zero_copy_only=False)))
    n = len(wkb)
    head = np.zeros(
        n, dtype=[("m", "S2"), ("v", "u1"), ("f", "u1"), ("srs", "<i4"), ("env", "<f8", (4,))]
    )
    head["m"], head["f"], head["srs"] = b"GP", 0b011, srs_id  # little-endian, XY envelope
    head["env"] = bounds[:, [0, 2, 1, 3]]  # minx, maxx, miny, maxy
    h = pa.Array.from_buffers(pa.binary(40), n, [None, pa.py_buffer(head.tobytes())])
    return pc.binary_join_element_wise(
        h.cast(pa.binary()), wkb.cast(pa.binary()), pa.scalar(b"", pa.binary())
    )


def _adbc(table: pa.Table, path: Path, crs: str) -> float:
    """Returns the CPU of the ingest alone (analyze's workers would have the boxes already)."""
    import adbc_driver_sqlite.dbapi as adbc  # optional

    _write(table.slice(0, 0), path, crs, index=False)
    with sqlite3.connect(path) as con:
        srs_id = con.execute("SELECT srs_id FROM gpkg_geometry_columns").fetchone()[0]
    geom = table["geom"].combine_chunks()
    geom = getattr(geom, "storage", geom)  # geoarrow.wkb extension -> plain binary
    rows = table.set_column(table.schema.get_field_index("geom"), "geom", _gpkg_blobs(geom, srs_id))
    t = time.process_time()
    with adbc.connect(str(path)) as con, con.cursor() as cur:
        cur.adbc_ingest("parcels", rows, mode="append")
        con.commit()
    return time.process_time() - t


def _sqlite(source: Path, path: Path, what: str) -> float:
    """Time only SQLite's own work: the copy, or the R-tree from a table of boxes."""
    con = sqlite3.connect(path)
    con.execute("ATTACH ? AS s", (str(source),))
    if what == "copy":
        sql = con.execute("SELECT sql FROM s.sqlite_master WHERE name = 'parcels'").fetchone()[0]
        con.execute(sql)
        t = time.process_time()
        con.execute("INSERT INTO main.parcels SELECT * FROM s.parcels")
    else:
        con.execute(
            "CREATE TABLE boxes AS SELECT id, minx, maxx, miny, maxy FROM s.rtree_parcels_geom"
        )
        con.execute("CREATE VIRTUAL TABLE r USING rtree(id, minx, maxx, miny, maxy)")
        con.commit()
        t = time.process_time()
        con.execute("INSERT INTO r SELECT * FROM boxes")  # in the file's (chunked) order
    con.commit()
    cpu = time.process_time() - t
    con.close()
    return cpu


def run(
    method: str, source: Path, table: pa.Table, crs: str, tmp: Path
) -> tuple[float, float, float]:
    """CPU-s, wall s, and CPU-s of the step that matters (the ingest alone, for adbc)."""
    out = tmp / f"{method}.gpkg"
    jobs: dict[str, Callable[[], object]] = {
        "gdal_index": lambda: _write(table, out, crs, index=True),
        "gdal_noindex": lambda: _write(table, out, crs, index=False),
        "gdal_geom_only": lambda: _write(
            table.select([table.column_names[0], "geom"]), out, crs, index=False
        ),
        "adbc_ingest": lambda: _adbc(table, out, crs),
    }
    try:
        t, c = time.perf_counter(), time.process_time()
        if method in jobs:
            step = jobs[method]()
            cpu = time.process_time() - c
            return cpu, time.perf_counter() - t, step if isinstance(step, float) else cpu
        cpu = _sqlite(source, out, "copy" if method == "sqlite_copy" else "rtree")
        return cpu, cpu, cpu  # SQLite runs on this thread: its CPU is its wall
    finally:
        out.unlink(missing_ok=True)


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("gpkg", type=Path, help="an internal/parcels.gpkg written by qzgeo analyze")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--methods", default=",".join(METHODS))
    args = ap.parse_args()
    meta, table = pyogrio.read_arrow(args.gpkg)
    crs = meta["crs"]
    print(f"{args.gpkg}: {table.num_rows} rows x {table.num_columns} columns, {crs}")
    base = "/dev/shm" if Path("/dev/shm").is_dir() else None
    with tempfile.TemporaryDirectory(dir=base) as tmp:
        for method in args.methods.split(","):
            if method == "adbc_ingest":
                try:
                    import adbc_driver_sqlite  # noqa: F401
                except ImportError:
                    print(f"{method:15s} skipped: pip install adbc-driver-sqlite")
                    continue
            runs = [run(method, args.gpkg, table, crs, Path(tmp)) for _ in range(args.repeat)]
            cpu = statistics.median(r[0] for r in runs)
            wall = statistics.median(r[1] for r in runs)
            step = statistics.median(r[2] for r in runs)
            alone = f"  (ingest alone {step:.2f} CPU-s)" if method == "adbc_ingest" else ""
            print(f"{method:15s} {cpu:6.2f} CPU-s {wall:6.2f} s{alone}")


if __name__ == "__main__":
    main()
