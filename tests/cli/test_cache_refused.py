"""A cache folder qzgeo refuses (others can write to it) is said, once, by `analyze`,
`publish`, `suitability` and `validate`: on stderr and in the report beside the results (not in
suitability's, which may be public). Refused silently, the cache was
off and the user only saw slow runs."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import geopandas as gpd
import pytest
import shapely
from click.testing import CliRunner
from support import ROOT

from qzgeo.cache_store import is_refusal
from qzgeo.cli.main import cli

pytestmark = pytest.mark.skipif(not hasattr(os, "geteuid"), reason="POSIX permissions")


def _refused(cache: Path) -> Path:
    packs = cache / "packs"
    packs.mkdir(parents=True)
    packs.chmod(0o777)
    return packs


def _said(lines: list[str], packs: Path) -> list[str]:
    found = [w for w in (x.removeprefix("warning: ") for x in lines) if is_refusal(w)]
    assert all(str(packs) in w and "chmod 700" in w and "0777" in w for w in found), found
    return found


def test_publish_says_a_refused_cache_folder(minipack: Path, tmp_path: Path, cache: Path) -> None:
    packs = _refused(cache)
    out = tmp_path / "out"
    res = CliRunner().invoke(
        cli, ["publish", "--pack", str(minipack), "--out", str(out), "--no-maps"]
    )
    assert res.exit_code == 0, res.output + repr(res.exception)
    assert len(_said(res.stderr.splitlines(), packs)) == 1
    report = json.loads((out / "internal" / "report.json").read_text(encoding="utf-8"))
    assert len(_said(report["warnings"], packs)) == 1


def test_analyze_says_a_refused_cache_folder(tmp_path: Path, cache: Path) -> None:
    packs = _refused(cache)
    parcels = tmp_path / "parcels.gpkg"
    boxes = [shapely.box(108.55 + 0.01 * i, 21.65, 108.558 + 0.01 * i, 21.658) for i in range(3)]
    gpd.GeoDataFrame({"地块编号": ["P0", "P1", "P2"]}, geometry=boxes, crs="EPSG:4490").to_file(
        parcels
    )
    out = tmp_path / "out"
    res = CliRunner().invoke(cli, ["analyze", "--parcels", str(parcels), "--out", str(out)])
    assert res.exit_code == 0, res.output + repr(res.exception)
    assert len(_said(res.stderr.splitlines(), packs)) == 1
    report = json.loads((out / "internal" / "parcels_report.json").read_text(encoding="utf-8"))
    assert len(_said(report["repairs"]["warnings"], packs)) == 1


def test_no_cache_on_purpose_is_not_said(tmp_path: Path, cache: Path, monkeypatch) -> None:
    _refused(cache)
    monkeypatch.setenv("QZGEO_NO_CACHE", "1")
    parcels = tmp_path / "parcels.gpkg"
    gpd.GeoDataFrame(
        {"地块编号": ["P0"]},
        geometry=[shapely.box(108.55, 21.65, 108.558, 21.658)],
        crs="EPSG:4490",
    ).to_file(parcels)
    res = CliRunner().invoke(
        cli, ["analyze", "--parcels", str(parcels), "--out", str(tmp_path / "o")]
    )
    assert res.exit_code == 0, res.output + repr(res.exception)
    assert "cache folder" not in res.stderr


def test_suitability_says_a_refused_cache_folder_outside_its_files(
    tmp_path: Path, cache: Path
) -> None:
    """On stderr, once; not in the output folder, which may be public (a cache path names the
    user's home folder)."""
    packs = _refused(cache)
    out = tmp_path / "out"
    res = CliRunner().invoke(cli, ["suitability", "--out", str(out), "--no-progress"])
    assert res.exit_code == 0, res.output + repr(res.exception)
    assert len(_said(res.stderr.splitlines(), packs)) == 1
    files = [p for p in out.rglob("*") if p.is_file()]
    assert files
    assert not [p for p in files if str(packs).encode() in p.read_bytes()]


def test_validate_says_a_refused_cache_folder(minipack: Path, cache: Path) -> None:
    """validate loads the layers as publish does: a WGS 84 layer's transformation to the pack's
    CGCS2000 is kept in the cache's transforms/ folder, refused here."""
    gpkg = minipack / "layers" / "mini.gpkg"
    zones = gpd.read_file(gpkg, layer="zones")
    zones.to_crs("EPSG:4326").to_file(gpkg, layer="zones", driver="GPKG")
    folder = cache / "transforms"
    folder.mkdir(parents=True)
    folder.chmod(0o777)
    # a new process: this one may hold the transformer from an earlier test (lru_cache)
    res = subprocess.run(
        [sys.executable, "-m", "qzgeo", "validate", "--pack", str(minipack)],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert res.returncode == 0, res.stderr
    assert len(_said(res.stderr.splitlines(), folder)) == 1
