"""Pack selection: --pack, then $QZGEO_PACK, then ./qzgeo.toml, then the bundled pack; every
command says which pack it used."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from qzgeo.cli.main import cli
from qzgeo.pack.catalog import get_path, load_pack, pack_name_of

ROOT = Path(__file__).resolve().parents[2]
JINZHOU = ROOT / "examples" / "jinzhou"


def _validate(*args: str) -> tuple[int, str, str]:
    r = CliRunner().invoke(cli, ["validate", *args])
    return r.exit_code, r.stdout, r.stderr


def test_bundled_pack_by_default(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("QZGEO_PACK", raising=False)
    monkeypatch.chdir(tmp_path)
    code, _, err = _validate()
    assert code == 0
    assert f"pack: {pack_name_of(get_path())} ({get_path()}; from bundled)" in err
    assert load_pack().selected_by == "bundled"


def test_environment_variable(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("QZGEO_PACK", str(JINZHOU))
    monkeypatch.chdir(tmp_path)
    code, out, err = _validate()
    assert code == 0 and str(JINZHOU) in out
    assert "pack: jinzhou" in err and "$QZGEO_PACK" in err
    assert load_pack().name == "jinzhou"


def test_qzgeo_toml_in_working_folder(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("QZGEO_PACK", raising=False)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "qzgeo.toml").write_text(f'pack = "{JINZHOU.as_posix()}"\n', encoding="utf-8")
    code, _, err = _validate()
    assert code == 0 and "pack: jinzhou" in err and "qzgeo.toml" in err
    # --pack wins over both
    monkeypatch.setenv("QZGEO_PACK", str(JINZHOU))
    code, _, err = _validate("--pack", str(get_path()))
    assert code == 0 and "from --pack" in err


def test_bad_qzgeo_toml_is_exit_2_naming_the_file(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("QZGEO_PACK", raising=False)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "qzgeo.toml").write_text("pack = 3\n", encoding="utf-8")
    code, _, err = _validate()
    assert code == 2
    assert "qzgeo.toml" in err and "got 3" in err and "Traceback" not in err


def test_missing_env_pack_is_exit_2(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("QZGEO_PACK", str(tmp_path / "nowhere"))
    code, _, err = _validate()
    assert code == 2 and "QZGEO_PACK" in err and "does not exist" in err


def test_get_path_names_the_bundled_pack_from_its_catalog() -> None:
    name = pack_name_of(get_path())
    assert get_path(name) == get_path()
    with pytest.raises(ValueError, match=repr(name)):
        get_path("somewhere_else")
