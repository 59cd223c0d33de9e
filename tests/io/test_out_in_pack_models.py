"""An output folder inside the pack's ``suitability/`` (its 双评价 models) is refused, as one
inside ``layers/``, ``styles/`` or ``maps/`` is: ``qzgeo suitability --out
PACK/suitability/o`` wrote its COGs, map and report.json among the models (exit 0)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner
from support import ROOT, copy_bundled_pack

from qzgeo._errors import OutputError
from qzgeo.cli.main import cli
from qzgeo.io.outdir import check_out_dir


@pytest.mark.parametrize("part", ["layers", "styles", "maps", "suitability"])
def test_inside_a_pack_data_folder_is_refused(tmp_path: Path, part: str) -> None:
    pack = tmp_path / "pack"
    (pack / part).mkdir(parents=True)
    with pytest.raises(OutputError, match="would write into the plan pack"):
        check_out_dir(pack / part / "out", pack=pack)


def test_beside_the_data_folders_is_allowed(tmp_path: Path) -> None:
    pack = tmp_path / "pack"
    pack.mkdir()
    assert check_out_dir(pack / "out", pack=pack) == (pack / "out").resolve()


def test_suitability_into_the_models_folder_writes_nothing(tmp_path: Path) -> None:
    pack = copy_bundled_pack(tmp_path / "pack")
    shutil.copytree(ROOT / "suitability", pack / "suitability")
    before = sorted(p.relative_to(pack) for p in pack.rglob("*"))
    out = pack / "suitability" / "o"
    res = CliRunner().invoke(cli, ["suitability", "--pack", str(pack), "--out", str(out)])
    assert res.exit_code == 2, res.output
    assert "would write into the plan pack" in res.output
    assert sorted(p.relative_to(pack) for p in pack.rglob("*")) == before
