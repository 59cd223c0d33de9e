"""The main job: catalog → load & normalise → analyse → publish, in one call."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from qzgeo._validate import validate_pack
from qzgeo.analysis import AnalysisResult, analyse_pack
from qzgeo.load import LoadedPack, load_pack_layers
from qzgeo.pack import Pack, load_pack
from qzgeo.report import write_analysis, write_analysis_postgis, write_run_report


@dataclass
class PublishSummary:
    """What :func:`run_publish` built."""

    pack: Pack
    out_dir: Path
    index: Path | None
    outputs: list[Path]
    analysis: AnalysisResult
    loaded: LoadedPack
    warnings: list[str] = field(default_factory=list)

    def one_line(self) -> str:
        """``N zones, X 公顷 available, K conflict patches`` — what the CLI prints last."""
        n_zones = len(self.analysis.zone_summary)
        return (
            f"{n_zones} zones, {self.analysis.total_available_ha:,.1f} 公顷 available, "
            f"{len(self.analysis.conflicts)} conflict patches"
        )


def run_publish(
    pack_dir: str | Path | None = None,
    out_dir: str | Path = "qzgeo-out",
    *,
    offline: bool = True,
    png: bool = False,
    maps: bool = True,
    to_postgis: str | None = None,
    pdf: bool = False,
    paper: str | None = None,
    orientation: str | None = None,
) -> PublishSummary:
    """Validate a pack, analyse it and publish its maps into ``out_dir``.

    Parameters
    ----------
    pack_dir
        Plan pack folder; default the bundled Qinzhou pack.
    out_dir
        Output folder (created). Receives ``analysis.gpkg``, ``zone_summary.csv``,
        ``report.json``, one HTML per map, ``index.html`` and ``manifest.json``.
    offline
        Inline every script and stylesheet into the HTML (no CDN).
    png
        Also write a PNG of each map through headless Chromium.
    maps
        Build the maps (``False`` runs validation and analysis only).
    to_postgis
        Also write the analysis layers to PostGIS: ``postgresql://...?table=schema.prefix``
        gives tables ``prefix_available_land``, ``prefix_conflicts``, ``prefix_zone_summary``.
    pdf, paper, orientation
        Also write a print-ready vector PDF sheet per map, on this paper (default: the map's
        ``paper``/``orientation``, else A3 landscape).
    """
    pack = load_pack(pack_dir)
    validate_pack(pack)
    loaded = load_pack_layers(pack)
    result = analyse_pack(loaded)
    out = Path(out_dir)
    outputs = write_analysis(result, out)
    if to_postgis:
        write_analysis_postgis(result, to_postgis)
    warnings = list(loaded.report.warnings) + list(result.notes)
    index: Path | None = None
    if maps:
        from qzgeo.publish import publish_maps

        published = publish_maps(
            pack,
            loaded.layers,
            {"available_land": result.available_land, "conflicts": result.conflicts},
            out,
            analysis_sensitivity=result.sensitivity,
            offline=offline,
            png=png,
            manifest_extra={"inputs": loaded.input_hashes, "pack": pack.name},
            pdf=pdf,
            paper=paper,
            orientation=orientation,
        )
        outputs.extend(published.paths)
        outputs.extend(published.pdfs.values())
        index = published.index
        warnings.extend(published.warnings)
    report = {
        "pack": pack.name,
        "summary": {
            "zones": len(result.zone_summary),
            "available_ha": round(result.total_available_ha, 4),
            "conflict_patches": len(result.conflicts),
        },
        **loaded.report.to_dict(),
        "warnings": warnings,
    }
    outputs.append(write_run_report(out, report))
    return PublishSummary(pack, out, index, outputs, result, loaded, warnings)
