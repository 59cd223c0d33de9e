"""`qzgeo validate` reads the pack's suitability models too.

A model's mistakes (a title that is not text, a factor reading a layer the catalog does not
declare) were found only when `qzgeo suitability` ran it: validate said OK over them. The
expectations are the keys and values the test writes, not qzgeo's own messages.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from packs import all_output, assert_no_traceback, run_cli
from support import ROOT, copy_bundled_pack


def _pack_with_model(tmp_path: Path, edit: dict[str, str]) -> Path:
    pack = copy_bundled_pack(tmp_path / "pack")
    (pack / "suitability").mkdir()
    text = (ROOT / "suitability" / "urban.toml").read_text(encoding="utf-8")
    for old, new in edit.items():
        assert old in text, old
        text = text.replace(old, new, 1)
    (pack / "suitability" / "urban.toml").write_text(text, encoding="utf-8")
    return pack


def test_a_valid_model_is_counted(tmp_path: Path) -> None:
    r = run_cli("validate", "--pack", _pack_with_model(tmp_path, {}))
    assert r.exit_code == 0, all_output(r)
    assert "5 maps, 1 suitability model)" in r.stdout, r.stdout


def test_model_mistakes_are_validate_problems(tmp_path: Path) -> None:
    pack = _pack_with_model(
        tmp_path,
        {
            'title = "城镇建设适宜性（示意）"': 'title = ["城镇建设适宜性"]',
            'area = ["districts"]': 'area = ["no_such_layer"]',
        },
    )
    r = run_cli("validate", "--pack", pack)
    assert_no_traceback(r)
    assert r.exit_code == 2, all_output(r)
    lines = [ln for ln in r.stderr.splitlines() if "urban.toml" in ln]
    assert any("title" in ln and "城镇建设适宜性" in ln for ln in lines), r.stderr
    assert any("no_such_layer" in ln for ln in lines), r.stderr


def test_a_pack_without_models_says_nothing_of_them(tmp_path: Path) -> None:
    pack = copy_bundled_pack(tmp_path / "pack")
    shutil.rmtree(pack / "suitability", ignore_errors=True)
    r = run_cli("validate", "--pack", pack)
    assert r.exit_code == 0 and "suitability" not in r.stdout, all_output(r)


def test_a_missing_key_is_one_problem_saying_it_is_missing(tmp_path: Path) -> None:
    pack = _pack_with_model(tmp_path, {'area = ["districts"]': "", 'kind = "slope"': ""})
    r = run_cli("validate", "--pack", pack)
    assert r.exit_code == 2, all_output(r)
    area = [ln for ln in r.stderr.splitlines() if "`area`" in ln]
    assert len(area) == 1 and "is missing or empty" in area[0], r.stderr
    kind = [ln for ln in r.stderr.splitlines() if ".kind`" in ln]
    assert len(kind) == 1 and "is missing; use one of" in kind[0], r.stderr
