"""A misspelt key of catalog.toml's [pack] or a misspelt table name is a problem, never ignored:
`planer_crs` quietly gave the zone of the data's centre, `extnt` no extent at all, and
`[[distance]]` no distances."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from packs import new_pack

from qzgeo.cli.main import cli
from qzgeo.pack.catalog import load_pack


@pytest.fixture
def pack(tmp_path: Path) -> Path:
    return new_pack(tmp_path / "urumqi", "87.6,43.8")


def _edit(pack: Path, old: str, new: str) -> None:
    cat = pack / "layers" / "catalog.toml"
    text = cat.read_text(encoding="utf-8")
    assert old in text
    cat.write_text(text.replace(old, new, 1), encoding="utf-8")


@pytest.mark.parametrize(
    ("old", "new", "needles"),
    [
        ("planar_crs =", "planer_crs =", ["[pack]", "`planer_crs`", "`planar_crs`"]),
        ("extent =", "extnt =", ["[pack]", "`extnt`", "`extent`"]),
        ("[[distances]]", "[[distance]]", ["[[distance]]", "[[distances]]"]),
        ("[params]", "[param]", ["[param]", "[params]"]),
    ],
)
def test_misspelt_key_is_a_problem(pack: Path, old: str, new: str, needles: list[str]) -> None:
    _edit(pack, old, new)
    problems = load_pack(pack).problems
    assert len(problems) == 1, problems
    assert "catalog.toml" in problems[0]
    for n in needles:
        assert n in problems[0], (n, problems[0])
    res = CliRunner().invoke(cli, ["validate", "--pack", str(pack)])
    assert res.exit_code == 2 and needles[1] in res.output, res.output


def test_organisation_is_a_known_key(pack: Path) -> None:
    _edit(pack, "[params]", 'organisation = "乌鲁木齐市自然资源局"\n\n[params]')
    loaded = load_pack(pack)
    assert loaded.problems == [] and loaded.organisation == "乌鲁木齐市自然资源局"


def test_misspelt_layer_key_names_the_nearest(pack: Path) -> None:
    _edit(pack, 'sensitivity = "public"', 'sensitivty = "public"')
    said = [p for p in load_pack(pack).problems if "sensitivty" in p]
    assert len(said) == 1 and "(did you mean `sensitivity`?)" in said[0], said


@pytest.mark.parametrize(
    ("key", "meant"),
    [
        ("min_patch_m", "min_patch_m2"),
        ("min_patch_mu", "min_patch_m2"),
        ("Min_Patch_M2", "min_patch_m2"),
        ("publish_simplfy_m", "publish_simplify_m"),
    ],
)
def test_misspelt_param_names_the_key_qzgeo_reads(pack: Path, key: str, meant: str) -> None:
    # `min_patch_m = 5` was ignored and the default 1 m² used, without a word
    _edit(pack, "min_patch_m2 = 1.0", f"{key} = 5.0")
    (problem,) = load_pack(pack).problems
    assert "[params]" in problem and f"`{key}`" in problem
    assert f"(did you mean `{meant}`?)" in problem
    res = CliRunner().invoke(cli, ["validate", "--pack", str(pack)])
    assert res.exit_code == 2 and f"`{key}`" in res.output, res.output
    assert "Traceback" not in res.output


def test_the_build_scripts_own_params_stay_free(pack: Path) -> None:
    # keys qzgeo does not read and that are nothing like those it does: the pack's own
    free = "udb_shore_margin_m = 200\ncanal_width_m = 150\nmin_area_m2 = 3.0\n"
    _edit(pack, "min_patch_m2 = 1.0", f"min_patch_m2 = 1.0\n{free}")
    loaded = load_pack(pack)
    assert loaded.problems == []
    assert loaded.params["min_area_m2"] == 3.0 and loaded.params["min_patch_m2"] == 1.0


@pytest.mark.parametrize(("key", "value"), [("title", "5"), ("licence", "[1, 2]")])
def test_a_layer_text_of_another_type_is_named_with_its_value(
    pack: Path, key: str, value: str
) -> None:
    """``title = 5`` was said to be missing: the key is there, its value is not text."""
    text = (pack / "layers" / "catalog.toml").read_text(encoding="utf-8")
    layers = text[text.index("[[layers]]") :]  # the first layer's, not [pack]'s title
    line = next(ln for ln in layers.splitlines() if ln.startswith(f"{key} = "))
    _edit(pack, line, f"{key} = {value}")
    said = [p for p in load_pack(pack).problems if f"`{key}`" in p]
    assert len(said) == 1, said
    assert f"got {value}" in said[0] and f'{key} = "..."' in said[0], said
    assert "missing" not in said[0]


def test_a_distance_label_of_another_type_is_named_with_its_value(pack: Path) -> None:
    """``label = 5`` under [[distances]] was said to be missing."""
    _edit(pack, 'label = "距交通走廊"', "label = 5")
    said = [p for p in load_pack(pack).problems if "[[distances]]" in p]
    assert len(said) == 1, said
    assert "`label`" in said[0] and "got 5" in said[0] and "missing" not in said[0], said
