"""Reports of the siting check (选址合规性检查): JSON, a bilingual text summary, an HTML map.

Every renderer takes the :class:`qzgeo.analysis.siting.SiteReport` list that
:func:`qzgeo.analysis.site_check.check_sites` returns; the output is byte-identical across re-runs.
"""

from __future__ import annotations

import dataclasses
import html
import json
import re
from collections.abc import Sequence
from pathlib import PurePath
from typing import TYPE_CHECKING, Any

import shapely

from qzgeo._errors import InputError
from qzgeo.analysis.sites import split_source
from qzgeo.io.postgis_uri import is_postgis_uri, parse_postgis_uri
from qzgeo.notices import counted

if TYPE_CHECKING:
    from qzgeo.analysis.site_results import BoundaryShare, SiteReport

__all__ = [
    "public_reports",
    "public_source",
    "reports_to_html",
    "reports_to_json",
    "reports_to_text",
]

_C1 = re.compile("[\x7f-\x9f]")


def public_source(source: str) -> str:
    """A site's source as a public report names it: the file's name, not the path as typed
    (an absolute path names the user's home folders); a PostGIS table by ``schema.table``.

    Examples
    --------
    >>> public_source("/home/alice/选址/plan.gpkg:sites"), public_source("site.geojson")
    ('plan.gpkg:sites', 'site.geojson')
    >>> public_source("postgresql://u:***@db.example/gis?table=zoning.地块")
    'zoning.地块'
    """
    if is_postgis_uri(source):
        try:
            return parse_postgis_uri(source).qualified
        except InputError:
            return "PostGIS table"
    path, layer = split_source(source)
    return PurePath(path).name + (f":{layer}" if layer else "")


def public_reports(reports: Sequence[SiteReport]) -> list[SiteReport]:
    """The reports as ``OUT/public`` shows them: each site's source by :func:`public_source`,
    in its warnings and repairs too; the internal copies and stdout keep the path as typed."""
    out = []
    for r in reports:
        if r.source is None:
            out.append(r)
            continue
        path, shown = split_source(r.source)[0], public_source(r.source)
        swaps = ((r.source, shown), (path, PurePath(path).name))
        bare = [_swapped(t, swaps) for t in r.warnings], [_swapped(t, swaps) for t in r.repairs]
        out.append(dataclasses.replace(r, source=shown, warnings=bare[0], repairs=bare[1]))
    return out


def _swapped(text: str, swaps: Sequence[tuple[str, str]]) -> str:
    for old, new in swaps:
        text = text.replace(old, new)
    return text


def reports_to_json(reports: Sequence[SiteReport]) -> str:
    """A JSON array, one object per site, with fixed key order and rounding."""
    text = json.dumps([r.to_dict() for r in reports], ensure_ascii=False, indent=2) + "\n"
    # JSON escapes C0 controls; C1 ones (CSI \x9b...) would reach a terminal raw
    return _C1.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def _pct(share: float) -> str:
    return f"{share * 100:.4f}%"


def _unchecked(b: BoundaryShare, before: str, after: str = "") -> str:
    """The share outside the pack extent, so that the boundary shares add up to the site."""
    if b.unchecked_share <= 0:
        return ""
    return f"{before}未核查 unchecked {_pct(b.unchecked_share)}{after}"


def reports_to_text(reports: Sequence[SiteReport]) -> str:
    """A human summary in Chinese and English, one block per site, then a total line.

    A warning every site has (about the pack or the run, not the site) is printed once, after
    the total line, not in each of hundreds of blocks; the JSON keeps it in every site's."""
    lines: list[str] = []
    common = _common_warnings(reports)
    for r in reports:
        d = r.to_dict()
        where = f" ({r.source}:{r.index})" if r.source is not None else ""
        lines.append(f"== 地块 Site: {r.site}{where} ==")
        lines.append(
            f"面积 Area: {d['area_m2']:.2f} m² = {d['area_ha']:.6f} 公顷 ha = "
            f"{d['area_mu']:.5f} 亩 mu"
        )
        if r.conflicts:
            lines.append("冲突 Conflicts:")
            for c in r.conflicts:
                cd = c.to_dict()
                lines.append(
                    f"  - {c.layer} / {c.cls}: {cd['area_m2']:.2f} m² = {cd['area_ha']:.6f} 公顷"
                    f" = {cd['area_mu']:.5f} 亩 ({_pct(c.share)})"
                )
        else:
            lines.append("冲突 Conflicts: 无 none")
        b = r.development_boundary
        if b is not None:
            lines.append(
                f"{b.cls} Development boundary: 内 inside {_pct(b.inside_share)}, "
                f"外 outside {_pct(b.outside_share)}{_unchecked(b, ', ')}"
            )
        lines.append(f"规划分区 Zones: {'、'.join(r.zones) if r.zones else '无 none'}")
        for dd in r.distances:
            m = dd.to_dict()["distance_m"]
            label = f"{dd.label} {dd.label_en}".strip()
            lines.append(f"{label}: " + ("未知 unknown" if m is None else f"{m:.2f} m"))
        zh, en = r.verdict_label
        lines.append(f"结论 Verdict: {zh} {en.upper()}")
        lines.extend(f"警告 Warning: {w}" for w in r.warnings if w not in common)
        for rep in r.repairs:
            lines.append(f"修复 Repair: {rep}")
        lines.append("")
    n_conf = sum(r.verdict == "conflict" for r in reports)
    n_none = sum(r.verdict == "incomplete" and r.wholly_unchecked for r in reports)
    n_part = sum(r.verdict == "incomplete" for r in reports) - n_none
    lines.append(
        f"共 {len(reports)} 个地块: {len(reports) - n_conf - n_part - n_none} 合规 clear, "
        f"{n_conf} 冲突 conflict"
        + (f", {n_part} 部分未核查 incomplete" if n_part else "")
        + (f", {n_none} 未核查 not checked" if n_none else "")
    )
    lines.extend(f"警告 Warning（每个地块 every site）: {w}" for w in common)
    return "\n".join(lines) + "\n"


def _common_warnings(reports: Sequence[SiteReport]) -> list[str]:
    """The warnings every one of two or more reports has, in the first one's order."""
    if len(reports) < 2:
        return []
    rest = [set(r.warnings) for r in reports[1:]]
    return [w for w in dict.fromkeys(reports[0].warnings) if all(w in s for s in rest)]


def reports_to_html(
    reports: Sequence[SiteReport],
    *,
    title: str = "选址合规性检查 Siting check",
    max_map_sites: int = 1000,
    internal: bool = True,
) -> str:
    """A self-contained page: a Folium map of the sites and conflict patches, and the table.

    ``internal`` (the default: conflict patches derive from red lines) marks the page 内部 in
    its title and with a notice.

    Leaflet is inlined (no network, no tiles); every value from the input is HTML-escaped.
    Patches are drawn when the reports were made with ``check_sites(..., with_patches=True)``.
    Only the first ``max_map_sites`` sites are drawn; the table lists all.
    """
    import branca.element as be
    import folium

    # Imported here: the publishing package costs 0.4 s to import, text and JSON need none of it.
    from qzgeo.publish.assets import RawElement, leaflet_css_inline, leaflet_js_inline
    from qzgeo.publish.csp import map_page_csp, pin_inline_scripts
    from qzgeo.publish.render import for_readers
    from qzgeo.publish.site_map_layer import SitesLayer

    drawn = [r for r in reports if r.geometry is not None][:max_map_sites]
    fmap = folium.Map(tiles=None, control_scale=False, height="60%")  # metric: SitesLayer
    fmap.default_js = []
    fmap.default_css = []
    if drawn:
        sites_fc = _feature_collection(
            [(r.geometry, {"label": r.site, "verdict": r.verdict}) for r in drawn]
        )
        patch_fc = _feature_collection(
            [
                (g, {"label": f"{r.site}: {c.cls} ({_pct(c.share)})", "mode": c.mode})
                for r in drawn
                for c, g in r.patches
            ]
        )
        SitesLayer(sites_fc, patch_fc).add_to(fmap)
        minx, miny, maxx, maxy = shapely.total_bounds([r.geometry for r in drawn])
        fmap.fit_bounds([[miny, minx], [maxy, maxx]])
    root = fmap.get_root()
    assert isinstance(root, be.Figure)
    # Everything derived from the input goes in as RawElement: branca parses Element text as
    # a Jinja template, so a site named "{{ 7*7 }}" would otherwise be evaluated.
    root.header.add_child(RawElement(map_page_csp()), name="csp")
    root.header.add_child(RawElement(f"<style>{leaflet_css_inline()}</style>"), name="leaflet_css")
    root.header.add_child(RawElement(f"<script>{leaflet_js_inline()}</script>"), name="leaflet_js")
    if internal:
        title = f"【内部】{title}"
    root.header.add_child(RawElement(f"<title>{html.escape(title)}</title>"), name="title")
    note = ""
    if len(drawn) < len(reports):
        note = f"<p>地图只画前 {len(drawn)} 个地块 (map shows the first {len(drawn)} sites).</p>"
    if internal:
        note += (
            '<p class="qz-internal">内部资料 Internal: 本页含由控制线导出的冲突图斑，'
            "不得公开发布 (conflict patches derived from internal red lines; do not publish).</p>"
        )
    root.html.add_child(RawElement(_table(reports, title) + note), name="table")
    _fix_ids(root)
    return pin_inline_scripts(for_readers(str(root.render())))


def _feature_collection(items: list[tuple[Any, dict[str, Any]]]) -> dict[str, Any]:
    feats = [
        {
            "type": "Feature",
            "properties": props,
            "geometry": shapely.geometry.mapping(_rounded(g)),
        }
        for g, props in items
        if g is not None and not g.is_empty
    ]
    return {"type": "FeatureCollection", "features": feats}


def _rounded(geom: Any) -> Any:
    """Coordinates on a 1e-7° grid (1 cm): smaller pages, same drawing."""
    try:
        return shapely.set_precision(geom, 1e-7)
    except shapely.errors.GEOSException:
        # Snapping can fail on slivers ("unable to assign free hole"); a map only needs the
        # rounded coordinates, not a valid polygon.
        return shapely.set_precision(geom, 1e-7, mode="pointwise")


def _fix_ids(root: Any) -> None:
    """Replace Folium's random element ids by sequential ones: re-runs are byte-identical."""
    count = 0
    stack = [root]
    while stack:
        el = stack.pop(0)
        el._id = f"{count:032x}"
        count += 1
        stack.extend(el._children.values())


#: Characters of warnings and repairs shown open in a row; more are folded into a
#: <details>: one long-edge warning (~700 characters) in the 16em column made its row taller
#: than a phone's screen, a screen per site to scroll past to the next verdict.
NOTES_OPEN_CHARS = 240


def _notes_cell(notes: list[str]) -> str:
    """The warnings and repairs of a site, escaped; folded (tap to open) when long."""
    text = "<br>".join(html.escape(n) for n in notes)
    if sum(len(n) for n in notes) <= NOTES_OPEN_CHARS:
        return text
    n = len(notes)
    return f"<details><summary>{n} 条说明 {counted(n, 'note')}</summary>{text}</details>"


def _table(reports: Sequence[SiteReport], title: str) -> str:
    e = html.escape
    head = (
        "<tr><th>地块 Site</th><th>来源 Source</th><th>面积 Area (公顷 ha / 亩 mu)</th>"
        "<th>冲突 Conflicts</th><th>城镇开发边界外 Outside boundary</th><th>分区 Zones</th>"
        + "".join(
            f"<th>{e(f'{t.label} {t.label_en}'.strip())} (m)</th>"
            for t in (reports[0].distances if reports else [])
        )
        + "<th>结论 Verdict</th><th>警告 Warnings</th></tr>"
    )
    rows = []
    common = _common_warnings(reports)
    for r in reports:
        d = r.to_dict()
        conf = (
            "<br>".join(
                e(f"{c.layer} / {c.cls}: {c.to_dict()['area_ha']:.6f} 公顷 ({_pct(c.share)})")
                for c in r.conflicts
            )
            or "—"
        )
        b = r.development_boundary
        outside = _pct(b.outside_share) + _unchecked(b, " (", ")") if b is not None else "—"
        dist = "".join(
            "<td>—</td>" if m is None else f"<td>{m:.2f}</td>"
            for m in (x["distance_m"] for x in d["distances"])
        )
        verdict = " ".join(r.verdict_label)
        src = "" if r.source is None else f"{r.source}:{r.index}"
        rows.append(
            f'<tr class="{r.verdict}"><td>{e(r.site)}</td><td>{e(src)}</td>'
            f"<td>{d['area_ha']:.6f} / {d['area_mu']:.5f}</td><td>{conf}</td>"
            f"<td>{outside}</td><td>{e('、'.join(r.zones)) or '—'}</td>{dist}"
            f"<td>{verdict}</td><td>{_notes_cell(_own(r, common) + r.repairs)}</td></tr>"
        )
    style = (
        "<style>.qz-check{font-family:sans-serif;margin:1em}"
        # a phone scrolls the wide table sideways inside its box, not the whole page
        ".qz-check-scroll{overflow-x:auto;max-width:100%}"
        ".qz-check table{border-collapse:collapse}.qz-check td,.qz-check th"
        "{border:1px solid #999;padding:3px 6px;font-size:13px;vertical-align:top}"
        # CJK may break between any two characters: without a floor the table shrank its
        # columns to the phone's width, a site name one character a line, instead of scrolling
        ".qz-check td,.qz-check th{min-width:7em}.qz-check td:last-child{min-width:16em}"
        ".qz-check tr.conflict td{background:#fde2de}"
        ".qz-check tr.incomplete td{background:#fff3cd}</style>"
    )
    return (
        f'{style}<div class="qz-check"><h2>{e(title)}</h2><div class="qz-check-scroll"><table>'
        f"{head}{''.join(rows)}</table></div>{_every_site(common)}</div>"
    )


def _own(r: SiteReport, common: list[str]) -> list[str]:
    return [w for w in r.warnings if w not in common]


def _every_site(common: list[str]) -> str:
    """The warnings every site has, once, under the table (folded when long)."""
    if not common:
        return ""
    return f"<p>警告（每个地块）Warnings for every site: {_notes_cell(common)}</p>"
