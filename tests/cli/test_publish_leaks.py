"""Issue 10: nothing derived from an internal layer is ever written under OUT/public.

The oracle reads the pack's catalog and data itself (tomllib + pyogrio), shares no code with
qzgeo, and scans every byte of every file under OUT/public.
"""

from __future__ import annotations

import json
import re
import tomllib
from functools import cache
from pathlib import Path

import geopandas as gpd
import numpy as np
import shapely
from packs import (
    REPO,
    assert_no_traceback,
    bytes_under,
    edit_catalog,
    grep_tree,
    layer,
    run_cli,
    write_map,
)
from shapely.geometry import box

_PAIR = re.compile(rb"(-?\d{1,3}\.(\d{4,}))\s*,\s*(-?\d{1,3}\.(\d{4,}))")


def _catalog(pack: Path) -> dict:
    with (pack / "layers" / "catalog.toml").open("rb") as fh:
        return tomllib.load(fh)


def _read(pack: Path, spec: dict) -> gpd.GeoDataFrame:
    gdf = gpd.read_file(pack / "layers" / spec["path"], layer=spec.get("layer"))
    return gdf.to_crs("EPSG:4490") if gdf.crs is not None else gdf


def _strings(gdf: gpd.GeoDataFrame) -> set[str]:
    out: set[str] = set()
    for col in gdf.columns:
        if col == gdf.geometry.name:
            continue
        for v in gdf[col].dropna().tolist():
            if isinstance(v, str) and len(v.strip()) >= 2 and not re.fullmatch(r"[\d.\s-]+", v):
                out.add(v)
    return out


def _vertices(gdf: gpd.GeoDataFrame, decimals: int) -> set[tuple[float, float]]:
    coords = shapely.get_coordinates(np.asarray(gdf.geometry.values, dtype=object))
    return {(round(float(x), decimals), round(float(y), decimals)) for x, y in coords}


@cache
def _internal_fingerprints(pack: Path) -> tuple[set[str], dict[int, set[tuple[float, float]]]]:
    """Titles, class names, attribute values and vertices (6 and 5 decimals) of the pack's
    internal layers, less what its public layers and its author's public texts hold too."""
    cat = _catalog(pack)
    public_text: set[str] = set()
    public_xy: dict[int, set[tuple[float, float]]] = {6: set(), 5: set()}
    secret_text: set[str] = set()
    secret_xy: dict[int, set[tuple[float, float]]] = {6: set(), 5: set()}
    for spec in cat["layers"]:
        gdf = _read(pack, spec)
        meta = {spec["title"], spec.get("title_en") or "", spec.get("source", "")}
        if spec["sensitivity"] == "public":
            public_text |= _strings(gdf) | meta
            for d in (6, 5):
                public_xy[d] |= _vertices(gdf, d)
        else:
            secret_text |= _strings(gdf) | meta | set(spec.get("constraint_classes", {}))
            for d in (6, 5):
                secret_xy[d] |= _vertices(gdf, d)
    # the pack author's own public words (map files of public maps, [pack] texts)
    authored = " ".join(str(v) for v in cat.get("pack", {}).values())
    for mfile in (pack / "maps").glob("*.toml"):
        with mfile.open("rb") as fh:
            m = tomllib.load(fh)
        if m.get("audience") == "public":
            authored += " " + json.dumps(m, ensure_ascii=False)
    texts = {s for s in secret_text - public_text if s and s not in authored}
    xy = {d: secret_xy[d] - public_xy[d] for d in (6, 5)}
    return texts, xy


def _leaks(public: Path, pack: Path) -> list[str]:
    texts, xy = _internal_fingerprints(pack)
    found: list[str] = []
    for path, data in bytes_under(public).items():
        for t in texts:
            for form in (t, json.dumps(t)[1:-1]):
                if form.encode() in data:
                    found.append(f"{path.name}: text {t[:60]!r}")
                    break
        for m in _PAIR.finditer(data):
            x, y = float(m.group(1)), float(m.group(3))
            d = 6 if len(m.group(2)) >= 6 and len(m.group(4)) >= 6 else 5
            if (round(x, d), round(y, d)) in xy[d]:
                found.append(f"{path.name}: vertex {x}, {y}")
    return found


def test_bundled_pack_public_folder_holds_nothing_internal(tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = run_cli("publish", "--out", out)
    assert_no_traceback(result)
    assert result.exit_code == 0, result.output
    public = out / "public"
    assert public.is_dir(), f"no {public}; the tree is {sorted(p.name for p in out.iterdir())}"
    assert list(public.glob("*.html")), "no public page was written"
    texts, xy = _internal_fingerprints(REPO)
    assert texts and xy[6], "the oracle found no internal fingerprints to look for"
    leaks = _leaks(public, REPO)
    assert leaks == [], "\n".join(sorted(set(leaks))[:40])


def test_scanner_finds_internal_page(tmp_path: Path) -> None:
    """The oracle itself: it does find the internal layer in the internal conflict map."""
    out = tmp_path / "out"
    result = run_cli("publish", "--out", out, "--no-maps")
    assert result.exit_code == 0, result.output
    page = tmp_path / "probe"
    page.mkdir()
    texts, xy = _internal_fingerprints(REPO)
    x, y = next(iter(xy[6]))
    t = next(iter(texts))
    (page / "p.html").write_text(f"[{x:.6f},{y:.6f}] {t}", encoding="utf-8")
    found = _leaks(page, REPO)
    assert any(": text " in f for f in found), found
    assert any(": vertex " in f for f in found), found


def _make_zone_internal(mini: Path) -> None:
    def fn(doc: dict) -> None:
        layer(doc, "zones")["sensitivity"] = "internal"
        layer(doc, "control_lines")["sensitivity"] = "public"

    edit_catalog(mini, fn)


def test_internal_zone_layer_does_not_reach_public_map_through_analysis(
    mini: Path, tmp_path: Path
) -> None:
    _make_zone_internal(mini)
    write_map(mini, "zones", title="公开可用地", audience="public", analysis=["available_land"])
    write_map(mini, "cons", title="控制线", audience="public", layers=["control_lines"])
    out = tmp_path / "out"
    result = run_cli("publish", "--pack", mini, "--out", out)
    assert_no_traceback(result)
    # the public map shows an output derived from the internal zones: refused, naming both
    assert result.exit_code == 2, result.output
    assert "zones" in result.output and "available_land" in result.output
    assert grep_tree(tmp_path / "out", "甲区") == [] or not (out / "public").exists()
    if (out / "public").exists():
        assert grep_tree(out / "public", "甲区") == []


def test_internal_zone_analysis_goes_to_internal(mini: Path, tmp_path: Path) -> None:
    _make_zone_internal(mini)
    write_map(mini, "zones", title="公开控制线", audience="public", layers=["control_lines"])
    out = tmp_path / "out"
    result = run_cli("publish", "--pack", mini, "--out", out)
    assert result.exit_code == 0, result.output
    assert grep_tree(out / "public", "甲区") == []
    assert (out / "internal" / "analysis.gpkg").is_file()
    assert not (out / "public" / "analysis.gpkg").exists()


def _unpublished_names(mini: Path) -> None:
    def fn(doc: dict) -> None:
        z = layer(doc, "zones")
        z["publish_fields"] = ["主导产业"]  # 名称 is the name_field but not published
        layer(doc, "control_lines")["sensitivity"] = "public"

    edit_catalog(mini, fn)
    style = (mini / "styles" / "mini.toml").read_text(encoding="utf-8")
    (mini / "styles" / "mini.toml").write_text(
        style.replace('label_field = "名称"\n', ""), encoding="utf-8"
    )


def test_name_field_not_in_publish_fields_stays_off_public_pages(
    mini: Path, tmp_path: Path
) -> None:
    _unpublished_names(mini)
    write_map(
        mini,
        "zones",
        title="公开分区与可用地",
        audience="public",
        layers=["zones", "control_lines"],
        analysis=["available_land", "conflicts"],
        basemap="none",
    )
    out = tmp_path / "out"
    result = run_cli("publish", "--pack", mini, "--out", out)
    assert_no_traceback(result)
    assert result.exit_code == 0, result.output
    public = out / "public"
    assert (public / "zones.html").is_file()
    for name in ("甲区", "乙区", "内部备注"):
        assert grep_tree(public, name) == [], name
    assert grep_tree(public, "电子信息")  # the published field did reach the page


def _parcels(path: Path) -> Path:
    x0, y0 = 36_564_000.0, 2_399_000.0
    gdf = gpd.GeoDataFrame(
        {"地块编号": ["P1", "P2", "P3"]},
        geometry=[
            box(x0 + 100, y0 + 100, x0 + 400, y0 + 400),
            box(x0 + 1100, y0 + 100, x0 + 1400, y0 + 400),
            box(x0 + 1600, y0 + 600, x0 + 1900, y0 + 900),
        ],
        crs="EPSG:4524",
    )
    gdf.to_file(path, driver="GPKG")
    return path


def test_parcels_tooltip_uses_published_fields_only(mini: Path, tmp_path: Path) -> None:
    _unpublished_names(mini)
    parcels = _parcels(tmp_path / "parcels.gpkg")
    out = tmp_path / "out"
    args = ("analyze", "--parcels", parcels, "--pack", mini, "--out", out, "--map", "--public")
    result = run_cli(*args)
    assert_no_traceback(result)
    assert result.exit_code == 0, result.output
    # every input is public and --public asks for it, so the map is public
    page = out / "public" / "parcels.html"
    assert page.is_file(), sorted(str(p.relative_to(out)) for p in out.rglob("*"))
    for name in ("甲区", "乙区"):
        assert grep_tree(out / "public", name) == [], name


def test_one_source_declared_internal_and_public_is_warned(mini: Path, tmp_path: Path) -> None:
    def fn(doc: dict) -> None:
        twin = dict(layer(doc, "control_lines"))
        twin.update(id="lines_public", sensitivity="public", role="base", title="线（公开）")
        twin.pop("constraint_classes")
        doc["layers"].append(twin)

    edit_catalog(mini, fn)
    out = tmp_path / "out"
    result = run_cli("publish", "--pack", mini, "--out", out)
    assert_no_traceback(result)
    warned = [
        line
        for line in result.output.splitlines()
        if "warning" in line.lower() and "control_lines" in line and "lines_public" in line
    ]
    assert warned, result.output
    report_file = out / "internal" / "report.json"
    report = json.loads(report_file.read_text(encoding="utf-8"))
    assert any("lines_public" in w and "control_lines" in w for w in report["warnings"])


def test_online_is_refused_with_the_reason(mini: Path, tmp_path: Path) -> None:
    """``--online`` linked Leaflet from jsDelivr, a foreign CDN: now exit 2, nothing written."""
    out = tmp_path / "out"
    result = run_cli("publish", "--pack", mini, "--out", out, "--online")
    assert result.exit_code == 2, result.output
    assert "foreign CDN" in result.output and "Drop --online" in result.output
    assert not out.exists()
    assert run_cli("publish", "--pack", mini, "--out", out, "--offline").exit_code == 0


def test_every_page_has_a_strict_csp(mini: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = run_cli("publish", "--pack", mini, "--out", out)
    assert result.exit_code == 0, result.output
    pages = sorted(out.rglob("*.html"))
    assert len(pages) >= 3  # two maps and at least one gallery
    for page in pages:
        text = page.read_text(encoding="utf-8")
        m = re.search(
            r'<meta\s+http-equiv="Content-Security-Policy"\s+content="([^"]+)"', text, re.I
        )
        assert m, f"{page.relative_to(out)} has no Content-Security-Policy meta"
        policy = {d.split()[0]: d.split()[1:] for d in m.group(1).split(";") if d.strip()}
        assert policy.get("default-src") in (["'none'"], ["'self'"]), policy
        sources = [s for v in policy.values() for s in v]
        assert "*" not in sources and "'unsafe-eval'" not in sources, policy
        hosts = {s for s in sources if "." in s and not s.startswith("'")}
        # basemap = "none" everywhere in the minipack: no tile host either
        assert hosts == set(), (page.name, hosts)
        assert "connect-src" not in policy or policy["connect-src"] == ["'none'"], policy


def _zones_page_hosts(mini: Path, out: Path, **basemap: str) -> tuple[str, set[str]]:
    """Publish ``mini`` with a public zones map (``basemap``: its key, if any); its page and
    the hosts its Content-Security-Policy lets it reach."""
    write_map(mini, "zones", title="分区", audience="public", layers=["zones"], **basemap)
    result = run_cli("publish", "--pack", mini, "--out", out)
    assert result.exit_code == 0, result.output
    text = (out / "public" / "zones.html").read_text(encoding="utf-8")
    m = re.search(r'http-equiv="Content-Security-Policy"\s+content="([^"]+)"', text, re.I)
    assert m, "no Content-Security-Policy meta"
    return text, set(re.findall(r"https?://[^\s;']+", m.group(1)))


def test_a_map_that_names_no_basemap_asks_no_tile_host(mini: Path, tmp_path: Path) -> None:
    """A pack author's map without ``basemap`` opened on OpenStreetMap: the public page
    fetched tiles from a host outside China (slow or blocked on phones there) though nobody
    asked for one. Without ``basemap`` it now has none: no tile URL, no host in its CSP."""
    text, hosts = _zones_page_hosts(mini, tmp_path / "out")
    assert hosts == set(), hosts
    assert "openstreetmap.org" not in text and "{z}" not in text


def test_osm_map_csp_allows_only_its_tile_host(mini: Path, tmp_path: Path) -> None:
    _, hosts = _zones_page_hosts(mini, tmp_path / "out", basemap="osm")
    assert hosts and all("openstreetmap.org" in h for h in hosts), hosts
