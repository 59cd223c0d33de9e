"""qzgeo's cache folder: where it is, atomic entries, damage ignored, bounded, private."""

from __future__ import annotations

import hashlib
import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from qzgeo import cache_store
from qzgeo.cache_store import KEEP_ENTRIES, cache_folder, load_entry, save_entry, user_cache_dir


def _key(n: int) -> str:
    return hashlib.sha256(str(n).encode()).hexdigest()


META = {"a": [1, 2.5, None], "名称": "钦", "nested": {"x": True}}
BLOBS = {"one": b"\x00\x01\x02" * 100, "two": b"", "three": bytes(range(256))}


def test_round_trip_in_the_folder_named_by_the_variable(cache: Path) -> None:
    assert save_entry("packs", _key(1), META, BLOBS)
    assert load_entry("packs", _key(1)) == (META, BLOBS)
    files = [p for p in cache.rglob("*") if p.is_file()]
    assert [p.relative_to(cache).as_posix() for p in files] == [f"packs/{_key(1)}.qzc"]
    assert load_entry("packs", _key(2)) is None


def test_user_cache_dir_follows_xdg(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    if sys.platform in ("win32", "darwin"):
        pytest.skip("XDG is the Linux convention")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert user_cache_dir() == tmp_path / "xdg" / "qzgeo"
    monkeypatch.setenv("XDG_CACHE_HOME", "relative/ignored")  # the spec: absolute paths only
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert user_cache_dir() == tmp_path / "home" / ".cache" / "qzgeo"
    monkeypatch.delenv("QZGEO_CACHE_DIR")
    assert save_entry("packs", _key(1), META, BLOBS)
    assert (tmp_path / "home" / ".cache" / "qzgeo" / "packs" / f"{_key(1)}.qzc").is_file()


@pytest.mark.parametrize("value", ["1", "yes", "true"])
def test_no_cache_variable_turns_it_off(
    cache: Path, monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    assert save_entry("packs", _key(1), META, BLOBS)
    monkeypatch.setenv("QZGEO_NO_CACHE", value)
    assert load_entry("packs", _key(1)) is None
    assert not save_entry("packs", _key(2), META, BLOBS)
    assert not (cache / "packs" / f"{_key(2)}.qzc").exists()
    monkeypatch.setenv("QZGEO_NO_CACHE", "0")
    assert load_entry("packs", _key(1)) == (META, BLOBS)


def _entry(cache: Path, n: int = 1) -> Path:
    return cache / "packs" / f"{_key(n)}.qzc"


@pytest.mark.parametrize(
    "damage",
    ["zero bytes", "truncated", "one bit flipped", "a byte appended", "foreign", "wrong key"],
)
def test_a_damaged_entry_is_a_miss_then_rewritten(cache: Path, damage: str) -> None:
    assert save_entry("packs", _key(1), META, BLOBS)
    path = _entry(cache)
    data = path.read_bytes()
    if damage == "zero bytes":
        path.write_bytes(b"")
    elif damage == "truncated":
        path.write_bytes(data[: len(data) // 2])
    elif damage == "one bit flipped":
        i = len(data) - 200  # inside a blob: only the digest can tell
        path.write_bytes(data[:i] + bytes([data[i] ^ 1]) + data[i + 1 :])
    elif damage == "a byte appended":
        path.write_bytes(data + b"\x00")
    elif damage == "foreign":
        path.write_bytes(b"PAR1" + os.urandom(500))
    else:  # a sound entry of another key, renamed
        assert save_entry("packs", _key(2), {"other": 1}, {})
        os.replace(_entry(cache, 2), path)
    assert load_entry("packs", _key(1)) is None
    assert save_entry("packs", _key(1), META, BLOBS)
    assert load_entry("packs", _key(1)) == (META, BLOBS)


def test_unwritable_folder_is_no_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        blocker = tmp_path / "a-file"  # root writes anywhere: a file where the folder would be
        blocker.write_text("not a folder")
        monkeypatch.setenv("QZGEO_CACHE_DIR", str(blocker))
    else:
        ro = tmp_path / "ro"
        ro.mkdir(mode=0o500)
        monkeypatch.setenv("QZGEO_CACHE_DIR", str(ro))
    monkeypatch.delenv("QZGEO_NO_CACHE", raising=False)
    assert not save_entry("packs", _key(1), META, BLOBS)
    assert load_entry("packs", _key(1)) is None


@pytest.mark.skipif(not hasattr(os, "geteuid"), reason="POSIX permissions")
def test_a_folder_others_can_write_to_is_not_used(cache: Path) -> None:
    assert save_entry("packs", _key(1), META, BLOBS)
    (cache / "packs").chmod(0o777)
    assert load_entry("packs", _key(1)) is None
    assert not save_entry("packs", _key(2), META, BLOBS)
    (cache / "packs").chmod(0o700)
    assert load_entry("packs", _key(1)) == (META, BLOBS)


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() != 0, reason="chown needs root")
def test_a_kind_folder_of_another_user_is_not_used(cache: Path) -> None:
    assert save_entry("packs", _key(1), META, BLOBS)
    os.chown(cache / "packs", 65534, 65534)  # nobody's, mode 0o700 still
    assert cache_folder("packs") is None
    assert load_entry("packs", _key(1)) is None
    assert not save_entry("packs", _key(2), META, BLOBS)


@pytest.mark.skipif(not hasattr(os, "geteuid"), reason="POSIX permissions")
def test_a_shared_top_folder_is_used_through_private_kind_folders(cache: Path) -> None:
    # The top folder may be shared ($QZGEO_CACHE_DIR=/srv/qzgeo-cache, 1777 or 0777): qzgeo
    # writes only in its kind folders, each checked private as opened (a folder put in its
    # place is someone else's, or a link: refused), so the top folder is not checked.
    cache.mkdir()
    cache.chmod(0o1777)
    assert save_entry("packs", _key(1), META, BLOBS)
    assert (cache / "packs").stat().st_mode & 0o777 == 0o700
    cache.chmod(0o777)
    assert load_entry("packs", _key(1)) == (META, BLOBS)


def test_only_the_newest_entries_are_kept_and_nothing_else_is_touched(cache: Path) -> None:
    (cache / "packs").mkdir(parents=True, mode=0o700)
    mine = cache / "packs" / "notes.txt"  # not an entry: never removed
    mine.write_text("keep me")
    for n in range(KEEP_ENTRIES + 3):
        assert save_entry("packs", _key(n), {"n": n}, {})
        os.utime(_entry(cache, n), (1_000_000 + n, 1_000_000 + n))  # in order of age
    assert save_entry("packs", _key(99), {"n": 99}, {})
    kept = sorted(p.name for p in (cache / "packs").glob("*.qzc"))
    newest = [_key(n) for n in range(3 + 1, KEEP_ENTRIES + 3)] + [_key(99)]
    assert kept == sorted(f"{k}.qzc" for k in newest)
    assert mine.read_text() == "keep me"


def test_a_read_marks_an_entry_recently_used(cache: Path) -> None:
    for n in range(KEEP_ENTRIES):
        assert save_entry("packs", _key(n), {"n": n}, {})
        os.utime(_entry(cache, n), (1_000_000 + n, 1_000_000 + n))
    assert load_entry("packs", _key(0)) is not None  # the oldest, used now
    assert save_entry("packs", _key(99), {}, {})
    assert _entry(cache, 0).exists() and not _entry(cache, 1).exists()


def test_a_failed_write_leaves_no_file(cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(src: object, dst: object, **kw: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(cache_store.os, "replace", broken)
    assert not save_entry("packs", _key(1), META, BLOBS)
    assert list((cache / "packs").iterdir()) == []


def test_keys_are_hex_digests(cache: Path) -> None:
    with pytest.raises(ValueError, match="SHA-256"):
        save_entry("packs", "../../etc/passwd", META, BLOBS)
    assert cache_folder("packs") is None or not any((cache / "packs").iterdir())


def _sound(key: str, header: bytes) -> bytes:
    """An entry whose digest is right around ``header``, as any writer can make one."""
    body = len(header).to_bytes(8, "little") + header
    return b"QZGEOC1\n" + hashlib.sha256(body).digest() + body


@pytest.mark.parametrize(
    "header",
    [
        b"[" * 100_000 + b"]" * 100_000,  # json.loads: RecursionError, not a ValueError
        b'{"key": "K", "meta": {}, "blobs": [["a", 1e400]]}',  # int(inf): OverflowError
        b'{"key": "K", "meta": {}, "blobs": 7}',
        b'["K"]',
    ],
)
def test_a_sound_entry_with_a_foreign_header_is_a_miss(cache: Path, header: bytes) -> None:
    """A digest is no signature: a file with a right digest and any header is only a miss."""
    assert save_entry("packs", _key(1), META, BLOBS)
    _entry(cache).write_bytes(_sound(_key(1), header.replace(b"K", _key(1).encode())))
    assert load_entry("packs", _key(1)) is None


def test_what_the_header_cannot_hold_is_not_saved(cache: Path) -> None:
    """A warning naming a folder whose name is not UTF-8 (unzipped from a GBK archive: Python
    holds its bytes as lone surrogates) cannot be written as UTF-8: no entry, no error."""
    gbk_folder = os.fsdecode("规划".encode("gbk"))
    assert not save_entry("packs", _key(1), {"warnings": [f"/data/{gbk_folder}/a.shp"]}, {})
    assert not save_entry("packs", _key(2), {"x": object()}, {})
    assert not (cache / "packs").exists() or list((cache / "packs").iterdir()) == []


@pytest.mark.skipif(not hasattr(os, "geteuid"), reason="POSIX permissions")
@pytest.mark.parametrize("swap_at", [1, 2])
def test_a_folder_swapped_after_its_check_is_not_read(
    cache: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, swap_at: int
) -> None:
    # Whoever can write beside the folder (a shared $QZGEO_CACHE_DIR) can rename it away and
    # put a folder of theirs under its name once it has been checked: its entries were read
    # (and new ones written there). Theirs is the world-writable folder here; the entry in it
    # is sound, as another qzgeo would write it.
    key = _key(1)
    assert save_entry("packs", key, META, BLOBS)
    monkeypatch.setenv("QZGEO_CACHE_DIR", str(tmp_path / "theirs"))
    assert save_entry("packs", key, {"forged": True}, {})
    monkeypatch.setenv("QZGEO_CACHE_DIR", str(cache))
    forged = tmp_path / "theirs" / "packs"
    forged.chmod(0o777)

    real_private, calls = cache_store._private, []

    def check_then_swap(st: os.stat_result) -> bool:
        ok = real_private(st)
        calls.append(ok)
        if len(calls) == swap_at and forged.exists():
            (cache / "packs").rename(tmp_path / "mine")
            forged.rename(cache / "packs")
        return ok

    monkeypatch.setattr(cache_store, "_private", check_then_swap)
    assert load_entry("packs", key) in (None, (META, BLOBS))
    assert (
        not save_entry("packs", _key(2), {}, {}) or (tmp_path / "mine" / f"{_key(2)}.qzc").exists()
    )


def test_no_home_directory_is_no_cache(monkeypatch: pytest.MonkeyPatch) -> None:
    # `docker run --user 1234` (no passwd entry) with HOME unset, a service without HOME:
    # Path.home() raises RuntimeError, and every command stopped on its traceback (exit 1,
    # the code of a conflict in `qzgeo check`) before it reached the cache's own try.
    def no_home() -> Path:
        raise RuntimeError("Could not determine home directory.")

    monkeypatch.setattr(cache_store.Path, "home", staticmethod(no_home))
    monkeypatch.delenv("QZGEO_CACHE_DIR", raising=False)
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    monkeypatch.delenv("LOCALAPPDATA", raising=False)
    monkeypatch.delenv("QZGEO_NO_CACHE", raising=False)
    assert cache_folder("packs", create=True) is None
    assert not save_entry("packs", _key(1), META, BLOBS)
    assert load_entry("packs", _key(1)) is None


@pytest.fixture(autouse=True)
def _no_refusal_left() -> Iterator[None]:
    """A refusal a test provokes is not left for the next test's run to report."""
    yield
    cache_store.take_refusals()


@pytest.mark.skipif(not hasattr(os, "geteuid"), reason="POSIX permissions")
def test_a_refused_folder_is_said_once_with_the_fix(cache: Path) -> None:
    # Refused, the cache was off without a word: the user saw only slow runs.
    (cache / "packs").mkdir(parents=True)
    (cache / "packs").chmod(0o775)
    cache_store.take_refusals()
    for _ in range(3):
        assert load_entry("packs", _key(1)) is None
        assert not save_entry("packs", _key(1), META, BLOBS)
    [said] = cache_store.take_refusals()
    assert cache_store.is_refusal(said)
    assert str(cache / "packs") in said and "0775" in said and "others can write" in said
    assert f"chmod 700 {cache / 'packs'}" in said and "remove it" in said
    assert "QZGEO_CACHE_DIR" in said and "QZGEO_NO_CACHE=1" in said
    assert cache_store.take_refusals() == []  # taken: said once


def test_a_link_in_place_of_the_folder_is_said(cache: Path, tmp_path: Path) -> None:
    (tmp_path / "elsewhere").mkdir(mode=0o700)
    cache.mkdir()
    (cache / "siting").symlink_to(tmp_path / "elsewhere")
    assert cache_folder("siting", create=True) is None
    [said] = cache_store.take_refusals()
    assert str(cache / "siting") in said and "not a folder" in said


def test_a_usable_or_absent_folder_is_not_said(cache: Path) -> None:
    assert load_entry("packs", _key(1)) is None  # absent: nothing to say
    assert save_entry("packs", _key(1), META, BLOBS)
    assert load_entry("packs", _key(1)) == (META, BLOBS)
    assert cache_store.take_refusals() == []


@pytest.mark.skipif(not hasattr(os, "geteuid"), reason="POSIX permissions")
def test_a_cache_turned_off_on_purpose_is_not_said(
    cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (cache / "packs").mkdir(parents=True)
    (cache / "packs").chmod(0o777)
    monkeypatch.setenv("QZGEO_NO_CACHE", "1")
    assert cache_folder("packs", create=True) is None
    assert not save_entry("packs", _key(1), META, BLOBS)
    assert cache_store.take_refusals() == []


def test_no_home_directory_is_not_said(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_home() -> Path:
        raise RuntimeError("Could not determine home directory.")

    monkeypatch.setattr(cache_store.Path, "home", staticmethod(no_home))
    for name in ("QZGEO_CACHE_DIR", "XDG_CACHE_HOME", "LOCALAPPDATA", "QZGEO_NO_CACHE"):
        monkeypatch.delenv(name, raising=False)
    assert cache_folder("packs", create=True) is None
    assert cache_store.take_refusals() == []
