"""A `.qzgeo` that qzgeo did not write does not make the folder's files qzgeo's. A folder with
an empty .qzgeo (or another tool's) and a public/ of someone's pages had no record, so
publish took those pages for an earlier run's and replaced public/ whole: they were gone,
exit 0. Now publish refuses, naming them, as in a folder qzgeo marked."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from qzgeo.cli.main import cli
from qzgeo.io.out_record import read_record


@pytest.mark.parametrize("marker", ["", "# deploy marker of our web team\n"])
def test_publish_keeps_files_under_a_marker_it_did_not_write(
    minipack: Path, tmp_path: Path, marker: str
) -> None:
    out = tmp_path / "site"
    (out / "public").mkdir(parents=True)
    (out / ".qzgeo").write_text(marker, encoding="utf-8")
    page = out / "public" / "news.html"
    page.write_text("<p>our news</p>", encoding="utf-8")
    res = CliRunner().invoke(cli, ["publish", "--pack", str(minipack), "--out", str(out)])
    assert res.exit_code == 2, res.output
    assert "news.html" in res.output and "not written by qzgeo" in res.output
    assert page.read_text(encoding="utf-8") == "<p>our news</p>"


def test_a_folder_qzgeo_marked_before_records_keeps_its_files_as_qzgeos(tmp_path: Path) -> None:
    (tmp_path / ".qzgeo").write_text(
        "This folder is written by qzgeo. Post public/ as it is; internal/ is for staff only.\n"
        "qzgeo replaces public/ and internal/ on every run.\n",  # the first marker's text
        encoding="utf-8",
    )
    assert read_record(tmp_path) is None  # no record: what is there was qzgeo's
    (tmp_path / ".qzgeo").write_text("", encoding="utf-8")
    assert read_record(tmp_path) == set()
