"""A pack's maps written into a build folder's ``public/`` and ``internal/`` parts.

:func:`publish_pack_maps` is what ``qzgeo publish`` draws: every map of a loaded and analyzed
pack, with the manifests' input hashes split by audience (:func:`public_input_hashes`).
"""

from __future__ import annotations

from pathlib import Path

from qzgeo.analysis.zones import AnalysisResult
from qzgeo.pack.load import LoadedPack
from qzgeo.publish.maps import PublishResult, publish_maps


def public_input_hashes(loaded: LoadedPack) -> dict[str, str]:
    """Input hashes of the files that only public layers are read from."""
    pack = loaded.pack
    files: dict[str, set[str]] = {}
    for spec in pack.layers.values():
        source = pack.layer_path(spec)
        if "://" not in source and Path(source).is_relative_to(pack.root):
            rel = Path(source).relative_to(pack.root).as_posix()
            files.setdefault(rel, set()).add(spec.sensitivity)
    return {rel: sha for rel, sha in loaded.input_hashes.items() if files.get(rel) == {"public"}}


def publish_pack_maps(
    out: Path,
    loaded: LoadedPack,
    result: AnalysisResult,
    *,
    png: bool,
    pdf: bool = False,
    paper: str | None = None,
    orientation: str | None = None,
) -> PublishResult:
    """Every map of ``loaded.pack`` into ``out/public`` and ``out/internal``."""
    pack = loaded.pack
    return publish_maps(
        pack,
        loaded.layers,
        {"available_land": result.available_land, "conflicts": result.conflicts},
        out,
        analysis_sensitivity=result.sensitivity,
        png=png,
        manifest_extra={"inputs": loaded.input_hashes, "pack": pack.name},
        public_manifest_extra={"inputs": public_input_hashes(loaded), "pack": pack.name},
        pdf=pdf,
        paper=paper,
        orientation=orientation,
    )


def write_pack_qgis(loaded: LoadedPack, result: AnalysisResult, out: Path) -> list[Path]:
    """``<pack>.gpkg`` + the styled ``<pack>.qgz``: every pack layer and analysis layer.

    They hold internal layers: ``out`` must be the INTERNAL part, never a public one.
    """
    from qzgeo.publish.qgis import write_qgis_project

    analysis = {
        "available_land": result.available_land,
        "conflicts": result.conflicts,
        "zone_summary": result.zone_summary,
    }
    return write_qgis_project(
        pack=loaded.pack,
        layers=loaded.layers,
        analysis=analysis,
        out_dir=out,
        planar_crs=loaded.planar_crs,
    )
