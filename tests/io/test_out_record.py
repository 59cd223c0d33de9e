"""A publish never drops a file that someone else put into ``OUT/public`` or ``OUT/internal``.

``publish`` swaps both parts in whole. Before the record (``OUT/.qzgeo.files``), a logo or a
note a user had put into ``OUT/public/`` went with the previous build, silently. Now every run
records the files it writes, and a publish refuses (exit 2, naming the files and the fix)
while a part holds one that no run wrote.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from qzgeo._errors import OutputError
from qzgeo.cli.main import cli
from qzgeo.io.out_record import RECORD
from qzgeo.io.outdir import output_build


def _publish(out: Path) -> None:
    with output_build(out) as b:
        (b.public / "index.html").write_text("<html>maps</html>", encoding="utf-8")
        (b.internal / "report.json").write_text("{}", encoding="utf-8")


def _analyze(out: Path) -> None:
    with output_build(out, whole=False) as b:
        (b.internal / "parcels.gpkg").write_bytes(b"rows")


def _digests(out: Path) -> dict[str, str]:
    return {
        str(p.relative_to(out)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(out.rglob("*"))
        if p.is_file() and p.name != ".qzgeo.lock"
    }


def test_a_users_file_in_public_stops_the_next_publish_and_stays(tmp_path: Path) -> None:
    out = tmp_path / "out"
    _publish(out)
    mine = out / "public" / "logo.png"
    mine.write_bytes(b"the city's logo")
    before = _digests(out)
    with pytest.raises(OutputError) as err:
        _publish(out)
    text = str(err.value)
    assert str(mine) in text and "not written by qzgeo" in text
    assert "Move it out" in text and "another --out" in text
    assert _digests(out) == before  # nothing replaced, the logo kept
    mine.unlink()
    _publish(out)  # once it is moved out, publish runs again


def test_files_in_subfolders_and_links_count_too(tmp_path: Path) -> None:
    out = tmp_path / "out"
    _publish(out)
    (out / "internal" / "notes").mkdir()
    (out / "internal" / "notes" / "会议纪要.txt").write_text("x", encoding="utf-8")
    (out / "public" / "shared").symlink_to(tmp_path)
    with pytest.raises(OutputError) as err:
        _publish(out)
    assert "会议纪要.txt" in str(err.value) and "shared" in str(err.value)
    assert (out / "internal" / "notes" / "会议纪要.txt").is_file()


def test_other_commands_outputs_are_recorded_and_carried(tmp_path: Path) -> None:
    out = tmp_path / "out"
    _publish(out)
    _analyze(out)
    record = json.loads((out / RECORD).read_text(encoding="utf-8"))["files"]
    assert "internal/parcels.gpkg" in record
    _publish(out)  # analyze's output is qzgeo's: no refusal, and it is carried over
    assert (out / "internal" / "parcels.gpkg").read_bytes() == b"rows"


@pytest.mark.parametrize("fmt", ["text", "json", "html", "gpkg"])
def test_every_check_output_is_carried_over_a_publish(tmp_path: Path, fmt: str) -> None:
    """``check --out OUT --format gpkg`` wrote ``check.gpkg``, which the next publish into OUT
    dropped (only check.json, .txt and .html were carried)."""
    name = {"text": "check.txt"}.get(fmt, f"check.{fmt}")  # as qzgeo.pipeline names them
    out = tmp_path / "out"
    _publish(out)
    with output_build(out, whole=False) as b:
        (b.internal / name).write_bytes(b"sites")
    _publish(out)
    assert (out / "internal" / name).read_bytes() == b"sites"


def test_a_users_file_survives_other_commands_unrecorded(tmp_path: Path) -> None:
    out = tmp_path / "out"
    _publish(out)
    (out / "public" / "mine.txt").write_text("mine", encoding="utf-8")
    _analyze(out)  # replaces only its own files: the user's file is not adopted
    assert "public/mine.txt" not in (out / RECORD).read_text(encoding="utf-8")
    with pytest.raises(OutputError, match=r"mine\.txt"):
        _publish(out)


def test_a_folder_from_before_the_record_is_taken_as_qzgeos(tmp_path: Path) -> None:
    out = tmp_path / "out"
    _publish(out)
    (out / RECORD).unlink()  # as an earlier version left it
    _analyze(out)
    record = set(json.loads((out / RECORD).read_text(encoding="utf-8"))["files"])
    assert record == {"public/index.html", "internal/report.json", "internal/parcels.gpkg"}
    _publish(out)


def test_a_failed_first_run_takes_its_record_away(tmp_path: Path) -> None:
    out = tmp_path / "out"
    with pytest.raises(RuntimeError), output_build(out) as b:
        (b.public / "index.html").write_text("x", encoding="utf-8")
        raise RuntimeError
    assert not out.exists()


def test_publish_command_refuses_with_exit_2_and_reruns_byte_identical(
    minipack: Path, tmp_path: Path
) -> None:
    out = tmp_path / "site"
    args = ["publish", "--pack", str(minipack), "--out", str(out), "--no-maps"]
    first = CliRunner().invoke(cli, args)
    assert first.exit_code == 0, first.output
    record = (out / RECORD).read_bytes()
    files = json.loads(record)["files"]
    assert files and all(f.startswith(("public/", "internal/")) for f in files)
    again = CliRunner().invoke(cli, args)
    assert again.exit_code == 0, again.output
    assert (out / RECORD).read_bytes() == record
    (out / "public" / "README-for-webmaster.txt").write_text("mine", encoding="utf-8")
    before = _digests(out)
    refused = CliRunner().invoke(cli, args)
    assert refused.exit_code == 2, refused.output
    assert "README-for-webmaster.txt" in refused.output
    assert "Traceback" not in refused.output
    assert _digests(out) == before
