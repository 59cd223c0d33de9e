"""`qzgeo new-pack`: a skeleton that validates, publishes and checks sites, and never writes
over a folder it does not own."""

from __future__ import annotations

import json
import shlex
import tomllib
from pathlib import Path

import geopandas as gpd
import shapely
from click.testing import CliRunner
from pyproj import Geod

from qzgeo.cli.main import cli


def _run(*args: str) -> tuple[int, str, str]:
    r = CliRunner().invoke(cli, list(args))
    return r.exit_code, r.stdout, r.stderr


def test_skeleton_validates_publishes_and_checks(tmp_path: Path) -> None:
    pack = tmp_path / "mycity"
    code, out, _ = _run("new-pack", str(pack), "--center", "121.1,41.1", "--title", "某市")
    assert code == 0, out
    catalog = (pack / "layers" / "catalog.toml").read_text(encoding="utf-8")
    assert 'name = "mycity"' in catalog and 'planar_crs = "EPSG:4549"' in catalog  # CM 120E
    assert catalog.count("#") > 10  # commented
    code, out, err = _run("validate", "--pack", str(pack))
    assert code == 0, err
    assert "OK (3 layers" in out and "warning" not in err
    code, out, err = _run("publish", "--pack", str(pack), "--out", str(tmp_path / "out"))
    assert code == 0, err
    report = json.loads((tmp_path / "out" / "internal" / "report.json").read_text(encoding="utf-8"))
    assert report["pack"] == "mycity"
    assert report["summary"]["planar_crs"].startswith("EPSG:4549")
    # A site 0.01° south of the zone centre line: its distance to the placeholder corridor
    # (0.02° south of the centre) is the geodesic gap to that line.
    site = tmp_path / "site.geojson"
    geom = shapely.box(121.095, 41.085, 121.1, 41.09)
    gpd.GeoDataFrame({"名称": ["地块"]}, geometry=[geom], crs="EPSG:4326").to_file(site)
    code, out, err = _run("check", "--pack", str(pack), "--format", "json", str(site))
    assert code in (0, 1), err
    (d,) = json.loads(out)
    (dist,) = d["distances"]
    assert dist["label"] == "距交通走廊" and dist["layer"] == "corridor"
    expect = Geod(ellps="GRS80").inv(121.095, 41.085, 121.095, 41.08)[2]
    assert abs(dist["distance_m"] - expect) < 1.0


def test_refuses_a_folder_with_files(tmp_path: Path) -> None:
    (tmp_path / "x.txt").write_text("mine", encoding="utf-8")
    code, _, err = _run("new-pack", str(tmp_path))
    assert code == 2 and "not empty" in err
    assert [p.name for p in tmp_path.iterdir()] == ["x.txt"]


def test_bad_center_is_exit_2(tmp_path: Path) -> None:
    code, _, err = _run("new-pack", str(tmp_path / "p"), "--center", "0,0")
    assert code == 2 and "--center" in err
    assert not (tmp_path / "p").exists()


def test_title_with_quotes_and_backslashes_stays_valid_toml(tmp_path: Path) -> None:
    # the title is written into catalog.toml and maps/overview.toml: a quote in it ended the
    # TOML string, and the skeleton new-pack promised "validates" did not parse
    pack = tmp_path / "p"
    title = '某市"规划"\\ 路 \x7f</script> שלום 🏭'
    code, out, _ = _run("new-pack", str(pack), "--title", title)
    assert code == 0, out
    code, out, err = _run("validate", "--pack", str(pack))
    assert code == 0, err
    with (pack / "layers" / "catalog.toml").open("rb") as f:
        assert tomllib.load(f)["pack"]["title"] == title
    with (pack / "maps" / "overview.toml").open("rb") as f:
        assert tomllib.load(f)["title"] == title + "（示意）"


def test_a_title_too_long_for_the_maps_is_refused_before_writing(tmp_path: Path) -> None:
    # the overview map's title is the title and （示意）: 197 characters made a 201-character
    # map title, which every later command refused (over the cap of 200)
    pack = tmp_path / "p"
    code, _, err = _run("new-pack", str(pack), "--title", "长" * 197)
    assert code == 2 and "--title" in err and "200" in err
    assert not pack.exists()
    code, out, _ = _run("new-pack", str(pack), "--title", "长" * 196)
    assert code == 0, out
    code, _, err = _run("validate", "--pack", str(pack))
    assert code == 0, err


def test_a_title_with_a_direction_control_is_refused_before_writing(tmp_path: Path) -> None:
    # outsider a21: new-pack wrote the U+202E (pasted from a web page) into the pack and the
    # overview map, and the pack's very first `qzgeo validate` refused both
    pack = tmp_path / "p"
    code, _, err = _run("new-pack", str(pack), "--title", "某市\u202e规划")
    assert code == 2 and "--title" in err and "U+202E" in err, err
    assert not pack.exists()


def test_skeleton_maps_fetch_no_foreign_tiles(tmp_path: Path) -> None:
    # Public maps must open without a foreign host: the skeleton starts with no tile basemap
    # and offers OpenStreetMap only as a commented option a pack author may switch on.
    pack = tmp_path / "p"
    code, out, _ = _run("new-pack", str(pack), "--center", "121.1,41.1")
    assert code == 0, out
    for name in ("overview.toml", "conflicts.toml"):
        text = (pack / "maps" / name).read_text(encoding="utf-8")
        spec = tomllib.loads(text)
        assert spec["basemap"] == "none", name
        assert "osm" not in spec.get("basemaps", []), name
        assert any(ln.lstrip().startswith("#") and "osm" in ln for ln in text.splitlines()), name
    code, _, err = _run("publish", "--pack", str(pack), "--out", str(tmp_path / "out"))
    assert code == 0, err
    pages = list((tmp_path / "out").rglob("*.html"))
    assert pages
    for page in pages:
        assert "openstreetmap.org" not in page.read_text(encoding="utf-8"), page


def test_next_step_printed_for_a_folder_with_a_space_can_be_pasted(tmp_path: Path) -> None:
    # `新建 规划/urumqi`: printed bare, the pasted command was two arguments and click refused it
    pack = tmp_path / "新建 规划" / "urumqi"
    code, out, _ = _run("new-pack", str(pack), "--center", "87.6,43.8")
    assert code == 0, out
    words = shlex.split(out.split("next: ", 1)[1])
    assert words[:3] == ["qzgeo", "validate", "--pack"] and words[3:] == [str(pack)], out
    code, out, _ = _run(*words[1:])
    assert code == 0 and "OK (3 layers" in out, out
