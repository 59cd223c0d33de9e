"""PDF map sheets (图集) of a pack's maps, for :func:`qzgeo.publish.maps.publish_maps`.

This module imports nothing heavy: the sheet renderer (:mod:`qzgeo.publish.sheet`) needs
matplotlib, the ``pdf`` extra, and is imported only when sheets are asked for.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

from qzgeo._errors import PublishError
from qzgeo.pack.model import Pack
from qzgeo.publish.render import LayerView, MapPage

__all__ = ["require_sheets", "write_map_sheets"]


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


def write_map_sheets(
    pack: Pack,
    sheets: Mapping[str, tuple[MapPage, Sequence[LayerView]]],
    out_dir: Path,
    *,
    paper: str | None = None,
    orientation: str | None = None,
) -> dict[str, Path]:
    """Write ``<map id>.pdf`` for every map of ``sheets``; return map id -> path.

    ``sheets`` maps a map id to its page and layer views in true coordinates (CGCS2000/WGS84,
    never GCJ-02).
    ``paper``/``orientation`` override the maps' own keys (default A3 landscape).
    """
    require_sheets()
    from qzgeo.publish.sheet import write_map_sheet

    return {
        mid: write_map_sheet(
            pack,
            pack.maps[mid],
            page,
            views,
            out_dir / f"{mid}.pdf",
            paper=paper,
            orientation=orientation,
        ).path
        for mid, (page, views) in sheets.items()
    }
