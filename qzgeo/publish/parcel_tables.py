"""Parcel analysis outputs: parcels.gpkg, parcels_summary.csv (+ .xlsx) and parcels_report.json."""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import zipfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd

from qzgeo._errors import InputError
from qzgeo.analysis.overlay import OverlayReport
from qzgeo.analysis.parcel_columns import kept_declared
from qzgeo.analysis.parcel_overlaps import ParcelOverlaps
from qzgeo.analysis.parcels import ParcelPlan, parcel_summary
from qzgeo.cache_store import take_refusals
from qzgeo.geo.area import HA_DECIMALS, M2_DECIMALS, MU_DECIMALS
from qzgeo.geo.coverage import as_coverage
from qzgeo.geo.repair import RepairReport
from qzgeo.io.atomic import write_bytes, write_text
from qzgeo.io.digest import input_digest
from qzgeo.io.layer_info import declared_fields
from qzgeo.io.outdir import PARTS, Build, output_build, staged
from qzgeo.io.postgis_uri import is_postgis_uri, redact_uri
from qzgeo.io.write_stream import arrow_batch, write_gpkg_stream
from qzgeo.pack.load import LoadedPack
from qzgeo.pack.model import Pack
from qzgeo.publish.checks import zone_names_published
from qzgeo.publish.summary_note import overlap_noted
from qzgeo.publish.tables import csv_bytes, write_csv

__all__ = [
    "ParcelOutputs",
    "ParcelPlace",
    "audience_note",
    "parcel_audience",
    "parcel_place",
    "published_zone_names",
    "results_audience",
    "results_blockers",
    "results_public",
    "summary_xlsx",
    "write_parcel_outputs",
    "write_parcel_results",
    "write_parcel_tables",
]


def results_public(pack: Pack) -> bool:
    """Parcel results may be public only if every layer they derive from is (zones, constraints,
    the coverage layer: its outline shapes each parcel's 未核查 part), and the constraint
    classes they name (columns ``layer:class``) are published (:func:`results_blockers`)."""
    return not results_blockers(pack)


def results_blockers(pack: Pack) -> list[str]:
    """What keeps parcel results out of ``OUT/public``, each with its fix; ``[]``: nothing."""
    where = pack.catalog_path
    why = [
        f'layer {s.id!r} is {s.sensitivity} (set sensitivity = "public" in {where} only '
        "if it may be posted)"
        for s in {s.id: s for s in (*pack.constraint_layers(), *pack.parcel_layers())}.values()
        if not s.is_public
    ]
    why += [
        f"constraint layer {s.id!r} does not publish its class_field {s.class_field!r}, which "
        f"names the result columns (add it to publish_fields in {where})"
        for s in pack.constraint_layers()
        if s.class_field is not None and s.class_field not in s.publish_fields
    ]
    return why


def results_audience(pack: Pack, *, public: bool) -> bool:
    """Whether ``qzgeo analyze`` writes its results to ``OUT/public``: only when asked
    (``--public``), as they hold every column of the user's parcel file, whose sensitivity
    nobody declared (owners' names, ID numbers); asked when the pack does not allow it, an
    :class:`~qzgeo.InputError` naming what prevents it and the fix."""
    if not public:
        return False
    why = results_blockers(pack)
    if why:
        msg = (
            f"--public: the parcel results of pack {pack.root} cannot go to OUT/public: "
            f"{'; '.join(why)}. Run without --public (they go to OUT/internal/, for staff)"
        )
        raise InputError(msg)
    return True


def parcel_audience(
    pack: Pack, parcels_path: str | os.PathLike[str], layer: str | None, *, public: bool
) -> tuple[bool, str | None]:
    """Whether ``qzgeo analyze`` writes to ``OUT/public`` (:func:`results_audience`), and
    what it says about it (:func:`audience_note`)."""
    public = results_audience(pack, public=public)
    return public, audience_note(pack, parcels_path, layer, public=public)


def audience_note(
    pack: Pack, parcels_path: str | os.PathLike[str], layer: str | None, *, public: bool
) -> str | None:
    """What ``qzgeo analyze`` says about where its results went, beside the files it wrote.

    With ``public``: that the parcel file's attribute columns are published with them (also a
    warning of ``parcels_report.json``); without, where the pack allows it: how to publish.
    """
    if not public:
        if not results_public(pack):
            return None
        return (
            "the parcel results are internal (OUT/internal/): they hold every attribute column "
            "of the parcel file; add --public to write them to OUT/public/, the folder to post"
        )
    text = os.fspath(parcels_path)
    name = redact_uri(text) if is_postgis_uri(text) else Path(text).name
    fields = [f for f, _ in declared_fields(parcels_path, layer)]
    cols = f" ({', '.join(fields)})" if fields and not is_postgis_uri(text) else ""
    return (
        f"--public: OUT/public/parcels.gpkg holds every attribute column of {name}{cols} as it "
        "is: they are published with the results; remove from the parcel file any column that "
        "must not be posted (owners' names, ID numbers) and run again, or run without --public"
    )


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

    ``public``: only if asked and every layer the results derive from is
    (:func:`results_audience`).
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


def write_parcel_results(
    result: gpd.GeoDataFrame,
    plan: ParcelPlan,
    loaded: LoadedPack,
    parcels_path: str | Path,
    out_dir: str | Path,
    repairs: RepairReport,
    overlay: OverlayReport,
    *,
    make_map: bool,
    public: bool,
    layer: str | None = None,
    overlaps: ParcelOverlaps | None = None,
) -> tuple[list[Path], list[str]]:
    """Write the outputs of an in-memory ``qzgeo analyze``; the files and the notes.

    ``public``: asked and allowed (:func:`results_audience`); the plan must agree. ``layer``:
    of ``parcels_path``, whose declared field types ``parcels.gpkg`` keeps.
    """
    pack = loaded.pack
    public = public and plan.sensitivity == "public"
    if public:
        result = published_zone_names(result, pack)
    with parcel_place(out_dir, parcels_path, pack, public=public) as place:
        outputs = write_parcel_outputs(
            result,
            plan,
            place.part,
            repairs=repairs,
            overlay_report=overlay,
            extra={"inputs": input_digest(parcels_path)},
            report_dir=place.build.internal,
            declared=kept_declared(declared_fields(parcels_path, layer)),
            overlaps=overlaps,
        )
        notes = list(outputs.notes)
        place.files = outputs.results
        if make_map:
            from qzgeo.publish.parcels_map import write_parcels_map

            page = write_parcels_map(result, loaded, place.part, public=public, notes=notes)
            place.files.append(page)
    return [*place.files, place.final(outputs.report)], notes


def published_zone_names(result: gpd.GeoDataFrame, pack: Pack) -> gpd.GeoDataFrame:
    """Zone names only where every zone layer publishes them; else ``layer#fid``."""
    if zone_names_published(pack):
        return result
    out = result.copy()
    inside = out["zone_layer"].astype(str) != ""
    label = out["zone_layer"].astype(str) + "#" + out["zone_fid"].astype(str)
    out["zone_name"] = label.where(inside, "")
    return out


#: Decimals of the summary's area columns in its files, by column suffix: 0.01 m², as every
#: table and page (:data:`qzgeo.geo.area.HA_DECIMALS`). Unrounded, a zone's 未核查 of
#: 0.002 m² of rounding showed as 1.93e-07 公顷 in Excel and 2893.430579028195 as every
#: digit of a double.
SUMMARY_DECIMALS = {"_m²": M2_DECIMALS, "_公顷": HA_DECIMALS, "_亩": MU_DECIMALS}


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


def summary_xlsx(summary: pd.DataFrame) -> bytes:
    """The summary table as the bytes of ``parcels_summary.xlsx`` (the same bytes on every
    run: dates pinned); ``ImportError`` without openpyxl."""
    from datetime import datetime

    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.title = "汇总"
    ws.append([_excel_cell(c) for c in summary.columns])
    decimals = [_decimals(str(c)) for c in summary.columns]
    for rec in summary.itertuples(index=False):
        row = zip(rec, decimals, strict=True)
        ws.append([_excel_cell(v) if d is None else round(float(v), d) + 0.0 for v, d in row])
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


#: Characters an .xlsx cannot hold as they are (XML 1.0 has no C0 control but tab, LF, CR),
#: and an ``_xHHHH_`` already in the text, which Excel would read as such an escape.
_NOT_XLSX = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f]|_(?=x[0-9A-Fa-f]{4}_)")


def _excel_cell(value: object) -> object:
    r"""``value`` as an .xlsx cell holds it: a control character of text (``\x0b`` from a CAD
    or Word export) in OOXML's escape ``_x000B_``, which Excel and WPS show as the character;
    openpyxl refused it (IllegalCharacterError: a traceback and no summary at all).

    Examples
    --------
    >>> _excel_cell("甲\x0b区"), _excel_cell("_x0041_"), _excel_cell(2.5)
    ('甲_x000B_区', '_x005F_x0041_', 2.5)
    """
    if not isinstance(value, str):
        return value
    return _NOT_XLSX.sub(lambda m: f"_x{ord(m.group()[0]):04X}_", value)


def _pin_core_dates(xml: bytes) -> bytes:
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
    excel: Callable[[], bytes] | None = None,
) -> ParcelOutputs:
    """Write the summary (CSV, Excel) and ``parcels_report.json`` beside a written ``gpkg``.

    ``counts`` is (parcels, parcels in conflict); ``parcels_report.json`` goes to ``report_dir``
    (default ``out``). ``overlapping_parcels``: the pairs of parcels that overlap, the area
    they share (which the zone totals count once per parcel over it) and the first pairs.
    ``excel``: gives the Excel file's bytes when they were made elsewhere (a worker process:
    :func:`summary_xlsx` of ``summary``); it may raise ``ImportError`` as that does. With
    overlapping parcels, the 合计 row says so (:func:`~qzgeo.publish.summary_note.overlap_noted`).
    """
    noted = overlap_noted(summary, overlaps)
    csv, csvt = write_csv(out / "parcels_summary.csv", noted, decimals=_places(noted))
    notes: list[str] = []
    xlsx: Path | None = None
    repairs = repairs or RepairReport()
    # written last: every cache folder looked at in the run is in (said once, see analyze)
    repairs.warnings.extend(w for w in take_refusals() if w not in repairs.warnings)
    try:  # one made elsewhere has no note of the overlaps (found at the end)
        data = summary_xlsx(noted) if excel is None or noted is not summary else excel()
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
        "repairs": repairs.to_dict(),
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
