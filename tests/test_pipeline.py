"""`qzgeo publish` end to end on the minipack: outputs, determinism, atomicity, exit codes."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from click.testing import CliRunner

from qzgeo.cli.main import cli


def _hashes(folder: Path) -> dict[str, str]:
    return {
        p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def _publish(pack: Path, out: Path, *extra: str) -> str:
    result = CliRunner().invoke(cli, ["publish", "--pack", str(pack), "--out", str(out), *extra])
    assert result.exit_code == 0, result.output + repr(result.exception)
    return result.output


def test_publish_writes_analysis_and_maps(minipack: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    output = _publish(minipack, out)
    for name in (
        "internal/analysis.gpkg",
        "internal/zone_summary.csv",
        "internal/report.json",
        "internal/index.html",
        "internal/conflicts.html",
        "internal/manifest.json",
        "public/index.html",
        "public/zones.html",
        "public/manifest.json",
    ):
        assert (out / name).is_file(), name
    assert "2 zones, 140.0 公顷 available, 3 conflict patches" in output
    assert str((out / "public").resolve()) in output
    csv = (out / "internal" / "zone_summary.csv").read_bytes()
    assert csv.startswith(b"\xef\xbb\xbf")  # BOM, so that Excel reads the Chinese headers
    assert "可用面积(公顷)" in csv.decode("utf-8-sig")


def test_rebuild_is_byte_identical(minipack: Path, tmp_path: Path) -> None:
    _publish(minipack, tmp_path / "a")
    _publish(minipack, tmp_path / "b")
    a, b = _hashes(tmp_path / "a"), _hashes(tmp_path / "b")
    assert a == b
    # ... and a re-run into the same folder replaces, never appends.
    _publish(minipack, tmp_path / "a")
    assert _hashes(tmp_path / "a") == a


def test_inputs_are_never_modified(minipack: Path, tmp_path: Path) -> None:
    before = _hashes(minipack)
    _publish(minipack, tmp_path / "out")
    assert _hashes(minipack) == before


def test_analysis_gpkg_layers(minipack: Path, tmp_path: Path) -> None:
    import pyogrio

    _publish(minipack, tmp_path / "out", "--no-maps")
    names = [n for n, _ in pyogrio.list_layers(tmp_path / "out" / "internal" / "analysis.gpkg")]
    assert sorted(names) == ["available_land", "conflicts", "zone_summary"]
    assert not list((tmp_path / "out").rglob("index.html"))


def test_failed_build_keeps_previous_outputs(
    minipack: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "out"
    _publish(minipack, out, "--no-maps")
    before = _hashes(out)

    import pyogrio

    real = pyogrio.write_dataframe
    calls = {"n": 0}

    def flaky(*args: object, **kwargs: object) -> None:
        calls["n"] += 1
        if calls["n"] == 2:
            raise OSError(28, "No space left on device")
        real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(pyogrio, "write_dataframe", flaky)
    result = CliRunner().invoke(
        cli, ["publish", "--pack", str(minipack), "--out", str(out), "--no-maps"]
    )
    assert result.exit_code == 2
    assert "No space left on device" in result.output
    assert "previous file is unchanged" in result.output
    assert _hashes(out) == before
    own = {".qzgeo", ".qzgeo.lock", ".qzgeo.files"}  # marker, lock, record
    assert not [p for p in out.iterdir() if p.name.startswith(".") and p.name not in own]


def test_publish_reports_pack_problems_with_exit_2(minipack: Path, tmp_path: Path) -> None:
    (minipack / "maps" / "zones.toml").write_text(
        'title = "x"\naudience = "public"\nlayers = ["nowhere"]\n', encoding="utf-8"
    )
    result = CliRunner().invoke(
        cli, ["publish", "--pack", str(minipack), "--out", str(tmp_path / "o")]
    )
    assert result.exit_code == 2
    assert "'nowhere' does not exist" in result.output
    assert "Traceback" not in result.output
