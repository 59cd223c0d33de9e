"""Outputs of a suitability run: its folder, Cloud-Optimized GeoTIFFs and ``report.json``.

Each raster is streamed window by window into a tiled GeoTIFF beside the target, then copied by
GDAL's COG driver (DEFLATE, 512-cell tiles, overviews by nearest neighbour so that class codes
survive) into place atomically. The colour table travels in the file; the class names in the
``QZGEO_CLASSES`` tag (JSON, the tag :func:`qzgeo.analysis.raster.zonal_stats` reads).
"""

from __future__ import annotations

import json
import shutil
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any

import numpy as np
import numpy.typing as npt
import rasterio
import rasterio.shutil
from rasterio.windows import Window

from qzgeo._errors import OutputError
from qzgeo.analysis.raster import CLASSES_TAG
from qzgeo.analysis.suitability.grid import BLOCK, Grid
from qzgeo.analysis.suitability.job import SuitabilityJob, interval_names, stream_job
from qzgeo.analysis.suitability.model import Factor, Model
from qzgeo.io.atomic import TEMP_PREFIX, atomic_path, write_text
from qzgeo.io.digest import sha256_file
from qzgeo.pack.model import Pack

TOOL = "qzgeo suitability"

GRADE_COLORS = {1: "#d7191c", 2: "#fdae61", 3: "#ffffbf", 4: "#a6d96a", 5: "#1a9641"}


def rgba(color: str) -> tuple[int, int, int, int]:
    """``#rrggbb`` as an opaque RGBA tuple.

    Examples
    --------
    >>> rgba("#1a9641")
    (26, 150, 65, 255)
    """
    return (int(color[1:3], 16), int(color[3:5], 16), int(color[5:7], 16), 255)


class CogWriter:
    """Stream uint8 class codes into a COG with a colour table and class names."""

    def __init__(
        self,
        target: Path,
        grid: Grid,
        *,
        classes: Mapping[int, str],
        colors: Mapping[int, str],
        description: str,
        tags: Mapping[str, str] | None = None,
    ) -> None:
        self.target = target
        self._dir = Path(tempfile.mkdtemp(prefix=TEMP_PREFIX, dir=target.parent))
        self._tmp = self._dir / target.name
        profile = {
            "driver": "GTiff",
            "width": grid.width,
            "height": grid.height,
            "count": 1,
            "dtype": "uint8",
            "crs": grid.crs.to_wkt(),
            "transform": grid.transform,
            "nodata": 0,
            "tiled": True,
            "blockxsize": BLOCK,
            "blockysize": BLOCK,
            "compress": "deflate",
            "BIGTIFF": "IF_SAFER",
        }
        self.dst = rasterio.open(self._tmp, "w", **profile)
        # A palette must be set before the first pixel is written.
        cmap = {0: (0, 0, 0, 0), **{c: rgba(col) for c, col in colors.items()}}
        self.dst.write_colormap(1, cmap)
        self.classes, self.colors = dict(classes), dict(colors)
        self.description, self.tags = description, dict(tags or {})

    def write(self, arr: npt.NDArray[np.uint8], win: Window) -> None:
        self.dst.write(arr, 1, window=win)

    def finish(self) -> Path:
        """Close the stream and copy it as a COG over the target (atomically)."""
        names = {str(c): n for c, n in sorted(self.classes.items())}
        self.dst.update_tags(**{CLASSES_TAG: json.dumps(names, ensure_ascii=False)}, **self.tags)
        self.dst.set_band_description(1, self.description)
        self.dst.close()
        with atomic_path(self.target) as tmp:
            rasterio.shutil.copy(
                self._tmp,
                tmp,
                driver="COG",
                COMPRESS="DEFLATE",
                BLOCKSIZE=BLOCK,
                OVERVIEW_RESAMPLING="NEAREST",
                BIGTIFF="IF_SAFER",
            )
        self.cleanup()
        return self.target

    def cleanup(self) -> None:
        if not self.dst.closed:
            self.dst.close()
        shutil.rmtree(self._dir, ignore_errors=True)

    def __enter__(self) -> CogWriter:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.cleanup()


def suitability_folder(out: Path, sensitivity: str, name: str) -> tuple[Path, list[str]]:
    """The model's folder, and the files a previous run listed there (ours to replace).

    Raises
    ------
    OutputError
        The folder holds files but no ``report.json`` of ours: it is not ours to write over.
    """
    folder = out / sensitivity / "suitability" / name
    previous = _listed(folder) or []
    if not (folder / "report.json").is_file() and folder.is_dir() and any(folder.iterdir()):
        msg = (
            f"{folder} exists and was not written by {TOOL} (no report.json of ours); "
            "choose another --out or empty the folder"
        )
        raise OutputError(msg)
    return folder, previous  # made when the staged outputs move in: a failed run leaves none


def _listed(folder: Path) -> list[str] | None:
    """The outputs the ``report.json`` of a run of ours in ``folder`` lists; ``None``: none."""
    try:
        data = json.loads((folder / "report.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or data.get("tool") != TOOL:
        return None
    return [str(p) for p in data.get("outputs", {})]


def moved_outputs(out: Path, sensitivity: str, name: str) -> list[Path]:
    """What an earlier run of model ``name`` wrote into the other part of ``out``, now that
    its outputs go to ``sensitivity``: a layer it reads became internal, and its public copy
    (the map drawing that layer) must not stay in ``public/`` to be posted."""
    other = "internal" if sensitivity == "public" else "public"
    folder = out / other / "suitability" / name
    listed = _listed(folder)
    if listed is None:
        return []
    return [
        folder / f for f in (*listed, "report.json") if "/" not in f and f not in ("", ".", "..")
    ]


def _writers(
    folder: Path, job: SuitabilityJob, model: Model, used: list[Factor], sensitivity: str
) -> dict[str, CogWriter]:
    tags = {"QZGEO_MODEL": model.name, "QZGEO_SENSITIVITY": sensitivity}
    writers = {
        f.id: CogWriter(
            folder / f"factor_{f.id}.tif",
            job.grid,
            classes=interval_names(f),
            colors=GRADE_COLORS,
            description=f"{f.title} 分级 (1..5)",
            tags=tags,
        )
        for f in used
    }
    writers["result"] = CogWriter(
        folder / "result.tif",
        job.grid,
        classes={i: c.name for i, c in enumerate(model.classes, start=1)},
        colors={i: c.color for i, c in enumerate(model.classes, start=1)},
        description=model.title,
        tags=tags,
    )
    return writers


def write_grids(
    folder: Path,
    job: SuitabilityJob,
    model: Model,
    used: list[Factor],
    *,
    sensitivity: str,
    progress: bool | None = None,
) -> list[Path]:
    """Stream the job into ``factor_<id>.tif`` per used factor and ``result.tif`` (COGs).

    The factor rasters are closed and the temporary files removed whatever happens.
    """
    writers = _writers(folder, job, model, used, sensitivity)
    try:
        stream_job(job, model, used, writers, progress)
        return [w.finish() for w in writers.values()]
    finally:
        for w in writers.values():
            w.cleanup()
        job.close()


def suitability_report(
    m: Model,
    pack: Pack,
    job: SuitabilityJob,
    used: list[Factor],
    missing: list[dict[str, str]],
    given: Mapping[str, Path],
    sensitivity: str,
    outputs: list[Path],
    warnings: list[str],
) -> dict[str, Any]:
    """What ``report.json`` holds: grid, factors used and missing, inputs, outputs, warnings."""
    g = job.grid
    return {
        "tool": TOOL,
        "pack": pack.name,
        "model": m.name,
        "title": m.title,
        "sensitivity": sensitivity,
        "grid": {
            "crs": g.crs.to_string(),
            "resolution_m": g.res,
            "width": g.width,
            "height": g.height,
            "transform": list(g.transform.to_gdal()),
        },
        "factors_used": [
            {
                "factor": f.id,
                "title": f.title,
                "kind": f.kind,
                "weight": round(job.weights[f.id], 6),
                "source": f.raster or list(f.layers),
            }
            for f in used
        ],
        "factors_missing": missing,
        "short_board": [k for k in m.short_board if k in job.weights],  # the rule applied
        "hard_limits": [{"layer": h.layer, "classes": list(h.classes)} for h in m.hard_limits],
        "rasters": {
            # a public report names a raster by its name: a path as typed names home folders
            k: {"path": p.name if sensitivity == "public" else str(p), "sha256": sha256_file(p)}
            for k, p in sorted(given.items())
        },
        "areas_m2": {k: round(v, 2) for k, v in job.totals.items()},
        "outputs": {p.name: sha256_file(p) for p in outputs},
        "warnings": warnings,
    }


def finish_folder(folder: Path, report: Mapping[str, Any], previous: Sequence[str]) -> Path:
    """Write ``report.json`` and remove the files a previous run listed that this one did not
    (:func:`stale_outputs`) from ``folder``."""
    path = write_text(
        folder / "report.json",
        json.dumps(report, ensure_ascii=False, indent=2, sort_keys=True) + "\n",
    )
    for stale in stale_outputs(report, previous):
        (folder / stale).unlink(missing_ok=True)
    return path


def stale_outputs(report: Mapping[str, Any], previous: Sequence[str]) -> list[str]:
    """The files a previous run listed (``previous``) that this one (``report``) did not."""
    made = set(report.get("outputs", {}))
    return sorted(s for s in set(previous) - made if "/" not in s and s != "report.json")
