"""Baseline for `qzgeo analyze --parcels`: the plain geopandas script a GIS analyst would write.

Reads the parcels with pyogrio (Arrow), merges each constraint class of a plan pack (the
catalog's ``constraint`` / ``constraint_classes``) in the parcels' CRS, runs
``geopandas.overlay(how="intersection")``, dissolves the exclusion pieces per parcel and writes
every parcel with its overlap columns to a GeoPackage. Planar areas; no repair, no zones, no
ellipsoid, no report: a lower bound on what the command must do, not its equal. It does not
import qzgeo.

    python benchmarks/baseline_geopandas_analyze.py PARCELS.gpkg OUT.gpkg [--pack layers]
"""

from __future__ import annotations

import argparse
import tomllib
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyogrio

PACK = Path(__file__).resolve().parent.parent / "layers"


def constraint_classes(pack: Path, crs: object) -> tuple[gpd.GeoDataFrame, dict[str, str]]:
    """One merged geometry per constraint class, in ``crs``; and the mode of each class."""
    catalog = tomllib.loads((pack / "catalog.toml").read_text(encoding="utf-8"))
    frames = []
    modes: dict[str, str] = {}
    for spec in catalog["layers"]:
        classes = spec.get("constraint_classes", {})
        default = spec.get("constraint")
        if not classes and not default:
            continue
        gdf = gpd.read_file(pack / spec["path"], layer=spec.get("layer"), use_arrow=True)
        field = spec.get("class_field")
        names = gdf[field].astype(str) if field else pd.Series(spec["title"], index=gdf.index)
        mode = names.map(lambda c, cl=classes, d=default: cl.get(c, d))
        gdf = gdf[mode.notna()].assign(cls=spec["id"] + ":" + names[mode.notna()])
        modes.update(dict(zip(gdf["cls"], mode[mode.notna()], strict=True)))
        frames.append(gdf[["cls", "geometry"]].to_crs(crs))
    merged = pd.concat(frames, ignore_index=True)
    merged["geometry"] = merged.geometry.make_valid()
    return merged.dissolve(by="cls", as_index=False), modes


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("parcels", type=Path)
    ap.add_argument("out", type=Path)
    ap.add_argument("--pack", type=Path, default=PACK)
    args = ap.parse_args()

    parcels = gpd.read_file(args.parcels, use_arrow=True)
    parcels["_pid"] = range(len(parcels))
    classes, modes = constraint_classes(args.pack, parcels.crs)
    pieces = gpd.overlay(
        parcels[["_pid", "geometry"]], classes, how="intersection", keep_geom_type=True
    )
    pieces["m2"] = pieces.geometry.area
    per_class = pieces.pivot_table(index="_pid", columns="cls", values="m2", aggfunc="sum")
    excluded = pieces[pieces["cls"].map(modes) == "exclusion"].dissolve(by="_pid")
    out = parcels.join(per_class, on="_pid")
    out["area_m2"] = out.geometry.area
    out["excluded_m2"] = out["_pid"].map(excluded.geometry.area)
    cols = [c for c in per_class.columns] + ["excluded_m2"]
    out[cols] = out[cols].fillna(0.0)
    args.out.unlink(missing_ok=True)
    pyogrio.write_dataframe(
        out.drop(columns="_pid"), args.out, layer="parcels", driver="GPKG", use_arrow=True
    )
    print(f"{len(out)} parcels, {len(pieces)} pieces, excluded {out['excluded_m2'].sum():.1f} m2")


if __name__ == "__main__":
    main()
