"""Parcel analysis results as one offline map page (``parcels.html``).

Parcel results reach 100k-1M features, so the parcels are always drawn by the compact
canvas layer (:class:`qzgeo.publish.biglayer.BigPolygonLayer`), never as per-feature GeoJSON.
The page is built by the same code as the pack maps (:func:`qzgeo.publish.map_views`,
:func:`qzgeo.publish.map_page`, :func:`qzgeo.publish.render.render_page`), so it has the same
controls, notice, legend and guarantees: offline, deterministic, written atomically.
"""

from __future__ import annotations

import dataclasses
import warnings
from collections.abc import Mapping
from pathlib import Path

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import pandas as pd

from qzgeo._errors import CRSError, PublishError
from qzgeo.geo.area import HA_DECIMALS
from qzgeo.io.atomic import write_text
from qzgeo.notices import Notices
from qzgeo.pack.load import LoadedPack
from qzgeo.pack.model import BASEMAPS, SENSITIVITIES, LayerStyle, MapSpec, Pack, Symbol
from qzgeo.publish.basemaps import resolve_tianditu_key
from qzgeo.publish.checks import map_problems, style_problems, zone_names_published
from qzgeo.publish.maps import (
    LayerPlan,
    big_layer_available,
    choose_basemaps,
    layer_plans,
    map_page,
    map_views,
    publish_error,
    simplify_tolerance,
)
from qzgeo.publish.prepare import Prepared, fixed_text, prepare_layer, simplified_note
from qzgeo.publish.render import LayerView, render_page

__all__ = ["STATE_FIELD", "parcel_states", "parcels_sensitivity", "publish_parcels_map"]

#: Column of the derived parcel state (冲突 / 未核查 / 部分未核查 / 部分受限 / 可用).
STATE_FIELD = "状态"
CONFLICT, UNCHECKED, PARTLY, AVAILABLE = "冲突", "部分未核查", "部分受限", "可用"
NOT_CHECKED = "未核查"
#: What a parcel may have available and still be "not checked": below half the 0.01 m² an
#: area is printed to, i.e. 0.00 m² in every table.
_NONE_AVAILABLE_M2 = 0.005


def _state(fill: str, stroke: str, legend: str, opacity: float = 0.65) -> Symbol:
    return Symbol(fill=fill, fill_opacity=opacity, stroke=stroke, weight=0.6, legend=legend)


STATE_SYMBOLS = {
    CONFLICT: _state("#d7191c", "#8b0000", "冲突 Conflict"),
    NOT_CHECKED: _state("#e0e0e0", "#5f5f5f", "未核查 Outside the plan's extent"),
    UNCHECKED: _state("#bababa", "#5f5f5f", "部分未核查 Partly outside the plan's extent"),
    PARTLY: _state("#fdae61", "#a6611a", "部分受限 Partly constrained"),
    AVAILABLE: _state("#1a9641", "#0b5d24", "可用 Available", opacity=0.55),
}
#: Tooltip fields of a parcel and their labels. ``parcel_id`` is the result's index: the
#: feature id of the file read (``source_fid`` of parcels.gpkg, what QGIS selects by), not
#: the parcel's own number, which :data:`PARCEL_NUMBER_COLUMNS` shows when the file has one.
TOOLTIP_LABELS = {
    "parcel_id": "要素编号 fid",
    "zone_name": "所在分区",
    "area_ha": "面积（公顷）",
    "available_ha": "可用面积（公顷）",
    "conflict": "是否冲突",
}
#: Tooltip field of the part outside the pack's extent or coverage: shown only when a parcel
#: has one, so that the tooltip adds up (面积 = 可用 + 受约束 + 未核查) without reading
#: "可用 0, 冲突 否" as land lost to a constraint.
UNCHECKED_TOOLTIP = ("unchecked_ha", "未核查面积（公顷）")
_LABELS = {**TOOLTIP_LABELS, UNCHECKED_TOOLTIP[0]: UNCHECKED_TOOLTIP[1]}
#: Columns holding a parcel's own number, first found first: shown first in the tooltip,
#: labelled with the column's name (a planner looks a parcel up by it, not by its fid).
PARCEL_NUMBER_COLUMNS = ("地块编号", "宗地代码", "ZDDM", "宗地编号", "DKBH", "地块代码")
NUMBER_TOOLTIP = "parcel_no"
REQUIRED = ("zone_name", "area_m2", "constrained_m2", "available_m2", "conflict")
NO_ZONE_TEXT = "（不在分区内）"
PARCELS_ID = "parcels"
_HA_DECIMALS = HA_DECIMALS  # 0.000001 公顷 = 0.01 m², as every table and page


def parcels_sensitivity(pack: Pack) -> str:
    """``"internal"`` if any constraint or zone layer of ``pack`` is internal, else ``"public"``.

    Parcel results are derived from the pack's zones and constraints, so they are no more
    public than the least public of those layers.
    """
    used = [*pack.constraint_layers(), *pack.zone_layers()]
    return "internal" if any(not s.is_public for s in used) else "public"


def parcel_states(result: pd.DataFrame) -> pd.Series:
    """State of every parcel: 冲突 (conflict), 未核查, 部分未核查, 部分受限 or 可用.

    部分未核查 is a parcel not in conflict with a part outside the pack's extent, or its
    coverage (``[pack] coverage_layer``; ``unchecked_m2 > 0``): that part is checked
    against nothing. 未核查 is such a parcel with nothing available (``available_m2``
    0.00): none of it is in the area the pack covers, e.g. inside the extent box but outside
    every polygon of the coverage. 部分受限 is a parcel that overlaps a constraint
    (``constrained_m2 > 0``) by no more than the conflict tolerance of the overlay, so it is
    not flagged as a conflict.

    Examples
    --------
    >>> df = pd.DataFrame({"conflict": [True, False, False, False, False],
    ...                    "constrained_m2": [5.0, 0.2, 0.0, 0.0, 0.0],
    ...                    "available_m2": [0.0, 9.8, 10.0, 7.0, 0.0],
    ...                    "unchecked_m2": [0.0, 0.0, 0.0, 3.0, 10.0]})
    >>> parcel_states(df).tolist()
    ['冲突', '部分受限', '可用', '部分未核查', '未核查']
    """
    conflict = result["conflict"].fillna(False).to_numpy(dtype=bool)
    constrained = result["constrained_m2"].fillna(0.0).to_numpy(dtype=float) > 0
    unchecked = none = np.zeros(len(result), dtype=bool)
    if "unchecked_m2" in result.columns:
        unchecked = result["unchecked_m2"].fillna(0.0).to_numpy(dtype=float) > 0
        # NaN available (a parcel not measured) is not "nothing available"
        none = result["available_m2"].to_numpy(dtype=float) < _NONE_AVAILABLE_M2
    state = np.where(constrained, PARTLY, AVAILABLE)
    state = np.where(unchecked, np.where(none, NOT_CHECKED, UNCHECKED), state)
    state = np.where(conflict, CONFLICT, state)
    return pd.Series(state, index=result.index, name=STATE_FIELD, dtype=object)


def parcel_number_column(result: pd.DataFrame) -> str | None:
    """The first of :data:`PARCEL_NUMBER_COLUMNS` with a value in some row, or ``None``.

    Examples
    --------
    >>> parcel_number_column(pd.DataFrame({"ZDDM": [None, "450702001001GB00001"]}))
    'ZDDM'
    >>> parcel_number_column(pd.DataFrame({"地块编号": [None], "名称": ["A"]})) is None
    True
    """
    for col in PARCEL_NUMBER_COLUMNS:
        if col in result.columns and result[col].notna().any():
            return col
    return None


def _numbers(result: pd.DataFrame, col: str | None) -> list[str]:
    """The parcels' own numbers as text ("" where missing; ``"7"``, not ``"7.0"``)."""
    if col is None:
        return [""] * len(result)
    out = []
    for v in result[col].tolist():
        if v is None or (isinstance(v, float) and not np.isfinite(v)) or v is pd.NA:
            out.append("")
        elif isinstance(v, float) and v.is_integer():
            out.append(str(int(v)))
        else:
            out.append(str(v))
    return out


def _map_table(result: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Only what the page shows: numbers, zone, areas in 公顷, conflict as 是/否, state."""
    zone = result["zone_name"].astype(object).where(result["zone_name"].notna(), "")
    zone = zone.map(lambda z: str(z) if str(z) != "" else NO_ZONE_TEXT)
    table = pd.DataFrame(
        {
            NUMBER_TOOLTIP: _numbers(result, parcel_number_column(result)),
            "parcel_id": [str(i) for i in result.index],
            "zone_name": zone.to_numpy(),
            "area_ha": fixed_text(result["area_m2"].to_numpy(dtype=float) / 1e4, _HA_DECIMALS),
            "available_ha": fixed_text(
                result["available_m2"].to_numpy(dtype=float) / 1e4, _HA_DECIMALS
            ),
            UNCHECKED_TOOLTIP[0]: fixed_text(_unchecked_m2(result) / 1e4, _HA_DECIMALS),
            "conflict": np.where(result["conflict"].fillna(False).to_numpy(bool), "是", "否"),
            STATE_FIELD: parcel_states(result).to_numpy(),
        }
    )
    return gpd.GeoDataFrame(table, geometry=result.geometry.to_numpy(), crs=result.crs)


def _unchecked_m2(result: pd.DataFrame) -> npt.NDArray[np.float64]:
    """``unchecked_m2`` of every parcel (0 for a result made before the column existed)."""
    if "unchecked_m2" not in result.columns:
        return np.zeros(len(result))
    return result["unchecked_m2"].fillna(0.0).to_numpy(dtype=float)


def _check_result(result: gpd.GeoDataFrame) -> None:
    if not isinstance(result, gpd.GeoDataFrame):
        msg = f"expected the GeoDataFrame of analyze_parcels, got {type(result).__name__}"
        raise PublishError(msg)
    missing = [c for c in REQUIRED if c not in result.columns]
    if missing:
        msg = (
            f"the parcel results have no column(s) {missing}; pass the output of "
            "qzgeo.analysis.parcels.analyze_parcels"
        )
        raise PublishError(msg)
    if result.crs is None:
        msg = "the parcel results have no CRS; set it, e.g. result.set_crs('EPSG:4490')"
        raise CRSError(msg)


def _spec(pack: Pack, sensitivity: str, title: str, basemap: str | None) -> MapSpec:
    """The parcels map as if it were a map of the pack: its context layers and basemaps."""
    layers = [s.id for s in pack.zone_layers()]
    if sensitivity == "internal":
        layers += [s.id for s in pack.constraint_layers() if s.id not in layers]
    if basemap is not None:
        if basemap not in BASEMAPS:
            msg = f"unknown basemap {basemap!r}; use one of {', '.join(BASEMAPS)}"
            raise PublishError(msg)
        names: tuple[str, tuple[str, ...]] = (basemap, ())
    else:
        # The basemaps of the pack's first map for the same audience, else of any map.
        specs = sorted(pack.maps.values(), key=lambda m: (m.sensitivity != sensitivity, m.id))
        names = (specs[0].basemap, specs[0].basemaps) if specs else ("none", ())
    internal = sensitivity == "internal"
    return MapSpec(
        id=PARCELS_ID,
        title=title,
        title_en="Parcel analysis · INTERNAL" if internal else "Parcel analysis",
        sensitivity="internal" if internal else "public",
        layers=tuple(layers),
        basemap=names[0],
        basemaps=names[1],
        source_file="parcels map",
    )


def _outline(sym: Symbol) -> Symbol:
    return dataclasses.replace(sym, fill=None, fill_opacity=0.0, pattern=None)


def _as_outlines(plans: list[LayerPlan]) -> list[LayerPlan]:
    """Context layers as outlines only.

    The parcels are one canvas, and Leaflet puts canvases under its SVG layers: filled or
    hatched context layers would hide them. Outlines keep every zone and constraint
    boundary visible on top of the coloured parcels.
    """
    out = []
    for plan in plans:
        style = plan.style or LayerStyle(plan.id, Symbol())
        style = dataclasses.replace(
            style,
            default=_outline(style.default),
            classes={k: _outline(v) for k, v in style.classes.items()},
        )
        out.append(dataclasses.replace(plan, style=style))
    return out


def _parcels_view(
    prepared: Prepared, n_total: int, labels: dict[str, str], *, coverage: bool = False
) -> LayerView:
    """The parcels by state, with the tooltip fields ``labels`` (field: label); ``coverage``:
    the pack vouches for a coverage layer, not its box."""
    counts = prepared.gdf[STATE_FIELD].value_counts()
    symbols = dict(STATE_SYMBOLS)
    if coverage:
        legend = "部分未核查 Partly outside the plan's coverage"
        symbols[UNCHECKED] = dataclasses.replace(symbols[UNCHECKED], legend=legend)
        legend = "未核查 Outside the plan's coverage"
        symbols[NOT_CHECKED] = dataclasses.replace(symbols[NOT_CHECKED], legend=legend)
    # (部分)未核查 only where there is such a parcel: most analyses lie inside the extent
    rare = (UNCHECKED, NOT_CHECKED)
    shown = {k: v for k, v in symbols.items() if k not in rare or counts.get(k, 0)}
    tally = "、".join(f"{s} {int(counts.get(s, 0))}" for s in shown)
    style = LayerStyle(
        layer_id=PARCELS_ID,
        default=symbols[AVAILABLE],
        classes=shown,
        class_field=STATE_FIELD,
        legend_title="地块状态",
    )
    return LayerView(
        id=PARCELS_ID,
        title="地块",
        group="分析结果",
        prepared=prepared,
        style=style,
        class_field=STATE_FIELD,
        label_field=None,
        name_field=None,
        fields=list(labels),
        labels=False,
        provenance=(
            f"地块：qzgeo 地块分析结果，共 {n_total} 个（{tally}），面积按 CGCS2000 椭球计算；"
            "部分受限指与控制线重叠但未超过冲突容差" + simplified_note(prepared)
        ),
        big=True,
        field_labels=dict(labels),
    )


def _check_request(result: gpd.GeoDataFrame, pack: Pack, sensitivity: str) -> None:
    if sensitivity not in SENSITIVITIES:
        msg = f"sensitivity must be 'public' or 'internal', got {sensitivity!r}"
        raise PublishError(msg)
    if sensitivity == "public" and parcels_sensitivity(pack) != "public":
        secret = [s.id for s in (*pack.zone_layers(), *pack.constraint_layers()) if not s.is_public]
        msg = (
            f"the parcel results derive from internal layer(s) {secret}, so they cannot be "
            "published as public; use sensitivity='internal'"
        )
        raise PublishError(msg)
    _check_result(result)
    if not big_layer_available():
        msg = "the parcels map needs qzgeo.publish.biglayer (folium, branca); reinstall qzgeo"
        raise PublishError(msg)


def _context_plans(
    pack: Pack, mspec: MapSpec, layers: Mapping[str, gpd.GeoDataFrame]
) -> list[LayerPlan]:
    problems = map_problems(pack, mspec, {})
    problems.extend(style_problems(pack, mspec.layers))
    if problems:
        raise publish_error(problems)
    plans = _as_outlines(layer_plans(pack, mspec, layers, {}, problems))
    if problems:
        raise publish_error(problems)
    return plans


def tooltip_fields(pack: Pack, *, internal: bool) -> list[str]:
    """Tooltip fields of a parcel: the zone name only where every zone layer publishes it."""
    fields = list(TOOLTIP_LABELS)
    if not internal and not zone_names_published(pack):
        fields.remove("zone_name")
    return fields


def _page_fields(result: gpd.GeoDataFrame, pack: Pack, *, internal: bool) -> dict[str, str]:
    """The tooltip's fields for ``result`` and their labels (the parcels' own numbers: the
    name of the column they come from)."""
    fields = tooltip_fields(pack, internal=internal)
    if (_unchecked_m2(result) > 0).any():
        fields.insert(fields.index("available_ha") + 1, UNCHECKED_TOOLTIP[0])
    # The parcels' own numbers: the page is internal, or the user made the input's columns
    # public (--public; parcels_audience); nothing else of the input's columns is shown.
    number_col = parcel_number_column(result)
    if number_col is not None:
        fields.insert(0, NUMBER_TOOLTIP)
    return {f: (number_col or "") if f == NUMBER_TOOLTIP else _LABELS[f] for f in fields}


def publish_parcels_map(
    parcels_result_gdf: gpd.GeoDataFrame,
    pack: Pack,
    out_path: str | Path,
    *,
    sensitivity: str,
    title: str | None = None,
    layers: Mapping[str, gpd.GeoDataFrame],
    basemap: str | None = None,
    tianditu_key: str | None = None,
    notices: Notices | None = None,
) -> Path:
    """Write the parcel analysis results as one self-contained HTML map (atomically).

    Notices about the page (features left out, simplification) go to ``notices`` when given,
    else they are raised as :class:`UserWarning` for interactive use.

    Parcels are coloured by a derived ``状态`` (冲突, 部分受限, 可用); a tooltip shows their
    id, zone (on a public page only if every zone layer publishes its ``name_field``), areas
    in 公顷 (未核查 too when a parcel has land outside the pack's extent or coverage) and
    conflict. Underneath: the zone layers and, on an internal page, the constraint layers, as
    outlines.

    ``sensitivity`` must be ``"internal"`` when any zone or constraint layer is internal
    (:func:`parcels_sensitivity`). ``layers`` are the pack's layers in EPSG:4490
    (``LoadedPack.layers``); ``basemap`` defaults to that of the pack's first map for the
    same audience; ``title`` to ``<pack title> · 地块分析结果``.

    Raises
    ------
    PublishError
        A result without the analysis columns, a public page for internal results, or a
        context layer that cannot be drawn. Nothing is written then.
    """
    _check_request(parcels_result_gdf, pack, sensitivity)
    internal = sensitivity == "internal"
    page_title = title or f"{pack.title} · 地块分析结果"
    if internal and "内部" not in page_title:
        page_title += "（内部）"
    mspec = _spec(pack, sensitivity, page_title, basemap)
    plans = _context_plans(pack, mspec, layers)
    simplify_m = simplify_tolerance(pack)
    tiles, default, datum, build_warnings, notes = choose_basemaps(
        mspec, resolve_tianditu_key(tianditu_key, pack.tianditu_key)
    )
    notes = list(notes)
    if internal:
        notes.insert(0, "内部资料：本图含内部控制线及由其导出的地块分析结果，不得公开发布。")
    messages = list(build_warnings)
    views = map_views(pack, plans, datum=datum, simplify_m=simplify_m, cache={}, warnings=messages)
    labels = _page_fields(parcels_result_gdf, pack, internal=internal)
    fields = list(labels)
    prepared = prepare_layer(
        _map_table(parcels_result_gdf)[[*fields, STATE_FIELD, "geometry"]],
        fields=[*fields, STATE_FIELD],
        what="the parcels",
        gcj02=datum == "gcj02",
        simplify_m=simplify_m,
        planar_crs=pack.planar_crs,
    )
    messages.extend(prepared.notes)
    views.append(
        _parcels_view(
            prepared, len(parcels_result_gdf), labels, coverage=pack.coverage_layer is not None
        )
    )
    page = map_page(pack, mspec, views, tiles=tiles, basemap=default, datum=datum, notes=notes)
    if len(prepared.gdf):
        # Frame the parcels (the subject here), not the zones around them.
        minx, miny, maxx, maxy = (float(v) for v in prepared.gdf.total_bounds)
        page = dataclasses.replace(page, bounds=(minx, miny, maxx, maxy))
    text = render_page(page, views)
    for m in messages:
        if notices is not None:
            notices.add(m, kind="note", source="parcels.html")
        else:
            warnings.warn(m, UserWarning, stacklevel=2)
    return write_text(Path(out_path), text)


def write_parcels_map(
    result: gpd.GeoDataFrame, loaded: LoadedPack, out: Path, *, public: bool, notes: list[str]
) -> Path:
    """``out/parcels.html`` for ``qzgeo analyze --map``; its notices appended to ``notes``."""
    notices = Notices()
    path = publish_parcels_map(
        result,
        loaded.pack,
        out / "parcels.html",
        sensitivity="public" if public else "internal",
        layers=loaded.layers,
        notices=notices,
    )
    notes.extend(str(n) for n in notices)
    return path
