"""Publish a plan pack's maps as self-contained, offline-capable HTML pages.

:func:`publish_maps` writes one ``<map id>.html`` per ``maps/*.toml`` into ``public/`` or
``internal/`` by the map's audience, and an ``index.html`` gallery and a ``manifest.json`` in
each. Pages inline Leaflet 1.9.3 (from ``xstatic-leaflet``) and the
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
from qzgeo.geo.crs import CHINA_BOUNDS
from qzgeo.io.atomic import atomic_path, write_text
from qzgeo.pack.model import MapSpec, Pack
from qzgeo.publish.basemaps import Basemap, resolve_tianditu_key
from qzgeo.publish.checks import map_problems, style_problems
from qzgeo.publish.gallery import Card, gallery_html, manifest_json, part_build, sketch_svg
from qzgeo.publish.plans import ANALYSIS_TITLES, LayerPlan, choose_basemaps, layer_plans
from qzgeo.publish.prepare import (
    BIG_LAYER_FEATURES,
    COORD_DECIMALS,
    DEFAULT_SIMPLIFY_M,
    Prepared,
    prepare_layer,
    simplified_note,
)
from qzgeo.publish.render import LayerView, MapPage, render_page
from qzgeo.publish.sheets import empty_layers_note, require_sheets, write_map_sheets

__all__ = [
    "ANALYSIS_TITLES",
    "LayerPlan",
    "PublishResult",
    "choose_basemaps",
    "layer_plans",
    "publish_maps",
]

DEFAULT_NOTICE = "本图为示意图，不作为规划管理、用地审批或权属认定的依据。"
# A pack with no data and no extent opens on all of China, 南海诸岛 (to 3.8°N) included
_DEFAULT_BOUNDS = CHINA_BOUNDS


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
    galleries: dict[str, Path] = field(default_factory=dict)

    @property
    def all_paths(self) -> list[Path]:
        """Every file written: pages, PNGs, PDF sheets, galleries and manifests."""
        manifests = [g.with_name("manifest.json") for g in self.galleries.values()]
        return [
            *self.paths,
            *self.pngs.values(),
            *self.pdfs.values(),
            *self.galleries.values(),
            *manifests,
        ]


def publish_error(problems: Sequence[str]) -> PublishError:
    lines = "\n".join(f"  - {p}" for p in problems)
    return PublishError(f"cannot publish: {len(problems)} problem(s):\n{lines}")


def _bounds(views: Sequence[LayerView], pack: Pack) -> tuple[float, float, float, float]:
    # Frame the map's subject: its zones, else its other non-base layers (a river running
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
                name_field=plan.name_field,
            )
        prepared = cache[ck]
        warnings.extend(n for n in prepared.notes if n not in warnings)
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


@dataclass
class BuiltMap:
    """One rendered map: its spec, page HTML, views and the warnings met building it."""

    spec: MapSpec
    html: str
    views: list[LayerView]
    page: MapPage
    warnings: list[str]

    @property
    def part(self) -> str:
        """``"public"`` or ``"internal"``: the output folder the page belongs in."""
        return "public" if self.spec.sensitivity == "public" else "internal"


def _selected(pack: Pack, only: Sequence[str] | None) -> list[MapSpec]:
    if not pack.maps:
        msg = f"the pack at {pack.root} has no maps; add maps/<id>.toml files"
        raise PublishError(msg)
    if only is not None:
        unknown = [m for m in only if m not in pack.maps]
        if unknown:
            msg = f"unknown map id(s) {unknown}; the pack's maps are {sorted(pack.maps)}"
            raise PublishError(msg)
    return [m for mid, m in pack.maps.items() if only is None or mid in only]


def _checked_plans(
    pack: Pack,
    selected: Sequence[MapSpec],
    layers: Mapping[str, gpd.GeoDataFrame],
    analysis: Mapping[str, gpd.GeoDataFrame],
    analysis_sensitivity: Mapping[str, str],
) -> dict[str, list[LayerPlan]]:
    problems: list[str] = []
    for mspec in pack.maps.values():
        problems.extend(map_problems(pack, mspec, analysis_sensitivity))
    problems.extend(style_problems(pack, sorted(pack.styles)))  # the QGIS project draws all
    if problems:
        raise publish_error(problems)
    plans = {m.id: layer_plans(pack, m, layers, analysis, problems) for m in selected}
    if problems:
        raise publish_error(problems)
    return plans


def build_maps(
    pack: Pack,
    selected: Sequence[MapSpec],
    plans: Mapping[str, Sequence[LayerPlan]],
    *,
    key: str | None,
    simplify_m: float,
) -> dict[str, BuiltMap]:
    """Render every selected map in memory; nothing is written."""
    cache: dict[tuple[str, tuple[str, ...], str], Prepared] = {}
    built: dict[str, BuiltMap] = {}
    for mspec in selected:
        tiles, default, datum, warnings, notes = choose_basemaps(mspec, key)
        views = map_views(
            pack,
            plans[mspec.id],
            datum=datum,
            simplify_m=simplify_m,
            cache=cache,
            warnings=warnings,
        )
        if note := empty_layers_note(pack, mspec.id, views):
            warnings.append(note)
        page = map_page(pack, mspec, views, tiles=tiles, basemap=default, datum=datum, notes=notes)
        html = render_page(page, views)
        built[mspec.id] = BuiltMap(mspec, html, views, page, warnings)
    return built


def _card_and_entry(
    pack: Pack, built: BuiltMap, file: str, png: str | None, sha: str, pdf: str | None
) -> tuple[Card, dict[str, object]]:
    mspec = built.spec
    card = Card(
        id=mspec.id,
        file=file,
        title=mspec.title,
        title_en=mspec.title_en,
        audience=mspec.sensitivity,
        description=mspec.description,
        n_layers=len(mspec.layers) + len(mspec.analysis),
    )
    card.pdf = pdf
    if png is not None:
        card.thumbnail_png = png
    else:
        card.thumbnail_svg = sketch_svg(built.views, built.page.bounds)
    entry: dict[str, object] = {
        "id": mspec.id,
        "file": file,
        "sha256": sha,
        "title": mspec.title,
        "audience": mspec.sensitivity,
        "layers": list(mspec.layers),
        "analysis": list(mspec.analysis),
        "basemap": mspec.basemap,
        "png": png,
        "pdf": pdf,
    }
    return card, entry


def write_galleries(
    pack: Pack,
    out: Path,
    built: Mapping[str, BuiltMap],
    pngs: Mapping[str, Path],
    pdfs: Mapping[str, Path],
    *,
    build: Mapping[str, object],
    inputs: Mapping[str, object] | None,
    public_inputs: Mapping[str, object] | None,
) -> dict[str, tuple[Path, Path]]:
    """``index.html`` and ``manifest.json`` of ``public/`` (public maps only) and ``internal/``.

    The internal gallery and manifest list every map (public ones as ``../public/...``).
    """
    notice = pack.notice or DEFAULT_NOTICE
    result: dict[str, tuple[Path, Path]] = {}
    for part in ("public", "internal"):
        cards: list[Card] = []
        entries: list[dict[str, object]] = []
        warnings: list[str] = []
        for mid, b in built.items():
            if part == "public" and b.part != "public":
                continue
            prefix = "" if b.part == part else f"../{b.part}/"
            page = out / b.part / f"{mid}.html"
            png = f"{prefix}{mid}.png" if mid in pngs else None
            pdf = f"{prefix}{mid}.pdf" if mid in pdfs else None
            sha = hashlib.sha256(page.read_bytes()).hexdigest()
            card, entry = _card_and_entry(pack, b, f"{prefix}{mid}.html", png, sha, pdf)
            cards.append(card)
            entries.append(entry)
            warnings.extend(w for w in b.warnings if w not in warnings)
        index = write_text(out / part / "index.html", gallery_html(pack.title, notice, cards))
        manifest = write_text(
            out / part / "manifest.json",
            manifest_json(
                maps=entries,
                build=part_build(build, part, [m for m, b in built.items() if b.part == part]),
                inputs=inputs if part == "internal" else public_inputs,
                warnings=warnings,
            ),
        )
        result[part] = (index, manifest)
    return result


def publish_maps(
    pack: Pack,
    layers: Mapping[str, gpd.GeoDataFrame],
    analysis: Mapping[str, gpd.GeoDataFrame],
    out_dir: str | Path,
    *,
    analysis_sensitivity: Mapping[str, str],
    png: bool = False,
    tianditu_key: str | None = None,
    manifest_extra: Mapping[str, object] | None = None,
    public_manifest_extra: Mapping[str, object] | None = None,
    only: Sequence[str] | None = None,
    pdf: bool = False,
    paper: str | None = None,
    orientation: str | None = None,
) -> PublishResult:
    """Write the maps of ``pack`` (or those in ``only``) into ``out_dir/public`` and ``/internal``.

    ``public/`` (the folder to post) gets the public maps, their gallery and a manifest of them
    only; ``internal/`` the internal maps and a gallery and manifest of every map.

    Parameters
    ----------
    pack, layers, analysis
        The plan pack; its layers (id -> GeoDataFrame in EPSG:4490, loaded and repaired);
        the analysis outputs (``"available_land"``, ``"conflicts"``).
    out_dir, analysis_sensitivity
        Output (build) folder; ``"public"``/``"internal"`` per analysis output (missing:
        internal).
    png
        Also write ``<map id>.png`` screenshots (needs Chromium) as gallery thumbnails.
    tianditu_key, only
        天地图 key (else ``$QZGEO_TIANDITU_KEY``, else the pack's); map ids to build.
    manifest_extra, public_manifest_extra
        ``inputs`` of the internal and the public ``manifest.json``.
    pdf, paper, orientation
        Also write ``<map id>.pdf`` sheets (:mod:`qzgeo.publish.sheets`) beside the pages,
        on this paper (A4, A3, A1; landscape, portrait) over the maps' own.

    Raises
    ------
    PublishError
        Before anything is written: every problem of every map (internal data on a public
        map, a style field not published, missing data).
    """
    out = Path(out_dir)
    selected = _selected(pack, only)
    plans = _checked_plans(pack, selected, layers, analysis, analysis_sensitivity)
    if pdf:
        require_sheets()  # matplotlib and a CJK font, before anything is written
    simplify_m = simplify_tolerance(pack)
    key = resolve_tianditu_key(tianditu_key, pack.tianditu_key)
    built = build_maps(pack, selected, plans, key=key, simplify_m=simplify_m)
    # Everything is rendered: only now touch the output folder.
    written = {mid: write_text(out / b.part / f"{mid}.html", b.html) for mid, b in built.items()}
    pngs = _screenshots(written) if png else {}
    pdfs = _sheets(pack, built, plans, out, simplify_m, paper, orientation) if pdf else {}
    build = _build_info(png, pdf, only, key, simplify_m)
    parts = write_galleries(
        pack,
        out,
        built,
        pngs,
        pdfs,
        build=build,
        inputs=manifest_extra,
        public_inputs=public_manifest_extra,
    )
    return PublishResult(
        paths=list(written.values()),
        index=parts["public"][0],
        manifest=parts["public"][1],
        maps=written,
        pngs=pngs,
        pdfs=pdfs,
        warnings=list(dict.fromkeys(w for b in built.values() for w in b.warnings)),
        galleries={part: index for part, (index, _) in parts.items()},
    )


def _build_info(
    png: bool,
    pdf: bool,
    only: Sequence[str] | None,
    key: str | None,
    simplify_m: float,
) -> dict[str, object]:
    """The build options recorded in the manifests (never the 天地图 key itself)."""
    return {
        "png": png,
        "pdf": pdf,
        "only": list(only) if only is not None else None,
        "tianditu_key": "set" if key else "missing",
        "simplify_m": simplify_m,
        "coordinate_decimals": COORD_DECIMALS,
    }


def _sheets(
    pack: Pack,
    built: Mapping[str, BuiltMap],
    plans: Mapping[str, Sequence[LayerPlan]],
    out: Path,
    simplify_m: float,
    paper: str | None,
    orientation: str | None,
) -> dict[str, Path]:
    """PDF sheets beside their pages; drawn in true coordinates, whatever the basemap datum."""
    cache: dict[tuple[str, tuple[str, ...], str], Prepared] = {}
    wgs84 = partial(map_views, pack, datum="wgs84", simplify_m=simplify_m, cache=cache)
    pdfs: dict[str, Path] = {}
    said = {m: b.warnings for m, b in built.items()}  # a sheet's warnings go to report.json
    for part in ("public", "internal"):
        sheets = {
            m: (b.page, wgs84(plans[m], warnings=[])) for m, b in built.items() if b.part == part
        }
        pdfs.update(
            write_map_sheets(
                pack, sheets, out / part, paper=paper, orientation=orientation, warnings=said
            )
        )
    return pdfs


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
