"""Print-ready vector PDF map sheets (图集) from the same layer views as the HTML maps.

One styling model, two renderers: :func:`write_sheet` takes the :class:`LayerView` list and
:class:`MapPage` that :func:`qzgeo.publish.render.render_page` turns into HTML, and draws them
with matplotlib as vector paths on paper: the 图名, a map frame at a round scale true in the
pack's planar (Gauss-Krüger) CRS, graticule ticks in degrees, a scale bar and the ratio, a north
arrow, the legend from the styles, labels, the 示意 notice, sources and licences, the 编制单位
and date, and 内部 on internal sheets. Text is set in an embedded CJK font
(:mod:`qzgeo.publish.sheet_font`). The same inputs give the same bytes.
"""

from __future__ import annotations

import datetime as dt
import os
import tempfile
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import geopandas as gpd
import shapely
from matplotlib import rc_context
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.font_manager import FontProperties
from matplotlib.text import Text
from pyproj import CRS, Transformer

from qzgeo._errors import PublishError
from qzgeo.geo.crs import planar_crs_for_bounds
from qzgeo.io.atomic import atomic_path
from qzgeo.pack.model import MapSpec, Pack
from qzgeo.publish.render import LayerView, MapPage
from qzgeo.publish.sheet_font import (
    FONT_ENV,
    MISSING_MARK,
    FontFace,
    advance_measure,
    find_cjk_font,
    mark_missing,
    subset_font,
)
from qzgeo.publish.sheet_layout import (
    Box,
    Layout,
    fit_frame,
    sheet_layout,
)
from qzgeo.publish.sheet_legend import MM_PER_PT, draw_legend, legend_blocks, wrap
from qzgeo.publish.sheet_map import draw_labels, draw_layers
from qzgeo.publish.sheet_marks import frame_and_ticks, north_arrow, scale_block
from qzgeo.publish.sheet_title import INTERNAL_MARK, TitleBlock, draw_title, title_block

__all__ = ["SheetInfo", "sheet_date", "write_map_sheet", "write_sheet"]

_RC: Any = {  # typed loosely: matplotlib 3.11 types the keys as literals
    "pdf.fonttype": 42,
    "pdf.compression": 6,
    "lines.scale_dashes": False,
    "path.simplify": False,
    "hatch.linewidth": 0.5,
    "text.parse_math": False,  # data and titles are text, never mathtext ("$...$")
}


def _one_line(text: str) -> str:
    """``text`` as a sheet sets it: line breaks, tabs and other controls as spaces, no U+FEFF.

    Every text of a sheet is laid out as one line; matplotlib would start a second one at
    "\\n" (drawn over the next text), drop all that follows U+2029, draw a control as a
    missing-glyph box, and fail on U+FEFF (an invisible character pasted text carries).
    """
    spaced = (" " if unicodedata.category(c) in ("Cc", "Zl", "Zp") else c for c in text)
    return "".join(spaced).replace("\ufeff", "")


@dataclass(frozen=True)
class SheetInfo:
    """What :func:`write_sheet` drew: the scale and where the frame lies on paper and ground."""

    path: Path
    paper: str
    orientation: str
    page_mm: tuple[float, float]
    scale: int
    frame_mm: Box  # x, y, width, height from the page's lower-left corner
    ground: tuple[float, float, float, float]  # the frame in ``crs`` (metres)
    crs: str
    labels: int
    font: str
    warnings: list[str] = field(default_factory=list)  # e.g. a title shrunk to fit


def _paper_axes(fig: Figure, layout: Layout) -> Axes:
    ax = fig.add_axes((0.0, 0.0, 1.0, 1.0))
    ax.set_xlim(0, layout.width)
    ax.set_ylim(0, layout.height)
    ax.set_axis_off()
    return ax


def _map_axes(fig: Figure, layout: Layout, ground: tuple[float, float, float, float]) -> Axes:
    x, y, w, h = layout.frame
    ax = fig.add_axes((x / layout.width, y / layout.height, w / layout.width, h / layout.height))
    ax.set_xlim(ground[0], ground[2])
    ax.set_ylim(ground[1], ground[3])
    ax.set_axis_off()
    ax.patch.set_visible(False)
    return ax


def _subject_bounds(
    page: MapPage, views: Sequence[LayerView], crs: CRS
) -> tuple[float, float, float, float]:
    """The page's bounds, widened to every non-base polygon layer (paper cannot be panned)."""
    boxes = [page.bounds]
    for v in views:
        if v.group != "底图" and v.prepared.kind == "polygon" and len(v.prepared.gdf):
            boxes.append(tuple(float(b) for b in v.prepared.gdf.total_bounds))  # type: ignore[arg-type]
    lonlat = (
        min(b[0] for b in boxes),
        min(b[1] for b in boxes),
        max(b[2] for b in boxes),
        max(b[3] for b in boxes),
    )
    to_plane = Transformer.from_crs(CRS.from_epsg(4490), crs, always_xy=True)
    minx, miny, maxx, maxy = to_plane.transform_bounds(*lonlat, densify_pts=21)
    return float(minx), float(miny), float(maxx), float(maxy)


def _text_block(
    ax: Axes,
    box: Box,
    head: str,
    items: Sequence[str],
    size: float,
    unit: float,
    *,
    color: str = "black",
) -> float:
    """A heading and wrapped items from the top of ``box``; return the height used."""
    x, y, w, h = box
    lh = size * MM_PER_PT * 1.45
    cy = y + h
    ax.text(x, cy, head, fontsize=size + 1.0, fontweight="bold", va="top", color=color)
    cy -= (size + 1.0) * MM_PER_PT * 1.6
    for item in items:
        for line in wrap(item, w, size):
            ax.text(x, cy, line, fontsize=size, va="top", color=color)
            cy -= lh
    return y + h - cy


def _measure(box: Box, head: str, items: Sequence[str], size: float) -> float:
    lines = sum(len(wrap(i, box[2], size)) for i in items)
    return (size + 1.0) * MM_PER_PT * 1.6 + lines * size * MM_PER_PT * 1.45


@dataclass(frozen=True)
class _Notes:
    notice: list[str]
    sources: list[str]
    footer: list[str]


def _panel(ax: Axes, layout: Layout, views: Sequence[LayerView], notes: _Notes, scale: int) -> None:
    """Legend on top (or left), then scale, notice, sources, 编制单位 and date from the bottom."""
    u = layout.unit
    px, py, pw, ph = layout.panel
    gap = 4 * u
    if layout.side:
        info_box = (px, py, pw, ph)
    else:
        info_w = pw * 0.46
        info_box = (px + pw - info_w, py, info_w, ph)
    ix, iy, iw, ih = info_box
    for size in (5.5 * u, 5.0 * u, 4.5 * u, 4.0 * u):
        heights = [
            15.0 * u,
            _measure(info_box, "说明", notes.notice, size),
            _measure(info_box, "资料来源", notes.sources, size),
            _measure(info_box, "", notes.footer, size + 1.0),
        ]
        stack = sum(heights) + gap * 3
        # beside the map the legend takes the top of the column; under it, the notes have
        # their part of the panel to themselves
        if stack <= ih * (0.72 if layout.side else 1.0):
            break
    if stack > ih:  # they would grow over the map (under it) or the title (beside it)
        turn = "" if layout.side else "a landscape sheet (--orientation landscape) holds more; "
        msg = (
            f"the notes and 资料来源 ({len(notes.sources)} sources) do not fit the sheet's "
            f"panel, even at {size:.1f} pt; {turn}shorten the layers' `source` texts, or show "
            "the layers over more maps"
        )
        raise PublishError(msg)
    top = iy + stack
    top -= scale_block(ax, (ix, iy, iw, top - iy), scale, u) + gap
    top -= _text_block(ax, (ix, iy, iw, top - iy), "说明", notes.notice, size, u) + gap
    top -= _text_block(ax, (ix, iy, iw, top - iy), "资料来源", notes.sources, size, u) + gap
    _text_block(ax, (ix, iy, iw, top - iy), "", notes.footer, size + 1.0, u)
    if layout.side:
        legend_box = (px, iy + stack + gap, pw, ph - stack - gap)
    else:
        legend_box = (px, py, pw - iw - 6 * u, ph)
    draw_legend(ax, legend_blocks(views), legend_box, u, upright=not layout.side)


def _embed_fonts(
    fig: Figure, tmp: Path, regular: FontFace, bold: FontFace
) -> tuple[str, list[str]]:
    """Set every text in a subset of the CJK font (bold texts in the bold face); return the
    font's name and a warning naming the characters it has no glyph for, set as □."""
    texts = [t for t in fig.findobj(Text) if t.get_text()]
    weights = {t: str(t.get_fontweight()) in ("bold", "700", "heavy", "black") for t in texts}
    lost: dict[str, None] = {}  # the characters set as □, and the texts they were in
    holders: dict[str, None] = {}
    for t in texts:
        text, missing = mark_missing(bold if weights[t] else regular, _one_line(t.get_text()))
        if missing:
            lost.update(dict.fromkeys(missing))
            holders[t.get_text()] = None
        t.set_text(text)
    files = {
        False: subset_font(regular, [t.get_text() for t in texts if not weights[t]], tmp / "r.ttf"),
        True: subset_font(bold, [t.get_text() for t in texts if weights[t]], tmp / "b.ttf"),
    }
    for t in texts:
        t.set_fontproperties(FontProperties(fname=files[weights[t]], size=t.get_fontsize()))
    if not lost:
        return regular.name, []
    # no font path: a public map's warnings go to the public manifest.json
    where = ", ".join(repr(w) for w in list(holders)[:3]) + (" ..." if len(holders) > 3 else "")
    said = (
        f"the font {regular.name} has no glyph for {''.join(lost)!r} "
        f"(in {where}): set as {MISSING_MARK}; set {FONT_ENV} to a font that has them"
    )
    return regular.name, [said]


def _creation_datetime(date: dt.date | dt.datetime) -> dt.datetime:
    if isinstance(date, dt.datetime):
        return date if date.tzinfo else date.replace(tzinfo=dt.UTC)
    return dt.datetime(date.year, date.month, date.day, tzinfo=dt.UTC)


def _metadata(
    page: MapPage, organisation: str, date: dt.date | dt.datetime, internal: bool
) -> dict[str, Any]:
    return {
        "Title": page.title,
        "Subject": page.title_en or "",
        "Author": organisation,
        "Creator": "qzgeo",
        "Keywords": "示意" + (f", {INTERNAL_MARK}" if internal else ""),
        "CreationDate": _creation_datetime(date),
    }


def write_sheet(
    page: MapPage,
    views: Sequence[LayerView],
    path: str | os.PathLike[str],
    *,
    organisation: str,
    date: dt.date | dt.datetime,
    planar_crs: str | None = None,
    internal: bool = False,
    sources: Sequence[str] | None = None,
    paper: str = "A3",
    orientation: str = "landscape",
) -> SheetInfo:
    """Draw one map product as a one-page vector PDF and write it atomically to ``path``.

    Parameters
    ----------
    page, views
        The page and layer views of the map, as built for the HTML map
        (:func:`qzgeo.publish.maps.map_page`, :func:`qzgeo.publish.maps.map_views`); layers in
        EPSG:4490.
    path
        The PDF to write (replaced atomically).
    organisation
        编制单位 printed on the sheet and recorded as the PDF author.
    date
        编制日期; also the PDF's CreationDate, so that the bytes depend on the inputs only.
    planar_crs
        The pack's planar CRS (metres) in which the scale is true; default the CGCS2000
        Gauss-Krüger 3° zone of the map's extent.
    internal
        Mark the sheet 内部.
    sources
        来源 lines; default the views' provenance.
    paper, orientation
        ``A4``, ``A3`` or ``A1``; ``landscape`` or ``portrait``.

    Returns
    -------
    SheetInfo
        The scale, the frame on paper and on the ground, the font used, warnings.

    Raises
    ------
    PublishError
        Unknown paper or orientation, no CJK font (a character it lacks is set as □, warned).
    """
    regular, bold = find_cjk_font(), find_cjk_font(bold=True)
    layout, title = _layout(page, paper, orientation, internal, regular, bold)
    crs = CRS.from_user_input(planar_crs) if planar_crs else planar_crs_for_bounds(page.bounds)
    scale, ground = fit_frame(_subject_bounds(page, views, crs), (layout.frame[2], layout.frame[3]))
    notes = _sheet_notes(page, views, crs, organisation, date, internal, sources)
    with rc_context(_RC), tempfile.TemporaryDirectory(prefix="qzgeo-sheet-") as tmp:
        fig = Figure(figsize=(layout.width / 25.4, layout.height / 25.4))
        paper_ax = _paper_axes(fig, layout)
        map_ax = _map_axes(fig, layout, ground)
        projected = draw_layers(map_ax, views, crs, layout.unit)
        n_labels = draw_labels(
            map_ax, views, projected, scale=scale, ground=ground, unit=layout.unit
        )
        frame_and_ticks(paper_ax, layout, ground, crs)
        north_arrow(paper_ax, layout, ground, crs)
        draw_title(paper_ax, layout.title, title)
        _panel(paper_ax, layout, views, notes, scale)
        font, glyphless = _embed_fonts(fig, Path(tmp), regular, bold)
        with atomic_path(path) as out:
            fig.savefig(out, format="pdf", metadata=_metadata(page, organisation, date, internal))
    return SheetInfo(
        path=Path(path),
        paper=paper.upper(),
        orientation=orientation.lower(),
        page_mm=(layout.width, layout.height),
        scale=scale,
        frame_mm=layout.frame,
        ground=ground,
        crs=crs.to_string(),
        labels=n_labels,
        font=font,
        warnings=[*title.warnings, *glyphless, *_outside_frame(views, projected, ground)],
    )


def _outside_frame(
    views: Sequence[LayerView],
    projected: Mapping[str, gpd.GeoDataFrame],
    ground: tuple[float, float, float, float],
) -> list[str]:
    """A warning per layer with features none of which reach the frame: its legend entry would
    show nothing on the map (the frame follows the map's polygons, not its lines and points)."""
    frame = shapely.box(*ground)
    return [
        f"layer {v.id!r} ({v.title}) lies wholly outside the sheet's frame, which is fitted "
        "to the map's polygon layers: its legend entry shows nothing on the map; move it "
        "within them or remove it from the map's `layers`"
        for v in views
        if v.id in projected and not projected[v.id].intersects(frame).any()
    ]


def _layout(
    page: MapPage,
    paper: str,
    orientation: str,
    internal: bool,
    regular: FontFace,
    bold: FontFace,
) -> tuple[Layout, TitleBlock]:
    """The title set in lines, and the sheet laid out below a title box of their height."""
    plain = sheet_layout(paper, orientation)  # the title's width does not depend on its height
    title = title_block(
        page.title,
        page.title_en,
        width_mm=plain.title[2],
        unit=plain.unit,
        internal=internal,
        measure=advance_measure(bold),
        measure_en=advance_measure(regular),
    )
    return sheet_layout(paper, orientation, title_h=title.height), title


def _sheet_notes(
    page: MapPage,
    views: Sequence[LayerView],
    crs: CRS,
    organisation: str,
    date: dt.date | dt.datetime,
    internal: bool,
    sources: Sequence[str] | None,
) -> _Notes:
    notice = page.notice if "示意" in page.notice else f"示意图。{page.notice}"
    crs_name = crs.name + (f"（{crs.to_string()}）" if crs.to_epsg() else "")
    notice_items = [
        notice,
        f"投影与比例尺：{crs_name}，图上比例尺按该高斯-克吕格投影计算；经纬度为 CGCS2000。",
    ]
    if internal:
        notice_items.append("内部：本图含内部图层或由其派生的分析结果，不得公开发布。")
    if sources is None:
        sources = [v.provenance.replace("网页显示", "图面") for v in views]
    when = date.strftime("%Y年%m月%d日")
    footer = [f"编制单位：{organisation}", f"编制日期：{when}"]
    return _Notes(notice_items, [f"· {s}" for s in sources], footer)


def sheet_date(pack: Pack, mspec: MapSpec | None = None) -> dt.datetime:
    """The date of a sheet: ``$SOURCE_DATE_EPOCH``, else the day of its newest input file.

    Inputs are ``layers/catalog.toml`` and, for a public map, its own ``maps/*.toml``, its
    layers' styles and files (but a file an internal layer reads too); for an internal map (or
    none), every style, map and local layer file, so that the same inputs give the same PDF
    bytes. A public sheet's date (printed as
    编制日期, and the PDF's CreationDate) says nothing of an internal layer: the day an
    internal file was edited, let alone its time, would be a fact derived from it.
    """
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    if epoch and epoch.strip().isdigit():
        return dt.datetime.fromtimestamp(int(epoch), tz=dt.UTC)
    root = pack.root
    if mspec is None or mspec.sensitivity != "public":
        files = [*root.glob("styles/*.toml"), *root.glob("maps/*.toml")]
        specs = list(pack.layers.values())
    else:
        styles = {pack.styles[lid].source_file for lid in mspec.layers if lid in pack.styles}
        files = [root / "maps" / f"{mspec.id}.toml", *(root / "styles" / n for n in styles)]
        # a file an internal layer also reads (one GeoPackage of every layer) is dated by it
        internal = {pack.layer_path(s) for s in pack.layers.values() if not s.is_public}
        specs = [pack.layers[lid] for lid in mspec.layers if lid in pack.layers]
        specs = [s for s in specs if pack.layer_path(s) not in internal]
    files += [pack.catalog_path, *(Path(pack.layer_path(s)) for s in specs if "://" not in s.path)]
    newest = max((int(f.stat().st_mtime) for f in files if f.is_file()), default=0)
    day = dt.datetime.fromtimestamp(newest, tz=dt.UTC).date()
    return dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC)


def write_map_sheet(
    pack: Pack,
    mspec: MapSpec,
    page: MapPage,
    views: Sequence[LayerView],
    path: str | os.PathLike[str],
    *,
    paper: str | None = None,
    orientation: str | None = None,
    sources: Sequence[str] | None = None,
) -> SheetInfo:
    """:func:`write_sheet` with the pack's 编制单位, date, planar CRS and the map's paper.

    ``paper``/``orientation`` override the map's ``paper``/``orientation`` keys (default A3
    landscape). The warnings name the map and its file.
    """
    if sources is None:
        sources = [v.provenance.replace("网页显示", "图面") for v in views]
        if pack.attribution:
            sources = [*sources, pack.attribution]
    where = f"map {mspec.id!r} ({mspec.source_file or 'maps/' + mspec.id + '.toml'})"
    try:
        info = write_sheet(
            page,
            views,
            path,
            organisation=pack.organisation,
            date=sheet_date(pack, mspec),
            planar_crs=pack.planar_crs,
            internal=mspec.sensitivity == "internal",
            sources=sources,
            paper=paper or mspec.paper or "A3",
            orientation=orientation or mspec.orientation or "landscape",
        )
    except PublishError as exc:  # e.g. notes that do not fit: say which map it is
        msg = f"{where}, PDF sheet: {exc}"
        raise PublishError(msg) from exc
    sheet = f"{info.paper} {info.orientation} PDF sheet"
    return replace(info, warnings=[f"{where}, {sheet}: {w}" for w in info.warnings])
