"""`qzgeo check` with the cache folder in a bad state says what an uncached run says.

The oracle is one run in a new process with ``QZGEO_NO_CACHE=1``; each bad state is then
set up in a cache folder of its own and ``qzgeo check`` run twice (the state as found, then
as the first run left it): the same exit code, the same JSON, no traceback.
"""

from __future__ import annotations

import hashlib
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

_MAGIC = b"QZGEOC1\n"  # the entry format, written here by hand as a foreign writer would


@pytest.fixture(scope="module")
def sites(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("sites") / "sites.geojson"
    gpd.GeoDataFrame(
        {"名称": ["港区", "红树林"]},
        geometry=[
            shapely.box(108.600, 21.700, 108.605, 21.705),
            shapely.box(108.50, 21.80, 108.56, 21.86),
        ],
        crs="EPSG:4326",
    ).to_file(path)
    return path


@pytest.fixture(scope="module")
def oracle(sites: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[int, str]:
    env = {**os.environ, "QZGEO_NO_CACHE": "1"}
    env["QZGEO_CACHE_DIR"] = str(tmp_path_factory.mktemp("unused") / "cache")
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    code = "from qzgeo.cli.main import cli; cli(prog_name='qzgeo')"
    res = subprocess.run(
        [sys.executable, "-c", code, "check", str(sites), "--format", "json"],
        env=env, capture_output=True, text=True, check=False, timeout=300,
    )  # fmt: skip
    assert res.returncode in (0, 1), res.stderr
    assert not Path(env["QZGEO_CACHE_DIR"]).exists()
    return res.returncode, res.stdout


def _check(sites: Path) -> tuple[int, str]:
    res = CliRunner().invoke(cli, ["check", str(sites), "--format", "json"])
    assert res.exception is None or isinstance(res.exception, SystemExit), repr(res.exception)
    assert "Traceback" not in res.output
    return res.exit_code, res.stdout


def _without_refusal(out: str, *, refused: bool | None) -> str:
    """The JSON without the warning a refused cache folder adds to each site (there iff
    ``refused``; None: may be): a folder in a bad state slows runs, only that warning says so."""
    reports = json.loads(out)
    for r in reports:
        said = [w for w in r["warnings"] if is_refusal(w)]
        assert len(said) <= 1 if refused is None else len(said) == refused, r["warnings"]
        r["warnings"] = [w for w in r["warnings"] if not is_refusal(w)]
    return json.dumps(reports, ensure_ascii=False, indent=2) + "\n"


def _crafted(key: str, header: bytes) -> bytes:
    """An entry with a sound digest around ``header``: only the reader's parsing can tell."""
    body = len(header).to_bytes(8, "little") + header
    return _MAGIC + hashlib.sha256(body).digest() + body


def _plant(packs: Path, state: str) -> None:
    """Damage the one entry the first run left in ``packs`` as ``state`` says."""
    [entry] = packs.glob("*.qzc")
    key = entry.stem
    if state == "deeply nested header":
        entry.write_bytes(_crafted(key, b"[" * 200_000 + b"]" * 200_000))
    elif state == "header of the right key, blobs missing":
        meta = {"layers": ["districts"], "planar_crs": "EPSG:4545"}
        header = {"key": key, "meta": meta, "blobs": []}
        entry.write_bytes(_crafted(key, json.dumps(header).encode()))
    elif state == "blob sizes that do not add up":
        header = {"key": key, "meta": {}, "blobs": [["layer:x", -5], ["layer:y", "7"]]}
        entry.write_bytes(_crafted(key, json.dumps(header).encode()))
    elif state == "entry is a folder":
        entry.unlink()
        entry.mkdir()
    else:
        raise AssertionError(state)


@pytest.mark.parametrize(
    "state",
    [
        "deeply nested header",
        "header of the right key, blobs missing",
        "blob sizes that do not add up",
        "entry is a folder",
    ],
)
def test_a_planted_or_broken_entry_is_a_miss(
    sites: Path,
    oracle: tuple[int, str],
    state: str,
    cache: Path,
) -> None:
    assert _check(sites) == oracle  # saves the entry
    _plant(cache / "packs", state)
    assert _check(sites) == oracle
    assert _check(sites) == oracle


@pytest.mark.parametrize(
    "state", ["cache path is a file", "packs is a link", "packs others can write", "relative"]
)
def test_a_cache_folder_in_a_bad_state_is_no_cache(
    sites: Path,
    oracle: tuple[int, str],
    state: str,
    cache: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    if state == "cache path is a file":
        cache.write_text("not a folder")
    elif state == "packs is a link":
        (tmp_path / "elsewhere").mkdir(mode=0o700)
        cache.mkdir()
        (cache / "packs").symlink_to(tmp_path / "elsewhere")
    elif state == "packs others can write":
        (cache / "packs").mkdir(parents=True)
        (cache / "packs").chmod(0o777)
    else:  # a relative QZGEO_CACHE_DIR: under the working folder of each run
        monkeypatch.chdir(tmp_path)
        monkeypatch.setenv("QZGEO_CACHE_DIR", "cache")
    refused: bool | None = state in ("packs is a link", "packs others can write")
    for _ in range(2):
        code, out = _check(sites)
        assert (code, _without_refusal(out, refused=refused)) == oracle
        # the second run reads the sites' context from siting/: packs/ may not be looked at
        refused = None if refused else False
    if state in ("packs is a link", "packs others can write"):
        assert list((tmp_path / "elsewhere").iterdir() if state == "packs is a link" else []) == []
        assert list((cache / "packs").glob("*.qzc")) == []


@pytest.mark.parametrize("value", ["1", "true", "yes", "off", " 1 "])
def test_no_cache_values_write_nothing(
    sites: Path,
    oracle: tuple[int, str],
    value: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("QZGEO_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("QZGEO_NO_CACHE", value)
    assert _check(sites) == oracle
    assert not (tmp_path / "cache").exists()
