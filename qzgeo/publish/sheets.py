"""PDF map sheets (图集) of a pack's maps, for :func:`qzgeo.publish.maps.publish_maps`.

This module imports nothing heavy: the sheet renderer (:mod:`qzgeo.publish.sheet`) needs
matplotlib, the ``pdf`` extra, and is imported only when sheets are asked for.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

from qzgeo._errors import PublishError
from qzgeo.pack.model import Pack
from qzgeo.publish.render import GROUPS, LayerView, MapPage

__all__ = ["empty_layers_note", "require_sheets", "write_map_sheets"]

ANALYSIS_GROUP = GROUPS["analysis"]  # the map group of qzgeo's analysis outputs


def require_sheets() -> None:
    """Fail before anything is written if PDF sheets cannot be drawn.

    Raises
    ------
    PublishError
        matplotlib (the ``pdf`` extra) is not installed, or no CJK font is found.
    """
    try:
        import matplotlib  # noqa: F401  (the sheet renderer's only heavy import)

        from qzgeo.publish.sheet_font import find_cjk_font
    except ImportError as exc:
        missing = exc.name or str(exc)
        msg = (
            f"--pdf needs the `pdf` extra (matplotlib, fontTools), but {missing} is not "
            'installed: pip install ".[pdf]" in the qzgeo source folder, or publish without --pdf'
        )
        raise PublishError(msg) from exc
    find_cjk_font()


def _has_features(views: Sequence[LayerView]) -> bool:
    return any(len(v.prepared.gdf) for v in views)


def empty_layers_note(pack: Pack, map_id: str, views: Sequence[LayerView]) -> str | None:
    """The warning for a map with layers of no features (``None`` if every layer has some).

    A map with nothing at all to draw gets no PDF sheet: it would frame a made-up extent.
    """
    if views and not _has_features(views):
        frame = "the pack's extent" if pack.extent else "all of China (the pack has no extent)"
        return (
            f"map {map_id!r}: every layer ({', '.join(v.id for v in views)}) has no features: "
            f"the page is framed on {frame} and no PDF sheet is drawn; add data to these "
            f"layers or drop maps/{map_id}.toml"
        )
    # an analysis output with no features is a result (no conflicts), not missing data
    empty = [v.id for v in views if not len(v.prepared.gdf) and v.group != ANALYSIS_GROUP]
    if not empty:
        return None
    return (
        f"map {map_id!r}: layer(s) {', '.join(empty)} have no features and draw nothing; "
        f"add their data or drop them from maps/{map_id}.toml"
    )


def write_map_sheets(
    pack: Pack,
    sheets: Mapping[str, tuple[MapPage, Sequence[LayerView]]],
    out_dir: Path,
    *,
    paper: str | None = None,
    orientation: str | None = None,
    warnings: Mapping[str, list[str]] | None = None,
) -> dict[str, Path]:
    """Write ``<map id>.pdf`` for every map of ``sheets``; return map id -> path.

    ``sheets`` maps a map id to its page and layer views in true coordinates (CGCS2000/WGS84,
    never GCJ-02). A map whose layers have no features is left out (:func:`empty_layers_note`
    warns of it).
    ``paper``/``orientation`` override the maps' own keys (default A3 landscape).
    A sheet's warnings (a title shrunk to fit) are appended to ``warnings[map id]``, the
    map's warnings that go to report.json and the manifests.
    """
    if not sheets:
        return {}
    require_sheets()
    from qzgeo.publish.sheet import write_map_sheet

    paths: dict[str, Path] = {}
    for mid, (page, views) in sheets.items():
        if not _has_features(views):
            continue
        info = write_map_sheet(
            pack,
            pack.maps[mid],
            page,
            views,
            out_dir / f"{mid}.pdf",
            paper=paper,
            orientation=orientation,
        )
        paths[mid] = info.path
        if warnings is not None:
            said = warnings[mid]
            said.extend(w for w in info.warnings if w not in said)
    return paths
