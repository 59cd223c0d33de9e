"""PDF sheets (图集) against hostile input: a missing extra, options that would do nothing, a map
with nothing to draw. Each must exit 2 or warn in report.json, never a traceback or a silent guess.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from qzgeo.cli.main import cli

MINIPACK = Path(__file__).parents[1] / "data" / "minipack"
pytestmark = pytest.mark.skipif(
    shutil.which("pdftotext") is None, reason="needs poppler-utils (pdftotext, pdffonts)"
)


def test_pdf_without_matplotlib_exits_2_with_the_install_hint(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # simulate an install without the `pdf` extra: `import matplotlib` fails
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    for name in [m for m in sys.modules if m.startswith("qzgeo.publish.sheet")]:
        monkeypatch.delitem(sys.modules, name)
    out = tmp_path / "out"
    result = CliRunner().invoke(
        cli, ["publish", "--pack", str(MINIPACK), "--pdf", "--out", str(out)]
    )
    assert result.exit_code == 2, result.output
    assert not isinstance(result.exception, ModuleNotFoundError)
    assert 'pip install ".[pdf]"' in result.output, result.output
    assert "matplotlib" in result.output
    assert not out.exists()  # refused before anything is analysed or written


@pytest.mark.parametrize("option", [["--paper", "A4"], ["--orientation", "portrait"]])
def test_paper_options_without_pdf_are_refused(tmp_path: Path, option: list[str]) -> None:
    out = tmp_path / "out"
    result = CliRunner().invoke(
        cli, ["publish", "--pack", str(MINIPACK), *option, "--out", str(out)]
    )
    assert result.exit_code == 2, result.output
    assert option[0] in result.output and "--pdf" in result.output
    assert not out.exists()
