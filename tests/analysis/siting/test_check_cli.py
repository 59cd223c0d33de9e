"""`qzgeo check` end to end: output formats, exit codes, bad input, user red lines."""

from __future__ import annotations

import json
import re
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import shapely
from _siting_helpers import GK, X0, Y0, gk_box
from click.testing import CliRunner

from qzgeo.cli.main import cli
from qzgeo.geo.gcj02 import geoms_wgs84_to_gcj02
from qzgeo.pack.catalog import load_pack

HOSTILE = "</script><script>alert('x')</script><img src=x onerror=alert(1)>"


def run(*args: str | Path):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(cli, ["check", *map(str, args)], catch_exceptions=False)


def test_json_conflict_exit_1(write_sites, minipack) -> None:  # type: ignore[no-untyped-def]
    path = write_sites([gk_box(1500, 0, 2000, 1000)], names=["东片地块"])
    res = run(path, "--pack", minipack, "--format", "json")
    assert res.exit_code == 1, res.output
    (d,) = json.loads(res.stdout)
    assert d["site"] == "东片地块"
    assert d["source"] == str(path)
    assert d["index"] == 0
    assert d["area_ha"] == pytest.approx(50.0, rel=2e-4)
    farm = next(c for c in d["conflicts"] if c["class"] == "永久基本农田")
    assert farm["area_ha"] == pytest.approx(25.0, rel=2e-4)
    assert farm["share"] == pytest.approx(0.5, abs=2e-6)
    out = next(c for c in d["conflicts"] if c["class"] == "城镇开发边界外")
    assert out["area_ha"] == pytest.approx(20.0, rel=2e-4)
    assert out["share"] == pytest.approx(0.4, abs=2e-6)
    assert d["zones"] == ["乙区"]
    assert d["verdict"] == "conflict"


def test_clear_site_exit_0_text(write_sites, minipack) -> None:  # type: ignore[no-untyped-def]
    path = write_sites([gk_box(400, 100, 900, 900)])
    res = run(path, "--pack", minipack)
    assert res.exit_code == 0, res.output
    assert "sites.geojson:0" in res.stdout  # no 名称: labelled file:index
    assert "合规 CLEAR" in res.stdout and "甲区" in res.stdout


def test_missing_file_exit_2(tmp_path, minipack) -> None:  # type: ignore[no-untyped-def]
    res = run(tmp_path / "nope.geojson", "--pack", minipack)
    assert res.exit_code == 2
    assert "nope.geojson" in res.stderr and "does not exist" in res.stderr
    assert "Traceback" not in res.output


@pytest.mark.filterwarnings("ignore:'crs' was not provided")
def test_no_crs_exit_2_then_crs_option(write_sites, minipack) -> None:  # type: ignore[no-untyped-def]
    shp = write_sites([gk_box(400, 100, 900, 900)], name="site.shp", crs=None)
    assert not shp.with_suffix(".prj").exists()
    res = run(shp, "--pack", minipack)
    assert res.exit_code == 2
    assert "no CRS" in res.stderr and "--crs" in res.stderr
    res = run(shp, "--pack", minipack, "--crs", "EPSG:4524", "--format", "json")
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout)[0]["zones"] == ["甲区"]


def test_point_only_file_exit_2(tmp_path, minipack) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "points.geojson"
    gpd.GeoDataFrame(geometry=[shapely.Point(X0 + 10, Y0 + 10)], crs=GK).to_file(path)
    res = run(path, "--pack", minipack)
    assert res.exit_code == 2
    assert "no polygon features" in res.stderr and "Point" in res.stderr


def test_mixed_file_skips_points_with_warning(tmp_path, minipack) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "mixed.gpkg"
    gpd.GeoDataFrame(geometry=[gk_box(400, 100, 900, 900), shapely.Point(X0, Y0)], crs=GK).to_file(
        path, layer="sites"
    )
    res = run(f"{path}:sites", "--pack", minipack, "--format", "json")
    assert res.exit_code == 0, res.output
    assert len(json.loads(res.stdout)) == 1
    assert "feature 2" in res.stderr and "Point" in res.stderr and "skipped" in res.stderr


def test_multiple_sites_args(write_sites, minipack) -> None:  # type: ignore[no-untyped-def]
    a = write_sites([gk_box(400, 100, 900, 900)], names=["甲地"], name="a.geojson")
    b = write_sites(
        [gk_box(1500, 0, 2000, 1000), gk_box(1100, 100, 1300, 300)],
        names=["乙地", None],
        name="b.geojson",
    )
    res = run(a, b, "--pack", minipack, "--format", "json")
    assert res.exit_code == 1
    data = json.loads(res.stdout)
    assert [(d["site"], d["verdict"]) for d in data] == [
        ("甲地", "clear"),
        ("乙地", "conflict"),
        ("b.geojson:1", "clear"),
    ]
    assert [d["source"] for d in data] == [str(a), str(b), str(b)]


def test_user_red_line_replaces_pack(tmp_path, write_sites, minipack) -> None:  # type: ignore[no-untyped-def]
    red = tmp_path / "红线.shp"
    gpd.GeoDataFrame(
        {"DLMC": ["水源保护区"]}, geometry=[gk_box(400, 400, 600, 600)], crs=GK
    ).to_file(red, encoding="utf-8")
    site = write_sites([gk_box(400, 100, 900, 900)])  # clear against the pack...
    assert run(site, "--pack", minipack).exit_code == 0
    res = run(site, "--pack", minipack, "--constraint", red, "--format", "json")
    assert res.exit_code == 1, res.output  # ...but not against the user's own red line
    (d,) = json.loads(res.stdout)
    assert [(c["layer"], c["class"]) for c in d["conflicts"]] == [("红线", "水源保护区")]
    assert d["conflicts"][0]["share"] == pytest.approx(0.1, abs=2e-6)
    assert d["development_boundary"] is None  # the pack's boundary was replaced too
    assert d["zones"] == ["甲区"]
    # Without a pack, with the class named after the file and every class a boundary.
    res = run(
        site,
        "--no-pack",
        "--constraint",
        red,
        "--class-field",
        "DLMC",
        "--mode",
        "boundary",
        "--format",
        "json",
    )
    assert res.exit_code == 1
    (d,) = json.loads(res.stdout)
    assert d["conflicts"][0]["class"] == "水源保护区外"
    assert d["conflicts"][0]["share"] == pytest.approx(0.9, abs=2e-6)
    assert d["zones"] == []


def test_option_misuse_exit_2(write_sites, minipack) -> None:  # type: ignore[no-untyped-def]
    site = write_sites([gk_box(400, 100, 900, 900)])
    assert run(site, "--no-pack").exit_code == 2
    assert run(site, "--pack", minipack, "--class-field", "DLMC").exit_code == 2
    assert run(site, "--pack", minipack, "--no-pack").exit_code == 2


def test_from_gcj02_matches_cgcs2000(tmp_path, write_sites, minipack) -> None:  # type: ignore[no-untyped-def]
    lonlat = gpd.GeoSeries([gk_box(1500, 0, 2000, 1000)], crs=GK).to_crs("EPSG:4490")
    gcj = gpd.GeoDataFrame(geometry=geoms_wgs84_to_gcj02(lonlat.values), crs="EPSG:4326")
    path = tmp_path / "amap.geojson"
    gcj.to_file(path)
    plain = json.loads(
        run(
            write_sites([gk_box(1500, 0, 2000, 1000)]), "--pack", minipack, "--format", "json"
        ).stdout
    )[0]
    conv = json.loads(run(path, "--pack", minipack, "--from-gcj02", "--format", "json").stdout)[0]
    assert conv["area_m2"] == pytest.approx(plain["area_m2"], rel=1e-6)
    assert conv["conflicts"][1]["share"] == pytest.approx(0.5, abs=1e-5)
    # --from-gcj02 converts the sites only: a GK red line next to them is read as it is.
    red = tmp_path / "red.shp"
    gpd.GeoDataFrame(geometry=[gk_box(1500, 0, 2000, 500)], crs=GK).to_file(red)
    res = run(path, "--pack", minipack, "--from-gcj02", "--constraint", red, "--format", "json")
    assert res.exit_code == 1, res.output
    (mine,) = json.loads(res.stdout)[0]["conflicts"]
    assert (mine["class"], mine["share"]) == ("red", pytest.approx(0.5, abs=1e-5))
    # Read without --from-gcj02, the same file is shifted by hundreds of metres.
    raw = json.loads(run(path, "--pack", minipack, "--format", "json").stdout)[0]
    assert raw["centroid"] != conv["centroid"]


def test_out_dir_json_and_html_deterministic(tmp_path, write_sites, minipack) -> None:  # type: ignore[no-untyped-def]
    site = write_sites([gk_box(1500, 0, 2000, 1000)], names=["东片"])
    out = tmp_path / "out"
    assert run(site, "--pack", minipack, "--format", "json", "--out", out).exit_code == 1
    first = (out / "internal" / "check.json").read_bytes()
    run(site, "--pack", minipack, "--format", "json", "--out", out)
    assert (out / "internal" / "check.json").read_bytes() == first
    assert run(site, "--pack", minipack, "--format", "html", "--out", out).exit_code == 1
    page = (out / "internal" / "check.html").read_bytes()
    run(site, "--pack", minipack, "--format", "html", "--out", out)
    assert (out / "internal" / "check.html").read_bytes() == page
    got = sorted(p.name for p in (out / "internal").iterdir())
    assert got == ["check.html", "check.json"]  # no temp files


def test_html_escapes_hostile_names(tmp_path, write_sites, minipack) -> None:  # type: ignore[no-untyped-def]
    site = write_sites([gk_box(1500, 0, 2000, 1000)], names=[HOSTILE])
    out = tmp_path / "out"
    res = run(site, "--pack", minipack, "--format", "html", "--out", out)
    assert res.exit_code == 1
    page = (out / "internal" / "check.html").read_text(encoding="utf-8")
    assert "alert(" in page  # the name is there...
    assert "<script>alert" not in page and "<img src=x" not in page  # ...but never as markup
    assert "&lt;/script&gt;&lt;script&gt;alert" in page  # the table shows it as text
    # The page names the pack and is marked internal: its patches derive from internal red lines.
    title = re.search(r"<title>(.*?)</title>", page)
    assert title is not None and title.group(1).startswith("【内部】选址合规性检查")
    assert load_pack(minipack).title in title.group(1)
    assert "内部资料" in page
    # Offline: no script or stylesheet is fetched from anywhere.
    assert not re.search(r"<script[^>]+src=", page)
    assert not re.search(r"<link[^>]+href=[\"']https?:", page)
    assert "永久基本农田" in page and "城镇开发边界外" in page
    # text output carries the name verbatim (it is not HTML)
    text = run(site, "--pack", minipack).stdout
    assert HOSTILE in text


@pytest.mark.browser
def test_html_renders_offline_without_running_hostile_script(  # type: ignore[no-untyped-def]
    tmp_path, write_sites, minipack
) -> None:
    from qzgeo.publish.browser import render_html

    site = write_sites([gk_box(1500, 0, 2000, 1000)], names=[HOSTILE])
    out = tmp_path / "out"
    run(site, "--pack", minipack, "--format", "html", "--out", out)
    res = render_html(
        out / "internal" / "check.html",
        evaluate="() => [window.__alerted === true, "
        "document.querySelectorAll('.leaflet-interactive').length, "
        "document.querySelector('.qz-check td').textContent]",
    )
    assert res.page_errors == [] and res.requests_blocked == []
    alerted, n_paths, first_cell = res.value
    assert not alerted
    assert n_paths >= 3  # the site and its two conflict patches
    assert first_cell == HOSTILE


def test_ten_thousand_sites(tmp_path, minipack) -> None:  # type: ignore[no-untyped-def]
    rng = np.random.default_rng(3)
    cx = rng.uniform(X0 - 600, X0 + 2200, 10_000)
    cy = rng.uniform(Y0 - 300, Y0 + 1300, 10_000)
    sites = gpd.GeoDataFrame(geometry=shapely.box(cx, cy, cx + 30, cy + 20), crs=GK)
    path = tmp_path / "many.gpkg"
    sites.to_file(path, driver="GPKG")
    res = run(path, "--pack", minipack, "--format", "json")
    assert res.exit_code == 1
    data = json.loads(res.stdout)
    assert len(data) == 10_000
    assert [d["index"] for d in data[:3]] == [1, 2, 3]  # GeoPackage FIDs start at 1
    verdicts = {d["verdict"] for d in data}
    assert verdicts == {"clear", "conflict"}


def test_jzd_txt_site(tmp_path, minipack) -> None:  # type: ignore[no-untyped-def]
    try:
        from qzgeo.io.jzd_write import write_jzd
    except ImportError:
        pytest.skip("qzgeo.io.jzd_write (界址点 .txt support in read_layer) is not available yet")
    site = gpd.GeoDataFrame(
        {"地块名称": ["江东地块"]}, geometry=[gk_box(1500, 0, 2000, 1000)], crs=GK
    )
    path = write_jzd(site.to_crs("EPSG:4490"), tmp_path / "jzd.txt", zone=36)
    assert b"\xbd\xad\xb6\xab" in Path(path).read_bytes()  # 江东 in GBK
    res = run(path, "--pack", minipack, "--format", "json")
    assert res.exit_code == 1, res.output
    (d,) = json.loads(res.stdout)
    assert d["site"] == "江东地块"
    assert d["area_ha"] == pytest.approx(50.0, rel=2e-4)
    farm = next(c for c in d["conflicts"] if c["class"] == "永久基本农田")
    assert farm["share"] == pytest.approx(0.5, abs=1e-5)


def test_html_never_evaluates_template_syntax_in_site_names(tmp_path: Path, minipack) -> None:  # type: ignore[no-untyped-def]
    """folium/branca parse element text as Jinja: site names must never pass through it."""
    from shapely import box

    x0, y0 = 36_564_000, 2_399_000
    names = ["{{ 7*7 }}", "a'b\"c{% if %}", "{# x #}</script><img src=x onerror=alert(1)>"]
    sites = gpd.GeoDataFrame(
        {"名称": names},
        geometry=[box(x0 + 1500 + 100 * i, y0, x0 + 1550 + 100 * i, y0 + 50) for i in range(3)],
        crs="EPSG:4524",
    )
    path = tmp_path / "sites.gpkg"
    sites.to_file(path)
    out = tmp_path / "out"
    result = CliRunner().invoke(
        cli,
        ["check", str(path), "--pack", str(minipack), "--format", "html", "--out", str(out)],
    )
    assert result.exit_code == 1, result.output  # the sites conflict; no crash
    page = (out / "internal" / "check.html").read_text(encoding="utf-8")
    assert "{{ 7*7 }}" in page  # the table, HTML-escaped but literal
    assert ">49<" not in page and '"49"' not in page
    assert "<img src=x" not in page
