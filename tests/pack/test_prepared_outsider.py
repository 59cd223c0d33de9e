"""An outsider tries to get a stale answer out of the prepared-pack cache.

Each test changes what a user changes between two runs (a layer file, the catalog while a
command runs, a library, a GDAL setting) and compares what the cache gives with the uncached
load (``QZGEO_NO_CACHE=1``) or with the value written into the data by hand.
"""

from __future__ import annotations

import ast
import shutil
import sys
from pathlib import Path

import geopandas as gpd
import pytest
from support import MINIPACK
from support import assert_same_loaded as _assert_same
from support import uncached_pack as _uncached

from qzgeo._errors import PackError
from qzgeo.pack import load, prepared
from qzgeo.pack.catalog import load_pack
from qzgeo.pack.prepared import prepare_pack
from qzgeo.pack.validate import validate_pack


@pytest.fixture
def pack_dir(tmp_path: Path) -> Path:
    dst = tmp_path / "pack"
    shutil.copytree(MINIPACK, dst)
    return dst


def _edit_catalog(pack_dir: Path, old: str, new: str) -> None:
    catalog = pack_dir / "layers" / "catalog.toml"
    text = catalog.read_text(encoding="utf-8")
    assert text.count(old) == 1, old
    catalog.write_text(text.replace(old, new), encoding="utf-8")


def _zones(names: list[str]) -> gpd.GeoDataFrame:
    """Zone squares as the minipack's zones layer has them (same place, other names)."""
    zones = gpd.read_file(MINIPACK / "layers" / "mini.gpkg", layer="zones")
    assert len(zones) >= len(names)
    zones = zones.iloc[: len(names)][["名称", "geometry"]].copy()  # DBF-sized field names
    zones["名称"] = names
    return zones


def _zones_in_a_folder(pack_dir: Path) -> Path:
    """The zones layer as a shapefile in ``layers/zones_dir`` (甲区, 乙区), read once: a miss."""
    folder = pack_dir / "layers" / "zones_dir"
    folder.mkdir()
    _zones(["甲区", "乙区"]).to_file(folder / "zones.shp", encoding="UTF-8")
    _edit_catalog(
        pack_dir, 'path = "mini.gpkg"\nlayer = "zones"', 'path = "zones_dir"\nlayer = "zones"'
    )
    assert prepare_pack(load_pack(pack_dir)).cache == "miss"
    return folder


# --- file names GDAL reads that the key did not see ------------------------------------------


@pytest.mark.parametrize("name", ["zones[2024].gpkg", "zones[a-z].shp", "zones*?.shp"])
def test_a_layer_named_with_glob_characters_is_seen_when_edited(
    pack_dir: Path, cache: Path, monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    """``[...]``, ``*`` and ``?`` are legal in file names (地块[2024].shp); the key looked the
    layer's files up with the stem as a glob pattern, found none, and kept serving the first
    version of the layer whatever was written into it after."""
    layers = pack_dir / "layers"
    _zones(["甲区", "乙区"]).to_file(
        layers / name, layer="zones" if name.endswith("gpkg") else None
    )
    layer = '\nlayer = "zones"' if name.endswith(".gpkg") else ""
    _edit_catalog(pack_dir, 'path = "mini.gpkg"\nlayer = "zones"', f'path = "{name}"{layer}')
    first = prepare_pack(load_pack(pack_dir))
    assert first.cache == "miss"
    assert list(first.loaded.layers["zones"]["名称"]) == ["甲区", "乙区"]
    for p in list(layers.iterdir()):  # QGIS writes the layer again
        if p.name.startswith(name.rsplit(".", 1)[0] + "."):
            p.unlink()
    _zones(["丙区", "丁区"]).to_file(
        layers / name, layer="zones" if name.endswith("gpkg") else None
    )
    got = prepare_pack(load_pack(pack_dir))
    assert list(got.loaded.layers["zones"]["名称"]) == ["丙区", "丁区"]  # what was written
    assert got.cache == "miss"
    _assert_same(_uncached(pack_dir, monkeypatch).loaded, got.loaded)


def test_a_shapefile_sidecar_edit_is_seen(
    pack_dir: Path, cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A .cpg written after the first run changes how the .dbf text reads."""
    layers = pack_dir / "layers"
    zones = _zones(["甲区", "乙区"])
    zones.to_file(layers / "zones.shp", encoding="GBK")
    (layers / "zones.cpg").write_text("GBK", encoding="ascii")
    _edit_catalog(pack_dir, 'path = "mini.gpkg"\nlayer = "zones"', 'path = "zones.shp"')
    assert prepare_pack(load_pack(pack_dir)).cache == "miss"
    (layers / "zones.cpg").write_text("GB18030", encoding="ascii")  # same text, another label
    got = prepare_pack(load_pack(pack_dir))
    assert got.cache == "miss"
    _assert_same(_uncached(pack_dir, monkeypatch).loaded, got.loaded)


def test_a_shapefile_attribute_edit_is_not_saved_as_the_old_read(
    pack_dir: Path, cache: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """QGIS edits attributes only: the .dbf is written, the .shp is not touched. A layer read
    earlier in the process (validation before loading: ~0.3 s of every publish) was taken again
    because the .shp had not changed, and saved under the key of the new .dbf: every later run
    was served the old attributes."""
    layers = pack_dir / "layers"
    _zones(["甲区", "乙区"]).to_file(layers / "zones.shp", encoding="UTF-8")
    _edit_catalog(pack_dir, 'path = "mini.gpkg"\nlayer = "zones"', 'path = "zones.shp"')
    assert prepare_pack(load_pack(pack_dir)).cache == "miss"
    _zones(["丙区", "丁区"]).to_file(tmp_path / "zones.shp", encoding="UTF-8")
    shutil.copyfile(tmp_path / "zones.dbf", layers / "zones.dbf")  # the .dbf only
    got = prepare_pack(load_pack(pack_dir))
    assert got.loaded.layers["zones"]["名称"].tolist() == ["丙区", "丁区"]
    monkeypatch.setattr(load, "_READS", type(load._READS)())  # the next command
    again = prepare_pack(load_pack(pack_dir))
    assert again.loaded.layers["zones"]["名称"].tolist() == ["丙区", "丁区"]


def test_a_file_edited_in_a_folder_layer_is_not_taken_from_the_earlier_read(
    pack_dir: Path, cache: Path, tmp_path: Path
) -> None:
    """A folder source: rewriting a file inside it leaves the folder's own times alone."""
    folder = _zones_in_a_folder(pack_dir)
    st = folder.stat()
    _zones(["丙区", "乙区"]).to_file(tmp_path / "zones.shp", encoding="UTF-8")
    shutil.copyfile(tmp_path / "zones.dbf", folder / "zones.dbf")  # written in place
    assert folder.stat().st_mtime_ns == st.st_mtime_ns
    got = prepare_pack(load_pack(pack_dir))
    assert got.loaded.layers["zones"]["名称"].tolist() == ["丙区", "乙区"]


# --- the catalog changes while a command runs -------------------------------------------------


def test_a_catalog_saved_while_a_command_runs_is_not_cached_under_its_new_key(
    pack_dir: Path, cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``qzgeo publish`` parses the catalog, validates (~0.3 s), then loads through the cache.
    A catalog saved in between was hashed for the key while the old one had been parsed: the
    entry held the old catalog's result under the new catalog's key, and every later run with
    the new catalog was served it."""
    pack = load_pack(pack_dir)  # the command parsed the catalog ...
    _edit_catalog(pack_dir, 'storage_crs = "EPSG:4490"', 'storage_crs = "EPSG:4326"')
    prepare_pack(pack)  # ... the user saved it meanwhile; the load goes on
    got = prepare_pack(load_pack(pack_dir))  # the next command
    oracle = _uncached(pack_dir, monkeypatch)
    assert oracle.loaded.layers["zones"].crs.to_epsg() == 4326
    _assert_same(oracle.loaded, got.loaded)


def test_a_catalog_broken_while_analyze_runs_is_not_remembered_as_validated(
    pack_dir: Path, cache: Path
) -> None:
    pack = load_pack(pack_dir)
    validate_pack(pack)
    _edit_catalog(pack_dir, 'class_field = "类别"', 'class_field = "类别_typo"')
    prepare_pack(pack, validate=True)
    with pytest.raises(PackError, match="类别_typo"):
        prepare_pack(load_pack(pack_dir), validate=True)


# --- libraries and settings that change a load without changing a file ----------------------


def _third_party_imports(package: Path) -> set[str]:
    found: set[str] = set()
    for path in package.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                found.update(a.name.split(".")[0] for a in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                found.add(node.module.split(".")[0])
    return {m for m in found if m not in sys.stdlib_module_names and m != "qzgeo"}


#: Libraries of the loading code whose packs are never cached (PostGIS layers).
_POSTGIS_ONLY = {"psycopg", "sqlalchemy", "geoalchemy2"}


def test_every_library_that_reads_pack_layers_is_in_the_key() -> None:
    """An upgraded ezdxf draws a DXF layer's arcs otherwise: its version belongs in the key
    as GDAL's does. Every third-party module imported by the loading code (geo, io, pack)."""
    import qzgeo

    package = Path(qzgeo.__file__).parent
    used = set().union(*(_third_party_imports(package / sub) for sub in ("geo", "io", "pack")))
    keyed = set(prepared.library_versions())  # what the key names
    assert used - _POSTGIS_ONLY <= keyed, sorted(used - _POSTGIS_ONLY - keyed)


def test_a_gdal_driver_setting_is_in_the_key(
    pack_dir: Path, cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """GDAL's GML driver reads ``GML_*`` settings: GML_INVERT_AXIS_ORDER_IF_LAT_LONG=NO reads
    a lon/lat GML's coordinates the other way round. The cached run must do what the
    uncached one does (here: refuse them, or read them the same way)."""
    from qzgeo._errors import QzgeoError

    _zones(["甲区", "乙区"]).to_crs("EPSG:4490").to_file(pack_dir / "layers" / "zones.gml")
    _edit_catalog(pack_dir, 'path = "mini.gpkg"\nlayer = "zones"', 'path = "zones.gml"')
    assert prepare_pack(load_pack(pack_dir)).cache == "miss"
    monkeypatch.setenv("GML_INVERT_AXIS_ORDER_IF_LAT_LONG", "NO")

    def outcome(run: object) -> object:
        try:
            got = run()  # type: ignore[operator]
        except QzgeoError as exc:
            return str(exc)
        return got.loaded.layers["zones"].geometry.to_wkb().tolist()

    oracle = outcome(lambda: _uncached(pack_dir, monkeypatch))
    assert outcome(lambda: prepare_pack(load_pack(pack_dir))) == oracle


def test_a_layer_in_a_folder_is_hashed_whole(
    pack_dir: Path, cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A folder source (a folder of shapefiles, FileGDB-like): a file inside edited."""
    folder = _zones_in_a_folder(pack_dir)
    _zones(["丙区", "乙区"]).to_file(folder / "zones.shp", encoding="UTF-8")
    got = prepare_pack(load_pack(pack_dir))
    assert got.loaded.layers["zones"]["名称"].tolist() == ["丙区", "乙区"]
    _assert_same(_uncached(pack_dir, monkeypatch).loaded, got.loaded)


def test_a_symlinked_layer_pointed_elsewhere_is_seen(
    pack_dir: Path, cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    layers = pack_dir / "layers"
    (layers / "v1").mkdir()
    (layers / "v2").mkdir()
    _zones(["甲区", "乙区"]).to_file(layers / "v1" / "z.gpkg", layer="zones")
    _zones(["丙区", "丁区"]).to_file(layers / "v2" / "z.gpkg", layer="zones")
    shutil.copystat(layers / "v1" / "z.gpkg", layers / "v2" / "z.gpkg")
    (layers / "current.gpkg").symlink_to("v1/z.gpkg")
    _edit_catalog(pack_dir, 'path = "mini.gpkg"\nlayer = "zones"', 'path = "current.gpkg"')
    assert prepare_pack(load_pack(pack_dir)).cache == "miss"
    (layers / "current.gpkg").unlink()
    (layers / "current.gpkg").symlink_to("v2/z.gpkg")
    got = prepare_pack(load_pack(pack_dir))
    assert got.loaded.layers["zones"]["名称"].tolist() == ["丙区", "丁区"]


def test_a_geopackage_open_for_editing_is_refused_as_without_a_cache(
    pack_dir: Path, cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """QGIS edits the GeoPackage in WAL mode: the changes wait in ``mini.gpkg-wal``. The
    uncached load refuses the file (reading it would write into it); so must a cached run."""
    import contextlib
    import sqlite3

    from qzgeo._errors import QzgeoError

    assert prepare_pack(load_pack(pack_dir)).cache == "miss"
    gpkg = pack_dir / "layers" / "mini.gpkg"
    with contextlib.closing(sqlite3.connect(gpkg)) as db:
        assert db.execute("PRAGMA journal_mode=WAL").fetchone() == ("wal",)
        db.execute("PRAGMA wal_autocheckpoint=0")
        for fn in ("ST_IsEmpty", "ST_MinX", "ST_MaxX", "ST_MinY", "ST_MaxY"):  # R-tree triggers
            db.create_function(fn, 1, lambda g: 0)  # (not run: no geometry is changed)
        with db:
            db.execute('UPDATE zones SET "名称" = "改名区"')
        assert (pack_dir / "layers" / "mini.gpkg-wal").stat().st_size > 0  # QGIS still open
        with pytest.raises(QzgeoError, match=r"mini\.gpkg-wal") as uncached:
            _uncached(pack_dir, monkeypatch)
        with pytest.raises(QzgeoError, match=r"mini\.gpkg-wal") as cached:
            prepare_pack(load_pack(pack_dir))
        assert str(cached.value) == str(uncached.value)


@pytest.mark.parametrize(
    "name",
    [
        "PROJ_DATA", "PROJ_NETWORK", "GDAL_DATA", "SHAPE_ENCODING", "GML_FIELDTYPES",
        "GML_INVERT_AXIS_ORDER_IF_LAT_LONG", "OSR_USE_NON_DEPRECATED", "QZGEO_MAX_BYTES",
    ],
)  # fmt: skip
def test_settings_that_change_a_load_change_the_key(
    pack_dir: Path, monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    pack = load_pack(pack_dir)
    monkeypatch.delenv(name, raising=False)
    before = prepared.pack_key(pack)
    monkeypatch.setenv(name, "12345")
    assert prepared.pack_key(pack) != before


def test_settings_that_do_not_change_a_load_keep_the_key(
    pack_dir: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """The cache stays of use: the working folder, the locale, a map key change nothing."""
    pack = load_pack(pack_dir)
    before = prepared.pack_key(pack)
    monkeypatch.chdir(tmp_path)
    for name in ("LANG", "LC_ALL", "QZGEO_TIANDITU_KEY", "TERM"):
        monkeypatch.setenv(name, "zh_CN.GBK")
    assert prepared.pack_key(load_pack(pack_dir)) == before


def test_the_read_caps_change_the_key(pack_dir: Path) -> None:
    from qzgeo.io.guard import ReadCaps, read_caps

    pack = load_pack(pack_dir)
    before = prepared.pack_key(pack)
    with read_caps(ReadCaps(max_vertices=10)):
        assert prepared.pack_key(pack) != before
    with read_caps(ReadCaps(max_features=10, features_given=True)):
        assert prepared.pack_key(pack) != before


_RUN = """
import sys
from qzgeo._errors import QzgeoError
from qzgeo.pack.catalog import load_pack
from qzgeo.pack.prepared import prepare_pack
try:
    got = prepare_pack(load_pack(sys.argv[1]))
except QzgeoError as exc:
    print("refused:", exc)
else:
    print(got.loaded.layers["zones"].geometry.to_wkb(hex=True).tolist())
"""


def _in_new_process(pack_dir: Path, env: dict[str, str]) -> str:
    import os
    import subprocess

    from support import ROOT

    full = {**os.environ, **env}
    full["PYTHONPATH"] = os.pathsep.join([str(ROOT), full.get("PYTHONPATH", "")])
    res = subprocess.run(
        [sys.executable, "-c", _RUN, str(pack_dir)],
        env=full, capture_output=True, text=True, check=True, timeout=300,
    )  # fmt: skip
    return res.stdout


def test_a_gdal_configuration_file_is_in_the_key(pack_dir: Path, tmp_path: Path) -> None:
    """GDAL reads settings from ``~/.gdal/gdalrc`` (or ``$GDAL_CONFIG_FILE``) when it starts:
    an IT admin's gdalrc that turns lon/lat GML round changes the load as the variable does."""
    _zones(["甲区", "乙区"]).to_crs("EPSG:4490").to_file(pack_dir / "layers" / "zones.gml")
    _edit_catalog(pack_dir, 'path = "mini.gpkg"\nlayer = "zones"', 'path = "zones.gml"')
    cache = {"QZGEO_CACHE_DIR": str(tmp_path / "cache")}
    plain, admin = tmp_path / "plain", tmp_path / "admin"
    plain.mkdir()
    (admin / ".gdal").mkdir(parents=True)
    (admin / ".gdal" / "gdalrc").write_text(
        "[configoptions]\nGML_INVERT_AXIS_ORDER_IF_LAT_LONG=NO\n", encoding="ascii"
    )
    first = _in_new_process(pack_dir, {**cache, "HOME": str(plain)})
    assert not first.startswith("refused")
    oracle = _in_new_process(pack_dir, {**cache, "HOME": str(admin), "QZGEO_NO_CACHE": "1"})
    assert oracle != first
    assert _in_new_process(pack_dir, {**cache, "HOME": str(admin)}) == oracle


_CACHE_OUTCOME = """
import sys
from qzgeo.pack.catalog import load_pack
from qzgeo.pack.prepared import prepare_pack
print(prepare_pack(load_pack(sys.argv[1])).cache)
"""


def test_a_proj_grid_installed_since_is_in_the_key(pack_dir: Path, tmp_path: Path) -> None:
    """PROJ chooses a datum shift by the grids it finds; one installed in the user's PROJ
    folder (``projsync``, a ``cn_*.tif`` from a surveying office) after a first run must not
    leave the first run's reprojection in use. ``XDG_DATA_HOME`` moves that folder."""
    import os
    import subprocess

    from support import ROOT

    env = {**os.environ, "QZGEO_CACHE_DIR": str(tmp_path / "cache")}
    env["XDG_DATA_HOME"] = str(tmp_path / "data")
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")])

    def outcome() -> str:
        res = subprocess.run(
            [sys.executable, "-c", _CACHE_OUTCOME, str(pack_dir)],
            env=env, capture_output=True, text=True, check=True, timeout=300,
        )  # fmt: skip
        return res.stdout.strip()

    assert [outcome(), outcome()] == ["miss", "hit"]
    grids = tmp_path / "data" / "proj"
    grids.mkdir(parents=True)
    (grids / "cn_example_grid.tif").write_bytes(b"II*\0")
    assert [outcome(), outcome()] == ["miss", "hit"]
