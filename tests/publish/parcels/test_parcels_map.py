"""publish_parcels_map: offline, compact, deterministic, escaped, honest about sensitivity."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from _parcels_helpers import HOSTILE, N_HOSTILE_IDS, ZONE_NAMES, Analysed
from click.testing import CliRunner

from qzgeo._errors import CRSError, PublishError
from qzgeo.cli.main import cli
from qzgeo.publish.parcels_map import (
    STATE_FIELD,
    parcel_states,
    parcels_sensitivity,
    publish_parcels_map,
)

BIG_RE = re.compile(r"new L\.QzgeoBigLayer\(")
CONFIG_RE = re.compile(r'<script type="application/json" id="qz-config">(.*?)</script>', re.S)


def payload(text: str) -> dict[str, Any]:
    """The BigPolygonLayer payload of a page (exactly one big layer)."""
    starts = [m.end() for m in BIG_RE.finditer(text)]
    assert len(starts) == 1
    value, _ = json.JSONDecoder().raw_decode(text, starts[0])
    return value


def config(text: str) -> dict[str, Any]:
    m = CONFIG_RE.search(text)
    assert m is not None
    return json.loads(m.group(1))


def tooltip_rows(p: dict[str, Any]) -> list[dict[str, str | None]]:
    tt = p["tooltip"]
    rows = []
    for f in range(p["n"][0]):
        rows.append(
            {
                name: (tt["dict"][col[f]] if col[f] >= 0 else None)
                for name, col in zip(tt["fields"], tt["columns"], strict=True)
            }
        )
    return rows


@pytest.fixture(scope="module")
def page(analyzed: Analysed, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    out = tmp_path_factory.mktemp("map") / "parcels.html"
    path = publish_parcels_map(
        analyzed.result,
        analyzed.pack,
        out,
        sensitivity=parcels_sensitivity(analyzed.pack),
        layers=analyzed.loaded.layers,
    )
    return path, path.read_text(encoding="utf-8")


def test_writes_one_offline_page(page: tuple[Path, str]) -> None:
    path, text = page
    assert path.is_file()
    assert path.name == "parcels.html"
    assert not re.search(
        r"<(script|link|img|iframe)\b[^>]*\b(src|href)\s*=\s*[\"']?(https?:)?//", text
    )
    assert "leaflet" in text.lower() and "L.QzgeoBigLayer" in text
    assert not list(path.parent.glob(".parcels.html.*"))  # no temporary file left behind


def test_parcels_travel_in_the_compact_layer_only(page: tuple[Path, str], analyzed: Analysed):
    _, text = page
    p = payload(text)
    assert p["n"][0] == len(analyzed.result)
    cfg = config(text)
    layers = {lay["id"]: lay for lay in cfg["layers"]}
    assert layers["parcels"]["data"] is None
    # The only GeoJSON features are the context layers (2 zones, 3 control lines).
    assert text.count('"type":"Feature"') == 5
    # An ordinary parcel id appears once: in the tooltip dictionary of the payload.
    assert text.count('"P01234"') == 1


def test_tooltips_are_limited_and_labelled(page: tuple[Path, str], analyzed: Analysed) -> None:
    _, text = page
    tt = payload(text)["tooltip"]
    assert tt["fields"] == ["parcel_id", "zone_name", "area_ha", "available_ha", "conflict"]
    # the index is the feature id, and says so; no number column in these parcels
    heads = ["要素编号 fid", "所在分区", "面积（公顷）", "可用面积（公顷）", "是否冲突"]
    assert tt["aliases"] == heads
    rows = tooltip_rows(payload(text))
    res = analyzed.result
    k = int(np.flatnonzero(res["conflict"].to_numpy())[0])
    assert rows[k]["parcel_id"] == str(res.index[k])
    assert rows[k]["conflict"] == "是"
    assert float(rows[k]["area_ha"]) == pytest.approx(res["area_m2"].iloc[k] / 1e4, abs=1e-4)
    assert float(rows[k]["available_ha"]) == pytest.approx(
        res["available_m2"].iloc[k] / 1e4, abs=1e-4
    )
    # 公顷 to 6 decimals in fixed notation, as every table (11.99841 beside 11.998410 before)
    assert all(len(r[f].split(".")[1]) == 6 for r in rows for f in ("area_ha", "available_ha"))
    # No other attribute of the result (e.g. the overlap columns) reaches the page.
    assert "control_lines:生态保护红线" not in text
    assert "inside_boundary" not in text


def test_states_style_the_parcels_and_the_legend(page: tuple[Path, str], analyzed: Analysed):
    _, text = page
    p = payload(text)
    cls = np.frombuffer(__import__("base64").b64decode(p["cls"]), dtype="<u1")
    states = parcel_states(analyzed.result).to_numpy()
    order = [None, "冲突", "部分受限", "可用"]  # style table: default, then the classes
    assert [order[c] for c in cls] == list(states)
    colours = {s["fillColor"] for s in p["styles"][1:]}
    assert len(colours) == 3
    legend = {lay["id"]: lay for lay in config(text)["layers"]}["parcels"]["legend"]
    labels = [row["label"] for row in legend]
    assert labels == ["冲突 Conflict", "可用 Available"]  # only the states present


def test_partly_constrained_state() -> None:
    import pandas as pd

    df = pd.DataFrame(
        {"conflict": [True, False, False, None], "constrained_m2": [9.0, 0.4, 0.0, np.nan]},
        index=["a", "b", "c", "d"],
    )
    assert parcel_states(df).tolist() == ["冲突", "部分受限", "可用", "可用"]
    assert parcel_states(df).name == STATE_FIELD


def test_partly_constrained_parcels_get_their_legend_row(analyzed: Analysed, tmp_path: Path):
    res = analyzed.result.copy()
    free = np.flatnonzero(~res["conflict"].to_numpy())[:10]
    res.iloc[free, res.columns.get_loc("constrained_m2")] = 0.5
    text = publish_parcels_map(
        res,
        analyzed.pack,
        tmp_path / "p.html",
        sensitivity="internal",
        layers=analyzed.loaded.layers,
    ).read_text(encoding="utf-8")
    legend = {lay["id"]: lay for lay in config(text)["layers"]}["parcels"]["legend"]
    assert [r["label"][:4] for r in legend] == ["冲突 C", "部分受限", "可用 A"]


def test_rebuild_is_byte_identical(page: tuple[Path, str], analyzed: Analysed, tmp_path: Path):
    path, _ = page
    again = publish_parcels_map(
        analyzed.result,
        analyzed.pack,
        tmp_path / "again.html",
        sensitivity="internal",
        layers=analyzed.loaded.layers,
    )
    assert again.read_bytes() == path.read_bytes()


def test_hostile_ids_and_zone_names_stay_data(page: tuple[Path, str], analyzed: Analysed):
    _, text = page
    assert "<img src=x" not in text
    assert "window.__pwned=2</script>" not in text
    # The config block is emitted verbatim and read by JSON.parse; everything else (the
    # scripts, where folium could have evaluated a template) holds no Jinja delimiter.
    outside = CONFIG_RE.sub("", text)
    # (The backtick payload is inert inside a double-quoted JSON string; it is checked by
    # the browser test.)
    for raw in (*HOSTILE[:3], *ZONE_NAMES, "{{", "{%"):
        assert raw not in outside
    assert text.count("</script>") == text.count("<script")
    rows = tooltip_rows(payload(text))
    ids = [r["parcel_id"] for r in rows]
    for i in range(N_HOSTILE_IDS):
        assert f"{HOSTILE[i % len(HOSTILE)]}#{i}" in ids  # exactly the text, not evaluated
    zones = {r["zone_name"] for r in rows}
    assert zones == set(ZONE_NAMES)
    zone_layer = {lay["id"]: lay for lay in config(text)["layers"]}["zones"]
    names = {f["properties"]["名称"] for f in zone_layer["data"]["features"]}
    assert names == set(ZONE_NAMES)


def test_hostile_title_is_escaped(analyzed: Analysed, tmp_path: Path) -> None:
    title = "</title><script>window.__pwned=9</script>{{ 7*7 }}"
    text = publish_parcels_map(
        analyzed.result,
        analyzed.pack,
        tmp_path / "t.html",
        sensitivity="internal",
        title=title,
        layers=analyzed.loaded.layers,
    ).read_text(encoding="utf-8")
    assert "window.__pwned=9</script>" not in text
    # HTML-escaped in <title>, and kept literally: never evaluated as a template.
    assert (
        "&lt;/title&gt;&lt;script&gt;window.__pwned=9&lt;/script&gt;{{ 7*7 }}（内部）</title>"
        in text
    )
    assert config(text)["title"] == title + "（内部）"


def test_internal_page_says_so_and_shows_constraints(page: tuple[Path, str]) -> None:
    _, text = page
    cfg = config(text)
    # the page names the pack (its city) before what it shows
    assert cfg["title"].endswith(" · 地块分析结果（内部）") and len(cfg["title"]) > 12
    assert "INTERNAL" in cfg["title_en"]
    assert any("内部资料" in w for w in cfg["warnings"])
    assert f"<title>{cfg['title']}</title>" in text
    ids = [lay["id"] for lay in cfg["layers"]]
    assert ids == ["zones", "control_lines", "parcels"]  # drawn bottom to top
    assert cfg["notice"] == "测试数据 — test data"  # the pack's 示意 notice


def test_public_page_has_no_constraint_layers(analyzed_public: Analysed, tmp_path: Path):
    a = analyzed_public
    assert parcels_sensitivity(a.pack) == "public"
    text = publish_parcels_map(
        a.result, a.pack, tmp_path / "pub.html", sensitivity="public", layers=a.loaded.layers
    ).read_text(encoding="utf-8")
    cfg = config(text)
    assert [lay["id"] for lay in cfg["layers"]] == ["zones", "parcels"]
    assert "内部" not in cfg["title"]
    assert not any("内部资料" in w for w in cfg["warnings"])


def test_internal_results_cannot_be_published_as_public(analyzed: Analysed, tmp_path: Path):
    out = tmp_path / "x.html"
    with pytest.raises(PublishError, match=r"internal layer\(s\) \['control_lines'\]"):
        publish_parcels_map(
            analyzed.result, analyzed.pack, out, sensitivity="public", layers=analyzed.loaded.layers
        )
    with pytest.raises(PublishError, match="'secret'"):
        publish_parcels_map(
            analyzed.result, analyzed.pack, out, sensitivity="secret", layers=analyzed.loaded.layers
        )
    assert not out.exists()


def test_bad_results_are_refused(analyzed: Analysed, tmp_path: Path) -> None:
    out = tmp_path / "x.html"
    with pytest.raises(PublishError, match="conflict"):
        publish_parcels_map(
            analyzed.result.drop(columns="conflict"),
            analyzed.pack,
            out,
            sensitivity="internal",
            layers=analyzed.loaded.layers,
        )
    with pytest.raises(CRSError, match="no CRS"):
        publish_parcels_map(
            analyzed.result.set_crs(None, allow_override=True),
            analyzed.pack,
            out,
            sensitivity="internal",
            layers=analyzed.loaded.layers,
        )
    with pytest.raises(PublishError, match="unknown basemap 'bing'"):
        publish_parcels_map(
            analyzed.result,
            analyzed.pack,
            out,
            sensitivity="internal",
            basemap="bing",
            layers=analyzed.loaded.layers,
        )
    assert not out.exists()


def test_cli_analyze_map(analyzed: Analysed, tmp_path: Path) -> None:
    src = tmp_path / "parcels.gpkg"
    analyzed.parcels.reset_index(drop=True).to_file(src, layer="parcels", driver="GPKG")
    out = tmp_path / "out"
    args = ["analyze", "--parcels", str(src), "--pack", str(analyzed.pack.root), "--out", str(out)]
    res = CliRunner().invoke(cli, [*args, "--map"])
    assert res.exit_code == 0, res.output
    html = out / "internal" / "parcels.html"  # the pack's control lines are internal
    assert html.is_file()
    assert str(html) in res.output
    first = html.read_bytes()
    assert payload(first.decode("utf-8"))["n"][0] == len(analyzed.parcels)
    res = CliRunner().invoke(cli, [*args, "--map"])
    assert res.exit_code == 0, res.output
    assert html.read_bytes() == first
    # Without --map no page is written.
    res = CliRunner().invoke(cli, [*args[:-1], str(tmp_path / "nomap")])
    assert res.exit_code == 0, res.output
    assert not list((tmp_path / "nomap").rglob("parcels.html"))
    assert "parcels.html" not in res.output


def test_the_parcels_own_numbers_lead_the_tooltip(analyzed: Analysed, tmp_path: Path) -> None:
    """A planner looks a parcel up by its 宗地代码, not by its fid: the column's own name and
    values (as text: 7.0 is "7", a missing one empty, markup inert) lead the tooltip."""
    res = analyzed.result.copy()
    codes: list[object] = [f"450702001001GB{i:05d}" for i in range(len(res))]
    codes[0], codes[1], codes[2] = None, 7.0, "<img src=x onerror=window.__pwned=3>"
    res["地块编号"] = None  # empty everywhere: not the one shown
    res["宗地代码"] = codes
    text = publish_parcels_map(
        res, analyzed.pack, tmp_path / "p.html", sensitivity="internal",
        layers=analyzed.loaded.layers,
    ).read_text(encoding="utf-8")  # fmt: skip
    tt = payload(text)["tooltip"]
    assert tt["fields"][:2] == ["parcel_no", "parcel_id"]
    assert tt["aliases"][:2] == ["宗地代码", "要素编号 fid"]
    rows = tooltip_rows(payload(text))
    assert [r["parcel_no"] for r in rows[:4]] == ["", "7", codes[2], codes[3]]
    assert [r["parcel_id"] for r in rows[:4]] == [str(i) for i in res.index[:4]]
    assert "<img src=x onerror=window.__pwned=3>" not in CONFIG_RE.sub("", text)
    # without such a column the tooltip is as before
    plain = publish_parcels_map(
        res.drop(columns=["宗地代码"]), analyzed.pack, tmp_path / "q.html",
        sensitivity="internal", layers=analyzed.loaded.layers,
    ).read_text(encoding="utf-8")  # fmt: skip
    assert "parcel_no" not in payload(plain)["tooltip"]["fields"]


def test_tooltip_areas_carry_a_hundredth_of_a_square_metre(
    page: tuple[Path, str], analyzed: Analysed
) -> None:
    # 公顷 to 6 decimals (0.01 m²), as parcels_summary and every table: it was 4 (1 m²)
    rows = tooltip_rows(payload(page[1]))
    res = analyzed.result
    for k, row in enumerate(rows):
        for field, col in (("area_ha", "area_m2"), ("available_ha", "available_m2")):
            want = float(f"{float(res[col].iloc[k]) / 10_000:.6f}")  # by hand, from m²
            assert float(str(row[field])) == want, (k, field, row[field], want)
