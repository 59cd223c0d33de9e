"""The prepared pack cache: what it gives back is what loading gives, and it never goes stale.

The oracle is the uncached load (``QZGEO_NO_CACHE=1``: :func:`load_pack_layers` as before),
compared field by field; every test runs in a cache folder of its own.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from support import assert_same_loaded as _assert_same
from support import copy_bundled_pack
from support import uncached_pack as _uncached

from qzgeo._errors import PackError
from qzgeo.pack import prepared
from qzgeo.pack.catalog import load_pack
from qzgeo.pack.prepared import prepare_pack
from qzgeo.pack.validate import pack_warnings


@pytest.fixture
def pack_dir(tmp_path: Path) -> Path:
    """A private copy of the bundled pack (18 layers, a coverage layer, a reference layer)."""
    return copy_bundled_pack(tmp_path / "pack")


def _entries(cache: Path) -> list[Path]:
    return sorted((cache / "packs").glob("*.qzc"))


def _no_load(monkeypatch: pytest.MonkeyPatch) -> None:
    """From here on, loading or validating the pack from its data is an error."""

    def refuse(*args: object, **kw: object) -> None:
        raise AssertionError("the pack was read, not taken from the cache")

    monkeypatch.setattr(prepared, "load_pack_layers", refuse)
    monkeypatch.setattr(prepared, "validate_pack", refuse)
    monkeypatch.setattr(prepared, "pack_warnings", refuse)


def test_a_cached_pack_is_the_loaded_pack(
    pack_dir: Path, cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    oracle = _uncached(pack_dir, monkeypatch)
    first = prepare_pack(load_pack(pack_dir), validate=True)
    assert first.cache == "miss" and len(_entries(cache)) == 1
    _no_load(monkeypatch)
    second = prepare_pack(load_pack(pack_dir), validate=True)
    assert second.cache == "hit"
    assert first.loaded.coverage is not None and first.loaded.coverage.wkb is not None
    for got in (first, second):
        _assert_same(oracle.loaded, got.loaded)
    assert second.loaded.layers["districts"] is not first.loaded.layers["districts"]


def test_each_subset_of_layers_has_its_entry(
    pack_dir: Path, cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    oracle = _uncached(pack_dir, monkeypatch, only=["canal"])
    assert prepare_pack(load_pack(pack_dir), only=["canal"]).cache == "miss"
    assert prepare_pack(load_pack(pack_dir)).cache == "miss"  # all layers: another entry
    got = prepare_pack(load_pack(pack_dir), only=["canal"])
    assert got.cache == "hit" and list(got.loaded.layers) == ["districts", "canal"]
    _assert_same(oracle.loaded, got.loaded)


def _edit_same_size_same_time(gpkg: Path) -> str:
    """Change one text value in place (bytes of the same length); restore the file's times.

    Returns the new ``来源`` of control line 1 (the old one reads 康熙岭 13.24 km²).
    """
    st = gpkg.stat()
    data = gpkg.read_bytes()
    old, new = "康熙岭 13.24 km²".encode(), "康熙岭 13.25 km²".encode()
    assert data.count(old) == 1 and len(old) == len(new)
    gpkg.write_bytes(data.replace(old, new))
    os.utime(gpkg, ns=(st.st_atime_ns, st.st_mtime_ns))
    after = gpkg.stat()
    assert (after.st_size, after.st_mtime_ns) == (st.st_size, st.st_mtime_ns)
    return new.decode()


def test_a_layer_edit_that_keeps_size_and_time_is_seen(
    pack_dir: Path, cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert prepare_pack(load_pack(pack_dir)).cache == "miss"
    new = _edit_same_size_same_time(pack_dir / "layers" / "qinzhou.gpkg")
    got = prepare_pack(load_pack(pack_dir))
    assert got.cache == "miss"
    assert new in got.loaded.layers["control_lines"].loc[1, "来源"]
    _assert_same(_uncached(pack_dir, monkeypatch).loaded, got.loaded)


def test_a_catalog_edit_is_seen(
    pack_dir: Path, cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert prepare_pack(load_pack(pack_dir)).loaded.planar_crs.to_epsg() == 4545
    catalog = pack_dir / "layers" / "catalog.toml"
    st = catalog.stat()
    text = catalog.read_text(encoding="utf-8")
    catalog.write_text(text.replace('"EPSG:4545"', '"EPSG:4544"', 1), encoding="utf-8")
    os.utime(catalog, ns=(st.st_atime_ns, st.st_mtime_ns))
    got = prepare_pack(load_pack(pack_dir))
    assert got.cache == "miss" and got.loaded.planar_crs.to_epsg() == 4544
    _assert_same(_uncached(pack_dir, monkeypatch).loaded, got.loaded)


def test_a_style_edit_is_validated_again(
    pack_dir: Path, cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert prepare_pack(load_pack(pack_dir), validate=True).cache == "miss"
    style = pack_dir / "styles" / "control_lines.toml"
    style.write_text(
        style.read_text(encoding="utf-8") + '\n[no_such_layer]\nfill = "#ff0000"\n',
        encoding="utf-8",
    )
    with pytest.raises(PackError, match="no_such_layer"):
        prepare_pack(load_pack(pack_dir), validate=True)
    assert len(_entries(cache)) == 1  # nothing cached for the invalid pack


@pytest.mark.parametrize("damage", ["zero bytes", "truncated", "garbage"])
def test_a_damaged_entry_is_rebuilt(
    pack_dir: Path, cache: Path, monkeypatch: pytest.MonkeyPatch, damage: str
) -> None:
    prepare_pack(load_pack(pack_dir))
    [entry] = _entries(cache)
    data = entry.read_bytes()
    damaged = {"zero bytes": b"", "truncated": data[:-1000], "garbage": os.urandom(len(data))}
    entry.write_bytes(damaged[damage])
    got = prepare_pack(load_pack(pack_dir))
    assert got.cache == "miss"
    _assert_same(_uncached(pack_dir, monkeypatch).loaded, got.loaded)
    assert prepare_pack(load_pack(pack_dir)).cache == "hit"


def test_an_unwritable_cache_is_no_cache(
    pack_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("x")
    monkeypatch.setenv("QZGEO_CACHE_DIR", str(blocker))
    monkeypatch.delenv("QZGEO_NO_CACHE", raising=False)
    got = prepare_pack(load_pack(pack_dir), validate=True)
    assert got.cache == "unsaved"
    _assert_same(_uncached(pack_dir, monkeypatch).loaded, got.loaded)
    assert blocker.read_text() == "x"


def test_only_the_cache_folder_is_written(
    pack_dir: Path, cache: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    before = {p: p.read_bytes() for p in pack_dir.rglob("*") if p.is_file()}
    prepare_pack(load_pack(pack_dir), validate=True, warnings=True)
    assert prepare_pack(load_pack(pack_dir), validate=True, warnings=True).cache == "hit"
    assert {p: p.read_bytes() for p in pack_dir.rglob("*") if p.is_file()} == before
    assert list(home.iterdir()) == []
    assert [p.relative_to(cache).parts[0] for p in cache.rglob("*")] == ["packs"] * 2


def test_validation_is_remembered_and_done_when_missing(
    pack_dir: Path, cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[str] = []
    real = prepared.validate_pack
    monkeypatch.setattr(prepared, "validate_pack", lambda p: calls.append("v") or real(p))
    assert prepare_pack(load_pack(pack_dir)).cache == "miss"  # a check: no validation
    assert calls == []
    assert prepare_pack(load_pack(pack_dir), validate=True).cache == "miss"  # now validated
    assert calls == ["v"]
    assert prepare_pack(load_pack(pack_dir), validate=True).cache == "hit"
    assert calls == ["v"]


def test_pack_warnings_are_cached(
    pack_dir: Path, cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    catalog = pack_dir / "layers" / "catalog.toml"  # a planar CRS far from the data: a warning
    text = catalog.read_text(encoding="utf-8")
    catalog.write_text(text.replace('"EPSG:4545"', '"EPSG:4539"', 1), encoding="utf-8")
    expected = pack_warnings(load_pack(pack_dir))  # the maps' warnings (none here)
    first = prepare_pack(load_pack(pack_dir), warnings=True)
    assert first.warnings == expected
    # loading says the far planar CRS: it travels with the cached load to every result
    (far,) = [w for w in first.loaded.report.warnings if "planar_crs EPSG:4539" in w]
    _no_load(monkeypatch)
    got = prepare_pack(load_pack(pack_dir), warnings=True)
    assert got.cache == "hit" and got.warnings == expected
    assert far in got.loaded.report.warnings


def test_files_changed_while_loading_are_not_cached(
    pack_dir: Path, cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = prepared.load_pack_layers

    def load_then_edit(pack, **kw):  # type: ignore[no-untyped-def]
        loaded = real(pack, **kw)
        _edit_same_size_same_time(pack_dir / "layers" / "qinzhou.gpkg")
        return loaded

    monkeypatch.setattr(prepared, "load_pack_layers", load_then_edit)
    assert prepare_pack(load_pack(pack_dir)).cache == "unsaved"
    assert _entries(cache) == []


def test_the_key_follows_the_code(
    pack_dir: Path, cache: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import qzgeo

    package = Path(qzgeo.__file__).parent
    assert prepared.code_digest() == prepared.source_digest(package)
    copy = tmp_path / "code"
    shutil.copytree(package, copy, ignore=shutil.ignore_patterns("__pycache__", "_pack"))
    before = prepared.source_digest(copy)
    target = copy / "pack" / "load.py"  # one byte changed, size and time kept
    st = target.stat()
    data = target.read_bytes()
    target.write_bytes(data.replace(b"layers", b"Layers", 1))
    os.utime(target, ns=(st.st_atime_ns, st.st_mtime_ns))
    after = prepared.source_digest(copy)
    assert after != before

    pack = load_pack(pack_dir)
    assert prepare_pack(pack).cache == "miss"
    assert prepare_pack(pack).cache == "hit"
    monkeypatch.setattr(prepared, "code_digest", lambda: after)  # qzgeo edited
    assert prepare_pack(pack).cache == "miss"


def test_what_does_not_round_trip_is_not_cached(
    pack_dir: Path, cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A codec that loses anything (here: a float's last bit) means no entry, not a wrong one."""
    import numpy as np

    real = prepared.frame_from_bytes

    def lossy(data: bytes):  # type: ignore[no-untyped-def]
        gdf = real(data)
        floats = gdf.select_dtypes("float64").columns
        for c in floats:
            gdf[c] = np.nextafter(gdf[c].to_numpy(), np.inf)
        return gdf

    monkeypatch.setattr(prepared, "frame_from_bytes", lossy)
    assert prepare_pack(load_pack(pack_dir)).cache == "unsaved"
    assert _entries(cache) == []
