"""Parcel analysis outputs: parcels.gpkg, parcels_summary.csv (+ .xlsx) and parcels_report.json."""

from __future__ import annotations

import contextlib
import io
import json
import os
import zipfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd

from qzgeo.analysis.overlay import OverlayReport
from qzgeo.analysis.parcel_overlaps import ParcelOverlaps
from qzgeo.analysis.parcels import ParcelPlan, parcel_summary
from qzgeo.geo.coverage import as_coverage
from qzgeo.geo.repair import RepairReport
from qzgeo.io.atomic import write_bytes, write_text
from qzgeo.io.outdir import PARTS, Build, output_build, staged
from qzgeo.io.write_stream import arrow_batch, write_gpkg_stream
from qzgeo.pack.model import Pack
from qzgeo.publish.checks import constraint_classes_published, zone_names_published
from qzgeo.publish.tables import csv_bytes, write_csv

__all__ = [
    "ParcelOutputs",
    "ParcelPlace",
    "parcel_place",
    "published_zone_names",
    "results_public",
    "write_parcel_outputs",
    "write_parcel_tables",
]


def results_public(pack: Pack) -> bool:
    """Parcel results are public only if every layer they derive from is (zones, constraints,
    the coverage layer: its outline shapes each parcel's 未核查 part), and the constraint
    classes they name (columns ``layer:class``) are published."""
    layers = (*pack.constraint_layers(), *pack.parcel_layers())
    return all(s.is_public for s in layers) and constraint_classes_published(pack)


#: The report of ``qzgeo analyze``, always internal. Not ``report.json``: that is publish's, and
#: both commands default to the same OUT, so one would replace the other's.
PARCEL_REPORT = "parcels_report.json"

#: What ``qzgeo analyze`` writes in its part (``PARCEL_REPORT`` aside, always internal).
PARCEL_FILES = (
    *("parcels.gpkg", "parcels_summary.csv", "parcels_summary.csvt", "parcels_summary.xlsx"),
    "parcels.html",
)


@dataclass
class ParcelPlace:
    """Where one ``qzgeo analyze`` writes: ``part`` (public or internal) of ``build``, a
    staging folder (:func:`qzgeo.io.outdir.staged`) whose files are put in place together
    at the end; ``parcels_report.json`` goes to ``build.internal``.

    Set ``files`` to the outputs written in ``part`` (not ``parcels_report.json``, always internal):
    the same files of an earlier run in the other part are removed at the end. After the
    ``with``, ``files`` hold their final paths; :meth:`final` gives any other's.
    """

    build: Build
    part: Path
    other: str
    files: list[Path] = field(default_factory=list)

    def final(self, path: Path) -> Path:
        """Where ``path``, written under :attr:`build`, is once the run is done."""
        return self.build.final(path)


@contextlib.contextmanager
def parcel_place(
    out_dir: str | os.PathLike[str],
    parcels_path: str | os.PathLike[str],
    pack: Pack,
    *,
    public: bool,
) -> Iterator[ParcelPlace]:
    """The output folder of ``qzgeo analyze``, its part for the results, and stale files gone.

    ``public``: only if every zone and constraint layer is (:func:`results_public`).
    """
    part_name = "public" if public else "internal"
    place: ParcelPlace | None = None

    def stale() -> list[Path]:
        # An earlier run's outputs this run does not replace: in the other part, and those
        # it did not make (parcels.html without --map): they describe other parcels.
        made = {p.name for p in place.files} if place is not None else set()
        return [
            build.out / n / f
            for n in PARTS
            for f in PARCEL_FILES
            if f not in made or n != part_name
        ]

    with (
        output_build(out_dir, inputs=[parcels_path], pack=pack.root, whole=False) as build,
        staged(build, stale=stale) as stage,
    ):
        place = ParcelPlace(stage, stage.part(part_name), "internal" if public else "public")
        yield place
        place.files = [place.final(p) for p in place.files]


def published_zone_names(result: gpd.GeoDataFrame, pack: Pack) -> gpd.GeoDataFrame:
    """Zone names only where every zone layer publishes them; else ``layer#fid``."""
    if zone_names_published(pack):
        return result
    out = result.copy()
    inside = out["zone_layer"].astype(str) != ""
    label = out["zone_layer"].astype(str) + "#" + out["zone_fid"].astype(str)
    out["zone_name"] = label.where(inside, "")
    return out


#: Decimals of the summary's area columns in its files, by column suffix: 0.01 m², as the
#: area columns of parcels.gpkg. Unrounded, a zone's 未核查 of 0.002 m² of rounding showed
#: as 1.93e-07 公顷 in Excel and 2893.430579028195 as every digit of a double.
SUMMARY_DECIMALS = {"_公顷": 6, "_亩": 5}


def _decimals(column: str) -> int | None:
    return next((d for s, d in SUMMARY_DECIMALS.items() if column.endswith(s)), None)


def summary_csv(summary: pd.DataFrame) -> bytes:
    """``parcels_summary.csv``: UTF-8 with BOM (Excel), ``\\n`` line ends, areas to
    :data:`SUMMARY_DECIMALS` in fixed notation.

    Examples
    --------
    >>> t = pd.DataFrame({"分区": ["甲"], "地块数": [2], "可用_公顷": [1.93e-07], "可用_亩": [2.5]})
    >>> summary_csv(t).decode("utf-8-sig")
    '分区,地块数,可用_公顷,可用_亩\\n甲,2,0.000000,2.50000\\n'
    """
    return csv_bytes(summary, decimals=_places(summary))  # no float column left to format


def _places(summary: pd.DataFrame) -> dict[str, int]:
    return {str(c): d for c in summary.columns if (d := _decimals(str(c))) is not None}


def _xlsx_bytes(summary: pd.DataFrame) -> bytes:
    from datetime import datetime

    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.title = "汇总"
    ws.append(list(summary.columns))
    decimals = [_decimals(str(c)) for c in summary.columns]
    for rec in summary.itertuples(index=False):
        row = zip(rec, decimals, strict=True)
        ws.append([v if d is None else round(float(v), d) + 0.0 for v, d in row])
    for k, d in enumerate(decimals, start=1):
        if d is not None:  # shown as written to the CSV, not as 1.93E-07
            for (cell,) in ws.iter_rows(min_row=2, min_col=k, max_col=k):
                cell.number_format = "0." + "0" * d
    # openpyxl writes a string that starts with "=" as a formula: a zone or class named
    # "=1+1" would be computed by Excel, a HYPERLINK(...) one followed; names are text
    for row in ws.iter_rows():
        for cell in row:
            if isinstance(cell.value, str):
                cell.data_type = "s"
    fixed = datetime(2000, 1, 1)
    wb.properties.created = fixed
    wb.properties.modified = fixed
    raw = io.BytesIO()
    wb.save(raw)
    # openpyxl stamps zip entries with the current time; pin them so re-runs are identical.
    out = io.BytesIO()
    with zipfile.ZipFile(raw) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            data = src.read(info.filename)
            if info.filename == "docProps/core.xml":
                data = _pin_core_dates(data)
            dst.writestr(
                zipfile.ZipInfo(info.filename, date_time=(2000, 1, 1, 0, 0, 0)),
                data,
                compress_type=zipfile.ZIP_DEFLATED,
            )
    return out.getvalue()


def _pin_core_dates(xml: bytes) -> bytes:
    import re

    pattern = rb"(<dcterms:(?:created|modified)[^>]*>)[^<]*(<)"
    return re.sub(pattern, rb"\g<1>2000-01-01T00:00:00Z\2", xml)


@dataclass
class ParcelOutputs:
    """Paths written by :func:`write_parcel_outputs`, and what could not be written."""

    gpkg: Path
    csv: Path
    csvt: Path
    report: Path
    xlsx: Path | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def results(self) -> list[Path]:
        """The files of the results (``parcels_report.json`` aside): ``parcels.gpkg``, the
        summary's CSV, its ``.csvt`` (the column types QGIS reads) and ``.xlsx``."""
        return [self.gpkg, self.csv, self.csvt, *([self.xlsx] if self.xlsx else [])]


def write_parcel_outputs(
    result: gpd.GeoDataFrame,
    plan: ParcelPlan,
    out_dir: str | Path,
    *,
    repairs: RepairReport | None = None,
    overlay_report: OverlayReport | None = None,
    extra: dict[str, Any] | None = None,
    report_dir: str | Path | None = None,
    declared: Sequence[tuple[str, str]] = (),
    overlaps: ParcelOverlaps | None = None,
) -> ParcelOutputs:
    """Write ``parcels.gpkg``, ``parcels_summary.csv`` (+ ``.xlsx``) and ``parcels_report.json``.

    ``parcels_report.json`` (repairs of every layer, internal ones too) goes to ``report_dir``
    (default ``out_dir``). Every file is written atomically and deterministically.
    ``declared``: the parcel file's field types (integers with nulls kept integers...);
    ``overlaps``: the parcels that overlap (``overlapping_parcels`` of the report).
    """
    out = Path(out_dir)
    # the writer of the streamed path, so that every parcels.gpkg has one layout
    # (MultiPolygon, the same column types) whatever the size of the file
    gpkg, _ = write_gpkg_stream(
        out / "parcels.gpkg", "parcels", [arrow_batch(result, declared=declared)], crs=result.crs
    )
    return write_parcel_tables(
        out,
        gpkg,
        parcel_summary(result, plan),
        plan,
        counts=(len(result), int(result["conflict"].sum())),
        repairs=repairs,
        overlay_report=overlay_report,
        extra=extra,
        report_dir=report_dir,
        overlaps=overlaps,
    )


def write_parcel_tables(
    out: Path,
    gpkg: Path,
    summary: pd.DataFrame,
    plan: ParcelPlan,
    *,
    counts: tuple[int, int],
    repairs: RepairReport | None = None,
    overlay_report: OverlayReport | None = None,
    extra: dict[str, Any] | None = None,
    report_dir: str | Path | None = None,
    overlaps: ParcelOverlaps | None = None,
) -> ParcelOutputs:
    """Write the summary (CSV, Excel) and ``parcels_report.json`` beside a written ``gpkg``.

    ``counts`` is (parcels, parcels in conflict); ``parcels_report.json`` goes to ``report_dir``
    (default ``out``). ``overlapping_parcels``: the pairs of parcels that overlap, the area
    they share (which the zone totals count once per parcel over it) and the first pairs.
    """
    csv, csvt = write_csv(out / "parcels_summary.csv", summary, decimals=_places(summary))
    notes: list[str] = []
    xlsx: Path | None = None
    try:
        data = _xlsx_bytes(summary)
    except ImportError:
        notes.append(
            "openpyxl is not installed, so no parcels_summary.xlsx; "
            "pip install 'qzgeo[excel]' to get it"
        )
    else:
        xlsx = write_bytes(out / "parcels_summary.xlsx", data)
    rep = {
        "parcels": counts[0],
        "conflicts": counts[1],
        # 未核查: parcels' parts outside the pack's extent (or coverage), neither available
        # nor constrained
        "unchecked_ha": float(summary["未核查_公顷"].iloc[-1]) if len(summary) else 0.0,
        **_coverage_entry(plan),
        "sensitivity": plan.sensitivity,
        "repairs": (repairs or RepairReport()).to_dict(),
        "overlay": (overlay_report or OverlayReport()).to_dict(),
        "overlapping_parcels": (overlaps or ParcelOverlaps("")).to_dict(),
        **(extra or {}),
    }
    text = json.dumps(rep, ensure_ascii=False, indent=2, sort_keys=True, default=str) + "\n"
    report = write_text(Path(report_dir or out) / PARCEL_REPORT, text)
    return ParcelOutputs(gpkg=gpkg, csv=csv, csvt=csvt, report=report, xlsx=xlsx, notes=notes)


def _coverage_entry(plan: ParcelPlan) -> dict[str, Any]:
    """``{"coverage": {"layer", "extent"}}`` of a pack with a ``coverage_layer`` (what
    ``unchecked_ha`` lies outside of), else nothing: the extent's report stays as it was."""
    area = as_coverage(plan.extent)
    if area is None or area.is_box:
        return {}
    return {"coverage": {"layer": area.layer, "extent": list(area.extent)}}
