"""What the output folder must never touch.

An output folder that qzgeo owns (marked by an earlier run) still may not hold an input:
``qzgeo analyze out/internal/parcels.gpkg --out out`` would replace its own input. Only the
inputs check stands between them (the folder is qzgeo's), and a mutant accepting inputs
below the folder (not the folder itself) passed the suite. The same for the plan pack: an
output folder in its data folders or holding it (one accepting any folder but the pack's
own passed too). And temporaries in a folder a part links to are not ours to remove."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from qzgeo._errors import OutputError
from qzgeo.io.outdir import MARKER, check_out_dir


def test_an_input_inside_a_marked_output_folder_is_refused(tmp_path: Path) -> None:
    out = tmp_path / "out"
    (out / "internal").mkdir(parents=True)
    (out / MARKER).write_text("qzgeo", encoding="utf-8")
    earlier = out / "internal" / "parcels.gpkg"
    earlier.write_bytes(b"an earlier run's output, now an input")
    assert check_out_dir(out) == out.resolve()  # the folder itself is fine
    with pytest.raises(OutputError, match="holds the input"):
        check_out_dir(out, inputs=[earlier])
    assert earlier.read_bytes() == b"an earlier run's output, now an input"


@pytest.mark.parametrize("where", ["layers/out", "styles/out", "maps/x/out", ".", ".."])
def test_an_output_folder_in_or_around_the_pack_is_refused(tmp_path: Path, where: str) -> None:
    pack = tmp_path / "city" / "pack"
    for d in ("layers", "styles", "maps"):
        (pack / d).mkdir(parents=True)
    (tmp_path / "city" / MARKER).write_text("qzgeo", encoding="utf-8")  # '..': qzgeo's own
    out = (pack / where).resolve()
    with pytest.raises(OutputError, match="plan pack"):
        check_out_dir(out, pack=pack)


def test_stale_temporaries_are_not_hunted_through_a_symlinked_part(tmp_path: Path) -> None:
    """``public`` linked to a folder elsewhere (a web root, another build): temporaries there
    belong to whoever writes there, maybe a run in progress; only the folder's own go."""
    from qzgeo.io.atomic import TEMP_PREFIX
    from qzgeo.io.outdir import remove_stale

    out, elsewhere = tmp_path / "out", tmp_path / "www"
    (out / "internal").mkdir(parents=True)
    elsewhere.mkdir()
    (out / MARKER).write_text("qzgeo", encoding="utf-8")
    (out / "public").symlink_to(elsewhere, target_is_directory=True)
    theirs = elsewhere / f"{TEMP_PREFIX}tmp-index.html.1-abc"
    ours = out / "internal" / f"{TEMP_PREFIX}tmp-parcels.gpkg.1-abc"
    theirs.write_text("x", encoding="utf-8")
    ours.write_text("x", encoding="utf-8")
    assert remove_stale(out) == [ours]
    assert theirs.exists() and not ours.exists()


def test_a_part_made_a_symlink_is_refused_and_left_as_it_is(minipack: Path, tmp_path: Path) -> None:
    """Found by out14a: publish replaced a ``public`` linked to a web root with a folder of
    its own, without a word. The link is the user's: refused, naming it, nothing touched."""
    from click.testing import CliRunner

    from qzgeo.cli.main import cli

    out, www = tmp_path / "out", tmp_path / "www"
    publish = ["publish", "--pack", str(minipack), "--out", str(out)]
    assert CliRunner().invoke(cli, publish).exit_code == 0
    shutil.move(out / "public", www)
    (www / "own.txt").write_text("mine", encoding="utf-8")
    (out / "public").symlink_to(www, target_is_directory=True)
    before = sorted(p.name for p in www.iterdir())
    res = CliRunner().invoke(cli, publish)
    assert res.exit_code == 2, res.output
    assert f"{out / 'public'} is a symbolic link" in res.output and "Remove the" in res.output
    assert (out / "public").is_symlink() and sorted(p.name for p in www.iterdir()) == before
