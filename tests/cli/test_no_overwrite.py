"""Issue 10: inputs are never overwritten, foreign folders neither; outputs say where they went
and land in OUT/internal unless every input is public; PostGIS tables are one unit."""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import pytest
from packs import (
    CLOSED_PORT_URI,
    all_output,
    assert_no_traceback,
    edit_catalog,
    layer,
    minipack_site,
    run_cli,
    tree_digest,
    write_map,
)
from shapely.geometry import box

X0, Y0 = 36_564_000.0, 2_399_000.0


def _parcels(path: Path) -> Path:
    gdf = gpd.GeoDataFrame(
        {"地块编号": ["P1", "P2"]},
        geometry=[
            box(X0 + 100, Y0 + 100, X0 + 400, Y0 + 400),
            box(X0 + 1100, Y0 + 100, X0 + 1400, Y0 + 400),
        ],
        crs="EPSG:4524",
    )
    gdf.to_file(path, driver="GPKG")
    return path


def test_analyze_out_onto_its_own_input_is_refused(mini: Path, tmp_path: Path) -> None:
    data = tmp_path / "dir"
    data.mkdir()
    parcels = _parcels(data / "parcels.gpkg")
    before = tree_digest(data)
    result = run_cli("analyze", "--parcels", parcels, "--pack", mini, "--out", data)
    assert_no_traceback(result)
    assert result.exit_code == 2, result.output
    assert "parcels.gpkg" in all_output(result)
    assert tree_digest(data) == before


@pytest.mark.parametrize("sub", [".", "layers", "maps"])
def test_publish_out_inside_the_pack_is_refused(mini: Path, sub: str) -> None:
    before = tree_digest(mini)
    result = run_cli("publish", "--pack", mini, "--out", mini / sub)
    assert_no_traceback(result)
    assert result.exit_code == 2, result.output
    assert "pack" in all_output(result).lower()
    assert tree_digest(mini) == before


def test_check_out_inside_the_pack_is_refused(mini: Path, tmp_path: Path) -> None:
    site = minipack_site(tmp_path / "site.geojson")
    before = tree_digest(mini)
    result = run_cli("check", site, "--pack", mini, "--format", "html", "--out", mini / "layers")
    assert_no_traceback(result)
    assert result.exit_code == 2, result.output
    assert tree_digest(mini) == before


def test_foreign_folder_is_not_written_into(mini: Path, tmp_path: Path) -> None:
    site = tmp_path / "website"
    site.mkdir()
    (site / "index.html").write_text("<h1>市政府网站</h1>", encoding="utf-8")
    before = tree_digest(site)
    result = run_cli("publish", "--pack", mini, "--out", site)
    assert_no_traceback(result)
    assert result.exit_code == 2, result.output
    text = all_output(result)
    assert str(site) in text or "website" in text, text
    assert "empty" in text.lower(), text  # says it writes only into an empty or own folder
    assert tree_digest(site) == before


def test_analyze_into_foreign_folder_is_refused(mini: Path, tmp_path: Path) -> None:
    parcels = _parcels(tmp_path / "parcels.gpkg")
    site = tmp_path / "website"
    site.mkdir()
    (site / "index.html").write_text("<h1>网站</h1>", encoding="utf-8")
    before = tree_digest(site)
    result = run_cli("analyze", "--parcels", parcels, "--pack", mini, "--out", site)
    assert result.exit_code == 2, result.output
    assert tree_digest(site) == before


def test_map_named_index_does_not_collide_with_the_gallery(mini: Path, tmp_path: Path) -> None:
    write_map(
        mini,
        "index",
        title="名为 index 的地图",
        audience="public",
        layers=["zones"],
        basemap="none",
    )
    out = tmp_path / "out"
    result = run_cli("publish", "--pack", mini, "--out", out)
    assert_no_traceback(result)
    if result.exit_code == 2:  # refused, naming the file and the fix
        assert "maps/index.toml" in all_output(result)
        return
    assert result.exit_code == 0, result.output
    manifest = json.loads((out / "public" / "manifest.json").read_text(encoding="utf-8"))
    entry = next(m for m in manifest["maps"] if m["id"] == "index")
    assert entry["file"] != "index.html"
    assert "名为 index 的地图" in (out / "public" / entry["file"]).read_text(encoding="utf-8")
    gallery = (out / "public" / "index.html").read_text(encoding="utf-8")
    assert "zones.html" in gallery  # the gallery is still the gallery


# --- where outputs go ---------------------------------------------------------------------


def _all_public(mini: Path) -> None:
    edit_catalog(mini, lambda doc: layer(doc, "control_lines").update(sensitivity="public"))


@pytest.mark.parametrize("public", [False, True])
def test_check_html_goes_internal_unless_all_inputs_public(
    mini: Path, tmp_path: Path, public: bool
) -> None:
    if public:
        _all_public(mini)
    site = minipack_site(tmp_path / "site.geojson")
    out = tmp_path / "out"
    result = run_cli("check", site, "--pack", mini, "--format", "html", "--out", out)
    assert_no_traceback(result)
    assert result.exit_code in (0, 1), result.output
    where = out / ("public" if public else "internal") / "check.html"
    assert where.is_file(), sorted(str(p.relative_to(out)) for p in out.rglob("*"))
    assert str(where) in all_output(result)
    other = out / ("internal" if public else "public") / "check.html"
    assert not other.exists()


@pytest.mark.parametrize("public", [False, True])
def test_analyze_outputs_internal_unless_all_inputs_public(
    mini: Path, tmp_path: Path, public: bool
) -> None:
    if public:
        _all_public(mini)
    parcels = _parcels(tmp_path / "parcels.gpkg")
    out = tmp_path / "out"
    asked = ["--public"] if public else []  # never public unasked: the parcel file's columns
    result = run_cli("analyze", "--parcels", parcels, "--pack", mini, "--out", out, "--map", *asked)
    assert_no_traceback(result)
    assert result.exit_code == 0, result.output
    part = out / ("public" if public else "internal")
    for name in ("parcels.gpkg", "parcels_summary.csv", "parcels.html"):
        assert (part / name).is_file(), sorted(str(p.relative_to(out)) for p in out.rglob("*"))
        assert str(part / name) in all_output(result)
    # parcels_report.json (repairs) stays internal either way
    assert (out / "internal" / "parcels_report.json").is_file()
    assert not (out / "public" / "parcels_report.json").exists()


# --- PostGIS: checked before any local file; all tables in one transaction ---------------


def test_postgis_failure_writes_no_local_file(mini: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = run_cli("publish", "--pack", mini, "--out", out, "--to-postgis", CLOSED_PORT_URI)
    assert result.exit_code == 2
    written = [p for p in out.rglob("*") if p.is_file()] if out.exists() else []
    assert [p for p in written if not p.name.startswith(".")] == []


def test_postgis_name_too_long_is_refused_before_anything(mini: Path, tmp_path: Path) -> None:
    prefix = "p" * 50  # p..._available_land is 65 bytes, over PostgreSQL's 63
    out = tmp_path / "out"
    uri = f"postgresql://u@127.0.0.1:1/db?table=public.{prefix}"
    result = run_cli("publish", "--pack", mini, "--out", out, "--to-postgis", uri)
    assert_no_traceback(result)
    assert result.exit_code == 2
    text = all_output(result)
    assert "63" in text and "available_land" in text, text
    assert "connect" not in text.lower(), text  # refused before connecting
    assert not out.exists() or not [p for p in out.rglob("*") if p.is_file()]


@pytest.mark.postgis
def test_postgis_tables_written_in_one_transaction(
    mini: Path,
    tmp_path: Path,
    pg_uri: str,
    pg_schema: str,
    pg_sql,
) -> None:
    prefix = f"{pg_schema}.res"
    uri = f"{pg_uri}?table={prefix}"
    first = run_cli("publish", "--pack", mini, "--out", tmp_path / "o1", "--to-postgis", uri)
    assert first.exit_code == 0, first.output
    for t in ("available_land", "conflicts", "zone_summary"):
        pg_sql(f"ALTER TABLE {pg_schema}.res_{t} ADD COLUMN old_run int DEFAULT 1")
    # the last table cannot be replaced: a view depends on it
    pg_sql(f"CREATE VIEW {pg_schema}.pin AS SELECT * FROM {pg_schema}.res_zone_summary")
    second = run_cli("publish", "--pack", mini, "--out", tmp_path / "o2", "--to-postgis", uri)
    assert_no_traceback(second)
    assert second.exit_code == 2, second.output
    for t in ("available_land", "conflicts", "zone_summary"):
        cols = pg_sql(
            "SELECT column_name FROM information_schema.columns "
            "WHERE table_schema = :s AND table_name = :t",
            {"s": pg_schema, "t": f"res_{t}"},
        )
        assert ("old_run",) in cols, f"res_{t} was replaced although the run failed"


def test_public_pack_in_worker_processes(mini: Path, tmp_path: Path) -> None:
    """A public pack whose zone names are not published, analyzed by worker processes: the
    renaming runs in the workers, and the rows equal those of one process (``--workers 1``)."""
    import subprocess
    import sys

    import numpy as np
    import shapely

    _all_public(mini)
    edit_catalog(mini, lambda doc: layer(doc, "zones").update(publish_fields=["主导产业"]))
    gx, gy = np.meshgrid(np.arange(250) * 8.0, np.arange(240) * 8.0)  # 60 000 parcels, 7 m
    x, y = X0 + gx.ravel(), Y0 + gy.ravel()
    parcels = tmp_path / "many.gpkg"
    gpd.GeoDataFrame(
        {"地块编号": [f"P{i}" for i in range(len(x))]},
        geometry=shapely.box(x, y, x + 7, y + 7),
        crs="EPSG:4524",
    ).to_file(parcels, driver="GPKG")
    cli = "from qzgeo.cli.main import cli; cli(prog_name='qzgeo')"
    out = {}
    for name, extra in (("pool", []), ("one", ["--workers", "1"])):
        args = ["analyze", "--parcels", str(parcels), "--pack", str(mini), "--public"]
        res = subprocess.run(
            [sys.executable, "-c", cli, *args, "--out", str(tmp_path / name), *extra],
            capture_output=True, text=True, check=False,
        )  # fmt: skip
        assert res.returncode == 0, res.stderr
        assert ("2 processes" in res.stdout) == (name == "pool"), res.stdout
        assert not (tmp_path / name / "internal" / "parcels.gpkg").exists()
        out[name] = gpd.read_file(tmp_path / name / "public" / "parcels.gpkg")
    pool, one = out["pool"], out["one"]
    assert len(pool) == len(one) == 60_000
    assert set(pool["zone_name"]) - {""} <= {"zones#1", "zones#2"}  # layer#fid, not 甲区
    assert (pool["zone_name"] != "").any()
    cols = [c for c in one.columns if c != "geometry"]
    pd_pool = pool.sort_values("地块编号")[cols].reset_index(drop=True)
    pd_one = one.sort_values("地块编号")[cols].reset_index(drop=True)
    assert pd_pool.equals(pd_one)


def test_a_failed_first_run_leaves_the_folder_as_it_was(mini: Path, tmp_path: Path) -> None:
    """Parcels that are points, not polygons, are refused (exit 2): a new --out folder is not
    left behind, an empty one stays empty (no marker, no lock, no empty part folders)."""
    from shapely.geometry import Point

    far = tmp_path / "points.gpkg"
    gpd.GeoDataFrame(
        {"地块编号": ["F1"]}, geometry=[Point(X0 + 50, Y0 + 50)], crs="EPSG:4524"
    ).to_file(far, driver="GPKG")
    new, empty = tmp_path / "new" / "out", tmp_path / "empty"
    empty.mkdir()
    for out in (new, empty):
        # streamed: the output folder is opened before the first chunk is read
        args = ("--parcels", far, "--pack", mini, "--out", out, "--chunk-rows", "10")
        result = run_cli("analyze", *args)
        assert result.exit_code == 2, all_output(result)
        assert_no_traceback(result)
    assert not new.exists()
    assert empty.is_dir() and not any(empty.iterdir())


@pytest.mark.parametrize("first", ["publish", "analyze"])
def test_publish_and_analyze_keep_each_others_report(
    mini: Path, tmp_path: Path, first: str
) -> None:
    """Both commands default to the same OUT: neither may replace the other's report."""
    parcels = _parcels(tmp_path / "parcels.gpkg")
    out = tmp_path / "out"
    runs = {
        "publish": ("publish", "--pack", mini, "--out", out),
        "analyze": ("analyze", "--parcels", parcels, "--pack", mini, "--out", out),
    }
    second = "analyze" if first == "publish" else "publish"
    result = run_cli(*runs[first])
    assert result.exit_code == 0, result.output
    before = {p.name: p.read_bytes() for p in (out / "internal").glob("*report.json")}
    assert len(before) == 1, sorted(before)
    result = run_cli(*runs[second])
    assert result.exit_code == 0, result.output
    after = {p.name: p.read_bytes() for p in (out / "internal").glob("*report.json")}
    assert len(after) == 2, sorted(after)
    for name, data in before.items():
        assert after[name] == data, f"{second} replaced {first}'s {name}"
    publish = json.loads((out / "internal" / "report.json").read_text(encoding="utf-8"))
    parcel = json.loads((out / "internal" / "parcels_report.json").read_text(encoding="utf-8"))
    assert "parcels" not in publish and parcel["parcels"] == 2
    assert "parcels_report.json" in all_output(result) or second == "publish"
