"""Publish a plan pack's maps as self-contained, offline-capable HTML pages.

:func:`publish_maps` writes one ``<map id>.html`` per ``maps/*.toml``, an ``index.html``
gallery and a ``manifest.json``. Pages inline Leaflet 1.9.3 (from ``xstatic-leaflet``) and the
qzgeo controls, so they open from a USB stick without network; only the tile basemap needs one.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

import geopandas as gpd

from qzgeo._errors import PublishError
from qzgeo.io.atomic import atomic_path, write_text
from qzgeo.pack.model import LayerStyle, MapSpec, Pack, Symbol
from qzgeo.publish.basemaps import (
    TIANDITU_ENV,
    TIANDITU_NOTE,
    Basemap,
    basemap,
    resolve_tianditu_key,
)
from qzgeo.publish.checks import (
    ANALYSIS_FIELDS,
    analysis_class_field,
    layer_class_field,
    map_problems,
    style_fields,
    style_problems,
)
from qzgeo.publish.gallery import Card, gallery_html, manifest_json, sketch_svg
from qzgeo.publish.prepare import (
    BIG_LAYER_FEATURES,
    COORD_DECIMALS,
    DEFAULT_SIMPLIFY_M,
    Prepared,
    prepare_layer,
)
from qzgeo.publish.render import GROUPS, LayerView, MapPage, render_page
from qzgeo.publish.sheets import require_sheets, write_map_sheets

__all__ = ["PublishResult", "publish_maps"]

DEFAULT_NOTICE = "本图为示意图，不作为规划管理、用地审批或权属认定的依据。"
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
_DEFAULT_BOUNDS = (73.0, 18.0, 135.0, 54.0)  # China: a pack with no data and no extent


@dataclass
class PublishResult:
    """What :func:`publish_maps` wrote."""

    paths: list[Path]
    index: Path
    manifest: Path
    maps: dict[str, Path] = field(default_factory=dict)
    pngs: dict[str, Path] = field(default_factory=dict)
    pdfs: dict[str, Path] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)


def publish_error(problems: Sequence[str]) -> PublishError:
    lines = "\n".join(f"  - {p}" for p in problems)
    return PublishError(f"cannot publish: {len(problems)} problem(s):\n{lines}")


def choose_basemaps(
    mspec: MapSpec, key: str | None
) -> tuple[list[Basemap], str | None, str, list[str], list[str]]:
    """Tile layers of a map, its default, the overlay datum, build warnings, in-map notes."""
    where = mspec.source_file or f"maps/{mspec.id}.toml"
    names = list(dict.fromkeys([mspec.basemap, *mspec.basemaps]))
    warnings: list[str] = []
    notes: list[str] = []
    if mspec.basemap == "none":
        extra = [n for n in names if n != "none"]
        if extra:
            warnings.append(
                f"{where}: basemap = 'none' keeps the page free of tile requests; "
                f"the alternative basemaps {extra} are not added"
            )
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
        warnings.append(
            f"天地图 basemaps left out of the maps that list them: no key; set {TIANDITU_ENV}, "
            "pass tianditu_key=... or set tianditu_key in [pack] of catalog.toml"
        )
        notes.append(TIANDITU_NOTE)
    default = next((b for b in resolved if b.id == mspec.basemap), None)
    if default is None and resolved:
        default = resolved[0]
    datum = default.datum if default else "wgs84"
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


def layer_plans(
    pack: Pack,
    mspec: MapSpec,
    layers: Mapping[str, gpd.GeoDataFrame],
    analysis: Mapping[str, gpd.GeoDataFrame],
    problems: list[str],
) -> list[LayerPlan]:
    where = mspec.source_file or f"maps/{mspec.id}.toml"
    plans: list[LayerPlan] = []
    for lid in mspec.layers:
        spec = pack.layers[lid]
        if lid not in layers:
            problems.append(f"{where}: no data was loaded for layer {lid!r}; load the pack first")
            continue
        gdf = layers[lid]
        style = pack.styles.get(lid)
        class_field = layer_class_field(pack, lid)
        fields = list(dict.fromkeys([*spec.publish_fields, *style_fields(style, class_field)]))
        missing = [f for f in fields if f not in gdf.columns]
        if missing:
            problems.append(
                f"{where}: layer {lid!r} has no column(s) {missing} (publish_fields or style); "
                f"its columns are {[c for c in gdf.columns if c != gdf.geometry.name]}"
            )
            continue
        label = style.label_field if style and style.label_field else None
        label = label or next((f for f in (spec.name_field, "名称") if f and f in fields), None)
        name = spec.name_field if spec.name_field in fields else label
        prov = f"{spec.title}：{spec.source}（{spec.licence}；精度 {spec.precision}）"
        plans.append(
            LayerPlan(
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
                provenance=prov,
            )
        )
    for aname in mspec.analysis:
        if aname not in analysis:
            problems.append(
                f"{where}: analysis output {aname!r} was not passed; run the analysis first"
            )
            continue
        gdf = analysis[aname]
        style = pack.styles.get(aname) or LayerStyle(aname, _ANALYSIS_FALLBACK[aname])
        class_field = analysis_class_field(pack, aname)
        base = [f for f in ANALYSIS_FIELDS[aname] if f in gdf.columns]
        fields = list(dict.fromkeys([*base, *style_fields(style, class_field)]))
        missing = [f for f in fields if f not in gdf.columns]
        if missing:
            problems.append(f"{where}: analysis output {aname!r} has no column(s) {missing}")
            continue
        title = ANALYSIS_TITLES[aname]
        plans.append(
            LayerPlan(
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
        )
    return plans


def _bounds(views: Sequence[LayerView], pack: Pack) -> tuple[float, float, float, float]:
    # Frame the map's subject: its zones, else its other non-base layers (a canal running
    # through a zone map must not zoom it out); base layers only frame a map of base layers.
    shown = [v for v in views if len(v.prepared.gdf)]
    subject = (
        [v for v in shown if v.group == "规划分区"]
        or [v for v in shown if v.group != "底图"]
        or shown
    )
    boxes = [v.prepared.gdf.total_bounds for v in subject]
    if boxes:
        return (
            float(min(b[0] for b in boxes)),
            float(min(b[1] for b in boxes)),
            float(max(b[2] for b in boxes)),
            float(max(b[3] for b in boxes)),
        )
    return pack.extent or _DEFAULT_BOUNDS


def big_layer_available() -> bool:
    try:
        from qzgeo.publish.biglayer import BigPolygonLayer  # noqa: F401
    except ImportError:
        return False
    return True


def simplify_tolerance(pack: Pack) -> float:
    """Web simplification tolerance in metres (``publish_simplify_m`` in ``[params]``)."""
    simplify_m = float(pack.params.get("publish_simplify_m", DEFAULT_SIMPLIFY_M))
    if not simplify_m > 0:
        msg = f"[params] publish_simplify_m must be > 0 metres, got {simplify_m!r}"
        raise PublishError(msg)
    return simplify_m


def map_views(
    pack: Pack,
    plans: Sequence[LayerPlan],
    *,
    datum: str,
    simplify_m: float,
    cache: dict[tuple[str, tuple[str, ...], str], Prepared],
    warnings: list[str],
) -> list[LayerView]:
    """Prepare the layers of one map; shared by :func:`publish_maps` and the parcels map."""
    big_ok = big_layer_available()
    views: list[LayerView] = []
    for plan in plans:
        ck = (plan.id, tuple(plan.fields), datum)
        if ck not in cache:
            cache[ck] = prepare_layer(
                plan.gdf,
                fields=plan.fields,
                what=f"layer {plan.id!r}",
                gcj02=datum == "gcj02",
                simplify_m=simplify_m,
                planar_crs=pack.planar_crs,
            )
            warnings.extend(cache[ck].notes)
        prepared = cache[ck]
        big = len(prepared.gdf) > BIG_LAYER_FEATURES
        if big and not big_ok:
            warnings.append(
                f"layer {plan.id!r} has {len(prepared.gdf)} features but the compact "
                "big-layer renderer is not installed; embedded as GeoJSON (large page)"
            )
            big = False
        views.append(
            LayerView(
                # a view is its plan with the data prepared for this map's datum
                **{k: v for k, v in vars(plan).items() if k not in ("gdf", "provenance")},
                prepared=prepared,
                provenance=plan.provenance + simplified_note(prepared),
                big=big,
            )
        )
    return views


def simplified_note(prepared: Prepared) -> str:
    """Provenance suffix telling how a layer was simplified for the web ("" if it was not)."""
    if prepared.simplified_m is None:
        return ""
    how = "覆盖简化" if prepared.coverage else "保持拓扑简化"
    return f"；网页显示已{how}，容差 {prepared.simplified_m:g} m"


def map_page(
    pack: Pack,
    mspec: MapSpec,
    views: Sequence[LayerView],
    *,
    tiles: list[Basemap],
    basemap: str | None,
    datum: str,
    notes: list[str],
) -> MapPage:
    """Title, notice, basemaps, sources and extent of one map page."""
    provenance = [v.provenance for v in views]
    provenance.extend(f"底图 {b.title}：{b.attribution}" for b in tiles)
    if pack.attribution:
        provenance.append(pack.attribution)
    provenance.append(f"坐标保留 {COORD_DECIMALS} 位小数（约 0.1 m）")
    if datum == "gcj02":
        provenance.append("叠加图层已由 CGCS2000/WGS84 转换为 GCJ-02，以对齐高德底图")
    return MapPage(
        id=mspec.id,
        title=mspec.title,
        title_en=mspec.title_en,
        notice=pack.notice or DEFAULT_NOTICE,
        basemaps=tiles,
        basemap=basemap,
        provenance=provenance,
        warnings=notes,
        bounds=_bounds(views, pack),
    )


def publish_maps(
    pack: Pack,
    layers: Mapping[str, gpd.GeoDataFrame],
    analysis: Mapping[str, gpd.GeoDataFrame],
    out_dir: str | Path,
    *,
    analysis_sensitivity: Mapping[str, str],
    offline: bool = True,
    png: bool = False,
    tianditu_key: str | None = None,
    manifest_extra: Mapping[str, object] | None = None,
    only: Sequence[str] | None = None,
    pdf: bool = False,
    paper: str | None = None,
    orientation: str | None = None,
) -> PublishResult:
    """Write every map of ``pack`` (or those in ``only``) as HTML, plus a gallery and manifest.

    Parameters
    ----------
    pack
        The plan pack (:func:`qzgeo.pack.catalog.load_pack`).
    layers
        Catalog layer id -> GeoDataFrame in EPSG:4490 (loaded and repaired).
    analysis
        ``"available_land"`` / ``"conflicts"`` -> GeoDataFrame in EPSG:4490.
    out_dir
        Output folder, created if needed. Existing files are replaced atomically.
    analysis_sensitivity
        ``"public"`` or ``"internal"`` per analysis output; a missing entry counts as internal.
    offline
        Inline every script and stylesheet (default). ``False`` links Leaflet from a CDN with
        SRI hashes instead.
    png
        Also write ``<map id>.png`` screenshots (needs Chromium) used as gallery thumbnails.
    tianditu_key
        天地图 key; else ``$QZGEO_TIANDITU_KEY``, else ``tianditu_key`` in the pack. Without
        one, 天地图 basemaps are left out with a warning.
    manifest_extra
        Extra entries (e.g. input hashes) recorded under ``inputs`` in ``manifest.json``.
    only
        Map ids to build (default: all).
    pdf, paper, orientation
        Also write ``<map id>.pdf`` sheets (:mod:`qzgeo.publish.sheets`) on this paper (A4, A3,
        A1; landscape, portrait), overriding the maps' own ``paper``/``orientation``.

    Returns
    -------
    PublishResult
        Paths written and warnings (e.g. a basemap left out).

    Raises
    ------
    PublishError
        Before anything is written, listing every problem of every map: an internal layer
        or analysis output on a public map, a style field missing from ``publish_fields``,
        missing data.
    """
    out = Path(out_dir)
    if not pack.maps:
        msg = f"the pack at {pack.root} has no maps; add maps/<id>.toml files"
        raise PublishError(msg)
    if only is not None:
        unknown = [m for m in only if m not in pack.maps]
        if unknown:
            msg = f"unknown map id(s) {unknown}; the pack's maps are {sorted(pack.maps)}"
            raise PublishError(msg)
    selected = [m for mid, m in pack.maps.items() if only is None or mid in only]

    problems: list[str] = []
    for mspec in pack.maps.values():
        problems.extend(map_problems(pack, mspec, analysis_sensitivity))
    used = {lid for m in pack.maps.values() for lid in (*m.layers, *m.analysis)}
    problems.extend(style_problems(pack, sorted(used)))
    if problems:
        raise publish_error(problems)
    plans = {m.id: layer_plans(pack, m, layers, analysis, problems) for m in selected}
    if problems:
        raise publish_error(problems)
    if pdf:
        require_sheets()  # matplotlib and a CJK font, before anything is written

    simplify_m = simplify_tolerance(pack)
    key = resolve_tianditu_key(tianditu_key, pack.tianditu_key)
    warnings: list[str] = []
    cache: dict[tuple[str, tuple[str, ...], str], Prepared] = {}
    pages: dict[str, tuple[str, list[LayerView], MapPage]] = {}
    for mspec in selected:
        tiles, default, datum, bwarn, notes = choose_basemaps(mspec, key)
        warnings.extend(w for w in bwarn if w not in warnings)
        views = map_views(
            pack,
            plans[mspec.id],
            datum=datum,
            simplify_m=simplify_m,
            cache=cache,
            warnings=warnings,
        )
        page = map_page(pack, mspec, views, tiles=tiles, basemap=default, datum=datum, notes=notes)
        pages[mspec.id] = (render_page(page, views, offline=offline), views, page)

    # Everything is rendered: only now touch the output folder, one atomic file at a time.
    written: dict[str, Path] = {}
    for mid, (text, _, _) in pages.items():
        written[mid] = write_text(out / f"{mid}.html", text)
    pngs: dict[str, Path] = {}
    if png:
        pngs = _screenshots(written)
    pdfs: dict[str, Path] = {}
    if pdf:  # sheets are drawn in true coordinates, whatever the web basemap's datum
        wgs84 = partial(map_views, pack, datum="wgs84", simplify_m=simplify_m, cache=cache)
        sheets = {m: (p[2], wgs84(plans[m], warnings=[])) for m, p in pages.items()}
        pdfs = write_map_sheets(pack, sheets, out, paper=paper, orientation=orientation)
    cards: list[Card] = []
    entries: list[dict[str, object]] = []
    for mid, mspec in pack.maps.items():
        path = out / f"{mid}.html"
        if not path.is_file():
            continue
        card = Card(
            id=mid,
            file=path.name,
            title=mspec.title,
            title_en=mspec.title_en,
            audience=mspec.sensitivity,
            description=mspec.description,
            n_layers=len(mspec.layers) + len(mspec.analysis),
        )
        png_path = out / f"{mid}.png"
        if mid in pngs or (png and png_path.is_file()):
            card.thumbnail_png = png_path.name
        elif mid in pages:
            _, views, page = pages[mid]
            card.thumbnail_svg = sketch_svg(views, page.bounds)
        else:
            card.thumbnail_svg = sketch_svg([], pack.extent or _DEFAULT_BOUNDS)
        cards.append(card)
        entries.append(
            {
                "id": mid,
                "file": path.name,
                "sha256": hashlib.sha256(path.read_bytes()).hexdigest(),
                "title": mspec.title,
                "audience": mspec.sensitivity,
                "layers": list(mspec.layers),
                "analysis": list(mspec.analysis),
                "basemap": mspec.basemap,
                "png": png_path.name if mid in pngs else None,
                "pdf": f"{mid}.pdf" if mid in pdfs else None,
            }
        )
    index = write_text(
        out / "index.html", gallery_html(pack.title, pack.notice or DEFAULT_NOTICE, cards)
    )
    build = {
        "offline": offline,
        "png": png,
        "pdf": pdf,
        "only": list(only) if only is not None else None,
        "tianditu_key": "set" if key else "missing",
        "simplify_m": simplify_m,
        "coordinate_decimals": COORD_DECIMALS,
    }
    manifest = write_text(
        out / "manifest.json",
        manifest_json(maps=entries, build=build, inputs=manifest_extra, warnings=warnings),
    )
    return PublishResult(
        paths=list(written.values()),
        index=index,
        manifest=manifest,
        maps=written,
        pngs=pngs,
        pdfs=pdfs,
        warnings=warnings,
    )


def _screenshots(written: Mapping[str, Path]) -> dict[str, Path]:
    try:
        from qzgeo.publish.browser import screenshot
    except ImportError as exc:
        msg = (
            f"PNG export needs qzgeo.publish.browser and Chromium ({exc}); "
            "install playwright or publish without --png"
        )
        raise PublishError(msg) from exc
    out: dict[str, Path] = {}
    for mid, html_path in written.items():
        png_path = html_path.with_suffix(".png")
        with atomic_path(png_path) as tmp:
            screenshot(html_path, tmp, width=1280, height=900)
        out[mid] = png_path
    return out
