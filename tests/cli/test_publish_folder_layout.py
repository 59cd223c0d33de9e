"""Issue 10: ``qzgeo publish --out OUT`` writes OUT/public (post it) and OUT/internal apart.

Layout assumed (written down in the issue and /work/notes/t10.md):

- ``OUT/public/``: public map pages, ``index.html`` (gallery of public maps only), their
  assets and PNGs, ``manifest.json`` (public maps only).
- ``OUT/internal/``: internal map pages, their gallery ``index.html``, ``analysis.gpkg``,
  ``zone_summary.csv``, ``report.json`` and the full ``manifest.json``.
- OUT itself holds only these two folders and qzgeo's own hidden marker/lock files.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from packs import assert_no_traceback, files_under, run_cli, spawn_cli, write_map


def _publish(pack: Path, out: Path, *extra: str) -> None:
    result = run_cli("publish", "--pack", pack, "--out", out, *extra)
    assert_no_traceback(result)
    assert result.exit_code == 0, result.output


def test_public_and_internal_folders(mini: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    _publish(mini, out)
    visible = sorted(p.name for p in out.iterdir() if not p.name.startswith("."))
    assert visible == ["internal", "public"]
    public = {p.relative_to(out / "public").as_posix() for p in files_under(out / "public")}
    assert {"zones.html", "index.html", "manifest.json"} <= public
    for internal_only in ("conflicts.html", "analysis.gpkg", "zone_summary.csv", "report.json"):
        assert internal_only not in public
        assert (out / "internal" / internal_only).is_file(), internal_only
    assert (out / "internal" / "manifest.json").is_file()


def test_public_gallery_and_manifest_list_public_maps_only(mini: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    _publish(mini, out)
    gallery = (out / "public" / "index.html").read_text(encoding="utf-8")
    assert "zones.html" in gallery
    assert "conflicts.html" not in gallery
    assert "测试冲突图" not in gallery
    manifest = json.loads((out / "public" / "manifest.json").read_text(encoding="utf-8"))
    ids = [m["id"] for m in manifest["maps"]]
    assert ids == ["zones"]
    for m in manifest["maps"]:
        page = out / "public" / m["file"]
        assert hashlib.sha256(page.read_bytes()).hexdigest() == m["sha256"]


def test_publish_says_where_each_part_went(mini: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = run_cli("publish", "--pack", mini, "--out", out)
    assert result.exit_code == 0, result.output
    assert str(out / "public") in result.output or "out/public" in result.output
    assert str(out / "internal") in result.output or "out/internal" in result.output


def test_removed_map_leaves_no_stale_page(mini: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    write_map(
        mini, "zones2", title="第二张公开图", audience="public", layers=["zones"], basemap="none"
    )
    _publish(mini, out)
    assert (out / "public" / "zones2.html").is_file()
    (mini / "maps" / "zones2.toml").unlink()
    _publish(mini, out)
    leftovers = [p for p in files_under(out) if "zones2" in p.name]
    assert leftovers == []
    assert "第二张公开图" not in (out / "public" / "index.html").read_text(encoding="utf-8")
    manifest = json.loads((out / "public" / "manifest.json").read_text(encoding="utf-8"))
    assert "zones2" not in [m["id"] for m in manifest["maps"]]


def test_second_run_into_own_folder_works(mini: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    _publish(mini, out)
    assert (out / "public" / "zones.html").is_file()
    first = {p.relative_to(out): p.read_bytes() for p in files_under(out / "public")}
    _publish(mini, out)
    second = {p.relative_to(out): p.read_bytes() for p in files_under(out / "public")}
    assert first == second


def test_empty_existing_folder_is_accepted(mini: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    _publish(mini, out)
    assert (out / "public" / "zones.html").is_file()


def test_concurrent_publishes_do_not_interleave(mini: Path, tmp_path: Path) -> None:
    """Two runs into one OUT: the second waits or is refused; the result is one whole build."""
    out = tmp_path / "out"
    # different content per run: a second public map only in run B
    pack_b = tmp_path / "pack_b"
    import shutil

    shutil.copytree(mini, pack_b)
    write_map(
        pack_b, "zones_b", title="B 公开图", audience="public", layers=["zones"], basemap="none"
    )
    procs = [spawn_cli("publish", "--pack", p, "--out", out) for p in (mini, pack_b)]
    results = [(p.wait(timeout=300), *p.communicate()) for p in procs]
    codes = [r[0] for r in results]
    assert 0 in codes, results
    for code, _stdout, stderr in results:
        assert "Traceback" not in stderr
        if code != 0:
            assert code == 2, stderr
            assert "lock" in stderr.lower() or "another" in stderr.lower(), stderr
    manifest = json.loads((out / "public" / "manifest.json").read_text(encoding="utf-8"))
    listed = {m["file"] for m in manifest["maps"]}
    pages = {p.name for p in (out / "public").glob("*.html")} - {"index.html"}
    assert listed == pages  # one build: its manifest and its pages agree
    for m in manifest["maps"]:
        data = (out / "public" / m["file"]).read_bytes()
        assert hashlib.sha256(data).hexdigest() == m["sha256"]
    gallery = (out / "public" / "index.html").read_text(encoding="utf-8")
    assert ("zones_b.html" in gallery) == ("zones_b.html" in listed)
    # no half-built temporary folders left beside OUT
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out", "pack", "pack_b"]
