"""What a map will draw: its basemaps and one :class:`LayerPlan` per layer (data unprepared).

Only published fields enter a plan of a public map: a layer's ``publish_fields`` (and the
fields its style reads, checked by :mod:`qzgeo.publish.checks`), and the analysis outputs'
zone names only when every zone layer publishes its ``name_field``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import geopandas as gpd

from qzgeo.pack.model import LayerStyle, MapSpec, Pack, Symbol
from qzgeo.publish.basemaps import TIANDITU_ENV, TIANDITU_NOTE, Basemap, basemap
from qzgeo.publish.checks import (
    ANALYSIS_FIELDS,
    analysis_class_field,
    layer_class_field,
    published_analysis_fields,
    style_fields,
)
from qzgeo.publish.render import GROUPS

ANALYSIS_TITLES = {"available_land": "可用地", "conflicts": "规划冲突"}
_ANALYSIS_FALLBACK = {
    "available_land": Symbol(fill="#1a9850", fill_opacity=0.45, stroke="#1a9850", weight=1.0),
    "conflicts": Symbol(
        fill="#d73027",
        fill_opacity=0.2,
        stroke="#d73027",
        weight=1.0,
        pattern="stripe",
        pattern_color="#d73027",
    ),
}


def unused_basemap_warnings(mspec: MapSpec) -> list[str]:
    """``basemaps`` listed beside ``basemap = "none"``: the page gets no tile layer at all."""
    extra = [n for n in dict.fromkeys(mspec.basemaps) if n != "none"]
    if mspec.basemap != "none" or not extra:
        return []
    where = mspec.source_file or f"maps/{mspec.id}.toml"
    return [
        f"{where}: basemap = 'none' keeps the page free of tile requests; "
        f"the alternative basemaps {extra} are not added"
    ]


def choose_basemaps(
    mspec: MapSpec, key: str | None
) -> tuple[list[Basemap], str | None, str, list[str], list[str]]:
    """Tile layers of a map, its default, the overlay datum, build warnings, in-map notes."""
    where = mspec.source_file or f"maps/{mspec.id}.toml"
    names = list(dict.fromkeys([mspec.basemap, *mspec.basemaps]))
    warnings = unused_basemap_warnings(mspec)
    notes: list[str] = []
    if mspec.basemap == "none":
        return [], None, "wgs84", warnings, notes
    resolved: list[Basemap] = []
    keyless: list[str] = []
    for n in names:
        if n == "none":
            continue
        b = basemap(n, tianditu_key=key)
        if b is None:
            keyless.append(n)
        else:
            resolved.append(b)
    if keyless:
        # Promoting the next basemap listed to default would be a guess, and often a foreign
        # tile host (OpenStreetMap) that is slow or blocked for readers in China: a map whose
        # default is left out starts with no basemap, and offers the others.
        start = (
            "; a map whose default basemap is 天地图 starts with none"
            if mspec.basemap in keyless
            else ""
        )
        warnings.append(
            f"天地图 basemaps left out of the maps that list them: no key{start}; "
            f"set {TIANDITU_ENV}, pass tianditu_key=... or set tianditu_key in [pack] of "
            "catalog.toml"
        )
        notes.append(TIANDITU_NOTE)
    default = next((b for b in resolved if b.id == mspec.basemap), None)
    datum = (default or resolved[0]).datum if resolved else "wgs84"
    kept = []
    for b in resolved:
        if b.datum == datum:
            kept.append(b)
        else:
            warnings.append(
                f"{where}: basemap {b.id!r} uses datum {b.datum} but the overlays follow the "
                f"default basemap ({datum}); make a separate map with basemap = {b.id!r}"
            )
    return kept, (default.id if default else None), datum, warnings, notes


@dataclass
class LayerPlan:
    """A layer to put on a map, before its data is prepared."""

    id: str
    title: str
    group: str
    gdf: gpd.GeoDataFrame
    style: LayerStyle | None
    class_field: str | None
    label_field: str | None
    name_field: str | None
    fields: list[str]
    labels: bool
    provenance: str


def _pack_layer_plan(
    pack: Pack, lid: str, gdf: gpd.GeoDataFrame, where: str, problems: list[str]
) -> LayerPlan | None:
    spec = pack.layers[lid]
    style = pack.styles.get(lid)
    class_field = layer_class_field(pack, lid)
    fields = list(dict.fromkeys([*spec.publish_fields, *style_fields(style, class_field)]))
    missing = [f for f in fields if f not in gdf.columns]
    if missing:
        problems.append(
            f"{where}: layer {lid!r} has no column(s) {missing} (publish_fields or style); "
            f"its columns are {[c for c in gdf.columns if c != gdf.geometry.name]}"
        )
        return None
    label = style.label_field if style and style.label_field else None
    label = label or next((f for f in (spec.name_field, "名称") if f and f in fields), None)
    name = spec.name_field if spec.name_field in fields else label
    return LayerPlan(
        id=lid,
        title=spec.title,
        group=GROUPS.get(spec.role, "规划分区"),
        gdf=gdf,
        style=style,
        class_field=class_field,
        label_field=label,
        name_field=name,
        fields=fields,
        labels=spec.role == "zone" or bool(style and style.label_field),
        provenance=f"{spec.title}：{spec.source}（{spec.licence}；精度 {spec.precision}）",
    )


def _analysis_plan(
    pack: Pack, aname: str, gdf: gpd.GeoDataFrame, *, public: bool, where: str, problems: list[str]
) -> LayerPlan | None:
    style = pack.styles.get(aname) or LayerStyle(aname, _ANALYSIS_FALLBACK[aname])
    class_field = analysis_class_field(pack, aname)
    # on a public map, only the columns whose source fields the pack's layers publish: zone
    # names (名称) and constraint classes (类别) are attributes of those layers
    shown = published_analysis_fields(pack, aname) if public else ANALYSIS_FIELDS[aname]
    base = [f for f in shown if f in gdf.columns]
    fields = list(dict.fromkeys([*base, *style_fields(style, class_field)]))
    missing = [f for f in fields if f not in gdf.columns]
    if missing:
        problems.append(f"{where}: analysis output {aname!r} has no column(s) {missing}")
        return None
    title = ANALYSIS_TITLES[aname]
    return LayerPlan(
        id=aname,
        title=title,
        group="分析结果",
        gdf=gdf,
        style=style,
        class_field=class_field,
        label_field=None,
        name_field="名称" if "名称" in fields else None,
        fields=fields,
        labels=False,
        provenance=f"{title}：qzgeo 叠加分析结果（面积按 CGCS2000 椭球计算）",
    )


def layer_plans(
    pack: Pack,
    mspec: MapSpec,
    layers: Mapping[str, gpd.GeoDataFrame],
    analysis: Mapping[str, gpd.GeoDataFrame],
    problems: list[str],
) -> list[LayerPlan]:
    """One plan per layer and analysis output of ``mspec``; problems appended, not raised."""
    where = mspec.source_file or f"maps/{mspec.id}.toml"
    plans: list[LayerPlan | None] = []
    for lid in mspec.layers:
        if lid not in layers:
            problems.append(f"{where}: no data was loaded for layer {lid!r}; load the pack first")
            continue
        plans.append(_pack_layer_plan(pack, lid, layers[lid], where, problems))
    for aname in mspec.analysis:
        if aname not in analysis:
            problems.append(
                f"{where}: analysis output {aname!r} was not passed; run the analysis first"
            )
            continue
        public = mspec.sensitivity == "public"
        plans.append(
            _analysis_plan(
                pack, aname, analysis[aname], public=public, where=where, problems=problems
            )
        )
    return [p for p in plans if p is not None]
