"""The work `qzgeo analyze --parcels` cannot skip, timed step by step in one process.

A lower bound for any program that gives the same per-parcel answers on this machine, whatever
its design: start Python and import the I/O libraries; read every parcel and parse its WKB;
test each parcel's validity (invalid input must be repaired, not trusted); write every parcel
with the output's 17 columns to a GeoPackage with its R-tree (GDAL's writer: one thread, plus
its R-tree thread). Not counted, so the bound is generous: loading the pack, the overlay, the
ellipsoidal areas, the zones, the summary and the report.

With 2 cores, the steps other than the imports can at best be split over both cores, and the
write is one stream that no other step can shorten::

    bound = imports + max((read + parse + valid + write CPU) / 2, write wall)

Run by ``bench_analyze_e2e.py --methods floor_must``; also by hand::

    python benchmarks/floor_must.py PARCELS.gpkg OUT.gpkg
"""

from __future__ import annotations

import json
import sys
import time

_T0 = (time.perf_counter(), time.process_time())

import numpy as np  # noqa: E402  (the imports are the first timed step)
import pyarrow as pa  # noqa: E402
import pyogrio  # noqa: E402
import shapely  # noqa: E402

#: qzgeo's output columns besides the input's (see README: parcels.gpkg)
TEXT = ("zone_layer", "zone_name")
FLOATS = (
    "zone_m2", "area_m2", "area_ha", "area_mu", "class_a", "class_b", "class_c", "class_d",
    "inside_boundary", "constrained_m2", "available_m2", "available_ha", "available_mu",
)  # fmt: skip


class _Clock:
    def __init__(self) -> None:
        self.steps: dict[str, dict[str, float]] = {}
        self.last = (time.perf_counter(), time.process_time())

    def step(self, name: str) -> None:
        now = (time.perf_counter(), time.process_time())
        self.steps[name] = {
            "wall_s": round(now[0] - self.last[0], 3),
            "cpu_s": round(now[1] - self.last[1], 3),
        }
        self.last = now


def must(path: str, out: str) -> dict[str, object]:
    """Time each unavoidable step on ``path``, writing ``out``; the steps and the bound."""
    clock = _Clock()
    clock.last = _T0
    clock.step("imports")
    meta, table = pyogrio.read_arrow(path)
    clock.step("read")
    geom_name = meta["geometry_name"] or "wkb_geometry"
    wkb = table.column(geom_name)
    geoms = shapely.from_wkb(np.asarray(wkb.to_numpy(zero_copy_only=False), dtype=object))
    clock.step("parse")
    valid = shapely.is_valid(geoms)
    clock.step("valid")
    n = len(geoms)
    area = shapely.area(geoms)
    cols = {c: table.column(c) for c in table.column_names if c != geom_name}
    cols.update({c: pa.array([""] * n) for c in TEXT})
    cols["zone_fid"] = pa.array(np.full(n, -1, dtype=np.int64))
    cols.update({c: pa.array(area * (k + 1) / 7.0) for k, c in enumerate(FLOATS)})
    cols["conflict"] = pa.array(~valid | (area > 0))
    cols["geom"] = wkb  # the parcels as read: no encoding counted
    out_table = pa.table(cols)
    clock.step("columns (not counted)")
    pyogrio.write_arrow(
        out_table, out, layer="parcels", driver="GPKG", geometry_name="geom",
        geometry_type=meta.get("geometry_type") or "Unknown", crs=meta.get("crs"),
        layer_options={"SPATIAL_INDEX": "YES"},
    )  # fmt: skip
    clock.step("write")
    s = clock.steps
    work = sum(s[k]["cpu_s"] for k in ("read", "parse", "valid", "write"))
    bound = s["imports"]["wall_s"] + max(work / 2, s["write"]["wall_s"])
    return {"steps": s, "parcels": n, "bound_2_cores_s": round(bound, 3)}


if __name__ == "__main__":
    print(json.dumps(must(sys.argv[1], sys.argv[2])))
