"""A pack TOML (catalog, styles/*.toml, maps/*.toml) linked out of the pack is a problem.

Layer paths were confined to the pack folder, but a ``styles/x.toml`` or ``maps/x.toml``
symlinked to a file elsewhere was read wherever it pointed (validate and publish exit 0,
the outside map published). A link inside the pack stays fine.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from packs import all_output, assert_no_traceback, run_cli


def _link_out(mini: Path, tmp_path: Path, rel: str) -> Path:
    """Move ``rel`` out of the pack and leave a symlink to it in its place."""
    outside = tmp_path / "elsewhere"
    outside.mkdir(exist_ok=True)
    target = outside / Path(rel).name
    shutil.move(mini / rel, target)
    (mini / rel).symlink_to(target)
    return target


@pytest.mark.parametrize("rel", ["layers/catalog.toml", "styles/mini.toml", "maps/zones.toml"])
@pytest.mark.parametrize("command", ["validate", "publish"])
def test_a_toml_linked_out_of_the_pack_is_a_problem(
    mini: Path, tmp_path: Path, rel: str, command: str
) -> None:
    target = _link_out(mini, tmp_path, rel)
    out = tmp_path / "out"
    extra = ["--out", str(out)] if command == "publish" else []
    result = run_cli(command, "--pack", mini, *extra)
    assert_no_traceback(result)
    assert result.exit_code == 2, result.output
    text = all_output(result)
    assert str(mini / rel) in text, text  # names the file
    assert str(target) in text and "outside the pack" in text, text
    assert "copy the file into the pack" in text, text  # and the fix
    assert not (out / "zones.html").exists()


def test_a_toml_linked_inside_the_pack_is_fine(mini: Path, tmp_path: Path) -> None:
    (mini / "shared").mkdir()
    shutil.move(mini / "styles" / "mini.toml", mini / "shared" / "mini.toml")
    (mini / "styles" / "mini.toml").symlink_to(Path("..") / "shared" / "mini.toml")
    result = run_cli("validate", "--pack", mini)
    assert result.exit_code == 0, all_output(result)
    out = tmp_path / "out"
    result = run_cli("publish", "--pack", mini, "--out", out)
    assert result.exit_code == 0, all_output(result)
